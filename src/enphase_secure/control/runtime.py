"""Daily runtime per stage: accounting of confirmed-on time, the cap, and the off-peak catch-up.

Pure, like the controller. The runtime day begins at the stage's ``day_starts_at`` (local time in
the site's zone), so that a night's catch-up can belong to the day whose sun fell short. Runtime
counts only confirmed-on time, tick to tick on the monotonic clock; the time the daemon was down is
not counted (nothing confirmed the load ran), the runtime counted before is kept (persisted).

Catch-up: inside one of ``catch_up_windows`` a stage short of ``min_daily_runtime_h`` switches on,
whatever the surplus, as late as still lets it finish by the window's end (or by the end of the
runtime day, whichever comes first), ``CATCH_UP_MARGIN_S`` early to absorb the tick and the
switching; it switches off once the minimum is reached.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from enphase_secure.control.settings import StageSettings, TimeWindow
from enphase_secure.control.state import Instant, StageState

CATCH_UP_MARGIN_S = 300.0


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A stage short of its minimum inside a catch-up window; ``due``: it must run now to finish."""

    runtime_s: float
    minimum_s: float
    ends: datetime  # local
    due: bool

    def reason(self) -> str:
        done, minimum = duration(self.runtime_s), duration(self.minimum_s)
        return f"catch-up: {done} of {minimum} today, ends {self.ends:%H:%M}"


def local_time(now: Instant, zone: tzinfo | None) -> datetime:
    return now.wall.astimezone(zone) if zone else now.wall


def runtime_day(local: datetime, starts_at: time) -> date:
    """The runtime day ``local`` belongs to: the date on which its runtime day began."""
    return local.date() if local.time() >= starts_at else local.date() - timedelta(days=1)


def day_start(day: date, starts_at: time, zone: tzinfo | None) -> datetime:
    return datetime.combine(day, starts_at, tzinfo=zone)


def account(stage: StageSettings, prev: StageState, now: Instant, zone: tzinfo | None) -> StageState:
    """``prev`` with the confirmed-on time since the previous step added to its runtime day."""
    local = local_time(now, zone)
    day = runtime_day(local, stage.day_starts_at)
    same_day = prev.runtime_day == day
    runtime_s, energy_wh = (prev.runtime_s, prev.energy_wh) if same_day else (0.0, 0.0)
    if prev.counted_at_s is not None and prev.confirmed_on:
        elapsed_s = max(now.mono_s - prev.counted_at_s, 0.0)
        if not same_day:
            since_start_s = (local - day_start(day, stage.day_starts_at, local.tzinfo)).total_seconds()
            elapsed_s = min(elapsed_s, max(since_start_s, 0.0))
        runtime_s += elapsed_s
        energy_wh += elapsed_s * (stage.load_w if prev.level_w is None else prev.level_w) / 3600
    return dataclasses.replace(
        prev, runtime_day=day, runtime_s=runtime_s, energy_wh=energy_wh, counted_at_s=now.mono_s
    )


def today(stage: StageSettings, state: StageState, now: Instant, zone: tzinfo | None) -> tuple[float, float]:
    """Runtime (s) and energy (Wh) of the runtime day ``now`` is in (0 before the stage ran in it)."""
    same_day = state.runtime_day == runtime_day(local_time(now, zone), stage.day_starts_at)
    return (state.runtime_s, state.energy_wh) if same_day else (0.0, 0.0)


def over_maximum(stage: StageSettings, state: StageState) -> str | None:
    """Why the stage may not run any more today (``max_daily_runtime_h`` reached), or None."""
    if stage.max_daily_runtime_h is None or state.runtime_s < stage.max_daily_runtime_h * 3600:
        return None
    return (
        f"max_daily_runtime_h reached: {duration(state.runtime_s)} of "
        f"{duration(stage.max_daily_runtime_h * 3600)} today"
    )


def catch_up(stage: StageSettings, state: StageState, now: Instant, zone: tzinfo | None) -> CatchUp | None:
    """The catch-up in force now, or None (no minimum, minimum reached, outside the windows)."""
    minimum_s = stage.min_daily_runtime_h * 3600
    if state.runtime_s >= minimum_s:
        return None
    local = local_time(now, zone)
    window = next((w for w in stage.catch_up_windows if w.contains(local.time())), None)
    if window is None:
        return None
    day = runtime_day(local, stage.day_starts_at)
    day_ends = day_start(day + timedelta(days=1), stage.day_starts_at, local.tzinfo)
    ends = min(_window_end(window, local), day_ends)
    left_s = (ends - local).total_seconds()
    return CatchUp(
        state.runtime_s, minimum_s, ends, due=left_s <= minimum_s - state.runtime_s + CATCH_UP_MARGIN_S
    )


def _window_end(window: TimeWindow, local: datetime) -> datetime:
    end = datetime.combine(local.date(), window.end, tzinfo=local.tzinfo)
    return end if end > local else end + timedelta(days=1)


def duration(seconds: float) -> str:
    """``1 h 20 min``, ``3 h``, ``45 min``."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes:02d} min"
    return f"{hours} h" if hours else f"{minutes} min"
