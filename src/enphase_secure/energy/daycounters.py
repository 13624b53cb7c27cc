"""Today and last-7-days energy from the gateway's lifetime counters (DESIGN.md §3).

Each counter (``"production"``, ``"net_import"``, ``"import.phase1"``, ...) keeps a baseline taken at
local midnight in the configured time zone, so today = current value - baseline; finished days are kept
as per-day totals and the last 7 days are today plus the 6 days before it.

Rules:
- A value lower than the previous one is a reset (gateway reset or replaced): a new segment starts,
  today keeps what it had and continues from the new value. No day is ever negative.
- Readings normally arrive every second, so the reading before and after midnight are a second apart.
  When they are further apart (gateway unreachable at midnight, daemon down), the counter's growth over
  the gap cannot be split exactly between the days: it is split linearly by time, i.e. as if the power
  had been constant over the gap. Every day touched by such a gap longer than ``estimate_gap_s`` is
  flagged ``estimated``. A reset inside a gap that spans midnight leaves the days fully inside the gap
  unknown (absent from the history), never 0.
- ``CounterKind.DAILY`` accepts the gateway's own ``whToday`` for counters that have no lifetime value
  (e.g. no CT): its drop at the gateway's day change is expected, and the value after the drop is the
  energy since that drop, so it counts. Its first reading is taken as today's energy so far.

Everything is pure: the caller passes the time of each reading and the time zone; the state is a frozen
value that round-trips through JSON (``to_json`` / ``from_json``) so a restart loses nothing.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from enphase_secure.energy.local_days import day_starts_between, local_day, require_aware
from enphase_secure.energy.memo import last_call
from enphase_secure.energy.state_json import JsonObject
from enphase_secure.errors import EnergyStateError

KEPT_DAYS = 7
"""Finished days kept per counter: enough for a 7-day window ending yesterday."""

DEFAULT_ESTIMATE_GAP_S = 10.0
"""A midnight crossed by readings further apart than this makes the days around it estimated."""

WINDOW_DAYS = 7


class CounterKind(StrEnum):
    LIFETIME = "lifetime"
    """A lifetime counter (``actEnergyDlvd``, ``whLifetime``): a drop means a reset or replacement."""
    DAILY = "daily"
    """The gateway's ``whToday``: a drop is its own day change, the new value counts from zero."""


@dataclass(frozen=True, slots=True)
class DayTotal:
    """The energy of one local day for one counter."""

    day: date
    wh: float
    estimated: bool
    """Part of the day was split off a gap by interpolation, or may be lost to a counter reset."""
    complete: bool
    """Counted from the day's local midnight (False on the day counting started)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "wh": self.wh,
            "estimated": self.estimated,
            "complete": self.complete,
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> DayTotal:
        obj = JsonObject.of(value, where)
        return cls(obj.day("day"), obj.number("wh"), obj.flag("estimated"), obj.flag("complete"))


@dataclass(frozen=True, slots=True)
class WindowTotal:
    """The energy of several consecutive local days ending today."""

    first_day: date
    last_day: date
    wh: float
    estimated: bool
    complete: bool
    """Every day of the window is known and counted from its midnight."""


@dataclass(frozen=True, slots=True)
class CounterState:
    """One counter's progress through the current local day, and its finished days."""

    kind: CounterKind
    day: date
    last_time: datetime
    last_wh: float
    baseline_wh: float
    """The counter value at the start of the current segment of the day."""
    closed_wh: float
    """Energy of the day's earlier segments (before a reset)."""
    estimated: bool
    complete: bool
    history: tuple[DayTotal, ...] = ()
    """Finished days, oldest first, at most KEPT_DAYS."""

    @property
    def today_wh(self) -> float:
        return self.closed_wh + self.last_wh - self.baseline_wh

    def moved(self, at: datetime, value_wh: float) -> CounterState:
        """The same day and segment, read again (what ``replace`` would do, built directly: every tick)."""
        return CounterState(
            self.kind,
            self.day,
            at,
            value_wh,
            self.baseline_wh,
            self.closed_wh,
            self.estimated,
            self.complete,
            self.history,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "day": self.day.isoformat(),
            "last_time": self.last_time.isoformat(),
            "last_wh": self.last_wh,
            "baseline_wh": self.baseline_wh,
            "closed_wh": self.closed_wh,
            "estimated": self.estimated,
            "complete": self.complete,
            "history": [d.to_json() for d in self.history],
        }

    @classmethod
    def from_json(cls, value: object, where: str = "counter") -> CounterState:
        obj = JsonObject.of(value, where)
        try:
            kind = CounterKind(obj.text("kind"))
        except ValueError as err:
            raise EnergyStateError(obj.path("kind"), f"unknown counter kind {obj.data['kind']!r}") from err
        return cls(
            kind=kind,
            day=obj.day("day"),
            last_time=obj.instant("last_time"),
            last_wh=obj.number("last_wh"),
            baseline_wh=obj.number("baseline_wh"),
            closed_wh=obj.number("closed_wh"),
            estimated=obj.flag("estimated"),
            complete=obj.flag("complete"),
            history=tuple(obj.items("history", DayTotal.from_json)),
        )


