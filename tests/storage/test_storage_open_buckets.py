"""One fold per tick (open_buckets.py) gives every bucket that folding each series tick by tick gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.storage.downsample import Bucket, fold, fold_all
from enphase_secure.storage.fields import FIELDS
from enphase_secure.storage.open_buckets import OpenBuckets
from enphase_secure.storage.resolution import AGGREGATES, Resolution, bucket_start

PARIS = ZoneInfo("Europe/Paris")
Buckets = dict[Resolution, dict[int, Bucket]]


def _ticks(seed: int) -> list[tuple[datetime, list[int | None]]]:
    """~1.5 h of 1-7 s ticks across a local midnight, the clock set back now and then, some unknowns."""
    rng = random.Random(seed)
    time = datetime(2026, 3, 28, 22, 20, tzinfo=UTC)
    ticks = []
    for n in range(2000):
        time += timedelta(seconds=rng.choice((1, 1, 2, 2, 7)))
        if n % 300 == 150:
            time -= timedelta(seconds=(10, 61, 900)[n // 300 % 3])  # late ticks for one series or more
        values = [None if rng.random() < 0.1 else rng.randint(-500, 5000) for _ in FIELDS]
        ticks.append((time, values))
    return ticks


def _reference(ticks: list[tuple[datetime, list[int | None]]], open_: dict[Resolution, Bucket]) -> Buckets:
    """Each series folded tick by tick (what the history did before open_buckets.py)."""
    found: Buckets = {resolution: {} for resolution in AGGREGATES}
    for time, values in ticks:
        for resolution in AGGREGATES:
            before = open_.get(resolution)
            bucket = fold(before, bucket_start(time, resolution, PARIS), values)
            if bucket is not before:  # else a tick older than the open bucket, in the raw series only
                open_[resolution] = found[resolution][bucket.start] = bucket
    return found


@pytest.mark.parametrize("seed", range(4))
def test_one_fold_per_tick_gives_the_buckets_of_three(seed: int) -> None:
    ticks = _ticks(seed)
    restart = len(ticks) // 3  # the history reopened there, mid-minute: it resumes from the stored rows
    before_restart = _reference(ticks[:restart], {})
    stored = {r: max(found.values(), key=lambda b: b.start) for r, found in before_restart.items()}
    expected = _reference(ticks[restart:], dict(stored))
    seen: Buckets = {resolution: {} for resolution in AGGREGATES}
    buckets = OpenBuckets()
    buckets.resume(stored)
    rng = random.Random(seed)
    for time, values in ticks[restart:]:
        for resolution, bucket, before in buckets.add(
            values, tuple(bucket_start(time, r, PARIS) for r in AGGREGATES)
        ):
            assert before is None or bucket is not before
            seen[resolution][bucket.start] = bucket
        if rng.random() < 0.3:  # a write or a read made the open buckets up
            for resolution, bucket in buckets.unwritten():
                seen[resolution][bucket.start] = bucket
    for resolution, bucket in buckets.unwritten():
        seen[resolution][bucket.start] = bucket
    assert seen == expected
    assert len(seen[Resolution.ONE_DAY]) == 2  # the midnight was crossed
    late = [b < a for (a, _), (b, _) in zip(ticks[restart:], ticks[restart + 1 :], strict=False)]
    assert sum(late) >= 5  # and the clock went back


@pytest.mark.parametrize("seed", range(3))
def test_fold_all_is_fold_tick_after_tick(seed: int) -> None:
    rng = random.Random(seed)
    rows = [[None if rng.random() < 0.3 else rng.randint(-500, 5000) for _ in FIELDS] for _ in range(40)]
    for row in rows:
        row[0] = row[-1] = None  # a gauge and a counter unknown at every tick
    start = 1_780_000_000
    first = fold(None, start, rows[0])
    expected = first
    for row in rows[1:]:
        expected = fold(expected, start, row)
    assert fold_all(first, rows[1:]) == expected
    assert fold_all(first, rows[1:2]) == fold(first, start, rows[1])
