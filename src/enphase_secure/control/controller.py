"""The self-consumption controller: ``step(settings, state, reading, now) -> (state, commands)``.

Pure: no I/O, no clock of its own: ``now`` is an ``Instant``, both clocks read once. Delays, minimum
times and the fail-safe run on its monotonic time (a wall-clock step moves none of them); time
windows read its wall time in the site's zone. The daemon calls it on every snapshot (or every tick with None
when there is no fresh snapshot), persists the returned state and hands the commands to the
action runner. Commands are values; the state already reflects them.

Surplus. A stage measures ``S`` = grid export − import on its phase (1/2/3) or on the total, plus
the battery's charging power when ``surplus_includes_battery`` is set. Negative = importing.

What a stage compares with its thresholds, ``available``: the surplus there would be if this stage
and every lower-priority stage were off, the higher-priority ones running as they are::

    available_i = S + Σ_{j ranked i or after, on} load_j
                    − Σ_{j ranked before i, on, not settled} load_j    (only while i is off)

(a stage "on" here is one whose load runs: intended on and its switching not failed, ``running``)
over the stages j on the same meter (a phase stage counts the stages on its phase; a total stage
counts them all). A stage is "settled" ``settle_s`` after it switched (never in the step that
switches it): until then the meter may not show its draw yet, so a stage about to start assumes
it does not, and a running stage assumes it does (no stop on a draw not yet measured).
Consequences, each one tested:

* a running stage does not count its own draw against itself: a 2 kW heater started at 2.5 kW of
  export sees 2.5 kW available, not the 0.5 kW left on the meter, so ``stop_below_w`` means "stop
  when solar covers less than this much of me";
* a lower-priority stage sees what the higher ones leave, including a stage switched on in this
  same step or too recently to show on the meter (no two stages start on the same surplus);
* a higher-priority stage counts the draw of running lower-priority ones as its own: it may start
  by displacing them, and when the surplus shrinks the lowest-priority stage stops first (stages
  start in priority order and stop in reverse);
* without ``load_w`` (0) the thresholds apply to the measured surplus as it is.

A proportional stage (``control.proportional``) draws its level, and its PI reads the meter as
it is (minus what the higher stages draw but the meter does not show yet): it takes what the
higher-priority stages leave. A higher-priority proportional stage's headroom (``max_w`` − its
level) is taken off what every lower stage sees: they get the surplus once it runs at full power.

Per stage, in this order of precedence:

1. ``enabled = false`` (stage or ``[control]``): its ``off`` command is sent once, then nothing.
2. Manual mode ``on`` / ``off`` (``ControllerState.with_mode``): switched at once, no delay, no
   minimum time; ``auto`` gives control back.
3. Data unknown (no reading, stale reading, phase missing): no decision and the timers restart;
   after ``failsafe_after_s`` without data the stage goes to its ``safe_state`` (default off),
   immediately, with the reason.
4. Automatic: off -> on when ``available > start_above_w`` and the battery holds ``min_soc_pct``
   (unknown SoC = not met) and ``now`` (local time in the site's zone) is in one of ``windows``
   (none = always), all uninterruptedly for ``start_delay_s``, and off for at least ``min_off_s``.
   On -> off when ``available < stop_below_w`` or the battery or window condition fails, for
   ``stop_delay_s``, and on for at least ``min_on_s``. A timer restarts whenever its condition
   drops, even for one reading.
5. Daily runtime (``control.runtime``), within 4: once ``max_daily_runtime_h`` is reached the stage
   switches off at once and stays off for the rest of its runtime day; in a catch-up window, a
   stage short of ``min_daily_runtime_h`` switches on when it must to finish by the window's end,
   whatever the surplus, the battery and ``windows`` (it runs on the grid; no delay, no
   ``min_off_s``), and off at once when the minimum is reached. Solar runtime counts first: a stage
   the sun keeps on is left alone until the catch-up would need it anyway.

Every step first adds the confirmed-on time since the previous step to each stage's runtime.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from enphase_secure.control import proportional, runtime
from enphase_secure.control.settings import ControlSettings, StageSettings
from enphase_secure.control.state import ControllerState, Instant, StageState
from enphase_secure.control.surplus import battery_soc_pct, measured_surplus_w
from enphase_secure.energy.snapshot import Snapshot

Switch = Literal["on", "off"]


@dataclass(frozen=True, slots=True)
class Command:
    """Switch ``stage`` on or off; ``dry_run`` commands are logged and published, never run.

    ``intent`` is the stage's intent number this command delivers (``StageState.intent``); a
    proportional stage's command carries its level (``action`` "off" at level 0).
    """

    stage: str
    action: Switch
    reason: str
    dry_run: bool = False
    intent: int = 0
    level_pct: float | None = None
    power_w: float | None = None

    @classmethod
    def delivering(cls, state: StageState, reason: str, *, dry_run: bool) -> Command:
        """The command of ``state``'s current intent."""
        action: Switch = "on" if state.on else "off"
        return cls(state.name, action, reason, dry_run, state.intent, state.level_pct, state.level_w)


