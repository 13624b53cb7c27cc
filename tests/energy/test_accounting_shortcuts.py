"""The accounting's shortcuts change no figure: readings kept on top of the day counters' last other
change (daycounters.py) and the day figures' memo (day_figures.py) against the full computation, over
sequences crossing midnight, DST changes, counter resets, gaps, outages and estimated days."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from site_run import Run

from enphase_secure.energy.daycounters import CounterKind, CounterState, DayCounters, advance
from enphase_secure.energy.inverter_estimate import InverterEstimates
from enphase_secure.energy.site import Metering, SiteEnergy, account
from enphase_secure.energy.snapshot import Snapshot, age_s_of

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
Readings = Callable[[int, datetime], dict[str, float]]


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def growing(n: int, _: datetime) -> dict[str, float]:
    return {"a": 1000.0 + 0.7 * n, "b": 50.0 + (0.3 * n if n % 4 else 0.3 * (n - 1)), "c": 7.0}


def resets(n: int, at: datetime) -> dict[str, float]:
    values = growing(n, at)
    if n >= 40:
        values["a"] -= 900.0  # the gateway reset or replaced
    if n >= 70:
        values["b"] = 1.0 + 0.01 * n
    return values


def drop_outs(n: int, at: datetime) -> dict[str, float]:
    values = growing(n, at)
    if 20 <= n < 35:
        del values["b"]  # a CT missing from a few readings
    if n >= 50:
        values["d"] = 3.0 + n  # a counter appearing
    return values


def still(n: int, at: datetime) -> dict[str, float]:
    return growing(n - n % 3, at)  # the value does not move on every reading


def times(start: datetime, count: int, step_s: float, gaps: dict[int, float]) -> Iterator[datetime]:
    at = start
    for n in range(count):
        yield at
        at += timedelta(seconds=step_s + gaps.get(n, 0.0))


CASES = {
    # name: (zone, first reading, readings, step s, {reading: extra gap s}, kind)
    "plain day": (PARIS, local(PARIS, 2025, 6, 21, 12), growing, 1.0, {}, CounterKind.LIFETIME),
    "across midnight": (PARIS, local(PARIS, 2025, 6, 21, 23, 59), growing, 1.0, {}, CounterKind.LIFETIME),
    "spring forward": (PARIS, local(PARIS, 2025, 3, 30, 1, 59), growing, 1.0, {}, CounterKind.LIFETIME),
    "midnight before a 23 h day": (
        NEW_YORK,
        local(NEW_YORK, 2025, 3, 8, 23, 59),
        still,
        1.0,
        {},
        CounterKind.LIFETIME,
    ),
    "fall back": (PARIS, local(PARIS, 2025, 10, 26, 2, 59), growing, 1.0, {}, CounterKind.LIFETIME),
    "resets": (PARIS, local(PARIS, 2025, 6, 21, 23, 58, 50), resets, 1.0, {}, CounterKind.LIFETIME),
    "gap across midnight": (
        PARIS,
        local(PARIS, 2025, 6, 21, 23, 59),
        growing,
        1.0,
        {30: 1200.0},
        CounterKind.LIFETIME,
    ),
    "outage of two days": (
        PARIS,
        local(PARIS, 2025, 6, 21, 23),
        resets,
        1.0,
        {45: 2 * 86400.0},
        CounterKind.LIFETIME,
    ),
    "drop-outs and a new counter": (
        PARIS,
        local(PARIS, 2025, 6, 21, 23, 59, 30),
        drop_outs,
        1.0,
        {},
        CounterKind.LIFETIME,
    ),
    "time standing still": (
        PARIS,
        local(PARIS, 2025, 6, 21, 23, 59),
        growing,
        1.0,
        {10: -1.0, 11: -1.0},
        CounterKind.LIFETIME,
    ),
    "daily counters": (PARIS, local(PARIS, 2025, 6, 21, 23, 59), resets, 1.0, {}, CounterKind.DAILY),
    "a week of minutes": (PARIS, local(PARIS, 2025, 3, 26), still, 60.0, {500: 7200.0}, CounterKind.LIFETIME),
}


@pytest.mark.parametrize("case", CASES)
def test_day_counters_keep_readings_as_advance_would(case: str) -> None:
    tz, start, readings, step_s, gaps, kind = CASES[case]
    count = 12_000 if step_s > 1 else 120
    kept = DayCounters.empty()
    reference: dict[str, CounterState] = {}
    shortcuts = 0
    for n, at in enumerate(times(start, count, step_s, gaps)):
        values = readings(n, at)
        kept = kept.update(values, at, tz, kind=kind, estimate_gap_s=5.0)
        for key, value in values.items():
            reference[key] = advance(reference.get(key), value, at, tz, kind=kind, estimate_gap_s=5.0)
        shortcuts += bool(kept.readings)
        assert kept.counters == reference, n
        assert {key: kept.state(key) for key in reference} == reference
        restored = DayCounters.from_json(json.loads(json.dumps(kept.to_json())))
        assert restored == kept
        assert json.dumps(restored.to_json()) == json.dumps(DayCounters(dict(reference)).to_json())
    assert shortcuts > count // 2  # the readings did go on top of the counters


def _full(state: SiteEnergy) -> SiteEnergy:
    """The state as the full computation starts from it: every counter built, no memo."""
    return SiteEnergy(
        counters=DayCounters(dict(state.counters.counters)), grid=state.grid, inverters=state.inverters
    )


def _reset_production(snapshot: Snapshot) -> Snapshot:
    flow = snapshot.production
    lower = tuple(None if v is None else v - 2000.0 for v in flow.phases_lifetime_wh)
    lifetime = None if flow.lifetime_wh is None else flow.lifetime_wh - 6000.0
    return replace(snapshot, production=replace(flow, lifetime_wh=lifetime, phases_lifetime_wh=lower))


SITES = {
    # name: (scenario, zone, first tick (local), hours, metering, outage (local hours from the start), reset)
    "three-phase battery, midnight outage": (
        "three-phase-battery",
        "Europe/Paris",
        datetime(2025, 6, 21, 20),
        7.0,
        "gateway",
        (3.5, 4.5),
        False,
    ),
    "three-phase balanced, reset": (
        "three-phase-battery",
        "Europe/Paris",
        datetime(2025, 6, 21, 22),
        4.0,
        "balanced",
        None,
        True,
    ),
    "single-phase battery, fall back": (
        "single-phase-battery",
        "Europe/Paris",
        datetime(2025, 10, 25, 21),
        8.0,
        "gateway",
        None,
        True,
    ),
    "total CT only, spring forward": (
        "split-phase-total",
        "America/Los_Angeles",
        datetime(2025, 3, 8, 21),
        8.0,
        "gateway",
        (2.9, 3.2),
        False,
    ),
    "ACB": ("acb", "Europe/Paris", datetime(2025, 6, 21, 22), 4.0, "balanced", None, False),
}


@pytest.mark.parametrize("site", SITES)
async def test_account_with_its_memo_gives_the_full_computations_figures(site: str) -> None:
    scenario, zone, start, hours, metering, outage, reset = SITES[site]
    tz = ZoneInfo(zone)
    run = Run(scenario, start.replace(tzinfo=tz), tz, tick_s=30.0)
    await run.start()
    metered: Metering = "balanced" if metering == "balanced" else "gateway"
    kept = full = SiteEnergy()
    ticks = int(hours * 3600 / run.tick_s)
    memo_used = 0
    for n in range(ticks):
        run.source.control_clock(advance_s=run.tick_s)
        hour = n * run.tick_s / 3600
        if outage is not None and outage[0] <= hour < outage[1]:
            continue
        merged = await run.read(slow=n % 15 == 0, storage=n % 5 == 0)
        if reset and n >= ticks // 3:
            merged = _reset_production(merged)
        if n == ticks // 2:  # the inverters' estimates replaced under a memo that knew the old ones
            kept, full = (replace(s, inverters=InverterEstimates.empty()) for s in (kept, full))
        memo_used += kept.memo is not None and kept.counters.readings != {}
        fast, kept = account(kept, merged, tz=tz, metering=metered, max_gap_s=5 * run.tick_s)
        slow, full = account(_full(full), merged, tz=tz, metering=metered, max_gap_s=5 * run.tick_s)
        assert json.dumps(fast.to_json()) == json.dumps(slow.to_json()), n
        assert json.dumps(kept.to_json()) == json.dumps(full.to_json()), n
    assert memo_used > ticks // 2


@pytest.mark.parametrize(
    "microseconds",
    [
        -1_500_000,
        -1,
        0,
        1,
        49_999,
        50_000,  # a tenth and a half: round() reads the float
        50_001,
        149_999,
        150_000,
        250_000,
        1_234_567,
        2_700_000_000,  # 45 min
        86_400_000_000 * 3 + 50_000,
        10**15 + 12_345,  # beyond 31 years: round() itself
    ],
)
def test_an_inverters_age_is_rounded_as_round_does(microseconds: int) -> None:
    for us in range(microseconds - 3, microseconds + 4):
        age = timedelta(microseconds=us)
        expected = round(max(0.0, age.total_seconds()), 1)
        assert repr(age_s_of(age)) == repr(expected), us


def test_readings_of_another_kind_are_never_kept_on_top_of_the_counters() -> None:
    start = local(PARIS, 2025, 6, 21, 12)
    kept = DayCounters.empty()
    reference: dict[str, CounterState] = {}
    for n, at in enumerate(times(start, 6, 1.0, {})):
        kind = CounterKind.LIFETIME if n < 4 else CounterKind.DAILY  # the same counters, then daily
        values = growing(n, at)
        kept = kept.update(values, at, PARIS, kind=kind)
        for key, value in values.items():
            reference[key] = advance(reference.get(key), value, at, PARIS, kind=kind)
        assert kept.counters == reference, n
    assert {state.kind for state in kept.counters.values()} == {CounterKind.DAILY}
