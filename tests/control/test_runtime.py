"""Daily runtime on a fake clock: accounting of confirmed-on time across restarts and day_starts_at,
the off-peak catch-up (late enough, finished by the window's end) and the daily cap."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from test_controller import snap, stage

from enphase_secure.control.controller import Command, step
from enphase_secure.control.delivery import delivered
from enphase_secure.control.runtime import CATCH_UP_MARGIN_S, duration, runtime_day
from enphase_secure.control.settings import ControlSettings, StageSettings, TimeWindow
from enphase_secure.control.state import ControllerState, Instant
from enphase_secure.errors import ConfigError, StorageError

PARIS = ZoneInfo("Europe/Paris")
EPOCH = datetime(2026, 6, 1, tzinfo=PARIS)
OFF_PEAK = (TimeWindow(time(22), time(6)),)


def instant(wall: datetime) -> Instant:
    return Instant(wall, (wall - EPOCH).total_seconds())


def heater(**overrides: Any) -> StageSettings:
    fields: dict[str, Any] = {
        "load_w": 2000.0,
        "start_above_w": 2200.0,
        "stop_below_w": 300.0,
        "min_daily_runtime_h": 3.0,
        "catch_up_windows": OFF_PEAK,
        "day_starts_at": time(7),
    }
    fields.update(overrides)
    return stage(**fields)


def config(*stages: StageSettings) -> ControlSettings:
    return ControlSettings(stages=stages, timezone=PARIS)


@dataclasses.dataclass
class Run:
    state: ControllerState
    commands: list[tuple[datetime, Command]]

    def switchings(self, action: str) -> list[datetime]:
        return [t for t, c in self.commands if c.action == action]


def drive(
    settings: ControlSettings,
    start: datetime,
    end: datetime,
    surplus_w: Callable[[datetime], float],
    *,
    state: ControllerState | None = None,
    tick_s: float = 60.0,
    confirm: bool = True,
) -> Run:
    """Step every ``tick_s``; the house's surplus is ``surplus_w`` minus the loads that run; every
    command confirmed at once (``confirm``)."""
    run = Run(state or ControllerState(), [])
    wall = start
    while wall < end:
        now = instant(wall)
        drawn = sum(s.load_w for s in settings.stages if run.state.stage(s.name).confirmed_on)
        run.state, commands = step(settings, run.state, snap(surplus_w(wall) - drawn), now)
        for command in commands:
            run.commands.append((wall, command))
            if confirm:
                run.state = delivered(run.state, command, error=None, now=now)
        wall += timedelta(seconds=tick_s)
    return run


def sunny_between(first: int, last: int, surplus_w: float = 3000.0) -> Callable[[datetime], float]:
    return lambda wall: surplus_w if first <= wall.astimezone(PARIS).hour < last else -400.0


def day(hour: float, *, date_: int = 21) -> datetime:
    return datetime(2026, 6, date_, tzinfo=PARIS) + timedelta(hours=hour)


def test_runtime_counts_confirmed_on_time_only() -> None:
    settings = config(heater())
    run = drive(settings, day(10), day(11), sunny_between(10, 12), confirm=False)
    assert run.state.stage("heater").on is True
    assert run.state.stage("heater").runtime_s == 0.0  # intended on, never confirmed
    now = instant(day(11))
    (_, command) = run.commands[0]
    state = delivered(run.state, command, error=None, now=now)
    run = drive(settings, day(11), day(12, date_=21), sunny_between(10, 12), state=state)
    assert run.state.stage("heater").runtime_s == pytest.approx(3600.0)


def test_runtime_survives_a_restart_without_counting_the_time_down() -> None:
    settings = config(heater())
    run = drive(settings, day(10), day(11), sunny_between(10, 16))
    assert run.state.stage("heater").runtime_s == pytest.approx(
        3600.0 - 60.0
    )  # counted from the 1st tick after on
    # saved at 11:00, the daemon down 30 min, the load still on
    saved = run.state.to_json(instant(day(11)))
    restored = ControllerState.from_json(saved, instant(day(11.5)))
    assert restored.stage("heater").runtime_s == pytest.approx(3540.0)
    run = drive(settings, day(11.5), day(12.5), sunny_between(10, 16), state=restored)
    assert run.state.stage("heater").runtime_s == pytest.approx(3540.0 + 3600.0 - 60.0)
    assert run.state.stage("heater").runtime_day == day(0).date()


@pytest.mark.parametrize(
    ("starts_at", "local", "runtime_day_"),
    [
        (time(0), day(0), day(0).date()),
        (time(0), day(23.99), day(0).date()),
        (time(12), day(11.99), day(0, date_=20).date()),
        (time(12), day(12), day(0).date()),
        (time(7), day(6.5, date_=22), day(0).date()),  # the night after the 21st belongs to the 21st
    ],
)
def test_the_runtime_day_begins_at_day_starts_at(starts_at: time, local: datetime, runtime_day_: Any) -> None:
    assert runtime_day(local, starts_at) == runtime_day_


def test_runtime_restarts_at_day_starts_at_and_splits_the_tick_across_it() -> None:
    settings = config(heater(day_starts_at=time(12), min_daily_runtime_h=0.0, catch_up_windows=()))
    run = drive(settings, day(10), day(11, date_=21) + timedelta(minutes=59), sunny_between(10, 16))
    before = run.state.stage("heater")
    assert before.runtime_day == day(0, date_=20).date()
    # the last step was at 11:58, the next comes at 12:01: only 12:00-12:01 belongs to the new day
    run = drive(settings, day(12) + timedelta(minutes=1), day(12.1), sunny_between(10, 16), state=run.state)
    state = run.state.stage("heater")
    assert state.runtime_day == day(0).date()
    assert state.runtime_s == pytest.approx(60.0 + 4 * 60.0)  # 12:00-12:01, then 12:01-12:05 by the minute


def test_a_grey_day_is_caught_up_late_in_the_window_and_finished_by_its_end() -> None:
    settings = config(heater())
    # the sun gives 1 h 20 min (12:00-13:20), then nothing
    surplus = lambda wall: 3000.0 if day(12) <= wall < day(13) + timedelta(minutes=20) else -400.0  # noqa: E731
    run = drive(settings, day(8), day(6.9, date_=22), surplus)
    ons = run.switchings("on")
    offs = run.switchings("off")
    assert len(ons) == 2  # the sun's run, then the catch-up's
    assert len(offs) == 2
    catch_up_on, catch_up_off = ons[1], offs[1]
    # 1 h 40 min missing: it starts as late as that allows (06:00 - 1 h 40 - the margin), not at 22:00
    latest_start = day(6, date_=22) - timedelta(hours=1, minutes=40)
    assert latest_start - timedelta(seconds=CATCH_UP_MARGIN_S + 60) <= catch_up_on <= latest_start
    assert catch_up_off <= day(6, date_=22)
    reason = next(c.reason for t, c in run.commands if t == catch_up_on)
    assert reason == "catch-up: 1 h 20 min of 3 h today, ends 06:00"
    stop = next(c.reason for t, c in run.commands if t == catch_up_off)
    assert stop == "catch-up done: 3 h of 3 h today"
    assert run.state.stage("heater").runtime_s == pytest.approx(3 * 3600.0, abs=60.0)  # and no more


def test_a_sunny_day_needs_no_catch_up() -> None:
    settings = config(heater())
    run = drive(settings, day(8), day(6.9, date_=22), sunny_between(11, 16))
    assert run.switchings("on") == [day(11)]
    assert len(run.switchings("off")) == 1
    assert run.state.stage("heater").runtime_s == pytest.approx(5 * 3600.0)


def test_catch_up_finishes_by_the_end_of_the_runtime_day_when_it_comes_first() -> None:
    # the day begins at midnight: 22:00-24:00 is all the catch-up the 21st has; it starts at once
    settings = config(heater(day_starts_at=time(0)))
    run = drive(settings, day(21), day(23.99), lambda wall: -400.0)
    assert run.switchings("on") == [day(22)]
    assert run.state.stage("heater").reason == "on: catch-up: 1 h 59 min of 3 h today, ends 00:00"


def test_max_daily_runtime_is_honoured() -> None:
    settings = config(heater(min_daily_runtime_h=1.0, max_daily_runtime_h=2.0))
    run = drive(settings, day(8), day(18), sunny_between(9, 17))
    assert run.switchings("on") == [day(9)]
    (off,) = run.switchings("off")
    assert off == day(11)  # 2 h after it was switched on (and confirmed at once)
    assert run.state.stage("heater").runtime_s == pytest.approx(2 * 3600.0)
    assert run.state.stage("heater").reason == "off: max_daily_runtime_h reached: 2 h of 2 h today"
    # the next runtime day it runs again
    run = drive(settings, day(8, date_=22), day(10, date_=22), sunny_between(9, 17), state=run.state)
    assert run.switchings("on") == [day(9, date_=22)]


def test_version_2_state_starts_the_runtime_at_zero_and_version_3_keeps_it() -> None:
    now = instant(day(10))
    v2 = {"version": 2, "stages": [{"name": "heater", "on": True, "confirmed_on": True}]}
    assert ControllerState.from_json(v2, now).stage("heater").runtime_s == 0.0
    state = ControllerState().replaced(
        dataclasses.replace(ControllerState().stage("heater"), runtime_day=day(0).date(), runtime_s=4000.0)
    )
    saved = state.to_json(now)
    assert saved["version"] == 3
    again = ControllerState.from_json(saved, now).stage("heater")
    assert (again.runtime_day, again.runtime_s) == (day(0).date(), 4000.0)
    with pytest.raises(StorageError, match="runtime_s"):
        ControllerState.from_json({"version": 3, "stages": [{"name": "h", "runtime_s": -1}]}, now)
    with pytest.raises(StorageError, match="runtime_day"):
        ControllerState.from_json({"version": 3, "stages": [{"name": "h", "runtime_day": "June"}]}, now)


BASE = {"name": "heater", "start_above_w": 2200, "stop_below_w": 300}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"min_daily_runtime_h": 3}, "needs catch_up_windows"),
        ({"min_daily_runtime_h": 3, "max_daily_runtime_h": 2, "catch_up_windows": ["22:00-06:00"]}, "below"),
        ({"day_starts_at": "noon"}, "day_starts_at: 'noon' is not a local time"),
        ({"catch_up_windows": ["22h-6h"]}, r"catch_up_windows\[0\]"),
        ({"min_daily_runtime_h": 25}, "min_daily_runtime_h"),
    ],
)
def test_runtime_settings_are_checked(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        StageSettings.from_mapping({**BASE, **extra}, "control.stages[0]")


def test_runtime_settings_are_read() -> None:
    parsed = StageSettings.from_mapping(
        {**BASE, "min_daily_runtime_h": 3, "catch_up_windows": ["22:00-06:00"], "day_starts_at": "12:00"},
        "control.stages[0]",
    )
    assert (parsed.min_daily_runtime_h, parsed.catch_up_windows, parsed.day_starts_at) == (
        3.0,
        OFF_PEAK,
        time(12),
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(4800, "1 h 20 min"), (10800, "3 h"), (2700, "45 min"), (3900, "1 h 05 min")]
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration(seconds) == text
