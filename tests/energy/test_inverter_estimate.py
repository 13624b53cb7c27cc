"""Per-inverter day estimates from lastReportDate / lastReportWatts."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.energy.inverter_estimate import (
    InverterEstimates,
    InverterReport,
    advance,
    today_wh,
)
from enphase_secure.errors import EnergyStateError

PARIS = ZoneInfo("Europe/Paris")
SERIAL = "482243031579"
PEAK_W = 300.0


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


SUNRISE = local(2024, 6, 15, 6)
SUNSET = local(2024, 6, 15, 22)
DAYLIGHT_S = (SUNSET - SUNRISE).total_seconds()
EXACT_DAY_WH = 2 * PEAK_W * DAYLIGHT_S / math.pi / 3600  # integral of the half-sine below


def sun_w(at: datetime) -> float:
    x = (at - SUNRISE).total_seconds() / DAYLIGHT_S
    return PEAK_W * math.sin(math.pi * x) if 0 < x < 1 else 0.0


def reports(intervals_s: Iterator[float], *, mean_over_interval: bool) -> list[InverterReport]:
    """Reports through the day, as the power at the report instant or the mean of the interval before it."""
    seen, previous = [], SUNRISE
    at = SUNRISE + timedelta(seconds=next(intervals_s))
    while at < SUNSET:
        if mean_over_interval:
            x0 = (previous - SUNRISE).total_seconds() / DAYLIGHT_S
            x1 = (at - SUNRISE).total_seconds() / DAYLIGHT_S
            energy = PEAK_W * DAYLIGHT_S / math.pi * (math.cos(math.pi * x0) - math.cos(math.pi * x1))
            watts = energy / (at - previous).total_seconds()
        else:
            watts = sun_w(at)
        seen.append(InverterReport(SERIAL, at, watts))
        previous, at = at, at + timedelta(seconds=next(intervals_s))
    return seen


def estimate(seen: list[InverterReport], start: InverterEstimates | None = None) -> InverterEstimates:
    estimates = start or InverterEstimates.empty()
    for report in seen:
        estimates = estimates.update([report], PARIS)
    return estimates


def regular(seconds: float) -> Iterator[float]:
    while True:
        yield seconds


def irregular(seed: int) -> Iterator[float]:
    rng = random.Random(seed)
    while True:
        yield rng.uniform(300, 900)


@pytest.mark.parametrize("mean_over_interval", [False, True], ids=["instant-watts", "interval-mean-watts"])
@pytest.mark.parametrize(
    ("intervals", "tolerance"),
    [
        pytest.param(lambda: regular(300), 0.001, id="every-5-min"),
        pytest.param(lambda: regular(900), 0.005, id="every-15-min"),
        pytest.param(lambda: irregular(7), 0.002, id="irregular-5-to-15-min"),
    ],
)
def test_the_estimate_matches_an_exactly_integrable_sun_curve(
    intervals: object, tolerance: float, mean_over_interval: bool
) -> None:
    seen = reports(intervals(), mean_over_interval=mean_over_interval)  # type: ignore[operator]
    estimates = estimate([InverterReport(SERIAL, local(2024, 6, 14, 21, 50), 3.0), *seen])
    got = estimates.today_wh(SERIAL, local(2024, 6, 15, 23), PARIS)
    assert got == pytest.approx(EXACT_DAY_WH, rel=tolerance)
    assert estimates.inverters[SERIAL].complete


def test_a_poll_slower_than_the_reports_still_estimates_the_day() -> None:
    every_report = reports(regular(300), mean_over_interval=False)
    polled = every_report[2::3]  # polling every 15 min sees one report in three
    yesterday = InverterReport(SERIAL, local(2024, 6, 14, 21, 50), 3.0)  # the daemon ran overnight
    got = estimate([yesterday, *polled]).today_wh(SERIAL, SUNSET, PARIS)
    assert got == pytest.approx(EXACT_DAY_WH, rel=0.003)


def test_a_mid_day_start_leaves_today_unknown_not_zero() -> None:
    seen = reports(regular(300), mean_over_interval=False)
    started_at_noon = estimate([r for r in seen if r.reported_at >= local(2024, 6, 15, 12)])
    assert started_at_noon.today_wh(SERIAL, SUNSET, PARIS) is None
    assert started_at_noon.today_wh(SERIAL, local(2024, 6, 16, 0, 1), PARIS) == 0.0  # the next day: 0 so far


def test_an_inverter_silent_after_dusk_adds_nothing_and_resets_at_midnight() -> None:
    seen = reports(regular(300), mean_over_interval=False)
    estimates = estimate([InverterReport(SERIAL, local(2024, 6, 14, 21, 50), 3.0), *seen])
    at_last_report = estimates.today_wh(SERIAL, seen[-1].reported_at, PARIS)
    assert at_last_report is not None
    assert estimates.today_wh(SERIAL, local(2024, 6, 15, 23, 59), PARIS) == at_last_report
    assert estimates.today_wh(SERIAL, local(2024, 6, 16, 0, 1), PARIS) == 0.0
    next_dawn = estimates.update([InverterReport(SERIAL, local(2024, 6, 16, 6, 5), 4.0)], PARIS)
    assert next_dawn.today_wh(SERIAL, local(2024, 6, 16, 6, 6), PARIS) == 0.0  # the night is not bridged
    assert next_dawn.today_wh("unknown-serial", local(2024, 6, 16, 6, 6), PARIS) is None


def test_an_interval_across_midnight_is_split_where_it_crosses() -> None:
    state = advance(None, InverterReport(SERIAL, local(2024, 6, 20, 23, 55), 120.0), PARIS)
    state = advance(state, InverterReport(SERIAL, local(2024, 6, 21, 0, 5), 0.0), PARIS)
    assert state.today_wh == pytest.approx(60.0 * 300 / 2 / 3600)  # the line from 60 W at midnight to 0
    assert today_wh(state, local(2024, 6, 21, 0, 6), PARIS) == state.today_wh
    assert state.complete


def test_a_report_seen_again_is_not_counted_twice() -> None:
    seen = reports(regular(300), mean_over_interval=False)[:40]
    once = estimate(seen)
    twice = estimate([report for report in seen for _ in range(2)])
    assert twice == once
    assert once.inverters[SERIAL].today_wh > 0


def test_a_restart_mid_day_through_json_loses_nothing() -> None:
    seen = reports(irregular(3), mean_over_interval=True)
    half = len(seen) // 2
    first = estimate(seen[:half])
    restored = InverterEstimates.from_json(json.loads(json.dumps(first.to_json())))
    assert restored == first
    assert estimate(seen[half:], restored) == estimate(seen)


def test_a_malformed_persisted_state_names_the_field() -> None:
    persisted = estimate(reports(regular(300), mean_over_interval=False)[:3]).to_json()
    persisted["inverters"][SERIAL]["today_wh"] = None
    with pytest.raises(EnergyStateError) as caught:
        InverterEstimates.from_json(persisted)
    assert caught.value.field == f"inverter_estimates.inverters.{SERIAL}.today_wh"


NOON = local(2024, 6, 15, 12)


@pytest.mark.parametrize(
    ("serial", "reported_at", "seen", "last_after"),
    [
        (SERIAL, NOON, True, NOON),  # the report the estimate last took
        (SERIAL, NOON - timedelta(minutes=5), True, NOON),  # an older one
        (SERIAL, NOON + timedelta(seconds=1), False, NOON + timedelta(seconds=1)),  # a new one
        ("another", NOON, False, NOON),  # an inverter never seen
        (SERIAL, NOON.astimezone(PARIS), False, NOON),  # not in UTC: left to update, which skips it
    ],
)
def test_has_seen_is_what_update_would_skip(
    serial: str, reported_at: datetime, seen: bool, last_after: datetime
) -> None:
    estimates = InverterEstimates.empty().update([InverterReport(SERIAL, NOON, 120.0)], PARIS)
    assert estimates.has_seen(serial, reported_at) is seen
    after = estimates.update([InverterReport(serial, reported_at, 150.0)], PARIS)
    assert after.inverters[serial].last_report_at == last_after
    if seen:
        assert after is estimates