def advance(
    state: CounterState | None,
    value_wh: float,
    at: datetime,
    tz: ZoneInfo,
    *,
    kind: CounterKind = CounterKind.LIFETIME,
    estimate_gap_s: float = DEFAULT_ESTIMATE_GAP_S,
) -> CounterState:
    """The counter after a reading of ``value_wh`` at ``at``; a reading not newer than the last is ignored."""
    at = require_aware(at, "day counter reading time")
    if state is None:
        return CounterState(
            kind=kind,
            day=local_day(at, tz),
            last_time=at,
            last_wh=value_wh,
            baseline_wh=_segment_start(kind, value_wh),
            closed_wh=0.0,
            estimated=False,
            complete=False,
        )
    if at <= state.last_time:
        return state
    reset = kind is not state.kind or value_wh < state.last_wh
    starts = day_starts_between(state.last_time, at, tz)
    if not starts:
        if not reset:
            return state.moved(at, value_wh)
        return replace(
            state,
            kind=kind,
            last_time=at,
            last_wh=value_wh,
            baseline_wh=_segment_start(kind, value_wh),
            closed_wh=state.today_wh,
            estimated=state.estimated or _reset_loses_energy(kind),
        )
    if reset:
        return _cross_days_through_reset(state, value_wh, at, kind, starts[-1][0])
    return _cross_days(state, value_wh, at, starts, estimate_gap_s)


def query_day(now: datetime, tz: ZoneInfo) -> date:
    """The local day that ``today`` and ``last_days`` at ``now`` are about."""
    return local_day(require_aware(now, "day counter query time"), tz)


def today(state: CounterState, now: datetime, tz: ZoneInfo) -> DayTotal | None:
    """Today's energy, or None when no reading has arrived yet since the local day began."""
    return today_on(state, query_day(now, tz))


def counting(state: CounterState | None, day: date) -> CounterState | None:
    """``state`` if it is counting local ``day``: today's figures are its ``today_wh`` and ``estimated``."""
    return state if state is not None and state.day == day else None


def today_on(state: CounterState, day: date) -> DayTotal | None:
    """``today`` on local ``day`` (``query_day``)."""
    if counting(state, day) is None:
        return None
    return DayTotal(state.day, state.today_wh, state.estimated, state.complete)


def last_days(
    state: CounterState, now: datetime, tz: ZoneInfo, days: int = WINDOW_DAYS
) -> WindowTotal | None:
    """The energy of the last ``days`` local days including today; None while today is unknown."""
    return last_days_on(state, query_day(now, tz), days)


