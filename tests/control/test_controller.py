"""The controller on tables of readings and a fake clock (in the style of evcc's TestPVHysteresis)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from enphase_secure.control.controller import Command, step
from enphase_secure.control.settings import ControlSettings, StageSettings, TimeWindow
from enphase_secure.control.state import ControllerState, Instant, StageState
from enphase_secure.energy.snapshot import (
    EnergyFlow,
    GatewayIdentity,
    Grid,
    PhaseBalance,
    Snapshot,
    Staleness,
    Storage,
)

T0 = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)


def at(t: float, *, wall_offset_s: float = 0.0) -> Instant:
    """``t`` s on the monotonic clock; the wall clock as far from T0, plus any step it made."""
    return Instant(T0 + timedelta(seconds=t + wall_offset_s), float(t))


def balance(surplus_w: float) -> PhaseBalance:
    return PhaseBalance(import_w=max(-surplus_w, 0.0), export_w=max(surplus_w, 0.0))


def snap(
    surplus_w: float | None = 0.0,
    *,
    phases_w: Sequence[float] = (),
    battery_w: float | None = None,
    soc_pct: float | None = None,
    stale: bool = False,
) -> Snapshot:
    total = balance(surplus_w) if surplus_w is not None else PhaseBalance(None, None)
    storage = None
    if battery_w is not None or soc_pct is not None:
        storage = Storage(power_w=battery_w, soc_pct=soc_pct, available_wh=None, capacity_wh=None)
    return Snapshot(
        time=T0,
        gateway=GatewayIdentity(serial="1", firmware="8.2", part_number=None),
        phase_mode="three" if phases_w else "single",
        phase_count=len(phases_w) or 1,
        production=EnergyFlow(),
        consumption=EnergyFlow(),
        net_consumption=EnergyFlow(),
        grid=Grid(
            import_w=total.import_w,
            export_w=total.export_w,
            phases=tuple(balance(p) for p in phases_w),
        ),
        storage=storage,
        staleness=Staleness(stale=stale, reason="read failed" if stale else None),
    )


def stage(name: str = "heater", **overrides: Any) -> StageSettings:
    fields: dict[str, Any] = {
        "name": name,
        "start_above_w": 1000.0,
        "stop_below_w": 200.0,
        "start_delay_s": 0.0,
        "stop_delay_s": 0.0,
    }
    fields.update(overrides)
    return StageSettings(**fields)


def settings(*stages: StageSettings, **overrides: Any) -> ControlSettings:
    return ControlSettings(stages=tuple(sorted(stages, key=lambda s: s.priority)), **overrides)


Row = tuple[float, Snapshot | None, bool]  # seconds after T0, reading, expected "on" after the step


def run_rows(
    config: ControlSettings, rows: Sequence[Row], state: ControllerState | None = None, name: str = "heater"
) -> tuple[ControllerState, list[Command]]:
    state = state or ControllerState()
    issued: list[Command] = []
    for t, reading, expected_on in rows:
        state, commands = step(config, state, reading, at(t))
        issued.extend(commands)
        assert state.stage(name).on is expected_on, f"t={t}: {state.stage(name).reason}"
    return state, issued


HYSTERESIS_CASES: dict[str, tuple[StageSettings, list[Row]]] = {
    "no start before the start delay": (
        stage(start_delay_s=60),
        [(0, snap(1500), False), (30, snap(1500), False), (59, snap(1500), False), (60, snap(1500), True)],
    ),
    "start timer resets when the surplus dips": (
        stage(start_delay_s=60),
        [
            (0, snap(1500), False),
            (40, snap(900), False),
            (41, snap(1500), False),
            (100, snap(1500), False),
            (101, snap(1500), True),
        ],
    ),
    "start_above_w is exclusive": (stage(), [(0, snap(1000), False), (1, snap(1000.5), True)]),
    "between the thresholds nothing changes (hysteresis)": (
        stage(),
        [(0, snap(1200), True), (1, snap(500), True), (2, snap(201), True), (3, snap(199), False)],
    ),
    "between the thresholds an off stage stays off": (
        stage(),
        [(0, snap(500), False), (1, snap(999), False), (2, snap(201), False)],
    ),
    "no stop before the stop delay": (
        stage(stop_delay_s=30),
        [(0, snap(1500), True), (10, snap(100), True), (39, snap(100), True), (40, snap(-50), False)],
    ),
    "stop timer resets when the surplus comes back": (
        stage(stop_delay_s=30),
        [
            (0, snap(1500), True),
            (10, snap(100), True),
            (30, snap(300), True),
            (31, snap(100), True),
            (60, snap(100), True),
            (61, snap(100), False),
        ],
    ),
    "min_on_s keeps it on after the stop delay": (
        stage(stop_delay_s=10, min_on_s=300),
        [
            (0, snap(1500), True),
            (10, snap(0), True),
            (20, snap(0), True),
            (299, snap(0), True),
            (300, snap(0), False),
        ],
    ),
    "min_off_s keeps it off after the start delay": (
        stage(start_delay_s=10, min_off_s=120),
        [
            (0, snap(1500), False),
            (10, snap(1500), True),
            (20, snap(0), False),
            (30, snap(1500), False),
            (100, snap(1500), False),
            (139, snap(1500), False),
            (140, snap(1500), True),
        ],
    ),
    "a dip during min_off_s still restarts the start timer": (
        stage(start_delay_s=30, min_off_s=60),
        [
            (0, snap(1500), False),
            (30, snap(1500), True),
            (31, snap(0), False),
            (50, snap(1500), False),
            (70, snap(0), False),
            (71, snap(1500), False),
            (91, snap(1500), False),
            (100, snap(1500), False),
            (101, snap(1500), True),
        ],
    ),
}


@pytest.mark.parametrize(("config", "rows"), HYSTERESIS_CASES.values(), ids=HYSTERESIS_CASES.keys())
def test_hysteresis_table(config: StageSettings, rows: list[Row]) -> None:
    run_rows(settings(config), rows)


def test_each_switch_is_one_command_with_its_reason() -> None:
    config = settings(stage(start_delay_s=60, stop_delay_s=30))
    rows: list[Row] = [(t, snap(1500), t >= 60) for t in range(0, 120)]
    rows += [(t, snap(0), t < 150) for t in range(120, 200)]
    _, commands = run_rows(config, rows)
    assert [(c.stage, c.action) for c in commands] == [("heater", "on"), ("heater", "off")]
    assert commands[0].reason == "surplus 1500 W > start_above_w 1000 W for 60 s"
    assert commands[1].reason == "surplus 0 W < stop_below_w 200 W for 30 s"
    assert commands[0].dry_run is False


def test_a_small_import_reads_0_w_in_the_reason_not_minus_0() -> None:
    state, _ = step(settings(stage()), ControllerState(), snap(-0.3), at(0))
    assert state.stage("heater").reason == "off: surplus 0 W <= start_above_w 1000 W"


def test_dry_run_marks_the_commands() -> None:
    _, commands = run_rows(settings(stage(), dry_run=True), [(0, snap(1500), True)])
    assert [(c.action, c.dry_run) for c in commands] == [("on", True)]


def plant(
    config: ControlSettings,
    base_surplus_w: Callable[[float], float],
    seconds: int,
    *,
    lag_s: int = 0,
    state: ControllerState | None = None,
    start_s: int = 0,
) -> tuple[ControllerState, list[tuple[int, Command]], list[float]]:
    """A site whose meter shows the base surplus minus the loads that were on ``lag_s`` seconds ago."""
    state = state or ControllerState()
    history: list[ControllerState] = []
    commands: list[tuple[int, Command]] = []
    measured: list[float] = []
    for i, t in enumerate(range(start_s, start_s + seconds)):
        seen = history[i - lag_s - 1] if i - lag_s - 1 >= 0 else state
        drawn = sum(s.load_w for s in config.stages if seen.stage(s.name).on)
        surplus = base_surplus_w(t) - drawn
        measured.append(surplus)
        state, issued = step(config, state, snap(surplus), at(t))
        history.append(state)
        commands.extend((t, c) for c in issued)
    return state, commands, measured


def two_loads(**overrides: Any) -> ControlSettings:
    big = stage(
        "water heater", priority=1, load_w=2000, start_above_w=2100, stop_below_w=1000, start_delay_s=60
    )
    small = stage(
        "pool pump", priority=2, load_w=1000, start_above_w=1100, stop_below_w=500, start_delay_s=60
    )
    return settings(big, small, **overrides)


def test_lower_priority_sees_what_the_higher_one_leaves_in_the_same_step() -> None:
    state, commands, measured = plant(two_loads(), lambda t: 2500, 300)
    assert [(t, c.stage, c.action) for t, c in commands] == [(60, "water heater", "on")]
    assert state.stage("pool pump").on is False
    assert measured[-1] == 500


def test_both_start_when_the_surplus_covers_both_and_export_drops_by_their_loads() -> None:
    state, commands, measured = plant(two_loads(), lambda t: 3500, 300)
    assert [(t, c.stage, c.action) for t, c in commands] == [
        (60, "water heater", "on"),
        (60, "pool pump", "on"),
    ]
    assert measured[-1] == 500
    assert "surplus 3500 W" in state.stage("water heater").reason
    assert "surplus 1500 W" in state.stage("pool pump").reason


def test_a_running_stage_does_not_count_its_own_load_against_itself() -> None:
    # 2.5 kW of solar surplus, a 2 kW heater: the meter shows 500 W, below stop_below_w 1000,
    # but the heater itself has 2.5 kW available, so it stays on.
    state, commands, _ = plant(two_loads(), lambda t: 2500, 600)
    assert len(commands) == 1
    assert state.stage("water heater").on is True


def test_stop_in_reverse_priority_order_when_the_surplus_shrinks() -> None:
    def sun(t: float) -> float:
        return 3500 if t < 200 else 2400 if t < 400 else 900

    _, commands, _ = plant(two_loads(), sun, 600)
    assert [(t, c.stage, c.action) for t, c in commands] == [
        (60, "water heater", "on"),
        (60, "pool pump", "on"),
        (200, "pool pump", "off"),
        (400, "water heater", "off"),
    ]


def test_higher_priority_displaces_a_running_lower_one() -> None:
    heater_off = settings(
        stage("water heater", priority=1, load_w=2000, start_above_w=2100, stop_below_w=1000, enabled=False),
        stage("pool pump", priority=2, load_w=1000, start_above_w=1100, stop_below_w=600),
    )
    state, commands, _ = plant(heater_off, lambda t: 2500, 30)
    assert state.stage("pool pump").on is True
    heater_on = dataclasses.replace(
        heater_off, stages=(dataclasses.replace(heater_off.stages[0], enabled=True), heater_off.stages[1])
    )
    state, commands, measured = plant(heater_on, lambda t: 2500, 30, state=state, start_s=30)
    # the heater counts the pump's 1 kW as its own: 1.5 kW + 1 kW = 2.5 kW > 2.1 kW: it starts,
    # and once the meter shows it the pump sees 2.5 - 2 = 0.5 kW, not enough, and stops.
    assert [(t, c.stage, c.action) for t, c in commands] == [
        (30, "water heater", "on"),
        (31, "pool pump", "off"),
    ]
    assert measured[-1] == 500


@pytest.mark.parametrize(("settle_s", "pump_starts"), [(10.0, False), (0.0, True)])
def test_a_load_not_yet_on_the_meter_is_still_counted(settle_s: float, pump_starts: bool) -> None:
    config = two_loads(settle_s=settle_s)
    config = dataclasses.replace(
        config, stages=(config.stages[0], dataclasses.replace(config.stages[1], start_delay_s=0))
    )
    heater_just_started = ControllerState(stages=(StageState("water heater", on=True, switched_at_s=-2.0),))
    # the meter does not show the heater yet: 2.5 kW of export
    state, _ = step(config, heater_just_started, snap(2500), at(0))
    assert state.stage("pool pump").on is pump_starts


def test_per_phase_stage_reads_its_own_phase() -> None:
    config = settings(stage("phase 2 heater", phase=2, load_w=1500))
    rows: list[Row] = [
        (0, snap(3000, phases_w=(2800, 100, 100)), False),
        (1, snap(3000, phases_w=(100, 1800, 1100)), True),
    ]
    run_rows(config, rows, name="phase 2 heater")


def test_phase_stages_count_only_loads_on_their_phase() -> None:
    config = settings(
        stage("p1", priority=1, phase=1, load_w=2000, start_above_w=2100, stop_below_w=500),
        stage("p2", priority=2, phase=2, load_w=1000, start_above_w=1100, stop_below_w=500),
        stage("total", priority=3, load_w=1000, start_above_w=1100, stop_below_w=500),
    )
    state, _ = run_rows(config, [(0, snap(3600, phases_w=(2400, 1200, 0)), True)], name="p1")
    assert state.stage("p2").on is True  # p1's 2 kW is on phase 1, not phase 2
    assert state.stage("total").on is False  # 3600 - 2000 - 1000 = 600 W left on the total


def test_missing_phase_is_unknown_data() -> None:
    config = settings(stage("p3", phase=3), failsafe_after_s=30)
    state, commands = run_rows(config, [(0, snap(3000, phases_w=(1000, 2000)), False)], name="p3")
    assert commands == []
    assert "no fresh data" in state.stage("p3").reason


BATTERY_CASES: dict[str, tuple[StageSettings, list[Row]]] = {
    "below min_soc_pct: no start": (
        stage(min_soc_pct=80),
        [(0, snap(2000, soc_pct=79.5), False), (1, snap(2000, soc_pct=80), True)],
    ),
    "unknown SoC: no start": (stage(min_soc_pct=80), [(0, snap(2000), False)]),
    "SoC falls under min_soc_pct: stops after the stop delay": (
        stage(min_soc_pct=80, stop_delay_s=60),
        [
            (0, snap(2000, soc_pct=90), True),
            (10, snap(2000, soc_pct=79), True),
            (70, snap(2000, soc_pct=79), False),
        ],
    ),
    "battery charging counts as surplus when configured": (
        stage(surplus_includes_battery=True),
        [(0, snap(0, battery_w=-1500, soc_pct=50), True)],
    ),
    "battery charging ignored by default": (stage(), [(0, snap(0, battery_w=-1500, soc_pct=50), False)]),
    "battery discharging never adds surplus": (
        stage(surplus_includes_battery=True),
        [(0, snap(900, battery_w=800, soc_pct=50), False)],
    ),
    "battery discharging is not surplus: no start on what is left of the export": (
        stage(),
        [(0, snap(1500, battery_w=800, soc_pct=50), False), (1, snap(1500, battery_w=0, soc_pct=50), True)],
    ),
    "a running load the battery feeds at night stops (the grid held at 0 is not room for it)": (
        stage(load_w=2000),
        [
            (0, snap(3000, soc_pct=90), True),
            (10, snap(0, battery_w=0, soc_pct=90), True),
            (20, snap(0, battery_w=2000, soc_pct=90), False),
        ],
    ),
}


@pytest.mark.parametrize(("config", "rows"), BATTERY_CASES.values(), ids=BATTERY_CASES.keys())
def test_battery_table(config: StageSettings, rows: list[Row]) -> None:
    run_rows(settings(config), rows)


def test_time_window_in_site_local_time() -> None:
    paris = ControlSettings.from_mapping(
        {
            "stages": [
                {
                    "name": "heater",
                    "start_above_w": 1000,
                    "stop_below_w": 200,
                    "start_delay_s": 0,
                    "stop_delay_s": 0,
                    "windows": ["12:00-16:00"],
                }
            ]
        },
        timezone="Europe/Paris",
    )
    # T0 is 10:00 UTC = 12:00 in Paris (summer time)
    rows: list[Row] = [
        (-1, snap(2000), False),
        (0, snap(2000), True),
        (4 * 3600 - 1, snap(2000), True),
        (4 * 3600, snap(2000), False),
    ]
    state, _ = run_rows(paris, rows)
    assert state.stage("heater").reason.startswith("16:00 is outside the time windows 12:00-16:00")


def test_time_window_across_midnight() -> None:
    window = TimeWindow.parse("22:00-06:00", "w")
    assert [window.contains(datetime(2026, 1, 1, h).time()) for h in (21, 22, 23, 0, 5, 6)] == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]


FAILSAFE_CASES: dict[str, tuple[StageSettings, list[Row]]] = {
    "stale data: holds, then off after failsafe_after_s": (
        stage(),
        [(0, snap(2000), True), (10, snap(2000, stale=True), True), (69, None, True), (70, None, False)],
    ),
    "fresh data in between restarts the failsafe clock": (
        stage(),
        [
            (0, snap(2000), True),
            (10, None, True),
            (65, snap(500), True),
            (66, None, True),
            (125, None, True),
            (126, None, False),
        ],
    ),
    "safe_state on switches an off stage on": (
        stage(safe_state="on"),
        [(0, snap(0), False), (1, None, False), (61, None, True), (62, snap(0), False)],
    ),
    "unknown data restarts the start timer": (
        stage(start_delay_s=30),
        [
            (0, snap(2000), False),
            (20, None, False),
            (21, snap(2000), False),
            (50, snap(2000), False),
            (51, snap(2000), True),
        ],
    ),
}


@pytest.mark.parametrize(("config", "rows"), FAILSAFE_CASES.values(), ids=FAILSAFE_CASES.keys())
def test_failsafe_table(config: StageSettings, rows: list[Row]) -> None:
    run_rows(settings(config, failsafe_after_s=60), rows)


def test_failsafe_says_why() -> None:
    rows: list[Row] = [(0, snap(2000), True), (1, None, True), (61, None, False), (62, None, False)]
    state, commands = run_rows(settings(stage(), failsafe_after_s=60), rows)
    assert [c.action for c in commands] == ["on", "off"]
    assert commands[1].reason == "failsafe: no fresh data for 60 s (failsafe_after_s 60): safe state off"
    assert state.stage("heater").failsafe is True


def test_disabled_stage_runs_off_once() -> None:
    config = settings(stage(enabled=False))
    state, commands = run_rows(
        config, [(0, snap(5000), False), (1, snap(5000), False), (2, snap(5000), False)]
    )
    assert [(c.action, c.reason) for c in commands] == [("off", "stage disabled")]
    assert state.stage("heater").disabled is True


def test_globally_disabled_then_enabled_again() -> None:
    on = settings(stage())
    state, _ = run_rows(on, [(0, snap(5000), True)])
    off = dataclasses.replace(on, enabled=False)
    state, commands = run_rows(off, [(1, snap(5000), False), (2, snap(5000), False)], state=state)
    assert [(c.action, c.reason) for c in commands] == [
        ("off", "control disabled ([control] enabled = false)")
    ]
    state, commands = run_rows(on, [(3, snap(5000), True)], state=state)
    assert [c.action for c in commands] == ["on"]


def test_manual_override_on_off_auto() -> None:
    config = settings(stage(stop_delay_s=30, min_on_s=600))
    state = ControllerState().with_mode("heater", "on")
    state, commands = run_rows(config, [(0, snap(-3000), True), (100, snap(-3000), True)], state=state)
    assert [(c.action, c.reason) for c in commands] == [("on", "manual override: on")]
    state = state.with_mode("heater", "off")  # ignores min_on_s
    state, commands = run_rows(config, [(101, snap(5000), False)], state=state)
    assert [(c.action, c.reason) for c in commands] == [("off", "manual override: off")]
    state = state.with_mode("heater", "auto")
    state, commands = run_rows(config, [(102, snap(5000), True)], state=state)
    assert [c.action for c in commands] == ["on"]


def test_manual_override_wins_over_failsafe_but_not_over_disabled() -> None:
    state = ControllerState().with_mode("heater", "on")
    run_rows(settings(stage(), failsafe_after_s=10), [(0, None, True), (100, None, True)], state=state)
    _, commands = run_rows(settings(stage(enabled=False)), [(0, snap(5000), False)], state=state)
    assert [c.action for c in commands] == ["off"]


def test_restart_in_the_middle_of_a_delay_resumes_the_timer() -> None:
    config = settings(stage(start_delay_s=60, min_on_s=300, stop_delay_s=0))
    state, _ = run_rows(config, [(0, snap(1500), False), (30, snap(1500), False)])
    restored = ControllerState.from_json(json.loads(json.dumps(state.to_json(at(30)))), at(30))
    uncounted = tuple(dataclasses.replace(s, counted_at_s=None) for s in state.stages)
    assert restored == ControllerState(stages=uncounted)  # the time down is not runtime
    state, commands = run_rows(config, [(59, snap(1500), False), (60, snap(1500), True)], state=restored)
    assert [c.action for c in commands] == ["on"]
    # and once on, a restart neither re-fires nor forgets min_on_s
    restored = ControllerState.from_json(json.loads(json.dumps(state.to_json(at(60)))), at(60))
    _, commands = run_rows(
        config, [(61, snap(1500), True), (100, snap(0), True), (360, snap(0), False)], state=restored
    )
    assert [c.action for c in commands] == ["off"]


def test_state_json_is_wall_clock_iso() -> None:
    state, _ = run_rows(settings(stage(start_delay_s=60)), [(0, snap(1500), False)])
    doc = state.to_json(at(0))
    assert doc["version"] == 3
    assert doc["stages"][0]["start_timer_since"] == "2026-06-21T10:00:00+00:00"


def test_stages_removed_from_the_config_are_dropped() -> None:
    state, _ = run_rows(settings(stage("old"), stage("heater")), [(0, snap(5000), True)])
    state, _ = run_rows(settings(stage("heater")), [(1, snap(5000), True)], state=state)
    assert [s.name for s in state.stages] == ["heater"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        step(settings(stage()), ControllerState(), snap(0), Instant(datetime(2026, 1, 1), 0.0))
