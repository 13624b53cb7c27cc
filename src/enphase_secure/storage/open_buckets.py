"""The open buckets of the downsampled series, tick after tick: each tick folded once, not three times.

A 15 min or day bucket is the merge of its minutes (``downsample.merge``: counts and sums add up, the
later known counter wins), so a tick is folded into the open minute only, the "part": the ticks not
yet in the coarse buckets, all of one minute and one coarse bucket each. The part goes into the
coarse buckets when the next tick belongs elsewhere; until then the coarse buckets are made up
when asked for (``unwritten``, before a write or a read). Even the minute and the part wait: the ticks
that follow one folded into them with the same bucket starts are folded all at once (``fold_all``)
when a tick belongs elsewhere or the buckets are asked for. A tick older than the open minute (the
clock went back), which the minute ignores, goes straight into the coarse buckets, as folding each
of them tick by tick would do: what is stored is the same, tick for tick.
"""

from __future__ import annotations

from collections.abc import Mapping

from .downsample import Bucket, StoredValues, fold, fold_all, merge
from .resolution import AGGREGATES, Resolution

MINUTE, *_COARSE = AGGREGATES
COARSE: tuple[Resolution, ...] = tuple(_COARSE)

Change = tuple[Resolution, Bucket, Bucket | None]  # a bucket, and the one it replaces


def _absorb(coarse: Bucket | None, part: Bucket | None, start: int) -> Bucket | None:
    """``coarse`` with the ticks of ``part``, whose coarse bucket starts at ``start``."""
    if part is None or (coarse is not None and start < coarse.start):
        return coarse
    if coarse is None or start > coarse.start:
        return merge(None, part, start)
    return merge(coarse, part, start)


class OpenBuckets:
    def __init__(self) -> None:
        self._minute: Bucket | None = None
        self._coarse: dict[Resolution, Bucket] = {}
        self._part: Bucket | None = None
        self._part_starts: tuple[int, ...] = ()  # the coarse starts of the part's ticks
        self._unwritten: set[Resolution] = set()  # coarse resolutions with ticks not made up yet
        self._waiting: list[StoredValues] = []  # ticks of the open minute and part not folded yet
        self._waiting_starts: tuple[int, ...] | None = None  # the starts of the last tick in the minute

    def resume(self, stored: Mapping[Resolution, Bucket]) -> None:
        """Continue from the last stored bucket of each resolution (each coarse one holds the minutes)."""
        self._minute = stored.get(MINUTE)
        self._coarse = {resolution: stored[resolution] for resolution in COARSE if resolution in stored}
        self._part, self._part_starts = None, ()
        self._waiting, self._waiting_starts = [], None

    def add(self, values: StoredValues, starts: tuple[int, ...]) -> list[Change]:
        """One tick with the starts of its buckets (in the order of AGGREGATES); the buckets changed
        (those it only joins the waiting ticks of come with ``unwritten``)."""
        if starts == self._waiting_starts:
            self._waiting.append(values)
            return []
        changes = self._fold_waiting()
        minute_start, *coarse_list = starts
        coarse_starts = tuple(coarse_list)
        before = self._minute
        after = fold(before, minute_start, values)
        if after is before:  # older than the open minute
            changes += self._settle()
            self._waiting_starts = None  # the next tick of the open minute starts a new part
            for resolution, start in zip(COARSE, coarse_starts, strict=True):
                old = self._coarse.get(resolution)
                new = fold(old, start, values)
                if new is not old:
                    self._coarse[resolution] = new
                    changes.append((resolution, new, old))
            return changes
        self._minute, self._waiting_starts = after, starts
        part = self._part
        changes.append((MINUTE, after, before))
        if part is not None and (part.start != minute_start or self._part_starts != coarse_starts):
            changes += self._settle()
            part = None
        if part is None:
            fresh = before is None or before.start != minute_start
            self._part, self._part_starts = (
                after if fresh else fold(None, minute_start, values),
                coarse_starts,
            )
        else:
            self._part = after if part is before else fold(part, minute_start, values)
        self._unwritten.update(COARSE)
        return changes

    def _fold_waiting(self) -> list[Change]:
        """The waiting ticks into the minute and the part."""
        before, part, waiting = self._minute, self._part, self._waiting
        if not waiting or before is None or part is None:
            return []
        after = self._minute = fold_all(before, waiting)
        self._part = after if part is before else fold_all(part, waiting)
        self._waiting = []
        self._unwritten.update(COARSE)
        return [(MINUTE, after, before)]

    def _settle(self) -> list[Change]:
        """The part into the coarse buckets."""
        changes: list[Change] = []
        if self._part is not None:
            for resolution, start in zip(COARSE, self._part_starts, strict=True):
                old = self._coarse.get(resolution)
                new = _absorb(old, self._part, start)
                if new is not None and new is not old:
                    self._coarse[resolution] = new
                    changes.append((resolution, new, old))
        self._part, self._part_starts = None, ()
        return changes

    def unwritten(self) -> list[tuple[Resolution, Bucket]]:
        """The open buckets that took ticks since the last call and came with no change, made up as
        they stand."""
        found: list[tuple[Resolution, Bucket]] = [
            (resolution, bucket) for resolution, bucket, _ in self._fold_waiting()
        ]
        for resolution, start in zip(COARSE, self._part_starts or (None,) * len(COARSE), strict=True):
            if resolution not in self._unwritten:
                continue
            coarse = self._coarse.get(resolution)
            current = coarse if start is None else _absorb(coarse, self._part, start)
            if current is not None:
                found.append((resolution, current))
        self._unwritten.clear()
        return found