def last_days_on(state: CounterState, day: date, days: int = WINDOW_DAYS) -> WindowTotal | None:
    """``last_days`` on local ``day`` (``query_day``)."""
    current = today_on(state, day)
    if current is None:
        return None
    first = current.day - timedelta(days=days - 1)
    included = [d for d in state.history if first <= d.day < current.day]
    included.append(current)
    return WindowTotal(
        first_day=first,
        last_day=current.day,
        wh=window_base_wh(state, day, days) + current.wh,
        estimated=any(d.estimated for d in included),
        complete=len(included) == days and all(d.complete for d in included),
    )


def window_base_wh(state: CounterState, day: date, days: int = WINDOW_DAYS) -> float:
    """The energy of the finished days in the window of ``days`` days ending on ``day``: the same all
    day long, so a window of the day is this plus today, added in that order."""
    first = day - timedelta(days=days - 1)
    return sum(d.wh for d in state.history if first <= d.day < day)


def _segment_start(kind: CounterKind, value_wh: float) -> float:
    return 0.0 if kind is CounterKind.DAILY else value_wh


def _reset_loses_energy(kind: CounterKind) -> bool:
    return kind is CounterKind.LIFETIME


def _cross_days(
    state: CounterState,
    value_wh: float,
    at: datetime,
    starts: list[tuple[date, datetime]],
    estimate_gap_s: float,
) -> CounterState:
    gap_s = (at - state.last_time).total_seconds()
    rate_wh_per_s = (value_wh - state.last_wh) / gap_s
    estimated = gap_s > estimate_gap_s
    at_starts = [  # min(): rounding must not put a day start above the reading that follows it
        min(value_wh, state.last_wh + rate_wh_per_s * (start - state.last_time).total_seconds())
        for _, start in starts
    ]
    finished = [
        DayTotal(
            state.day,
            state.closed_wh + at_starts[0] - state.baseline_wh,
            state.estimated or estimated,
            state.complete,
        )
    ]
    finished += [
        DayTotal(day, end - begin, estimated, complete=True)
        for (day, _), begin, end in zip(starts, at_starts, at_starts[1:], strict=False)
    ]
    return CounterState(
        kind=state.kind,
        day=starts[-1][0],
        last_time=at,
        last_wh=value_wh,
        baseline_wh=at_starts[-1],
        closed_wh=0.0,
        estimated=estimated,
        complete=True,
        history=_keep(state.history, finished),
    )


def _cross_days_through_reset(
    state: CounterState, value_wh: float, at: datetime, kind: CounterKind, day: date
) -> CounterState:
    finished = DayTotal(state.day, state.today_wh, estimated=True, complete=state.complete)
    return CounterState(
        kind=kind,
        day=day,
        last_time=at,
        last_wh=value_wh,
        baseline_wh=_segment_start(kind, value_wh),
        closed_wh=0.0,
        estimated=True,
        complete=not _reset_loses_energy(kind),
        history=_keep(state.history, [finished]),
    )


def _keep(history: tuple[DayTotal, ...], finished: list[DayTotal]) -> tuple[DayTotal, ...]:
    return (*history, *finished)[-KEPT_DAYS:]


