"""The open 15 min and day buckets after a crash: rebuilt from the finer rows.

Those buckets change with every batch, but the history rewrites them only every few minutes (two
pages of each batch spared: History._held_buckets); what they missed is in the minute rows, written
with every batch, and the minute rows fold exactly into 15 min buckets, those into days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .backend import Backend
from .batch import AGGREGATE_COLUMNS
from .downsample import Bucket, bucket_from_row, merge
from .resolution import Resolution, Retention, bucket_start
from .schema import AGGREGATE_TABLES

_CHAIN = (  # each coarse resolution, the finer one it is rebuilt from, the retention that must cover it
    (Resolution.FIFTEEN_MINUTES, Resolution.ONE_MINUTE, timedelta(minutes=15)),
    (Resolution.ONE_DAY, Resolution.FIFTEEN_MINUTES, timedelta(days=1)),
)


def rebuildable(retention: Retention) -> tuple[Resolution, ...]:
    """The coarse resolutions whose open bucket the finer rows kept still cover."""
    found: list[Resolution] = []
    for resolution, finer, length in _CHAIN:
        kept = retention.of(finer)
        if kept is not None and kept <= length + timedelta(hours=1):
            break
        found.append(resolution)
    return tuple(found)


async def rebuild_coarse(
    backend: Backend,
    last_stored: Mapping[Resolution, Bucket],
    zone: ZoneInfo,
    resolutions: tuple[Resolution, ...],
) -> list[tuple[Resolution, Bucket]]:
    """The buckets of ``resolutions`` that hold more ticks than stored (``last_stored``: the last row of
    each table), oldest first; a few dozen rows are read: the finer ones from the last stored bucket on."""
    latest = dict(last_stored)
    found: list[tuple[Resolution, Bucket]] = []
    columns = ", ".join(AGGREGATE_COLUMNS)
    for resolution, finer, _ in _CHAIN:
        last = latest.get(finer)
        if resolution not in resolutions or last is None:
            break
        stored = latest.get(resolution)
        last_start = bucket_start(datetime.fromtimestamp(last.start, UTC), resolution, zone)
        first = last_start if stored is None else min(stored.start, last_start)
        rows = await backend.query(
            f"SELECT {columns} FROM {AGGREGATE_TABLES[finer.value]} WHERE bucket >= ? ORDER BY bucket",  # noqa: S608
            (first,),
        )
        parts = {row[0]: bucket_from_row(row) for row in rows}
        parts.update({b.start: b for r, b in found if r is finer})  # rebuilt just before: newer
        rebuilt: dict[int, Bucket] = {}
        for part_start in sorted(parts):
            start = bucket_start(datetime.fromtimestamp(part_start, UTC), resolution, zone)
            rebuilt[start] = merge(rebuilt.get(start), parts[part_start], start)
        for start, bucket in sorted(rebuilt.items()):
            if (
                stored is None
                or start > stored.start
                or (start == stored.start and bucket.ticks > stored.ticks)
            ):
                found.append((resolution, bucket))
                latest[resolution] = bucket
    return found
