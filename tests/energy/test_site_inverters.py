"""Per-inverter figures after site accounting: the inverter's own day figure where device_data gives
one, else the estimate (flagged, unknown after a mid-day start), and silent inverters marked."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.daemon.stale import stale_snapshot
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
    assert (inverter.power_w, inverter.report_age_s(NOON), inverter.reporting) == (210, 180.0, True)


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
    assert inverter.report_age_s(NOON) == INVERTER_SILENT_AFTER_S + 60
    assert inverter.to_json(NOON)["reporting"] is False
    assert inverter.today_wh == 900  # what it produced stays known


def test_aged_is_replace_of_the_tick_figures_keeping_every_other_field() -> None:
    """Every field set to a value of its own: a field added later and forgotten by ``aged`` shows."""
    special: dict[str, object] = {"serial": "S1", "last_report": NOON}
    special.update(today_estimated=True, reporting=False)
    values = {f.name: special.get(f.name, float(n + 1)) for n, f in enumerate(fields(InverterState))}
    inverter = InverterState(**values)  # type: ignore[arg-type]
    changes = {"power_w": None, "today_wh": 7.5, "today_estimated": False, "reporting": True}
    assert inverter.aged(**changes) == replace(inverter, **changes)  # type: ignore[arg-type]


def test_the_published_inverters_stay_the_same_tuple_until_a_flag_flips_or_a_report_comes() -> None:
    reports = device_data(NOON - timedelta(minutes=44), 250, 900)
    state, ticks = SiteEnergy(), []
    for at_s in (0, 30, 60, 61, 62, 30):  # 45 min old at 60 s; the clock then set back to 30 s
        at = NOON + timedelta(seconds=at_s)
        snapshot = merge_snapshot(GatewayReadings(inverters=reports), time=at.astimezone(UTC))
        enriched, state = account(state, snapshot, tz=PARIS, metering="gateway", max_gap_s=5.0)
        ticks.append((enriched.inverters, enriched.to_json()["inverters"][0]))
    ages = [published["report_age_s"] for _, published in ticks]
    assert ages == [2640.0, 2670.0, 2700.0, 2701.0, 2702.0, 2670.0]  # grows tick by tick all the same
    assert [published["reporting"] for _, published in ticks] == [True, True, True, False, False, True]
    assert [published["power_w"] for _, published in ticks] == [250, 250, 250, None, None, 250]
    tuples = [inverters for inverters, _ in ticks]
    assert tuples[1] is tuples[0]  # nothing moved: the last tick's very tuple
    assert tuples[4] is tuples[3]
    assert tuples[3] is not tuples[2]
    later = NOON + timedelta(seconds=63)
    snapshot = merge_snapshot(GatewayReadings(inverters=device_data(later, 260, 910)), time=later)
    enriched, _ = account(state, snapshot, tz=PARIS, metering="gateway", max_gap_s=5.0)
    (inverter,) = enriched.inverters
    assert (inverter.power_w, inverter.today_wh, inverter.reporting) == (260, 910, True)  # a new report


def test_while_the_gateway_is_unreachable_the_last_report_gets_older() -> None:
    inverter, _ = accounted(SiteEnergy(), device_data(NOON - timedelta(minutes=3), 210, 1234), NOON)
    last = merge_snapshot(GatewayReadings(), time=NOON.astimezone(UTC))
    last = replace(last, inverters=(inverter,))
    later = NOON + timedelta(minutes=10)
    stale = stale_snapshot(last, now=later.astimezone(UTC), last_ok=NOON, reason="unreachable")
    (published,) = stale.to_json()["inverters"]
    assert (published["report_age_s"], published["power_w"]) == (780.0, None)  # as of the stale time