@dataclass(frozen=True, slots=True, eq=False)
class DayCounters:
    """The day counters of a site, by counter key; a value: ``update`` returns a new one.

    Nearly every reading only moves its counter on (same day, same segment: ``CounterState.moved``).
    Those readings are kept as they came, on top of ``base`` (each counter as of its latest other
    change), rather than as a new CounterState per counter per tick; ``counters`` puts them together.
    """

    base: Mapping[str, CounterState]
    readings: Mapping[str, float] = field(default_factory=dict)
    """Readings at ``read_at``, each moving ``base[key]`` on."""
    read_at: datetime | None = None

    @classmethod
    def empty(cls) -> DayCounters:
        return cls({})

    @property
    def counters(self) -> Mapping[str, CounterState]:
        """Each counter as of its last reading."""
        readings, at = self.readings, self.read_at
        if not readings or at is None:
            return self.base
        return {
            key: state.moved(at, readings[key]) if key in readings else state
            for key, state in self.base.items()
        }

    def state(self, key: str) -> CounterState | None:
        """``counters.get(key)``, built for that counter only."""
        state, value = self.base.get(key), self.readings.get(key)
        if state is None or value is None or self.read_at is None:
            return state
        return state.moved(self.read_at, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DayCounters) and self.counters == other.counters

    __hash__ = None  # type: ignore[assignment]

    def update(
        self,
        readings: Mapping[str, float],
        at: datetime,
        tz: ZoneInfo,
        *,
        kind: CounterKind = CounterKind.LIFETIME,
        estimate_gap_s: float = DEFAULT_ESTIMATE_GAP_S,
    ) -> DayCounters:
        """Advance the counters read at ``at``; counters not in ``readings`` are left as they are.

        The same as ``advance`` on each counter; a reading that only moves its counter on is kept in
        ``readings`` (whether a day starts since the last reading is asked once per last reading time).
        """
        at = require_aware(at, "day counter reading time")
        base, moved, moved_at = self.base, self.readings, self.read_at
        moved_on = moved_at is not None and at > moved_at and not day_starts_between(moved_at, at, tz)
        if (  # the same counters as last time, each moved on again (nearly every tick): the loop's outcome
            moved_on
            and list(readings) == list(moved)
            and _sole_kind(base) is kind
            and all(map(operator.ge, readings.values(), moved.values()))
        ):
            return DayCounters(base, dict(readings), at)
        crosses: dict[datetime, bool] = {}
        kept: dict[str, float] = {}
        settled: dict[str, CounterState] | None = None
        for key, value_wh in readings.items():
            previous = moved.get(key)
            if previous is not None:
                if moved_on and value_wh >= previous and base[key].kind is kind:
                    kept[key] = value_wh
                    continue
            elif (state := base.get(key)) is not None and state.kind is kind:
                last_time = state.last_time
                if at > last_time and value_wh >= state.last_wh:
                    crossing = crosses.get(last_time)
                    if crossing is None:
                        crossing = crosses[last_time] = bool(day_starts_between(last_time, at, tz))
                    if not crossing:
                        kept[key] = value_wh
                        continue
            if settled is None:
                settled = dict(base)
            settled[key] = advance(
                self.state(key), value_wh, at, tz, kind=kind, estimate_gap_s=estimate_gap_s
            )
        left = [key for key in moved if key not in readings]
        if left and moved_at is not None:
            if settled is None:
                settled = dict(base)
            for key in left:
                settled[key] = base[key].moved(moved_at, moved[key])
        return DayCounters(base if settled is None else settled, kept, at if kept else None)

    def today(self, key: str, now: datetime, tz: ZoneInfo) -> DayTotal | None:
        state = self.state(key)
        return None if state is None else today(state, now, tz)

    def last_days(self, key: str, now: datetime, tz: ZoneInfo, days: int = WINDOW_DAYS) -> WindowTotal | None:
        state = self.state(key)
        return None if state is None else last_days(state, now, tz, days)

    def to_json(self) -> dict[str, Any]:
        return {"counters": {key: state.to_json() for key, state in self.counters.items()}}

    @classmethod
    def from_json(cls, value: object) -> DayCounters:
        entries = JsonObject.of(value, "day_counters").entries("counters")
        return cls({key: CounterState.from_json(obj.data, obj.where) for key, obj in entries.items()})


@last_call  # the base changes at a new day or segment, readings come every second
def _sole_kind(base: Mapping[str, CounterState]) -> CounterKind | None:
    """The kind of every counter of ``base``; None if they differ."""
    kinds = {state.kind for state in base.values()}
    return kinds.pop() if len(kinds) == 1 else None
