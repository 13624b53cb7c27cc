"""Per-inverter figures after site accounting: the inverter's own day figure where device_data gives
one, else the estimate (flagged, unknown after a mid-day start), and silent inverters marked."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.energy.day_figures import INVERTER_SILENT_AFTER_S
from enphase_secure.energy.merge import GatewayReadings, merge_snapshot
from enphase_secure.energy.site import SiteEnergy, account
from enphase_secure.energy.snapshot import InverterState
from enphase_secure.gateway.inverters import InverterReports

PARIS = ZoneInfo("Europe/Paris")
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=PARIS)


def v1(reported: datetime, watts: int) -> InverterReports:
    body = [{"serialNumber": "A", "lastReportDate": int(reported.timestamp()), "lastReportWatts": watts,
             "maxReportWatts": 300, "devType": 1}]  # fmt: skip
    return InverterReports.from_json(json.dumps(body).encode())


def device_data(reported: datetime, watts: int, today_wh: int) -> InverterReports:
    record = {
        "devName": "pcu",
        "sn": "A",
        "active": True,
        "channels": [
            {
                "wattHours": {"today": today_wh},
                "watts": {"now": watts, "max": 300},
                "lastReading": {
                    "endDate": int(reported.timestamp()),
                    "dcVoltageINmV": 32000,
                    "channelTemp": 40,
                },
                "lifetime": {"joulesProduced": 36_000_000},
            }
        ],
    }
    return InverterReports.from_device_data(json.dumps({"1": record, "deviceCount": 1}).encode())


def accounted(state: SiteEnergy, reports: InverterReports, now: datetime) -> tuple[InverterState, SiteEnergy]:
    snapshot = merge_snapshot(GatewayReadings(inverters=reports), time=now.astimezone(UTC))
    enriched, state = account(state, snapshot, tz=PARIS, metering="gateway", max_gap_s=5.0)
    (inverter,) = enriched.inverters
    return inverter, state


def test_device_data_gives_the_inverters_own_day_and_detail() -> None:
    inverter, _ = accounted(SiteEnergy(), device_data(NOON - timedelta(minutes=3), 210, 1234), NOON)
    assert (inverter.today_wh, inverter.today_estimated) == (1234, False)
    assert (inverter.dc_voltage_v, inverter.temperature_c, inverter.lifetime_wh) == (32.0, 40, 10_000.0)
    assert (inverter.power_w, inverter.report_age_s, inverter.reporting) == (210, 180.0, True)


def test_without_device_data_today_is_estimated_and_unknown_after_a_mid_day_start() -> None:
    inverter, state = accounted(SiteEnergy(), v1(NOON - timedelta(minutes=3), 210), NOON)
    assert (inverter.today_wh, inverter.today_estimated) == (None, True)  # not 0: unknown
    # a daemon that ran since the evening before estimates the day
    evening = datetime(2026, 5, 31, 21, 30, tzinfo=PARIS)
    _, state = accounted(SiteEnergy(), v1(evening, 5), evening)
    for minutes in range(0, 60, 5):
        at = datetime(2026, 6, 1, 7, minutes, tzinfo=PARIS)
        inverter, state = accounted(state, v1(at, 100), at + timedelta(seconds=30))
    assert inverter.today_estimated
    assert inverter.today_wh == pytest.approx(100.0 * 55 / 60, abs=0.001)


def test_an_inverter_that_stopped_reporting_is_marked_not_shown_at_its_last_power() -> None:
    reported = NOON - timedelta(seconds=INVERTER_SILENT_AFTER_S + 60)
    inverter, _ = accounted(SiteEnergy(), device_data(reported, 250, 900), NOON)
    assert inverter.power_w is None
    assert not inverter.reporting
    assert inverter.report_age_s == INVERTER_SILENT_AFTER_S + 60
    assert inverter.to_json()["reporting"] is False
    assert inverter.today_wh == 900  # what it produced stays known


def test_aged_is_replace_of_the_tick_figures_keeping_every_other_field() -> None:
    """Every field set to a value of its own: a field added later and forgotten by ``aged`` shows."""
    special: dict[str, object] = {"serial": "S1", "last_report": NOON}
    special.update(today_estimated=True, reporting=False)
    values = {f.name: special.get(f.name, float(n + 1)) for n, f in enumerate(fields(InverterState))}
    inverter = InverterState(**values)  # type: ignore[arg-type]
    changes = {"power_w": None, "today_wh": 7.5, "today_estimated": False, "report_age_s": 12.3}
    changes["reporting"] = True
    assert inverter.aged(**changes) == replace(inverter, **changes)  # type: ignore[arg-type]
