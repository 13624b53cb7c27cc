"""What the history holds in memory between two writes: raw ticks, open buckets, inverter reports.

A Raspberry Pi keeps its history on an SD card: one transaction per tick wrote ~18 KiB a tick
(1.5 GiB a day) for ~100 bytes of data. The history therefore writes in batches (see History.append);
this module is the pure part: the pending rows, the statements that write them and the pending points
that reads merge with what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backend import Param, Statement
from .downsample import Bucket, aggregate_columns, bucket_row
from .fields import FIELDS, FieldKind, FieldSpec
from .resolution import AGGREGATES, Resolution
from .schema import AGGREGATE_TABLES

TickRow = tuple[Param, ...]  # time_ms, stale, then the stored values of FIELDS
InverterRow = tuple[str, int, int | None, int | None, int | None]  # serial, report_s, power, max, today
AggregateRow = tuple[int | None, ...]  # bucket, then aggregate_columns()

MAX_PENDING_TICKS = 3600
"""Raw ticks kept while the database refuses writes; beyond, the oldest go (buckets keep counting)."""

TICK_COLUMNS = ("time_ms", "stale", *(spec.name for spec in FIELDS))
AGGREGATE_COLUMNS = ("bucket", *aggregate_columns())
_TICK_INDEX = {name: index for index, name in enumerate(TICK_COLUMNS)}
_AGGREGATE_INDEX = {name: index for index, name in enumerate(AGGREGATE_COLUMNS)}


def _upsert(table: str, columns: Sequence[str]) -> str:
    key, *values = columns
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    updates = ", ".join(f"{c} = excluded.{c}" for c in values)
    return f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({key}) DO UPDATE SET {updates}"  # noqa: S608


TICK_UPSERT = _upsert("tick", TICK_COLUMNS)
AGGREGATE_UPSERT = {
    resolution: _upsert(AGGREGATE_TABLES[resolution.value], AGGREGATE_COLUMNS) for resolution in AGGREGATES
}
INVERTER_INSERT = (
    "INSERT INTO inverter_report (serial, report_s, power_w, max_power_w, today_wh) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (serial, report_s) DO NOTHING"
)


def aggregate_names(spec: FieldSpec) -> tuple[str, ...]:
    """The aggregate columns of one field: count, sum, min, max of a gauge; last value of a counter."""
    if spec.kind is FieldKind.GAUGE:
        return tuple(f"{spec.name}_{part}" for part in ("n", "sum", "min", "max"))
    return (spec.name,)


def raw_projection(row: TickRow, specs: Sequence[FieldSpec]) -> tuple[Param, ...]:
    """A pending tick as ``SELECT time_ms, <specs> FROM tick`` gives it."""
    return (row[0], *(row[_TICK_INDEX[spec.name]] for spec in specs))


def aggregate_projection(row: AggregateRow, specs: Sequence[FieldSpec]) -> tuple[int | None, ...]:
    """A pending bucket as ``SELECT bucket, ticks, <aggregate_names of specs> FROM ...`` gives it."""
    names = ("bucket", "ticks", *(name for spec in specs for name in aggregate_names(spec)))
    return tuple(row[_AGGREGATE_INDEX[name]] for name in names)


@dataclass(slots=True)
class PendingBatch:
    """Rows accepted but not written yet, oldest first."""

    ticks: list[TickRow] = field(default_factory=list)
    buckets: dict[Resolution, dict[int, Bucket]] = field(default_factory=dict)
    reports: list[InverterRow] = field(default_factory=list)
    first_ms: int | None = None  # time of the oldest tick not written yet
    bucket_closed: bool = False

    def __bool__(self) -> bool:
        return self.first_ms is not None or bool(self.reports) or any(self.buckets.values())

    def add_tick(self, time_ms: int, row: TickRow | None) -> None:
        if self.first_ms is None:
            self.first_ms = time_ms
        if row is not None:
            self.ticks.append(row)
            del self.ticks[:-MAX_PENDING_TICKS]

    def put_bucket(self, resolution: Resolution, bucket: Bucket, *, closes: Bucket | None) -> None:
        """``bucket`` is the open one of ``resolution``; ``closes``, if any, the one it follows."""
        self.buckets.setdefault(resolution, {})[bucket.start] = bucket
        if closes is not None and closes.start != bucket.start:
            self.bucket_closed = True

    def statements(self, held: Collection[Resolution] = ()) -> list[Statement]:
        """What to write; the open bucket of each ``held`` resolution waits (closed ones never)."""
        statements: list[Statement] = [(TICK_UPSERT, row) for row in self.ticks]
        for resolution, buckets in self.buckets.items():
            kept = max(buckets) if resolution in held and buckets else None
            statements.extend(
                (AGGREGATE_UPSERT[resolution], bucket_row(b)) for start, b in buckets.items() if start != kept
            )
        statements.extend((INVERTER_INSERT, report) for report in self.reports)
        return statements

    def clear(self, held: Collection[Resolution] = ()) -> None:
        """Once ``statements(held)`` is written."""
        self.ticks.clear()
        for resolution, buckets in self.buckets.items():
            kept = max(buckets) if resolution in held and buckets else None
            for start in [start for start in buckets if start != kept]:
                del buckets[start]
        self.reports.clear()
        self.first_ms = None
        self.bucket_closed = False

    def ticks_between(self, start_ms: int, end_ms: int) -> list[TickRow]:
        return [row for row in self.ticks if start_ms <= int(row[0] or 0) < end_ms]

    def buckets_between(self, resolution: Resolution, start: int, end: int) -> list[AggregateRow]:
        pending = self.buckets.get(resolution, {})
        return [bucket_row(pending[s]) for s in sorted(pending) if start <= s < end]


@dataclass(slots=True)
class KeptState:
    """A state stored with the batches (History.keep_state)."""

    current: Callable[[], Mapping[str, Any]]
    marker: Callable[[], object] | None  # None: written with every batch
    written_marker: object = None
    written_ms: int | None = None  # tick time of the last write; None: never written

    def due(self, time_ms: int | None, interval_ms: float) -> bool:
        """To be written in a batch at tick ``time_ms`` (None: a flush or close, always)."""
        if self.marker is None or time_ms is None or self.written_ms is None:
            return True
        return self.marker() != self.written_marker or time_ms - self.written_ms >= interval_ms
