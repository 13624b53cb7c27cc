"""Incremental downsampling, pure: fold each tick's stored integers into the open bucket.

Gauges keep (count, sum, min, max) per field, so a bucket can be resumed from its stored row and its
mean is exact; counters keep their last known value. A tick older than the open bucket (the clock went
back) does not reopen a closed bucket: it stays in the raw series only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .fields import COUNTERS, GAUGES

StoredValues = Sequence[int | None]


class GaugeStats(NamedTuple):  # a tuple, not a dataclass: ~60 are made per tick
    n: int  # ticks with a value (``count`` would hide tuple.count)
    total: int
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Bucket:
    start: int  # epoch seconds
    ticks: int
    gauges: tuple[GaugeStats | None, ...]
    counters: tuple[int | None, ...]


def _empty(start: int) -> Bucket:
    return Bucket(start, 0, (None,) * len(GAUGES), (None,) * len(COUNTERS))


def fold(bucket: Bucket | None, start: int, values: StoredValues) -> Bucket:
    """The bucket after one tick whose bucket starts at ``start``; ``values`` follow fields.FIELDS."""
    if bucket is not None and start < bucket.start:
        return bucket
    current = bucket if bucket is not None and bucket.start == start else _empty(start)
    gauge_values = values[: len(GAUGES)]
    counter_values = values[len(GAUGES) :]
    gauges: list[GaugeStats | None] = []
    for stats, value in zip(current.gauges, gauge_values, strict=True):
        if value is None:
            gauges.append(stats)
        elif stats is None:
            gauges.append(GaugeStats(1, value, value, value))
        else:
            count, total, low, high = stats
            low = low if low < value else value
            high = high if high > value else value
            gauges.append(GaugeStats(count + 1, total + value, low, high))
    counters = tuple(
        last if value is None else value for last, value in zip(current.counters, counter_values, strict=True)
    )
    return Bucket(start, current.ticks + 1, tuple(gauges), counters)


def merge(earlier: Bucket | None, later: Bucket, start: int) -> Bucket:
    """One bucket starting at ``start`` holding the ticks of ``earlier`` then ``later`` (a 15 min or
    day bucket rebuilt from its minutes)."""
    if earlier is None:
        return Bucket(start, later.ticks, later.gauges, later.counters)
    gauges = tuple(
        a
        if b is None
        else b
        if a is None
        else GaugeStats(a.n + b.n, a.total + b.total, min(a.low, b.low), max(a.high, b.high))
        for a, b in zip(earlier.gauges, later.gauges, strict=True)
    )
    counters = tuple(a if b is None else b for a, b in zip(earlier.counters, later.counters, strict=True))
    return Bucket(start, earlier.ticks + later.ticks, gauges, counters)


def aggregate_columns() -> tuple[str, ...]:
    """Column names of an aggregate table after ``bucket``, in the order of ``bucket_row``."""
    gauge_columns = (f"{spec.name}_{part}" for spec in GAUGES for part in ("n", "sum", "min", "max"))
    return ("ticks", *gauge_columns, *(spec.name for spec in COUNTERS))


def bucket_row(bucket: Bucket) -> tuple[int | None, ...]:
    """``bucket`` then the values of ``aggregate_columns()``."""
    gauge_values: list[int | None] = []
    for stats in bucket.gauges:
        gauge_values.extend((0, None, None, None) if stats is None else stats)
    return (bucket.start, bucket.ticks, *gauge_values, *bucket.counters)


def bucket_from_row(row: Sequence[int | None]) -> Bucket:
    """The inverse of ``bucket_row``."""
    start, ticks = row[0], row[1]
    if start is None or ticks is None:
        raise ValueError("an aggregate row without bucket or ticks")
    gauges: list[GaugeStats | None] = []
    for index in range(len(GAUGES)):
        count, total, low, high = row[2 + 4 * index : 6 + 4 * index]
        if count and total is not None and low is not None and high is not None:
            gauges.append(GaugeStats(count, total, low, high))
        else:
            gauges.append(None)
    counters = tuple(row[2 + 4 * len(GAUGES) :])
    return Bucket(start, ticks, tuple(gauges), counters)
