"""Day counters from lifetime counters: local midnights, DST days, resets, outages, restarts, 7-day window."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.energy.daycounters import (
    KEPT_DAYS,
    CounterKind,
    CounterState,
    DayCounters,
    advance,
    last_days,
    today,
)
from enphase_secure.errors import EnergyError, EnergyStateError

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
STEP = timedelta(seconds=7)
"""Not a divisor of an hour, so readings never fall on midnight itself."""


def local(tz: ZoneInfo, *args: int) -> datetime:
    """A local wall-clock time as a UTC instant, so that test arithmetic is in elapsed time."""
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def midnight(tz: ZoneInfo, day: date) -> datetime:
    return local(tz, day.year, day.month, day.day)


def ticks(start: datetime, end: datetime, step: timedelta = STEP) -> Iterator[datetime]:
    at = start
    while at <= end:
        yield at
        at += step


def feed(
    state: CounterState | None,
    times: Iterator[datetime],
    lifetime_wh: Callable[[datetime], float],
    tz: ZoneInfo,
    kind: CounterKind = CounterKind.LIFETIME,
) -> CounterState:
    for at in times:
        state = advance(state, lifetime_wh(at), at, tz, kind=kind)
    assert state is not None
    return state


def constant_power(
    watts: float, origin: datetime, offset_wh: float = 1_000_000.0
) -> Callable[[datetime], float]:
    return lambda at: offset_wh + watts * (at - origin).total_seconds() / 3600


def day_total(state: CounterState, day: date) -> float:
    (found,) = [d for d in state.history if d.day == day]
    return found.wh


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        pytest.param(PARIS, date(2024, 6, 15), 24, id="paris-normal"),
        pytest.param(PARIS, date(2024, 3, 31), 23, id="paris-spring-forward"),
        pytest.param(PARIS, date(2024, 10, 27), 25, id="paris-fall-back"),
        pytest.param(NEW_YORK, date(2024, 3, 10), 23, id="new-york-spring-forward"),
        pytest.param(NEW_YORK, date(2024, 11, 3), 25, id="new-york-fall-back"),
    ],
)
def test_a_full_local_day_holds_its_true_length_of_energy(tz: ZoneInfo, day: date, hours: int) -> None:
    start = midnight(tz, day) - timedelta(hours=1)
    end = start + timedelta(hours=hours + 2)
    state = feed(None, ticks(start, end), constant_power(1000.0, start), tz)

    finished = next(d for d in state.history if d.day == day)
    assert finished.wh == pytest.approx(1000.0 * hours, abs=1e-6)
    assert finished.complete
    assert not finished.estimated
    assert state.history[0].complete is False  # the day counting started on
    next_midnight = midnight(tz, day + timedelta(days=1))
    current = today(state, end, tz)
    assert current is not None
    assert current.day == day + timedelta(days=1)
    assert current.wh == pytest.approx(
        1000.0 * (state.last_time - next_midnight).total_seconds() / 3600, abs=1e-6
    )


def test_a_counter_reset_mid_day_starts_a_new_segment_and_keeps_what_today_had() -> None:
    tz = PARIS
    start = local(tz, 2024, 6, 15, 0, 0, 3)
    reset_at = local(tz, 2024, 6, 15, 12)
    before = constant_power(1000.0, start)
    after = constant_power(1000.0, reset_at, offset_wh=40.0)

    state = feed(None, ticks(start, reset_at - timedelta(seconds=1)), before, tz)
    last_before = state.last_time
    first_after = reset_at + timedelta(seconds=5)
    end = local(tz, 2024, 6, 15, 18)
    state = feed(state, ticks(first_after, end), after, tz)

    current = today(state, end, tz)
    assert current is not None
    lost_h = (first_after - last_before).total_seconds() / 3600
    counted_h = (state.last_time - start).total_seconds() / 3600 - lost_h
    assert current.wh == pytest.approx(1000.0 * counted_h, abs=1e-6)
    assert current.estimated  # the energy between the last reading and the reset is lost
    assert current.wh > 0


@pytest.mark.parametrize(
    ("last_before", "first_after", "estimated"),
    [
        pytest.param((23, 59, 59), (0, 0, 1), False, id="two-second-gap"),
        pytest.param((22, 57, 0), (0, 20, 0), True, id="gateway-nightly-gap"),
        pytest.param((18, 0, 0), (9, 30, 0), True, id="daemon-down-overnight"),
    ],
)
def test_a_gap_across_midnight_is_split_linearly_by_time(
    last_before: tuple[int, int, int], first_after: tuple[int, int, int], estimated: bool
) -> None:
    tz = NEW_YORK
    origin = local(tz, 2024, 11, 2, 6)
    state = advance(None, 500.0, origin, tz)
    t1 = local(tz, 2024, 11, 2, *last_before)
    t2 = local(tz, 2024, 11, 3, *first_after)
    state = advance(state, 2500.0, t1, tz)
    state = advance(state, 4100.0, t2, tz)

    share = (local(tz, 2024, 11, 3) - t1) / (t2 - t1)
    yesterday = state.history[-1]
    assert yesterday.day == date(2024, 11, 2)
    assert yesterday.wh == pytest.approx(2000.0 + 1600.0 * share)
    current = today(state, t2, tz)
    assert current is not None
    assert current.wh == pytest.approx(1600.0 * (1 - share))
    assert yesterday.wh + current.wh == pytest.approx(3600.0)  # nothing lost, nothing counted twice
    assert yesterday.estimated is estimated
    assert current.estimated is estimated


def test_an_outage_over_several_days_gives_each_day_its_share_of_time_dst_included() -> None:
    tz = PARIS
    t1 = local(tz, 2024, 3, 29, 18)
    t2 = local(tz, 2024, 4, 1, 6)
    rate_wh_per_h = 100.0
    state = advance(None, 0.0, t1 - timedelta(hours=1), tz)
    state = advance(state, rate_wh_per_h, t1, tz)
    state = advance(state, rate_wh_per_h * (1 + (t2 - t1).total_seconds() / 3600), t2, tz)

    assert [d.day for d in state.history] == [date(2024, 3, 29), date(2024, 3, 30), date(2024, 3, 31)]
    assert [d.wh for d in state.history] == pytest.approx([700.0, 2400.0, 2300.0])
    assert all(d.estimated for d in state.history)
    current = today(state, t2, tz)
    assert current is not None
    assert current.wh == pytest.approx(600.0)


def test_a_reset_inside_an_outage_across_midnight_leaves_the_unseen_days_unknown() -> None:
    tz = PARIS
    state = advance(None, 10_000.0, local(tz, 2024, 6, 10, 8), tz)
    state = advance(state, 15_000.0, local(tz, 2024, 6, 10, 20), tz)
    state = advance(state, 300.0, local(tz, 2024, 6, 12, 9), tz)
    state = advance(state, 800.0, local(tz, 2024, 6, 12, 10), tz)

    assert [(d.day, d.wh) for d in state.history] == [(date(2024, 6, 10), 5000.0)]
    assert state.history[0].estimated
    current = today(state, local(tz, 2024, 6, 12, 10), tz)
    assert current is not None
    assert current.wh == pytest.approx(500.0)
    assert current.estimated
    assert not current.complete
    window = last_days(state, local(tz, 2024, 6, 12, 10), tz)
    assert window is not None
    assert window.wh == pytest.approx(5500.0)
    assert not window.complete


def test_a_restart_mid_day_through_json_loses_nothing() -> None:
    tz = NEW_YORK
    start = local(tz, 2024, 3, 9, 20)
    stop = local(tz, 2024, 3, 10, 12)
    resume = stop + timedelta(minutes=10)
    end = local(tz, 2024, 3, 11, 3)
    power = constant_power(750.0, start)

    uninterrupted = feed(None, ticks(start, end), power, tz)

    before = DayCounters.empty()
    for at in ticks(start, stop):
        before = before.update({"production": power(at)}, at, tz)
    persisted = json.dumps(before.to_json())
    restored = DayCounters.from_json(json.loads(persisted))
    assert restored == before
    for at in ticks(resume, end):
        restored = restored.update({"production": power(at)}, at, tz)

    resumed = restored.counters["production"]
    assert [d.day for d in resumed.history] == [d.day for d in uninterrupted.history]
    assert [d.wh for d in resumed.history] == pytest.approx([d.wh for d in uninterrupted.history])
    assert day_total(resumed, date(2024, 3, 10)) == pytest.approx(750.0 * 23)
    assert resumed.today_wh == pytest.approx(uninterrupted.today_wh)


def test_the_seven_day_window_rolls_and_keeps_per_day_totals() -> None:
    tz = PARIS
    first = date(2024, 10, 20)
    day_power_w = {first + timedelta(days=n): 100.0 * (n + 1) for n in range(13)}

    def lifetime_wh(at: datetime) -> float:
        total = 0.0
        for day, watts in day_power_w.items():
            begin, end = midnight(tz, day), midnight(tz, day + timedelta(days=1))
            overlap_s = (min(at, end) - begin).total_seconds()
            total += watts * max(overlap_s, 0.0) / 3600
        return total

    times = [midnight(tz, first) + timedelta(seconds=2)]
    for day in list(day_power_w)[1:]:
        times += [midnight(tz, day) - timedelta(hours=h) for h in (12, 6)]
        times += [midnight(tz, day) - timedelta(seconds=2), midnight(tz, day) + timedelta(seconds=2)]
    counters = DayCounters.empty()
    windows = []
    for at in times:
        counters = counters.update({"consumption": lifetime_wh(at)}, at, tz)
        windows.append(counters.last_days("consumption", at, tz))

    state = counters.counters["consumption"]
    assert len(state.history) == KEPT_DAYS
    assert all(d.wh >= 0 for d in state.history)
    per_day = {d.day: d for d in state.history}
    assert per_day[date(2024, 10, 27)].wh == pytest.approx(25 * 800.0, abs=0.5)  # 25 h day
    window = windows[-1]
    assert window is not None
    assert (window.first_day, window.last_day) == (date(2024, 10, 26), date(2024, 11, 1))
    assert window.complete
    assert not window.estimated
    expected = lifetime_wh(times[-1]) - lifetime_wh(midnight(tz, window.first_day))
    assert window.wh == pytest.approx(expected, abs=2.0)  # 2 s gaps at midnight split a power step

    early = windows[5]  # the third day: the window still holds the day counting started on
    assert early is not None
    assert not early.complete


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("tz", [PARIS, NEW_YORK], ids=["paris", "new-york"])
def test_random_readings_never_make_a_negative_day_and_conserve_energy(seed: int, tz: ZoneInfo) -> None:
    rng = random.Random(seed)
    with_resets = seed % 2 == 1
    at = local(tz, 2024, 3, 8) + timedelta(seconds=rng.uniform(0, 86_400))
    value = rng.uniform(0, 1e7)
    first_value = value
    state = advance(None, value, at, tz)
    for _ in range(150):
        at += timedelta(seconds=rng.choice([1.0, 7.0, rng.uniform(1, 4 * 3600)]))
        if with_resets and rng.random() < 0.05:
            value = rng.uniform(0, value)
        else:
            value += rng.uniform(0, 2000)
        state = advance(state, value, at, tz)
        assert state.today_wh >= 0
        assert all(d.wh >= 0 for d in state.history)
    assert len(state.history) < KEPT_DAYS  # nothing dropped: the conservation check sees every day
    if not with_resets:
        assert sum(d.wh for d in state.history) + state.today_wh == pytest.approx(value - first_value)


def test_gateway_wh_today_is_a_fallback_whose_late_reset_still_counts_from_local_midnight() -> None:
    tz = PARIS
    watts = 600.0
    gateway_reset_hour = 1  # firmware resetting its day an hour late

    def wh_today(at: datetime) -> float:
        local_at = at.astimezone(tz)
        reset = local_at.replace(hour=gateway_reset_hour, minute=0, second=0, microsecond=0)
        if local_at < reset:
            reset -= timedelta(days=1)
        return watts * (at - reset.astimezone(UTC)).total_seconds() / 3600

    start = local(tz, 2024, 6, 14, 12)
    end = local(tz, 2024, 6, 15, 12)
    state = feed(None, ticks(start, end), wh_today, tz, kind=CounterKind.DAILY)

    yesterday = state.history[-1]
    first_day_gateway_wh = wh_today(start)  # taken as that day's energy so far: the gateway's own today
    assert yesterday.wh == pytest.approx(first_day_gateway_wh + watts * 12, abs=watts * 7 / 3600)
    assert not yesterday.complete
    current = today(state, state.last_time, tz)
    assert current is not None
    since_midnight_h = (state.last_time - local(tz, 2024, 6, 15)).total_seconds() / 3600
    assert current.wh == pytest.approx(watts * since_midnight_h, abs=watts * 7 / 3600)  # one reading lost
    assert not current.estimated
    assert current.complete


def test_today_is_unknown_after_midnight_until_a_reading_arrives() -> None:
    tz = NEW_YORK
    state = advance(None, 100.0, local(tz, 2024, 7, 1, 23, 59, 50), tz)
    assert today(state, local(tz, 2024, 7, 1, 23, 59, 59), tz) is not None
    assert today(state, local(tz, 2024, 7, 2, 0, 0, 5), tz) is None
    assert last_days(state, local(tz, 2024, 7, 2, 0, 0, 5), tz) is None


def test_an_older_or_repeated_reading_is_ignored() -> None:
    tz = PARIS
    at = local(tz, 2024, 7, 1, 12)
    state = advance(advance(None, 100.0, at, tz), 150.0, at + timedelta(seconds=1), tz)
    assert advance(state, 90.0, at, tz) is state
    assert advance(state, 150.0, at + timedelta(seconds=1), tz) is state


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(EnergyError, match="no time zone"):
        advance(None, 1.0, datetime(2024, 7, 1, 12), PARIS)


PRODUCTION = "day_counters.counters.production"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.pop("baseline_wh"), f"{PRODUCTION}.baseline_wh"),
        (lambda s: s.update(kind="hourly"), f"{PRODUCTION}.kind"),
        (lambda s: s.update(last_time="noon"), f"{PRODUCTION}.last_time"),
        (lambda s: s.update(last_time="2024-07-01T12:00:00"), f"{PRODUCTION}.last_time"),
        (lambda s: s["history"][0].update(wh="12"), f"{PRODUCTION}.history[0].wh"),
        (lambda s: s.update(history={}), f"{PRODUCTION}.history"),
    ],
)
def test_a_malformed_persisted_state_names_the_field(mutate: Callable[[dict], object], field: str) -> None:
    tz = PARIS
    counters = DayCounters.empty().update({"production": 10.0}, local(tz, 2024, 7, 1, 23, 59, 59), tz)
    counters = counters.update({"production": 20.0}, local(tz, 2024, 7, 2, 0, 0, 1), tz)
    persisted = json.loads(json.dumps(counters.to_json()))
    mutate(persisted["counters"]["production"])
    with pytest.raises(EnergyStateError) as caught:
        DayCounters.from_json(persisted)
    assert caught.value.field == field
