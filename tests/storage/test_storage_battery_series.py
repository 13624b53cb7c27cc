"""Schema version 3 (issue 8): the gateway's own consumption and the battery's two directions are
stored beside the existing series; a version 2 database keeps every row it had."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from storage_snapshots import make_snapshot

from enphase_secure.energy.snapshot import GatewayConsumption, Storage
from enphase_secure.storage import open_history
from enphase_secure.storage.connect import open_backend
from enphase_secure.storage.schema import migrate, schema_version

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
NEW_SERIES = (
    "consumption_gateway_w",
    "storage_charge_w",
    "storage_discharge_w",
    "consumption_gateway_today_wh",
    "storage_charged_today_wh",
    "storage_discharged_today_wh",
    "storage_charged_lifetime_wh",
    "storage_discharged_lifetime_wh",
)


async def test_version_2_rows_survive_and_battery_series_are_stored(history_url: str) -> None:
    backend = await open_backend(history_url)
    try:
        assert await migrate(backend, target=2) == 0
        await backend.write(
            [("INSERT INTO tick (time_ms, stale, consumption_w) VALUES (?, ?, ?)", (T0_MS, 0, 1234))]
        )
    finally:
        await backend.close()

    snapshot = replace(
        make_snapshot(T0 + timedelta(minutes=1), production_w=500.0),
        storage=Storage(
            power_w=-1500.0,
            soc_pct=55.0,
            available_wh=None,
            capacity_wh=None,
            charged_today_wh=2100.0,
            discharged_today_wh=800.0,
            charged_lifetime_wh=2_971_414.0,
            discharged_lifetime_wh=2_274_358.0,
        ),
        gateway_consumption=GatewayConsumption(power_w=2000.0, today_wh=9100.0),
    )
    async with await open_history(history_url) as history:
        await history.append(snapshot)
        old = await history.series("consumption_w", T0, T0 + timedelta(seconds=30), resolution="raw")
        assert old.points[0].samples["consumption_w"].value == 1234
        new = await history.series(NEW_SERIES, T0, T0 + timedelta(minutes=2), resolution="raw")
    values = {name: new.points[-1].samples[name].value for name in NEW_SERIES}
    assert values == {
        "consumption_gateway_w": 2000.0,
        "storage_charge_w": 1500.0,
        "storage_discharge_w": 0.0,
        "consumption_gateway_today_wh": 9100.0,
        "storage_charged_today_wh": 2100.0,
        "storage_discharged_today_wh": 800.0,
        "storage_charged_lifetime_wh": 2_971_414.0,
        "storage_discharged_lifetime_wh": 2_274_358.0,
    }
    backend = await open_backend(history_url)
    try:
        assert await schema_version(backend) == 3
    finally:
        await backend.close()
