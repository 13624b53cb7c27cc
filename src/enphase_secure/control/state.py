"""The controller's persisted state: per stage the intended and the confirmed switch, timers, mode.

Timers run on a monotonic clock (``Instant.mono_s``): a wall-clock step neither holds a stop nor
the fail-safe. JSON holds them as wall-clock ISO 8601 times (``Instant.wall_of``), which a restart
turns back into monotonic ones (``Instant.mono_of``: age at save + time down), so a restart in the
middle of a delay resumes the same timer and neither re-fires nor forgets a switching.

Intent and confirmation: ``on`` is what the controller decided; each switching is a new ``intent``
(a sequence number), ``pending`` until every action of it succeeded (``confirmed``), ``failed`` and
retried with capped backoff (``control.delivery``) until then or until a newer intent supersedes it.

Versions: 1 (on/off and timers only) migrates on reading, each stage's switch taken as confirmed,
as version 1 believed it was; 1 and 2 (no daily runtime) start today's runtime at zero. Version 3
adds each stage's runtime day and its confirmed-on seconds (``control.runtime``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

from enphase_secure.errors import StorageError

Mode = Literal["auto", "on", "off"]
MODES: tuple[Mode, ...] = ("auto", "on", "off")
Delivery = Literal["confirmed", "pending", "failed"]
DELIVERIES: tuple[Delivery, ...] = ("confirmed", "pending", "failed")
STATE_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
TIMERS = ("switched_at", "start_timer_since", "stop_timer_since", "unknown_since")


@dataclass(frozen=True, slots=True)
class Instant:
    """One reading of both clocks: ``wall`` (tz-aware, for windows and display), ``mono_s`` (timers)."""

    wall: datetime
    mono_s: float

    def __post_init__(self) -> None:
        if self.wall.tzinfo is None:
            raise ValueError("Instant: wall must be a timezone-aware datetime")

    def wall_of(self, mono_s: float | None) -> datetime | None:
        return None if mono_s is None else self.wall - timedelta(seconds=self.mono_s - mono_s)

    def mono_of(self, wall: datetime | None) -> float | None:
        """A saved wall time on this clock: never in the future (a clock set back ages nothing)."""
        if wall is None:
            return None
        return self.mono_s - max((self.wall - wall).total_seconds(), 0.0)


@dataclass(frozen=True, slots=True)
class StageState:
    name: str
    on: bool = False  # the intended switch
    switched_at_s: float | None = None
    start_timer_since_s: float | None = None
    stop_timer_since_s: float | None = None
    unknown_since_s: float | None = None
    mode: Mode = "auto"
    disabled: bool = False
    failsafe: bool = False
    reason: str = "initial state: off"
    confirmed_on: bool | None = None  # the last switch every action confirmed; None: none yet
    delivery: Delivery = "confirmed"
    intent: int = 0
    attempts: int = 0  # deliveries of this intent that failed
    retry_at_s: float | None = None
    last_error: str | None = None
    runtime_day: date | None = None  # the runtime day ``runtime_s`` counts (``control.runtime``)
    runtime_s: float = 0.0  # confirmed-on seconds in that day
    counted_at_s: float | None = None  # runtime counted up to here; not saved (time down is not counted)
    catch_up: bool = False  # switched on by the catch-up, which also switches it off
    energy_wh: float = 0.0  # drawn in the runtime day: load_w (or the level) x confirmed-on time
    level_w: float | None = None  # a proportional stage's intended level (None: an on/off stage)
    level_pct: float | None = None
    pi_integral_w: float = 0.0
    level_at_s: float | None = None  # its last PI update

    @property
    def running(self) -> bool:
        """Its load counts as drawing: intended on, and the switching did not fail."""
        return self.on and self.delivery != "failed"

    def to_json(self, now: Instant) -> dict[str, Any]:
        return {
            "name": self.name,
            "on": self.on,
            "confirmed_on": self.confirmed_on,
            "delivery": self.delivery,
            "intent": self.intent,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_retry_at": _iso(now.wall_of(self.retry_at_s)),
            **{key: _iso(now.wall_of(getattr(self, f"{key}_s"))) for key in TIMERS},
            "mode": self.mode,
            "disabled": self.disabled,
            "failsafe": self.failsafe,
            "reason": self.reason,
            "runtime_day": self.runtime_day.isoformat() if self.runtime_day else None,
            "runtime_s": round(self.runtime_s, 1),
            "catch_up": self.catch_up,
            "energy_wh": round(self.energy_wh, 1),
            "level_w": self.level_w,
            "level_pct": self.level_pct,
            "pi_integral_w": self.pi_integral_w,
            "level_at": _iso(now.wall_of(self.level_at_s)),
        }

    @classmethod
    def from_json(cls, data: object, now: Instant, *, version: int = STATE_VERSION) -> StageState:
        """A saved stage (``control.delivery.resume`` makes its unconfirmed intent due again)."""
        if not isinstance(data, dict):
            raise StorageError(f"controller state: stage entry is not an object: {data!r}")
        name = data.get("name")
        where = f"controller state, stage {name!r}"
        if not isinstance(name, str):
            raise StorageError(f"{where}: field 'name' missing or not a string")
        on = _bool(data, "on", where)
        switched_at_s, start_s, stop_s, unknown_s = (now.mono_of(_time(data, key, where)) for key in TIMERS)
        common = cls(
            name=name,
            on=on,
            switched_at_s=switched_at_s,
            start_timer_since_s=start_s,
            stop_timer_since_s=stop_s,
            unknown_since_s=unknown_s,
            mode=_choice(data, "mode", MODES, "auto", where),
            disabled=_bool(data, "disabled", where),
            failsafe=_bool(data, "failsafe", where),
            reason=str(data.get("reason", "")),
            confirmed_on=on,
        )
        if version == 1:
            return common
        delivery = _choice(data, "delivery", DELIVERIES, "confirmed", where)
        confirmed_on = data.get("confirmed_on")
        if confirmed_on is not None and not isinstance(confirmed_on, bool):
            raise StorageError(f"{where}: field 'confirmed_on' is not a boolean or null")
        error = data.get("last_error")
        delivered = dataclasses.replace(
            common,
            confirmed_on=confirmed_on,
            delivery=delivery,
            intent=_count(data, "intent", where),
            attempts=_count(data, "attempts", where),
            last_error=error if isinstance(error, str) else None,
        )
        if version == 2:
            return delivered
        return dataclasses.replace(
            delivered,
            runtime_day=_day(data, "runtime_day", where),
            runtime_s=_seconds(data, "runtime_s", where),
            catch_up=_bool(data, "catch_up", where),
            energy_wh=_amount(data, "energy_wh", where),
            level_w=_optional_amount(data, "level_w", where),
            level_pct=_optional_amount(data, "level_pct", where),
            pi_integral_w=_amount(data, "pi_integral_w", where),
            level_at_s=now.mono_of(_time(data, "level_at", where)),
        )


@dataclass(frozen=True, slots=True)
class ControllerState:
    stages: tuple[StageState, ...] = ()

    def stage(self, name: str) -> StageState:
        """The named stage's state; a stage never seen before starts off, in auto mode."""
        for stage in self.stages:
            if stage.name == name:
                return stage
        return StageState(name=name)

    def replaced(self, updated: StageState) -> ControllerState:
        """This state with ``updated`` in place of the stage of the same name (kept in order)."""
        if all(s.name != updated.name for s in self.stages):
            return ControllerState(stages=(*self.stages, updated))
        return ControllerState(stages=tuple(updated if s.name == updated.name else s for s in self.stages))

    def with_mode(self, name: str, mode: Mode) -> ControllerState:
        """Manual override (``POST /api/control/{stage}``); the next ``step`` acts on it."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        current = self.stage(name)
        return self.replaced(
            dataclasses.replace(current, mode=mode, start_timer_since_s=None, stop_timer_since_s=None)
        )

    def to_json(self, now: Instant) -> dict[str, Any]:
        return {"version": STATE_VERSION, "stages": [s.to_json(now) for s in self.stages]}

    @classmethod
    def from_json(cls, data: object, now: Instant) -> ControllerState:
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(data, dict) or version not in READABLE_VERSIONS:
            raise StorageError(f"controller state: not a version {READABLE_VERSIONS} state document")
        stages = data.get("stages")
        if not isinstance(stages, list):
            raise StorageError("controller state: field 'stages' is not a list")
        return cls(stages=tuple(StageState.from_json(s, now, version=cast(int, version)) for s in stages))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _bool(data: dict[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise StorageError(f"{where}: field {key!r} is not a boolean")
    return value


def _count(data: dict[str, Any], key: str, where: str) -> int:
    value = data.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StorageError(f"{where}: field {key!r} is not a count")
    return value


def _seconds(data: dict[str, Any], key: str, where: str) -> float:
    value = data.get(key, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 86_400 * 2:
        raise StorageError(f"{where}: field {key!r} is not a number of seconds in a day: {value!r}")
    return float(value)


def _amount(data: dict[str, Any], key: str, where: str) -> float:
    value = _optional_amount(data, key, where)
    return 0.0 if value is None else value


def _optional_amount(data: dict[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise StorageError(f"{where}: field {key!r} is not a non-negative number: {value!r}")
    return float(value)


def _day(data: dict[str, Any], key: str, where: str) -> date | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if isinstance(value, str) else date.fromisoformat("")
    except ValueError as err:
        raise StorageError(f"{where}: field {key!r} is not an ISO 8601 date: {value!r}") from err


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str) -> Any:
    value = data.get(key, default)
    if value not in choices:
        raise StorageError(f"{where}: field {key!r} is {value!r}, not one of {choices}")
    return value


def _time(data: dict[str, Any], key: str, where: str) -> datetime | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError as err:
        raise StorageError(f"{where}: field {key!r} is not an ISO 8601 time: {value!r}") from err
    if parsed is None or parsed.tzinfo is None:
        raise StorageError(f"{where}: field {key!r} must be a time with its UTC offset: {value!r}")
    return parsed
