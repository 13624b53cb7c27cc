"""Incremental downsampling, pure: fold each tick's stored integers into the open bucket.

Gauges keep (count, sum, min, max) per field, so a bucket can be resumed from its stored row and its
mean is exact; counters keep their last known value. A tick older than the open bucket (the clock went
back) does not reopen a closed bucket: it stays in the raw series only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .fields import COUNTERS, GAUGES

StoredValues = Sequence[int | None]


GaugeStats = tuple[int, int, int, int]
"""Ticks with a value, their sum, min and max: a plain tuple, ~60 are made per tick."""


@dataclass(frozen=True, slots=True)
class Bucket:
    start: int  # epoch seconds
    ticks: int
    gauges: tuple[GaugeStats | None, ...]
    counters: tuple[int | None, ...]


_GAUGE_COUNT = len(GAUGES)


def _empty(start: int) -> Bucket:
    return Bucket(start, 0, (None,) * len(GAUGES), (None,) * len(COUNTERS))


def fold(bucket: Bucket | None, start: int, values: StoredValues) -> Bucket:
    """The bucket after one tick whose bucket starts at ``start``; ``values`` follow fields.FIELDS."""
    if bucket is not None and start < bucket.start:
        return bucket
    current = bucket if bucket is not None and bucket.start == start else _empty(start)
    gauges = tuple(
        [
            stats
            if value is None
            else (1, value, value, value)
            if stats is None
            else (
                stats[0] + 1,
                stats[1] + value,
                stats[2] if stats[2] < value else value,
                stats[3] if stats[3] > value else value,
            )
            for stats, value in zip(current.gauges, values[:_GAUGE_COUNT], strict=True)
        ]
    )
    counters = tuple(values[_GAUGE_COUNT:])
    if None in counters:  # a counter unknown at this tick keeps its last value
        counters = tuple(
            [last if value is None else value for last, value in zip(current.counters, counters, strict=True)]
        )
    return Bucket(start, current.ticks + 1, gauges, counters)


def fold_all(bucket: Bucket, ticks: Sequence[StoredValues]) -> Bucket:
    """``fold`` of each of ``ticks`` in turn into ``bucket`` (they share its start), column by column."""
    columns = tuple(zip(*ticks, strict=True))
    gauges: list[GaugeStats | None] = []
    for stats, column in zip(bucket.gauges, columns[:_GAUGE_COUNT], strict=True):
        known = [value for value in column if value is not None] if None in column else column
        if not known:
            gauges.append(stats)
        elif stats is None:
            gauges.append((len(known), sum(known), min(known), max(known)))
        else:
            count, total, low, high = stats
            gauges.append((count + len(known), total + sum(known), min(low, *known), max(high, *known)))
    counters = tuple(
        [
            column[-1]
            if column[-1] is not None
            else next((v for v in reversed(column) if v is not None), last)
            for last, column in zip(bucket.counters, columns[_GAUGE_COUNT:], strict=True)
        ]
    )
    return Bucket(bucket.start, bucket.ticks + len(ticks), tuple(gauges), counters)


def merge(earlier: Bucket | None, later: Bucket, start: int) -> Bucket:
    """One bucket starting at ``start`` holding the ticks of ``earlier`` then ``later`` (a 15 min or
    day bucket rebuilt from its minutes)."""
    if earlier is None:
        return Bucket(start, later.ticks, later.gauges, later.counters)
    gauges = tuple(
        a if b is None else b if a is None else (a[0] + b[0], a[1] + b[1], min(a[2], b[2]), max(a[3], b[3]))
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
            gauges.append((count, total, low, high))
        else:
            gauges.append(None)
    counters = tuple(row[2 + 4 * len(GAUGES) :])
    return Bucket(start, ticks, tuple(gauges), counters)
