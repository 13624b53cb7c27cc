"""The controller's settings (``[control]`` and its ``[[control.stages]]``), validated at the edge.

Each stage's ``on`` / ``off`` tables are actions: ``enphase_secure.actions`` parses them, so the
pure controller never imports I/O code. They are accepted here as known keys and left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from enphase_secure.control.fields import Fields
from enphase_secure.control.proportional import ProportionalSettings
from enphase_secure.errors import ConfigError

Phase = Literal[1, 2, 3, "total"]
SafeState = Literal["off", "on"]
OnShutdown = Literal["leave", "off"]
ACTION_KEYS = ("on", "off")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A daily local-time window ``HH:MM-HH:MM``; it wraps midnight when start > end."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str, key: str) -> TimeWindow:
        try:
            start_text, end_text = text.split("-")
            window = cls(_clock(start_text), _clock(end_text))
        except ValueError as err:
            raise ConfigError(f"{key}: {text!r} is not a window like '10:00-16:30'") from err
        if window.start == window.end:
            raise ConfigError(f"{key}: {text!r} is empty (start equals end)")
        return window

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class StageSettings:
    name: str
    start_above_w: float
    stop_below_w: float
    start_delay_s: float = 60.0
    stop_delay_s: float = 60.0
    min_on_s: float = 0.0
    min_off_s: float = 0.0
    load_w: float = 0.0
    priority: int = 0
    phase: Phase = "total"
    min_soc_pct: float | None = None
    windows: tuple[TimeWindow, ...] = ()
    surplus_includes_battery: bool = False
    safe_state: SafeState = "off"
    on_shutdown: OnShutdown = "leave"  # on SIGTERM: leave the load as it is, or switch it off
    enabled: bool = True
    min_daily_runtime_h: float = 0.0  # made up in the catch-up windows when the sun fell short
    max_daily_runtime_h: float | None = None
    catch_up_windows: tuple[TimeWindow, ...] = ()
    day_starts_at: time = time(0)  # local time the runtime day begins
    proportional: ProportionalSettings | None = None  # kind = "proportional": a dimmer, not a switch

    @classmethod
    def from_mapping(
        cls, mapping: object, path: str, *, surplus_includes_battery: bool = False
    ) -> StageSettings:
        """``surplus_includes_battery`` is the default from ``[control]``; the stage may override it."""
        f = Fields(mapping, path)
        phase_raw = f.raw("phase")
        if phase_raw is None:
            phase: Phase = "total"
        elif phase_raw in (1, 2, 3, "total") and not isinstance(phase_raw, bool):
            phase = phase_raw
        else:
            raise ConfigError(f"{f.key('phase')}: {phase_raw!r} is not 1, 2, 3 or 'total'")
        proportional = (
            ProportionalSettings.from_fields(f)
            if f.choice("kind", ("switch", "proportional"), "switch") == "proportional"
            else None
        )
        stage = cls(
            name=f.required_str("name"),
            start_above_w=f.required_number("start_above_w") if proportional is None else 0.0,
            stop_below_w=f.required_number("stop_below_w") if proportional is None else 0.0,
            start_delay_s=f.number("start_delay_s", 60.0, minimum=0),
            stop_delay_s=f.number("stop_delay_s", 60.0, minimum=0),
            min_on_s=f.number("min_on_s", 0.0, minimum=0),
            min_off_s=f.number("min_off_s", 0.0, minimum=0),
            load_w=f.number("load_w", 0.0, minimum=0),
            priority=f.integer("priority", 0, minimum=-1000, maximum=1000),
            phase=phase,
            min_soc_pct=f.optional_number("min_soc_pct", minimum=0, maximum=100),
            windows=_windows(f, "windows"),
            surplus_includes_battery=f.boolean("surplus_includes_battery", surplus_includes_battery),
            safe_state=cast(SafeState, f.choice("safe_state", ("off", "on"), "off")),
            on_shutdown=cast(OnShutdown, f.choice("on_shutdown", ("leave", "off"), "leave")),
            enabled=f.boolean("enabled", True),
            min_daily_runtime_h=f.number("min_daily_runtime_h", 0.0, minimum=0, maximum=24),
            max_daily_runtime_h=f.optional_number("max_daily_runtime_h", minimum=0, maximum=24),
            catch_up_windows=_windows(f, "catch_up_windows"),
            day_starts_at=_day_start(f),
            proportional=proportional,
        )
        f.done(also_allowed=ACTION_KEYS)
        stage._check_runtime(f)
        if proportional is None and stage.stop_below_w >= stage.start_above_w:
            raise ConfigError(
                f"{f.key('stop_below_w')}: must be below start_above_w "
                f"({stage.stop_below_w:g} >= {stage.start_above_w:g}), or the stage would flap"
            )
        return stage

    def _check_runtime(self, f: Fields) -> None:
        maximum = self.max_daily_runtime_h
        if maximum is not None and maximum < self.min_daily_runtime_h:
            raise ConfigError(
                f"{f.key('max_daily_runtime_h')}: {maximum:g} is below min_daily_runtime_h "
                f"{self.min_daily_runtime_h:g}"
            )
        if self.proportional is not None and (self.min_daily_runtime_h or maximum is not None):
            raise ConfigError(
                f"{f.key('min_daily_runtime_h')}: the daily runtime is for on/off stages, "
                'not kind = "proportional"'
            )
        if self.min_daily_runtime_h and not self.catch_up_windows:
            raise ConfigError(
                f'{f.key("min_daily_runtime_h")}: needs catch_up_windows (e.g. ["22:00-06:00"]), '
                "the hours in which the missing runtime is made up"
            )


@dataclass(frozen=True, slots=True)
class ControlSettings:
    """``[control]``: global switches and the stages in decision order.

    Decision order: ascending ``priority`` (the lowest number starts first and stops last), then the
    order of the config file.
    """

    stages: tuple[StageSettings, ...] = ()
    enabled: bool = True
    dry_run: bool = False
    failsafe_after_s: float = 120.0
    settle_s: float = 10.0
    timezone: tzinfo | None = None

    @classmethod
    def from_mapping(
        cls, mapping: object, path: str = "control", *, timezone: str | None = None
    ) -> ControlSettings:
        """``timezone`` is the site's (``site.timezone``): time windows are read in it."""
        f = Fields(mapping, path)
        raw_stages = f.raw("stages")
        if raw_stages is None:
            raw_stages = []
        if not isinstance(raw_stages, Sequence) or isinstance(raw_stages, str):
            raise ConfigError(f"{f.key('stages')}: expected a list of tables ([[control.stages]])")
        battery = f.boolean("surplus_includes_battery", False)
        stages, problems = [], []
        for i, raw in enumerate(raw_stages):  # every stage's mistake at once, not the first one only
            try:
                stages.append(
                    StageSettings.from_mapping(
                        raw, f"{f.key('stages')}[{i}]", surplus_includes_battery=battery
                    )
                )
            except ConfigError as err:
                problems.append(str(err))
        if problems:
            raise ConfigError("; ".join(problems))
        names = [s.name for s in stages]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(f"{f.key('stages')}[{i}].name: {name!r} is used by another stage")
        settings = cls(
            stages=tuple(sorted(stages, key=lambda s: s.priority)),
            enabled=f.boolean("enabled", True),
            dry_run=f.boolean("dry_run", False),
            failsafe_after_s=f.number("failsafe_after_s", 120.0, minimum=1),
            settle_s=f.number("settle_s", 10.0, minimum=0),
            timezone=_zone(timezone, "site.timezone"),
        )
        f.done()
        return settings

    def stage(self, name: str) -> StageSettings:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)


def _windows(f: Fields, name: str) -> tuple[TimeWindow, ...]:
    return tuple(TimeWindow.parse(text, f"{f.key(name)}[{i}]") for i, text in enumerate(f.str_list(name)))


def _day_start(f: Fields) -> time:
    text = f.optional_str("day_starts_at")
    if text is None:
        return time(0)
    try:
        return _clock(text)
    except ValueError as err:
        raise ConfigError(f"{f.key('day_starts_at')}: {text!r} is not a local time like '12:00'") from err


def _clock(text: str) -> time:
    return datetime.strptime(text.strip(), "%H:%M").time()


def _zone(name: str | None, key: str) -> tzinfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"{key}: unknown time zone {name!r}") from err
