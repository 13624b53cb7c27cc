"""Resolutions of the history, their time buckets, retention, and the automatic choice for a range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from ..errors import StorageError


class Resolution(Enum):
    RAW = "raw"
    ONE_MINUTE = "1min"
    FIFTEEN_MINUTES = "15min"
    ONE_DAY = "1day"

    @classmethod
    def parse(cls, text: str) -> Resolution:
        try:
            return cls(text)
        except ValueError as err:
            choices = ", ".join(r.value for r in cls)
            raise StorageError(f"unknown history resolution {text!r}; use auto or one of {choices}") from err


AGGREGATES: tuple[Resolution, ...] = (Resolution.ONE_MINUTE, Resolution.FIFTEEN_MINUTES, Resolution.ONE_DAY)

_FIXED_STEP_S = {Resolution.ONE_MINUTE: 60, Resolution.FIFTEEN_MINUTES: 900}
_MINUTE_S, _QUARTER_S = _FIXED_STEP_S[Resolution.ONE_MINUTE], _FIXED_STEP_S[Resolution.FIFTEEN_MINUTES]
_NOMINAL_DAY_S = 86_400
_INTO_NEXT_DAY = timedelta(hours=26)  # added to a local midnight (wall clock): 02:00 the next day


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each series is kept; None keeps it forever."""

    raw: timedelta | None = timedelta(days=7)
    one_minute: timedelta | None = timedelta(days=90)
    fifteen_minutes: timedelta | None = timedelta(days=730)
    one_day: timedelta | None = None
    inverters: timedelta | None = timedelta(days=730)
    events: timedelta | None = timedelta(days=365)

    def of(self, resolution: Resolution) -> timedelta | None:
        return {
            Resolution.RAW: self.raw,
            Resolution.ONE_MINUTE: self.one_minute,
            Resolution.FIFTEEN_MINUTES: self.fifteen_minutes,
            Resolution.ONE_DAY: self.one_day,
        }[resolution]


def bucket_start(time: datetime, resolution: Resolution, zone: ZoneInfo) -> int:
    """Epoch seconds of the start of the bucket holding ``time``; days start at local midnight."""
    if resolution is Resolution.RAW:
        raise StorageError("raw ticks have no bucket")
    if resolution is Resolution.ONE_DAY:
        local_day = time.astimezone(zone).date()
        return int(datetime(local_day.year, local_day.month, local_day.day, tzinfo=zone).timestamp())
    step = _FIXED_STEP_S[resolution]
    return int(time.timestamp()) // step * step


class BucketStarts:
    """``bucket_start`` of every aggregate for one tick after another: the local day (a time zone
    conversion) is computed again only when a tick falls outside the day of the one before."""

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._day: tuple[int, int] = (0, 0)  # the local day last seen: its start and the next day's

    def of(self, time: datetime) -> tuple[int, int, int]:
        """The starts of the buckets of ``time``, in the order of AGGREGATES."""
        epoch_s = int(time.timestamp())
        day_start, next_day = self._day
        if not day_start <= epoch_s < next_day:
            day_start = bucket_start(time, Resolution.ONE_DAY, self._zone)
            later = datetime.fromtimestamp(day_start, self._zone) + _INTO_NEXT_DAY
            self._day = (day_start, bucket_start(later, Resolution.ONE_DAY, self._zone))
        return epoch_s // _MINUTE_S * _MINUTE_S, epoch_s // _QUARTER_S * _QUARTER_S, day_start


def step_s(resolution: Resolution, raw_interval_s: float) -> float:
    """The nominal time between two points of a series (a local day can be 23 or 25 h long)."""
    if resolution is Resolution.RAW:
        return raw_interval_s
    return _FIXED_STEP_S.get(resolution, _NOMINAL_DAY_S)


def pick_resolution(
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    retention: Retention,
    raw_interval_s: float,
    max_points: int = 5000,
) -> Resolution:
    """The finest resolution that still holds data at ``start`` and gives at most ``max_points``."""
    span_s = max((end - start).total_seconds(), 0.0)
    for resolution in (Resolution.RAW, *AGGREGATES):
        kept = retention.of(resolution)
        if kept is not None and start < now - kept:
            continue
        if span_s / step_s(resolution, raw_interval_s) <= max_points:
            return resolution
    return Resolution.ONE_DAY
