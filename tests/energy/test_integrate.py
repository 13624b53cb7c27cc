"""Balanced and per-phase grid import/export integrated tick by tick."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.energy.daycounters import DayCounters
from enphase_secure.energy.integrate import GridIntegrator, GridTick, ImportExport, gap_today, integrate
from enphase_secure.errors import EnergyError, EnergyStateError

START = datetime(2024, 6, 15, 10, tzinfo=UTC)
MAX_GAP_S = 5.0


def run(ticks: Sequence[GridTick], state: GridIntegrator | None = None) -> GridIntegrator:
    state = state or GridIntegrator()
    for tick in ticks:
        state = integrate(state, tick, max_gap_s=MAX_GAP_S)
    return state


def sampled(power_w: Callable[[float], float], seconds: int, step_s: float = 1.0) -> list[GridTick]:
    count = int(seconds / step_s)
    return [
        GridTick(START + timedelta(seconds=k * step_s), power_w(k * step_s), (power_w(k * step_s),))
        for k in range(count + 1)
    ]


def trapezoid_with_zero_split_import_wh(samples: Sequence[float], step_s: float) -> float:
    """The alternative rule, written out only to compare it: linear between samples, split at zero."""
    total = 0.0
    for p1, p2 in itertools.pairwise(samples):
        if p1 >= 0 and p2 >= 0:
            total += (p1 + p2) / 2 * step_s
        elif p1 > 0 or p2 > 0:
            positive, negative = max(p1, p2), min(p1, p2)
            total += positive * step_s * positive / (positive - negative) / 2
    return total / 3600


def test_left_rectangle_is_exact_on_meter_averages_hovering_around_zero() -> None:
    """A battery holding the grid near 0 W: 1 s averages alternate between +50 W and -50 W."""
    averages = [50.0 if k % 2 == 0 else -50.0 for k in range(3601)]
    state = run([GridTick(START + timedelta(seconds=k), w) for k, w in enumerate(averages)])
    held_import_wh = sum(max(w, 0.0) for w in averages[:-1]) / 3600
    held_export_wh = sum(max(-w, 0.0) for w in averages[:-1]) / 3600

    assert state.balanced.import_wh == pytest.approx(held_import_wh)
    assert state.balanced.export_wh == pytest.approx(held_export_wh)
    assert held_import_wh == pytest.approx(25.0)
    assert trapezoid_with_zero_split_import_wh(averages, 1.0) == pytest.approx(held_import_wh / 2)


@pytest.mark.parametrize("step_s", [1.0, 2.0, 5.0])
def test_left_rectangle_converges_on_a_smooth_signal(step_s: float) -> None:
    amplitude_w, period_s = 3000.0, 3600.0
    state = run(sampled(lambda t: amplitude_w * math.sin(2 * math.pi * t / period_s), 3600, step_s))
    exact_each_wh = amplitude_w * period_s / math.pi / 3600  # integral of each half-wave
    assert state.balanced.import_wh == pytest.approx(exact_each_wh, rel=1e-4)
    assert state.balanced.export_wh == pytest.approx(exact_each_wh, rel=1e-4)
    assert state.integrated_s == pytest.approx(3600.0)


def test_balanced_nets_the_phases_while_per_phase_counts_each() -> None:
    phases_w = (2000.0, -1500.0, 300.0)
    ticks = [GridTick(START + timedelta(seconds=k), sum(phases_w), phases_w) for k in range(3601)]
    state = run(ticks)

    assert state.balanced == ImportExport(pytest.approx(800.0), pytest.approx(0.0))  # type: ignore[arg-type]
    assert [p.import_wh for p in state.phases] == pytest.approx([2000.0, 0.0, 300.0])
    assert [p.export_wh for p in state.phases] == pytest.approx([0.0, 1500.0, 0.0])
    per_phase_net = sum(p.import_wh - p.export_wh for p in state.phases)
    assert per_phase_net == pytest.approx(state.balanced.import_wh - state.balanced.export_wh)


def test_single_phase_balanced_and_per_phase_are_the_same() -> None:
    state = run(sampled(lambda t: 1200.0 * math.cos(t / 400), 7200))
    assert state.phases[0].import_wh == pytest.approx(state.balanced.import_wh)
    assert state.phases[0].export_wh == pytest.approx(state.balanced.export_wh)
    assert state.balanced.import_wh > 0
    assert state.balanced.export_wh > 0


def test_a_long_gap_without_counters_is_skipped_not_held() -> None:
    tz = ZoneInfo("Europe/Paris")
    before = [GridTick(START + timedelta(seconds=k), 1000.0) for k in range(61)]
    after = [GridTick(START + timedelta(seconds=660 + k), -400.0) for k in range(61)]
    state = run(before + after)

    assert state.balanced.import_wh == pytest.approx(1000.0 * 60 / 3600)
    assert state.balanced.export_wh == pytest.approx(400.0 * 60 / 3600)
    assert state.skipped_s == pytest.approx(600.0)
    assert state.bridged_s == 0.0
    assert gap_today(state, START + timedelta(hours=1), tz)
    assert not gap_today(state, START + timedelta(days=1), tz)


def test_a_long_gap_with_the_gateway_net_counter_is_bridged_with_its_net_energy() -> None:
    phases_then = (5000.0, 7000.0)
    phases_now = (5000.0 + 300.0, 7000.0 - 120.0)
    then = GridTick(START, 800.0, (500.0, 300.0), sum(phases_then), phases_then)
    now = GridTick(START + timedelta(minutes=20), -50.0, (-80.0, 30.0), sum(phases_now), phases_now)
    state = run([then, now])

    assert state.balanced == ImportExport(pytest.approx(180.0), 0.0)  # type: ignore[arg-type]
    assert state.phases == (ImportExport(pytest.approx(300.0), 0.0), ImportExport(0.0, pytest.approx(120.0)))  # type: ignore[arg-type]
    assert state.bridged_s == pytest.approx(1200.0)
    assert state.last_gap_at == now.at


def test_a_change_of_phase_count_integrates_the_total_but_not_the_phases() -> None:
    state = run(
        [
            GridTick(START, 900.0, (300.0, 300.0, 300.0)),
            GridTick(START + timedelta(seconds=1), 900.0, (900.0,)),
            GridTick(START + timedelta(seconds=2), 900.0, (900.0,)),
        ]
    )
    assert state.balanced.import_wh == pytest.approx(2 * 900.0 / 3600)
    assert [p.import_wh for p in state.phases] == pytest.approx([900.0 / 3600, 0.0, 0.0])


def test_a_restart_through_json_continues_exactly() -> None:
    ticks = sampled(lambda t: 2500.0 * math.sin(t / 300) - 400.0, 3600)
    uninterrupted = run(ticks)
    first = run(ticks[:1800])
    restored = GridIntegrator.from_json(json.loads(json.dumps(first.to_json())))
    assert restored == first
    assert run(ticks[1800:], restored) == uninterrupted


def test_integrated_counters_feed_the_day_counters_over_a_25_hour_day() -> None:
    tz = ZoneInfo("America/New_York")
    midnight = datetime(2024, 11, 3, tzinfo=tz).astimezone(UTC)
    state, counters = GridIntegrator(), DayCounters.empty()
    for k in range(-30, 25 * 3600 + 31, 4):
        at = midnight + timedelta(seconds=k)
        export_hour = 10 <= (at - midnight).total_seconds() / 3600 < 15
        state = integrate(state, GridTick(at, -2000.0 if export_hour else 500.0), max_gap_s=MAX_GAP_S)
        readings = {"balanced.import": state.balanced.import_wh, "balanced.export": state.balanced.export_wh}
        counters = counters.update(readings, at, tz)

    imported = counters.counters["balanced.import"].history[-1]
    exported = counters.counters["balanced.export"].history[-1]
    assert imported.day == date(2024, 11, 3)
    assert imported.wh == pytest.approx(500.0 * 20, abs=0.5)
    assert exported.wh == pytest.approx(2000.0 * 5, abs=2.5)
    assert not imported.estimated


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s.pop("balanced"), "grid_integrator.balanced"),
        (lambda s: s["balanced"].update(import_wh=None), "grid_integrator.balanced.import_wh"),
        (lambda s: s["phases"][1].update(export_wh="1"), "grid_integrator.phases[1].export_wh"),
        (lambda s: s["last"].update(at="2024-06-15 10:00"), "grid_integrator.last.at"),
        (lambda s: s.update(skipped_s=True), "grid_integrator.skipped_s"),
    ],
)
def test_a_malformed_persisted_integrator_names_the_field(
    mutate: Callable[[dict], object], field: str
) -> None:
    persisted = json.loads(json.dumps(run([GridTick(START, 10.0, (4.0, 6.0))]).to_json()))
    mutate(persisted)
    with pytest.raises(EnergyStateError) as caught:
        GridIntegrator.from_json(persisted)
    assert caught.value.field == field


def test_a_tick_without_a_time_zone_is_refused() -> None:
    with pytest.raises(EnergyError, match="grid tick time"):
        integrate(GridIntegrator(), GridTick(datetime(2024, 6, 15, 10), 1.0), max_gap_s=MAX_GAP_S)


def test_the_gateway_clock_sets_the_interval_and_a_repeated_reading_adds_nothing() -> None:
    def tick(gateway_s: float, polled_s: float, net_w: float, battery_w: float | None = None) -> GridTick:
        return GridTick(
            START + timedelta(seconds=gateway_s),
            net_w,
            (net_w,),
            polled_at=START + timedelta(seconds=polled_s),
            battery_w=battery_w,
        )

    # a simulator at speed 60: polls 1 s apart (consecutive), readings 60 s apart on the gateway's clock
    fast = run([tick(0, 0, 3600.0, -1800.0), tick(60, 1, 3600.0, 900.0), tick(120, 2, -3600.0)])
    assert fast.balanced == ImportExport(import_wh=120.0, export_wh=0.0)
    assert fast.battery == ImportExport(import_wh=15.0, export_wh=30.0)  # discharged, charged
    assert fast.skipped_s == fast.bridged_s == 0.0
    # the gateway has not refreshed: the same timestamp again, polled later, adds nothing
    repeated = run([tick(120, 3, -3600.0), tick(120, 4, 5000.0)], fast)
    assert repeated == fast
    # network jitter: polls 1.7 s then 0.3 s apart, readings 1 s apart each
    jitter = run([tick(0, 0, 3600.0), tick(1, 1.7, 3600.0), tick(2, 2.0, 0.0)])
    assert jitter.balanced.import_wh == pytest.approx(2.0)
    # whether a poll was missed is judged on the daemon's clock: 30 s without a poll is a gap
    gap = run([tick(0, 0, 3600.0), tick(2, 30, 3600.0)])
    assert gap.balanced == ImportExport()
    assert gap.skipped_s == 2.0
    # persisted and read back with the poll time and the battery's energy
    assert GridIntegrator.from_json(json.loads(json.dumps(fast.to_json()))) == fast
