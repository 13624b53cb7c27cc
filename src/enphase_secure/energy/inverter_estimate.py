"""Each inverter's energy today, estimated from its power reports (DESIGN.md §3).

``/api/v1/production/inverters`` gives per inverter only its last report: ``lastReportDate`` and
``lastReportWatts``; an inverter reports every 5-15 min and not at all at night. Between two consecutive
reports the power is taken as linear (trapezoid), which is second-order accurate whether a report is
the power at that instant or the average of the interval before it. Reports further apart than
``max_gap_s`` (the night, an outage, a daemon down for long) are not bridged: an inverter that stops
reporting at dusk contributes nothing after its last report. The estimate restarts at local midnight
(an interval across midnight is split where the line crosses it) and is a frozen value that
round-trips through JSON so a restart loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from enphase_secure.energy.local_days import day_starts_between, local_day, require_aware
from enphase_secure.energy.state_json import JsonObject

DEFAULT_MAX_GAP_S = 1800.0
"""Two report periods of 15 min: a poll every 15 min may see every other report of a slow inverter."""


@dataclass(frozen=True, slots=True)
class InverterReport:
    """One inverter's last report, as read from the gateway."""

    serial: str
    reported_at: datetime
    watts: float


@dataclass(frozen=True, slots=True)
class InverterDay:
    """One inverter's estimate for the local day of its last report."""

    day: date
    last_report_at: datetime
    last_watts: float
    today_wh: float
    complete: bool
    """Counted from the day's first report (False when counting started with a report seen mid-day)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "last_report_at": self.last_report_at.isoformat(),
            "last_watts": self.last_watts,
            "today_wh": self.today_wh,
            "complete": self.complete,
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> InverterDay:
        obj = JsonObject.of(value, where)
        return cls(
            day=obj.day("day"),
            last_report_at=obj.instant("last_report_at"),
            last_watts=obj.number("last_watts"),
            today_wh=obj.number("today_wh"),
            complete=obj.flag("complete"),
        )


def advance(
    state: InverterDay | None, report: InverterReport, tz: ZoneInfo, *, max_gap_s: float = DEFAULT_MAX_GAP_S
) -> InverterDay:
    """The estimate after ``report``; a report already seen (or older) changes nothing."""
    at = require_aware(report.reported_at, f"inverter {report.serial} lastReportDate")
    if state is not None and at <= state.last_report_at:
        return state
    day = local_day(at, tz)
    if state is None:
        return InverterDay(day, at, report.watts, 0.0, complete=False)
    seconds = (at - state.last_report_at).total_seconds()
    starts = day_starts_between(state.last_report_at, at, tz)
    if seconds > max_gap_s:
        counted_wh = 0.0
    elif starts:
        midnight = starts[-1][1]
        watts_at_midnight = state.last_watts + (report.watts - state.last_watts) * (
            (midnight - state.last_report_at).total_seconds() / seconds
        )
        counted_wh = _trapezoid_wh(watts_at_midnight, report.watts, (at - midnight).total_seconds())
    else:
        counted_wh = _trapezoid_wh(state.last_watts, report.watts, seconds)
    if starts:
        return InverterDay(day, at, report.watts, counted_wh, complete=True)
    return InverterDay(day, at, report.watts, state.today_wh + counted_wh, state.complete)


def today_wh(state: InverterDay, now: datetime, tz: ZoneInfo) -> float | None:
    """Today's estimate; 0 when the inverter has not reported since local midnight (it produced nothing
    that any report covers); None when counting started with a report of today (a mid-day start: what
    came before is unknown, not 0)."""
    return today_wh_on(state, local_day(require_aware(now, "inverter query time"), tz))


def today_wh_on(state: InverterDay, day: date) -> float | None:
    """``today_wh`` on local ``day``."""
    if state.day != day:
        return 0.0
    return state.today_wh if state.complete else None


def _trapezoid_wh(start_w: float, end_w: float, seconds: float) -> float:
    return (start_w + end_w) / 2 * seconds / 3600


@dataclass(frozen=True, slots=True)
class InverterEstimates:
    """The estimates of every inverter seen, by serial number; ``update`` returns a new value."""

    inverters: Mapping[str, InverterDay]

    @classmethod
    def empty(cls) -> InverterEstimates:
        return cls({})

    def update(
        self, reports: Iterable[InverterReport], tz: ZoneInfo, *, max_gap_s: float = DEFAULT_MAX_GAP_S
    ) -> InverterEstimates:
        changed: dict[str, InverterDay] = {}
        for report in reports:
            before = changed.get(report.serial) or self.inverters.get(report.serial)
            after = advance(before, report, tz, max_gap_s=max_gap_s)
            if after is not before:
                changed[report.serial] = after
        return InverterEstimates({**self.inverters, **changed}) if changed else self

    def today_wh(self, serial: str, now: datetime, tz: ZoneInfo) -> float | None:
        """None for an inverter never seen."""
        state = self.inverters.get(serial)
        return None if state is None else today_wh(state, now, tz)

    def has_seen(self, serial: str, reported_at: datetime) -> bool:
        """A report of ``reported_at`` (in UTC) would change nothing: ``update`` skips it anyway."""
        state = self.inverters.get(serial)
        return state is not None and reported_at.tzinfo is UTC and reported_at <= state.last_report_at

    def today_wh_on(self, serial: str, day: date) -> float | None:
        """``today_wh`` on local ``day``."""
        state = self.inverters.get(serial)
        return None if state is None else today_wh_on(state, day)

    def to_json(self) -> dict[str, Any]:
        return {"inverters": {serial: day.to_json() for serial, day in self.inverters.items()}}

    @classmethod
    def from_json(cls, value: object) -> InverterEstimates:
        entries = JsonObject.of(value, "inverter_estimates").entries("inverters")
        return cls({serial: InverterDay.from_json(obj.data, obj.where) for serial, obj in entries.items()})