def step(
    settings: ControlSettings, state: ControllerState, reading: Snapshot | None, now: Instant
) -> tuple[ControllerState, tuple[Command, ...]]:
    previous = {
        stage.name: runtime.account(stage, state.stage(stage.name), now, settings.timezone)
        for stage in settings.stages
    }
    decided: dict[str, StageState] = {}
    commands: list[Command] = []
    for rank, stage in enumerate(settings.stages):
        available = _available_w(settings, rank, reading=reading, previous=previous, decided=decided, now=now)
        new, switch = _decide(
            settings, stage, previous[stage.name], available=available, reading=reading, now=now
        )
        decided[stage.name] = new
        if switch is not None:
            commands.append(Command.delivering(new, new.reason, dry_run=settings.dry_run))
    return ControllerState(stages=tuple(decided.values())), tuple(commands)


def shutdown(
    settings: ControlSettings, state: ControllerState, now: Instant
) -> tuple[ControllerState, tuple[Command, ...]]:
    """The daemon stops: every stage with ``on_shutdown = "off"`` that may be on is switched off."""
    commands = []
    for stage in settings.stages:
        prev = state.stage(stage.name)
        if stage.on_shutdown != "off" or (not prev.on and prev.confirmed_on is False):
            continue
        new = _switch(prev, on=False, now=now, reason='daemon stopping (on_shutdown = "off")')
        state = state.replaced(new)
        commands.append(Command.delivering(new, new.reason, dry_run=settings.dry_run))
    return state, tuple(commands)


def _available_w(
    settings: ControlSettings,
    rank: int,
    *,
    reading: Snapshot | None,
    previous: dict[str, StageState],
    decided: dict[str, StageState],
    now: Instant,
) -> float | None:
    stage = settings.stages[rank]
    measured = measured_surplus_w(reading, stage.phase, include_battery=stage.surplus_includes_battery)
    if measured is None:
        return None
    same_meter = [
        (i, other) for i, other in enumerate(settings.stages) if stage.phase in ("total", other.phase)
    ]
    own_and_lower = sum(_drawn_w(other, previous[other.name]) for i, other in same_meter if i >= rank)
    higher = [(other, decided[other.name]) for i, other in same_meter if i < rank]
    higher_not_on_meter_yet = sum(_drawn_w(o, d) for o, d in higher if not _settled(d, settings, now))
    higher_headroom = sum(o.proportional.max_w - _drawn_w(o, d) for o, d in higher if o.proportional)
    if stage.proportional is not None:  # its PI reads the meter as it is, its own draw included
        return measured - higher_not_on_meter_yet - higher_headroom
    if previous[stage.name].on:
        return measured + own_and_lower - higher_headroom
    return measured + own_and_lower - higher_not_on_meter_yet - higher_headroom


def _drawn_w(stage: StageSettings, state: StageState) -> float:
    """What a stage's load draws as the controller intends it (its level, for a proportional one)."""
    if not state.running:
        return 0.0
    return stage.load_w if state.level_w is None else state.level_w


def _settled(state: StageState, settings: ControlSettings, now: Instant) -> bool:
    """Switched long enough ago for the meter to show it (never in the step that switches it)."""
    if state.switched_at_s is None:
        return True
    return state.switched_at_s != now.mono_s and _seconds(state.switched_at_s, now) >= settings.settle_s


