"""Each firmware quirk on small documents; test_conformance.py checks them on the real captures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from enphase_secure.gateway import quirks
from enphase_secure.gateway.meters import CtConfig, CtReading, MeterConfig, MeterReadings
from enphase_secure.gateway.production import ApiV1Production, ProductionReport


def ct(phase_count: int, kind: str = "net-consumption", eid: int = 1, state: str = "enabled") -> CtConfig:
    return CtConfig(eid, state, kind, "split", phase_count, "normal", ())


def reading(
    voltages: list[float | None], eid: int = 1, energies: list[tuple[float, float]] | None = None
) -> CtReading:
    energies = energies or [(10.0, 1.0)] * len(voltages)
    channels = []
    for voltage, (dlvd, rcvd) in zip(voltages, energies, strict=True):
        channel: dict[str, Any] = {"activePower": 1.0, "actEnergyDlvd": dlvd, "actEnergyRcvd": rcvd}
        if voltage is not None:
            channel["voltage"] = voltage
        channels.append(channel)
    top = {
        "activePower": 2.0,
        "actEnergyDlvd": sum(e[0] for e in energies),
        "actEnergyRcvd": sum(e[1] for e in energies),
    }
    return MeterReadings.from_json(json.dumps([{"eid": eid, **top, "channels": channels}]).encode()).cts[0]


@pytest.mark.parametrize(
    ("phase_count", "voltages", "expected"),
    [
        (3, [235.0, 6.0, 11.0], (0,)),  # 7.3.466_with_cts_3phase: channels 2-3 unwired
        (2, [121.0, 121.0, 121.0], (0, 1)),  # 8.2.127: 3rd channel beyond phaseCount
        (3, [238.0, 230.0, 227.0], (0, 1, 2)),
        (2, [121.0, 0.0, 0.0], (0,)),  # 8.3.1598 backfeed CT on one leg
        (1, [None, None, None], (0,)),  # no voltage reported: trust phaseCount
        (3, [230.0], (0,)),  # fewer channels than phases
    ],
)
def test_wired_channels(phase_count: int, voltages: list[float | None], expected: tuple[int, ...]) -> None:
    assert quirks.wired_channels(ct(phase_count), reading(voltages)) == expected


def test_readings_matched_by_eid_disabled_and_unknown_ignored() -> None:
    config = MeterConfig(
        (
            ct(1, "production", eid=10),
            ct(1, "net-consumption", eid=20, state="disabled"),
            ct(1, "storage", eid=30),
        )
    )
    readings = MeterReadings(
        (
            reading([230.0], eid=30),
            reading([230.0], eid=99),
            reading([230.0], eid=20),
            reading([230.0], eid=10),
        )
    )
    pairs = quirks.configured_readings(config, readings)
    assert [(c.eid, r.eid) for c, r in pairs] == [(10, 10), (30, 30)]


def report(
    total: tuple[float, float], net: tuple[float, float], production: tuple[float, float]
) -> ProductionReport:
    def block(kind: str, values: tuple[float, float]) -> dict[str, Any]:
        power, lifetime = values
        line = {"wNow": power / 2, "whLifetime": lifetime / 2}
        return {
            "type": "eim",
            "activeCount": 1,
            "measurementType": kind,
            "wNow": power,
            "whLifetime": lifetime,
            "lines": [line, line],
        }

    document = {
        "production": [block("production", production)],
        "consumption": [block("total-consumption", total), block("net-consumption", net)],
    }
    return ProductionReport.from_json(json.dumps(document).encode())


@pytest.mark.parametrize(
    ("version", "total", "net", "expected_total"),
    [
        ((8, 3, 5433), (428.0, 5000.0), (428.0, 5000.0), (786.0, 19000.0)),  # repaired
        ((8, 3, 6000), (428.0, 5000.0), (428.0, 5000.0), (786.0, 19000.0)),
        ((8, 2, 127), (428.0, 5000.0), (428.0, 5000.0), (428.0, 5000.0)),  # older firmware: as read
        ((8, 3, 5433), (786.0, 19000.0), (428.0, 5000.0), (786.0, 19000.0)),  # already right
        (None, (428.0, 5000.0), (428.0, 5000.0), (428.0, 5000.0)),
    ],
)
def test_total_consumption_repair(
    version: quirks.Version | None,
    total: tuple[float, float],
    net: tuple[float, float],
    expected_total: tuple[float, float],
) -> None:
    repaired = quirks.repair_total_consumption(report(total, net, (358.0, 14000.0)), version)
    block = repaired.total_consumption
    assert block is not None
    assert (block.power_w, block.lifetime_wh) == expected_total
    assert sum(line.power_w for line in block.lines) == pytest.approx(expected_total[0])
    assert repaired.net_consumption == report(total, net, (358.0, 14000.0)).net_consumption


def api(lifetime: float, today: float = 1.0) -> ApiV1Production:
    return ApiV1Production(power_w=4.0, today_wh=today, last_7_days_wh=lifetime, lifetime_wh=lifetime)


@pytest.mark.parametrize(
    ("production", "version", "metered", "has_ct", "usable"),
    [
        (api(6139406), (7, 6, 175), False, False, True),
        (api(0, 0), (8, 3, 5422), False, False, False),  # all zero: broken endpoint
        (api(1583), (8, 2, 4264), True, False, False),  # 8.2.4264_metered_noct
        (api(1583), (8, 2, 4264), True, True, True),
        (api(1583), (7, 3, 466), True, False, True),  # before the bug: trusted
        (api(1583), (8, 2, 4264), False, False, True),
    ],
)
def test_api_v1_production_usable(
    production: ApiV1Production, version: quirks.Version, metered: bool, has_ct: bool, usable: bool
) -> None:
    assert (
        quirks.api_v1_production_usable(production, version=version, metered=metered, has_enabled_ct=has_ct)
        is usable
    )


@pytest.mark.parametrize(
    ("version", "energies", "broken"),
    [
        ((8, 3, 6100), [(0.0, 0.0), (500.0, 70.0)], True),
        ((8, 3, 6100), [(500.0, 70.0), (0.0, 0.0)], True),
        ((8, 3, 6100), [(400.0, 60.0), (500.0, 70.0)], False),
        ((8, 3, 5433), [(0.0, 0.0), (500.0, 70.0)], False),
        ((8, 3, 6100), [(0.0, 0.0), (0.0, 0.0)], False),
    ],
)
def test_storage_ct_one_channel_zero(
    version: quirks.Version, energies: list[tuple[float, float]], broken: bool
) -> None:
    assert (
        quirks.storage_reading_broken(ct(2, "storage"), reading([121.0, 121.0], energies=energies), version)
        is broken
    )


@pytest.mark.parametrize(("active_count", "usable"), [(0, False), (1, True), (3, True)])
def test_production_block_active(active_count: int, usable: bool) -> None:
    assert quirks.production_block_active(active_count) is usable


@pytest.mark.parametrize(("device_type", "inverter"), [(1, True), (None, True), (11, False)])
def test_is_microinverter(device_type: int | None, inverter: bool) -> None:
    assert quirks.is_microinverter(device_type) is inverter
