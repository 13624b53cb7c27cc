"""Proportional diversion on a fake clock: the PI loop's step response, dead band, rate limit,
anti-windup and fail-safe, and its priorities with on/off stages."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from test_controller import at, snap, stage

from enphase_secure.actions.templates import compile_template, render, template_values
from enphase_secure.control.controller import Command, step
from enphase_secure.control.delivery import delivered
from enphase_secure.control.proportional import ProportionalSettings, regulate
from enphase_secure.control.settings import ControlSettings, StageSettings
from enphase_secure.control.state import ControllerState
from enphase_secure.errors import ConfigError

PI = ProportionalSettings(max_w=3000.0)


def router(name: str = "router", pi: dict[str, float] | None = None, **overrides: Any) -> StageSettings:
    loop = dataclasses.replace(PI, **(pi or {}))
    return stage(name, start_above_w=0.0, stop_below_w=0.0, proportional=loop, **overrides)


@dataclasses.dataclass
class Loop:
    """A house whose grid power is ``base_grid_w(t)`` plus what the stages draw once confirmed."""

    settings: ControlSettings
    base_grid_w: Callable[[float], float]
    state: ControllerState = dataclasses.field(default_factory=ControllerState)
    commands: list[tuple[float, Command]] = dataclasses.field(default_factory=list)
    grid: list[tuple[float, float]] = dataclasses.field(default_factory=list)

    def drawn_w(self) -> float:
        total = 0.0
        for s in self.settings.stages:
            st = self.state.stage(s.name)
            if st.confirmed_on:
                total += s.load_w if st.level_w is None else st.level_w
        return total

    def run(self, until_s: float, *, tick_s: float = 1.0, start_s: float = 0.0, **reading: Any) -> Loop:
        t = start_s
        while t < until_s:
            grid_w = self.base_grid_w(t) + self.drawn_w()
            self.grid.append((t, grid_w))
            self.state, commands = step(self.settings, self.state, snap(-grid_w, **reading), at(t))
            for command in commands:
                self.commands.append((t, command))
                self.state = delivered(self.state, command, error=None, now=at(t))
            t += tick_s
        return self

    def level(self, name: str = "router") -> float:
        return self.state.stage(name).level_w or 0.0


def test_step_response_settles_near_the_target_in_a_few_commands() -> None:
    # 2 kW of surplus appears at t=0: the level climbs, at most 25 % (750 W) per command, every 5 s
    loop = Loop(ControlSettings(stages=(router(),)), lambda t: -1950.0).run(60)
    levels = [c.power_w for _, c in loop.commands]
    assert levels[0] == 750.0  # the step limit
    assert all(b is not None and a is not None and abs(b - a) <= 750.0 for a, b in itertools.pairwise(levels))
    settled = [g for t, g in loop.grid if t >= 30]  # six intervals
    assert all(abs(g - -50.0) <= PI.dead_band_w for g in settled), settled
    assert max(level for level in levels if level is not None) <= 1950.0 + 0.2 * 1950.0  # little overshoot
    assert loop.level() == pytest.approx(1900.0, abs=60.0)


def test_dead_band_sends_nothing() -> None:
    result = regulate(PI, level_w=1000.0, integral_w=1000.0, grid_w=-50.0 + 25.0)
    assert (result.level_w, result.integral_w, result.send) == (1000.0, 1000.0, False)
    outside = regulate(PI, level_w=1000.0, integral_w=1000.0, grid_w=-50.0 + 200.0)
    assert outside.send
    assert outside.level_w < 1000.0  # importing more than the target: less power to the load


def test_small_changes_are_not_sent_but_accumulate() -> None:
    # 45 W over the dead band: each update moves less than min_step (2 % = 60 W) at first
    first = regulate(PI, level_w=1000.0, integral_w=1000.0, grid_w=-50.0 + 45.0)
    assert not first.send
    assert first.level_w == 1000.0
    assert first.integral_w < 1000.0  # the integral keeps the error: it is sent once large enough
    second = regulate(PI, level_w=1000.0, integral_w=first.integral_w, grid_w=-5.0)
    assert second.send
    assert second.level_w < 1000.0 - 60.0 + 1e-9


def test_commands_are_rate_limited_to_min_interval_s() -> None:
    # a surplus swinging every second: the loop still sends at most one command per 7 s
    config = ControlSettings(
        stages=(router(pi={"min_interval_s": 7.0, "dead_band_w": 0.0, "min_step_pct": 0.0}),)
    )
    loop = Loop(config, lambda t: -1500.0 if int(t) % 2 else -500.0).run(120)
    times = [t for t, _ in loop.commands]
    assert len(times) >= 10
    assert min(b - a for a, b in itertools.pairwise(times)) >= 7.0


def test_anti_windup_answers_at_once_after_a_long_saturation() -> None:
    # an hour of 5 kW surplus: the level sits at max_w, the integral no higher
    loop = Loop(ControlSettings(stages=(router(),)), lambda t: -5000.0 if t < 3600 else -1000.0).run(3600)
    assert loop.level() == 3000.0
    assert loop.state.stage("router").pi_integral_w <= 3000.0
    # the surplus falls to 1 kW: the very next command lowers the level, by the full step
    loop.run(3620, start_s=3600)
    first_after = next(c for t, c in loop.commands if t >= 3600)
    assert first_after.power_w == 3000.0 - 750.0
    assert loop.level() < 1500.0


def test_fail_safe_level_0_on_stale_data_or_a_failed_battery_condition() -> None:
    config = ControlSettings(stages=(router(),))
    loop = Loop(config, lambda t: -2000.0).run(40)
    assert loop.level() > 1000.0
    state, commands = step(config, loop.state, snap(-500.0, stale=True), at(41))  # 1 s after: at once
    assert [(c.action, c.level_pct, c.power_w) for c in commands] == [("off", 0.0, 0.0)]
    assert commands[0].reason == "level 0 % (0 W): level 0: fail-safe: no fresh data"
    assert state.stage("router").pi_integral_w == 0.0
    assert step(config, state, None, at(42))[1] == ()  # nothing more while it stays at 0

    battery = ControlSettings(stages=(router(min_soc_pct=50.0),))
    loop = Loop(battery, lambda t: -2000.0).run(40, soc_pct=80.0)
    assert loop.level() > 1000.0
    loop.run(42, start_s=40, soc_pct=30.0)
    assert loop.level() == 0.0
    assert loop.commands[-1][1].reason.endswith("battery SoC 30 % < min_soc_pct 50 %")


def test_a_proportional_stage_takes_what_the_higher_priority_stages_leave() -> None:
    heater = stage("heater", priority=1, load_w=2000.0, start_above_w=2100.0, stop_below_w=300.0)
    config = ControlSettings(stages=(heater, router(priority=2)))
    loop = Loop(config, lambda t: -3000.0).run(120)
    assert loop.state.stage("heater").confirmed_on is True
    assert loop.level() == pytest.approx(950.0, abs=60.0)  # 3 kW - 2 kW heater - 50 W target
    assert abs(loop.grid[-1][1] - -50.0) <= 60.0


def test_an_on_off_stage_of_lower_priority_waits_for_the_dimmer_at_full_power() -> None:
    heater = stage("heater", priority=2, load_w=2000.0, start_above_w=2100.0, stop_below_w=300.0)
    config = ControlSettings(stages=(router(priority=1), heater))
    loop = Loop(config, lambda t: -4000.0).run(120)
    assert loop.state.stage("heater").on is False  # 4 kW - 3 kW at full power leaves 1 kW
    assert loop.level() == 3000.0
    loop = Loop(config, lambda t: -5500.0).run(120)
    assert loop.state.stage("heater").on is True  # 2.5 kW left over at full power: the heater too
    assert loop.level() == 3000.0


def test_manual_override_sets_full_or_zero() -> None:
    config = ControlSettings(stages=(router(),))
    state = ControllerState().with_mode("router", "on")
    state, commands = step(config, state, snap(0.0), at(0))
    assert [(c.action, c.level_pct, c.power_w) for c in commands] == [("on", 100.0, 3000.0)]
    state, commands = step(config, state.with_mode("router", "off"), snap(0.0), at(1))
    assert [(c.action, c.level_pct) for c in commands] == [("off", 0.0)]


def test_the_level_is_templated_into_the_action() -> None:
    template = compile_template("http://dimmer/light/0?turn=$action&brightness=$level_pct&w=$power_w", "url")
    command = Command("router", "on", "pi", level_pct=42.5, power_w=1275.0)
    assert render(template, template_values(command, None)) == (
        "http://dimmer/light/0?turn=on&brightness=42.5&w=1275"
    )
    switch = Command("heater", "on", "surplus")
    assert render(template, template_values(switch, None)).endswith("brightness=null&w=null")


BASE = {"name": "router", "kind": "proportional", "max_w": 3000}


def test_proportional_settings_are_read_with_their_defaults() -> None:
    parsed = StageSettings.from_mapping({**BASE, "min_interval_s": 10}, "control.stages[0]")
    assert parsed.proportional == ProportionalSettings(max_w=3000.0, min_interval_s=10.0)
    assert parsed.proportional.target_grid_w == -50.0


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"name": "router", "kind": "proportional"}, r"max_w: required"),
        ({**BASE, "start_above_w": 100}, "start_above_w"),
        ({**BASE, "min_daily_runtime_h": 2, "catch_up_windows": ["22:00-06:00"]}, "on/off stages"),
        ({**BASE, "kind": "dimmer"}, "kind"),
        ({**BASE, "max_step_pct": 0}, "max_step_pct"),
        ({"name": "heater", "start_above_w": 1000, "stop_below_w": 100, "max_w": 2000}, "max_w"),
    ],
)
def test_bad_proportional_settings_are_named(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StageSettings.from_mapping(mapping, "control.stages[0]")