def _decide(
    settings: ControlSettings,
    stage: StageSettings,
    prev: StageState,
    *,
    available: float | None,
    reading: Snapshot | None,
    now: Instant,
) -> tuple[StageState, Switch | None]:
    if not (settings.enabled and stage.enabled):
        if prev.disabled:
            return prev, None
        why = "control disabled ([control] enabled = false)" if not settings.enabled else "stage disabled"
        return _switch(prev, on=False, now=now, reason=why, disabled=True), "off"
    prev = dataclasses.replace(prev, disabled=False)
    if stage.proportional is not None:
        return _decide_level(settings, stage, prev, surplus_w=available, reading=reading, now=now)
    if prev.mode != "auto":
        target = prev.mode == "on"
        if prev.on == target:
            return _hold(prev, f"manual override: {prev.mode}"), None
        return _switch(prev, on=target, now=now, reason=f"manual override: {prev.mode}"), prev.mode
    if available is None:
        return _without_data(settings, stage, prev, now)
    prev = dataclasses.replace(prev, unknown_since_s=None, failsafe=False)
    daily = _daily(settings, stage, prev, now)
    if daily is not None:
        return daily
    blocked = _blocked_by(settings, stage, reading, now)
    if prev.on:
        if blocked is not None:
            why = blocked
        elif available < stage.stop_below_w:
            why = f"surplus {round(available)} W < stop_below_w {stage.stop_below_w:g} W"
        else:
            return _hold(prev, f"on: surplus {round(available)} W"), None
        return _run_timer(prev, stage, "stop", why=why, now=now)
    if blocked is not None:
        return _hold(prev, f"off: {blocked}"), None
    if available <= stage.start_above_w:
        why = f"surplus {round(available)} W <= start_above_w {stage.start_above_w:g} W"
        return _hold(prev, f"off: {why}"), None
    why = f"surplus {round(available)} W > start_above_w {stage.start_above_w:g} W"
    return _run_timer(prev, stage, "start", why=why, now=now)


def _decide_level(
    settings: ControlSettings,
    stage: StageSettings,
    prev: StageState,
    *,
    surplus_w: float | None,
    reading: Snapshot | None,
    now: Instant,
) -> tuple[StageState, Switch | None]:
    """A proportional stage: manual full or zero, level 0 when blind or blocked, else the PI loop."""
    pi = stage.proportional
    assert pi is not None
    level_w = prev.level_w or 0.0
    if prev.mode != "auto":
        return _set_level(
            prev, pi, pi.max_w if prev.mode == "on" else 0.0, f"manual override: {prev.mode}", now
        )
    blocked = "fail-safe: no fresh data" if surplus_w is None else _blocked_by(settings, stage, reading, now)
    if blocked is not None:
        return _set_level(dataclasses.replace(prev, pi_integral_w=0.0), pi, 0.0, f"level 0: {blocked}", now)
    if prev.level_at_s is not None and _seconds(prev.level_at_s, now) < pi.min_interval_s:
        return prev, None
    assert surplus_w is not None
    grid_w = -surplus_w
    new = proportional.regulate(pi, level_w=level_w, integral_w=prev.pi_integral_w, grid_w=grid_w)
    updated = dataclasses.replace(prev, pi_integral_w=new.integral_w, level_at_s=now.mono_s)
    why = f"grid {grid_w:.0f} W, target {pi.target_grid_w:g} W"
    if not new.send:
        return dataclasses.replace(
            updated, reason=f"level {proportional.percent(pi, level_w):g} % ({level_w:.0f} W): {why}"
        ), None
    return _set_level(updated, pi, new.level_w, why, now)


def _set_level(
    prev: StageState, pi: proportional.ProportionalSettings, level_w: float, why: str, now: Instant
) -> tuple[StageState, Switch | None]:
    """A new level as a new intent ("off" at 0); nothing when it is the level already intended."""
    pct = proportional.percent(pi, level_w)
    reason = f"level {pct:g} % ({level_w:.0f} W): {why}"
    if prev.level_w is not None and prev.level_w == level_w and prev.on == (level_w > 0):
        return dataclasses.replace(prev, reason=reason), None
    new = _switch(prev, on=level_w > 0, now=now, reason=reason)
    new = dataclasses.replace(new, level_w=level_w, level_pct=pct, level_at_s=now.mono_s)
    return new, "on" if new.on else "off"


def _daily(
    settings: ControlSettings, stage: StageSettings, prev: StageState, now: Instant
) -> tuple[StageState, Switch | None] | None:
    """The daily runtime's decision (cap, catch-up), or None: the surplus decides."""
    capped = runtime.over_maximum(stage, prev)
    if capped is not None:
        if prev.on:
            return _switch(prev, on=False, now=now, reason=capped), "off"
        return _hold(prev, f"off: {capped}"), None
    plan = runtime.catch_up(stage, prev, now, settings.timezone)
    if prev.on and prev.catch_up:
        if plan is not None:
            return _hold(prev, f"on: {plan.reason()}"), None
        done = (
            f"catch-up done: {runtime.duration(prev.runtime_s)} of "
            f"{runtime.duration(stage.min_daily_runtime_h * 3600)} today"
        )
        return _switch(prev, on=False, now=now, reason=done), "off"
    if plan is None or not plan.due:
        return None
    if prev.on:
        return _hold(dataclasses.replace(prev, catch_up=True), f"on: {plan.reason()}"), None
    return _switch(prev, on=True, now=now, reason=plan.reason(), catch_up=True), "on"


