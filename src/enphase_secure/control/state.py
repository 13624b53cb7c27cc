"""The controller's persisted state: per stage on/off, since when, running timers, manual mode.

Times are wall-clock, tz-aware datetimes, stored as ISO 8601 in JSON, so that a daemon restart in
the middle of a delay resumes the same timer and neither re-fires nor forgets a switching.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from enphase_secure.errors import StorageError

Mode = Literal["auto", "on", "off"]
MODES: tuple[Mode, ...] = ("auto", "on", "off")
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class StageState:
    name: str
    on: bool = False
    switched_at: datetime | None = None
    start_timer_since: datetime | None = None
    stop_timer_since: datetime | None = None
    unknown_since: datetime | None = None
    mode: Mode = "auto"
    disabled: bool = False
    failsafe: bool = False
    reason: str = "initial state: off"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "on": self.on,
            "switched_at": _iso(self.switched_at),
            "start_timer_since": _iso(self.start_timer_since),
            "stop_timer_since": _iso(self.stop_timer_since),
            "unknown_since": _iso(self.unknown_since),
            "mode": self.mode,
            "disabled": self.disabled,
            "failsafe": self.failsafe,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: object) -> StageState:
        if not isinstance(data, dict):
            raise StorageError(f"controller state: stage entry is not an object: {data!r}")
        name = data.get("name")
        where = f"controller state, stage {name!r}"
        if not isinstance(name, str):
            raise StorageError(f"{where}: field 'name' missing or not a string")
        mode = data.get("mode", "auto")
        if mode not in MODES:
            raise StorageError(f"{where}: field 'mode' is {mode!r}, not one of {MODES}")
        return cls(
            name=name,
            on=_bool(data, "on", where),
            switched_at=_time(data, "switched_at", where),
            start_timer_since=_time(data, "start_timer_since", where),
            stop_timer_since=_time(data, "stop_timer_since", where),
            unknown_since=_time(data, "unknown_since", where),
            mode=cast(Mode, mode),
            disabled=_bool(data, "disabled", where),
            failsafe=_bool(data, "failsafe", where),
            reason=str(data.get("reason", "")),
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

    def with_mode(self, name: str, mode: Mode) -> ControllerState:
        """Manual override (``POST /api/control/{stage}``); the next ``step`` acts on it."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {MODES}")
        current = self.stage(name)
        updated = dataclasses.replace(current, mode=mode, start_timer_since=None, stop_timer_since=None)
        others = tuple(s for s in self.stages if s.name != name)
        return ControllerState(stages=(*others, updated))

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "stages": [s.to_json() for s in self.stages]}

    @classmethod
    def from_json(cls, data: object) -> ControllerState:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise StorageError(f"controller state: not a version {STATE_VERSION} state document")
        stages = data.get("stages")
        if not isinstance(stages, list):
            raise StorageError("controller state: field 'stages' is not a list")
        return cls(stages=tuple(StageState.from_json(s) for s in stages))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _bool(data: dict[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise StorageError(f"{where}: field {key!r} is not a boolean")
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
