"""Local calendar days in the configured time zone: which day an instant falls in, and where days start.

All instants handled by the energy counters are time-zone aware; day boundaries are computed in the
configured zone so that a 23 h (spring forward) or 25 h (fall back) day has its true length.

Every tick asks these questions many times about the same day, so the bounds of the latest day asked
about are kept per zone (``day_bounds``): an instant in UTC inside them is placed by two comparisons
instead of a conversion to local time. Only a plain day (24 h, one UTC offset from start to end, so
every instant inside falls on it) answers from the cache; a DST-change day is converted every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from enphase_secure.errors import EnergyError

_DAY = timedelta(days=1)
_LAST_MICROSECOND = timedelta(microseconds=1)


def require_aware(at: datetime, what: str) -> datetime:
    """``at`` in UTC; a naive datetime cannot be placed on a local day and is refused."""
    if at.tzinfo is UTC:
        return at
    if at.tzinfo is None or at.utcoffset() is None:
        raise EnergyError(f"{what}: {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DayBounds:
    """One local day: its date, the instants (UTC) it begins and the next day begins."""

    day: date
    start: datetime
    end: datetime
    plain: bool
    """24 h long with one UTC offset throughout: every instant in [start, end) falls on ``day``."""

    def holds(self, at: datetime) -> bool:
        """``at`` (in UTC) falls on this day, as this cached entry can tell: a plain day only."""
        return self.plain and at.tzinfo is UTC and self.start <= at < self.end


_latest: dict[ZoneInfo, DayBounds] = {}


def day_bounds(at: datetime, tz: ZoneInfo) -> DayBounds:
    """The bounds of the local day ``at`` (aware) falls on, kept as the zone's latest."""
    bounds = _latest.get(tz)
    if bounds is not None and bounds.holds(at):
        return bounds
    day = at.astimezone(tz).date()
    if bounds is not None and bounds.day == day:
        return bounds
    start, end = day_start(day, tz), day_start(day + _DAY, tz)
    last = end - _LAST_MICROSECOND
    plain = end - start == _DAY and start.astimezone(tz).utcoffset() == last.astimezone(tz).utcoffset()
    bounds = DayBounds(day, start, end, plain)
    _latest[tz] = bounds
    return bounds


def local_day(at: datetime, tz: ZoneInfo) -> date:
    bounds = _latest.get(tz)
    if bounds is not None and bounds.holds(at):
        return bounds.day
    if at.tzinfo is UTC and (bounds is None or at >= bounds.end):  # a later day: the one to keep
        return day_bounds(at, tz).day
    return at.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The instant (UTC) local ``day`` begins.

    Where a zone skips midnight itself, zoneinfo reads the missing 00:00 with the offset in force
    before the jump, which is the instant the day really begins.
    """
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def day_starts_between(after: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[date, datetime]]:
    """Each local day that begins in the interval (after, until], with the instant it begins."""
    bounds = _latest.get(tz)
    if bounds is None or not bounds.holds(until):
        bounds = day_bounds(until, tz)
    if bounds.holds(after) and bounds.holds(until):
        return []
    starts: list[tuple[date, datetime]] = []
    day = local_day(after, tz) + _DAY
    while (start := day_start(day, tz)) <= until:
        starts.append((day, start))
        day += _DAY
    return starts
