"""Proportional diversion: a PI loop on the grid power that sets a dimmer's level (0 to ``max_w``).

Pure, like the controller. The measured grid power ``g`` (import positive) of the stage's phase or
total already includes the dimmer's own draw and every stage that runs: the loop drives ``g``
toward ``target_grid_w`` (default −50 W: a little export, never import for the load), so the
stage takes what the higher-priority stages leave. Error ``e = g − target``; every
``min_interval_s`` (at most one command that often)::

    e = 0 within ±dead_band_w
    I = clamp(I − ki · e, 0, max_w)
    level = clamp(−kp · e + I, level_before ± max_step_pct, 0, max_w)

A command goes out only when the level moved by at least ``min_step_pct`` of ``max_w`` (or reached 0
or ``max_w``). Anti-windup by back-calculation: when the step limit or a bound cut the level, the
integral is set back to what was applied (``I = level + kp · e``), so after a long saturation the
loop answers at the next command instead of unwinding first. The gains are per update, not per
second: a level shows on the meter at the next reading (the plant is a gain of 1 with no dynamics
of its own), so how often the loop runs does not change its stability. The defaults (kp 0.1,
ki 0.7) put the discrete loop's poles at about 0.43 and −0.23: settled within a few commands,
little overshoot.
"""

from __future__ import annotations

from dataclasses import dataclass

from enphase_secure.control.fields import Fields


@dataclass(frozen=True, slots=True)
class ProportionalSettings:
    max_w: float  # the load's power at 100 %
    target_grid_w: float = -50.0
    dead_band_w: float = 30.0
    max_step_pct: float = 25.0  # of max_w, per command
    min_interval_s: float = 5.0
    min_step_pct: float = 2.0  # of max_w: a smaller change sends nothing
    kp: float = 0.1
    ki: float = 0.7

    @classmethod
    def from_fields(cls, f: Fields) -> ProportionalSettings:
        return cls(
            max_w=f.required_number("max_w"),
            target_grid_w=f.number("target_grid_w", -50.0),
            dead_band_w=f.number("dead_band_w", 30.0, minimum=0),
            max_step_pct=f.number("max_step_pct", 25.0, minimum=1, maximum=100),
            min_interval_s=f.number("min_interval_s", 5.0, minimum=1),
            min_step_pct=f.number("min_step_pct", 2.0, minimum=0, maximum=50),
            kp=f.number("kp", 0.1, minimum=0, maximum=1),
            ki=f.number("ki", 0.7, minimum=0, maximum=1),
        )


@dataclass(frozen=True, slots=True)
class Regulation:
    level_w: float
    integral_w: float
    send: bool  # the level moved enough for a command


def regulate(
    settings: ProportionalSettings, *, level_w: float, integral_w: float, grid_w: float
) -> Regulation:
    """One PI update from the level now applied and the measured grid power."""
    error = grid_w - settings.target_grid_w
    if abs(error) <= settings.dead_band_w:
        error = 0.0
    integral = _clamp(integral_w - settings.ki * error, 0.0, settings.max_w)
    wanted = -settings.kp * error + integral
    step = settings.max_step_pct / 100 * settings.max_w
    level = _clamp(_clamp(wanted, level_w - step, level_w + step), 0.0, settings.max_w)
    if level != wanted:
        integral = _clamp(level + settings.kp * error, 0.0, settings.max_w)
    moved = abs(level - level_w)
    reached_bound = moved > 0 and level in (0.0, settings.max_w)
    send = moved >= settings.min_step_pct / 100 * settings.max_w or reached_bound
    return Regulation(level if send else level_w, integral, send)


def percent(settings: ProportionalSettings, level_w: float) -> float:
    return round(100 * level_w / settings.max_w, 1)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