def _run_timer(
    prev: StageState, stage: StageSettings, kind: Literal["start", "stop"], *, why: str, now: Instant
) -> tuple[StageState, Switch | None]:
    """The switching condition holds now: start or continue its timer, switch when both times are up."""
    delay_s, min_held_s = (
        (stage.start_delay_s, stage.min_off_s) if kind == "start" else (stage.stop_delay_s, stage.min_on_s)
    )
    since = prev.start_timer_since_s if kind == "start" else prev.stop_timer_since_s
    since = now.mono_s if since is None else since
    held_for = _seconds(since, now)
    in_state_for = float("inf") if prev.switched_at_s is None else _seconds(prev.switched_at_s, now)
    if held_for >= delay_s and in_state_for >= min_held_s:
        switch_on = kind == "start"
        return _switch(prev, on=switch_on, now=now, reason=f"{why} for {held_for:.0f} s"), (
            "on" if switch_on else "off"
        )
    if held_for < delay_s:
        waiting = f"{kind} in {delay_s - held_for:.0f} s: {why}"
    else:
        minimum = "min_off_s" if kind == "start" else "min_on_s"
        waiting = f"{kind} in {min_held_s - in_state_for:.0f} s ({minimum}): {why}"
    if kind == "start":
        return dataclasses.replace(
            prev, reason=waiting, start_timer_since_s=since, stop_timer_since_s=None
        ), None
    return dataclasses.replace(prev, reason=waiting, start_timer_since_s=None, stop_timer_since_s=since), None


def _without_data(
    settings: ControlSettings, stage: StageSettings, prev: StageState, now: Instant
) -> tuple[StageState, Switch | None]:
    unknown_since = now.mono_s if prev.unknown_since_s is None else prev.unknown_since_s
    missing_for = _seconds(unknown_since, now)
    prev = dataclasses.replace(
        prev, unknown_since_s=unknown_since, start_timer_since_s=None, stop_timer_since_s=None
    )
    if missing_for < settings.failsafe_after_s:
        return dataclasses.replace(prev, reason=f"no fresh data for {missing_for:.0f} s: holding"), None
    why = (
        f"failsafe: no fresh data for {missing_for:.0f} s "
        f"(failsafe_after_s {settings.failsafe_after_s:g}): safe state {stage.safe_state}"
    )
    target = stage.safe_state == "on"
    if prev.on == target:
        return dataclasses.replace(prev, failsafe=True, reason=why), None
    return _switch(prev, on=target, now=now, reason=why, failsafe=True), stage.safe_state


def _blocked_by(
    settings: ControlSettings, stage: StageSettings, reading: Snapshot | None, now: Instant
) -> str | None:
    """Why the stage may not run now (battery, time window), or None."""
    if stage.min_soc_pct is not None:
        soc = battery_soc_pct(reading)
        if soc is None:
            return f"battery SoC unknown (min_soc_pct {stage.min_soc_pct:g} %)"
        if soc < stage.min_soc_pct:
            return f"battery SoC {soc:.0f} % < min_soc_pct {stage.min_soc_pct:g} %"
    if stage.windows:
        local = now.wall.astimezone(settings.timezone) if settings.timezone else now.wall
        if not any(window.contains(local.time()) for window in stage.windows):
            allowed = ", ".join(str(w) for w in stage.windows)
            return f"{local:%H:%M} is outside the time windows {allowed}"
    return None


def _switch(
    prev: StageState,
    *,
    on: bool,
    now: Instant,
    reason: str,
    disabled: bool = False,
    failsafe: bool = False,
    catch_up: bool = False,
) -> StageState:
    """A new intent: pending until its actions confirm it (``control.delivery``)."""
    return dataclasses.replace(
        prev,
        on=on,
        switched_at_s=now.mono_s if on != prev.on else prev.switched_at_s,
        start_timer_since_s=None,
        stop_timer_since_s=None,
        disabled=disabled,
        failsafe=failsafe,
        catch_up=catch_up,
        level_w=prev.level_w if on or prev.level_w is None else 0.0,
        level_pct=prev.level_pct if on or prev.level_pct is None else 0.0,
        reason=reason,
        delivery="pending",
        intent=prev.intent + 1,
        attempts=0,
        retry_at_s=None,
        last_error=None,
    )


def _hold(prev: StageState, reason: str) -> StageState:
    return dataclasses.replace(prev, start_timer_since_s=None, stop_timer_since_s=None, reason=reason)


def _seconds(since_s: float, now: Instant) -> float:
    return now.mono_s - since_s
