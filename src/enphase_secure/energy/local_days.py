"""Local calendar days in the configured time zone: which day an instant falls in, and where days start.

All instants handled by the energy counters are time-zone aware; day boundaries are computed in the
configured zone so that a 23 h (spring forward) or 25 h (fall back) day has its true length.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from enphase_secure.errors import EnergyError


def require_aware(at: datetime, what: str) -> datetime:
    """``at`` in UTC; a naive datetime cannot be placed on a local day and is refused."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise EnergyError(f"{what}: {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


def local_day(at: datetime, tz: ZoneInfo) -> date:
    return at.astimezone(tz).date()


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The instant (UTC) local ``day`` begins.

    Where a zone skips midnight itself, zoneinfo reads the missing 00:00 with the offset in force
    before the jump, which is the instant the day really begins.
    """
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def day_starts_between(after: datetime, until: datetime, tz: ZoneInfo) -> list[tuple[date, datetime]]:
    """Each local day that begins in the interval (after, until], with the instant it begins."""
    starts: list[tuple[date, datetime]] = []
    day = local_day(after, tz) + timedelta(days=1)
    while (start := day_start(day, tz)) <= until:
        starts.append((day, start))
        day += timedelta(days=1)
    return starts
