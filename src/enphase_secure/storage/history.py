"""The history store: every tick, its downsampled series, inverter reports, events and daemon state.

``History`` is the thin async adapter; the maths lives in downsample.py, open_buckets.py (one fold
per tick for the three series) and resolution.py.
Writes are batched (SD cards wear out): ticks, open buckets and inverter reports wait in memory
(batch.py) and go in one transaction every ``flush_interval_s``, when a bucket closes, with any
state or event write, on ``flush()`` and at ``close()`` (the open 15 min and day buckets only every
``coarse_interval_s``: reopening rebuilds them from the finer rows). A crash loses at most the pending
batch of raw points; reads merge the pending rows, so nothing waits to be seen. Day counters do not depend on
it: they come from the lifetime counters and the baselines, a kept state (``keep_state``) written at
once when its change marker says they changed.
SQL text is assembled only from fixed table names and the field registry (field_specs rejects unknown
names), never from caller input: hence the S608 exemptions.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..energy.snapshot import InverterState, Snapshot
from ..errors import StorageError
from .backend import Backend, Param, Statement
from .batch import (
    AGGREGATE_COLUMNS,
    InverterRow,
    KeptState,
    PendingBatch,
    aggregate_names,
    aggregate_projection,
    raw_projection,
)
from .coarse import rebuild_coarse, rebuildable
from .connect import open_backend
from .downsample import Bucket, bucket_from_row
from .fields import FieldKind, FieldSpec, encode_snapshot, field_specs
from .open_buckets import OpenBuckets
from .records import Event, InverterReport, Point, Sample, Series
from .resolution import AGGREGATES, BucketStarts, Resolution, Retention, bucket_start, pick_resolution
from .schema import AGGREGATE_TABLES, migrate


@dataclass(frozen=True, slots=True)
class HistorySettings:
    retention: Retention = field(default_factory=Retention)
    timezone: str = "UTC"  # days of the 1day series start at local midnight there
    raw_interval_s: float = 1.0  # the raw series keeps the first tick of each such slot
    prune_interval_s: float = 3600.0
    flush_interval_s: float = 60.0  # pending ticks are written at most this long after the oldest
    state_interval_s: float = 300.0  # a kept state whose marker did not change is rewritten this often
    coarse_interval_s: float = 300.0  # the open 15 min and day buckets are rewritten this often
    exclusive: bool = False  # no other process opens the database meanwhile (see open_backend)


_AGGREGATE_SELECT_COLUMNS = ", ".join(AGGREGATE_COLUMNS)
_STATE_UPSERT = (
    "INSERT INTO state (key, value, updated_ms) VALUES (?, ?, ?)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms"
)


def _epoch_ms(time: datetime, what: str) -> int:
    if time.tzinfo is None:
        raise StorageError(f"history: {what} {time.isoformat()} has no time zone")
    return round(time.timestamp() * 1000)


def _optional_int(value: float | None) -> int | None:
    return None if value is None else round(value)


class History:
    """Use ``open_history``; an async context manager that closes the database."""

    def __init__(
        self,
        *,
        backend: Backend,
        settings: HistorySettings,
        zone: ZoneInfo,
        clock: Callable[[], datetime],
    ) -> None:
        self._backend = backend
        self._settings = settings
        self._zone = zone
        self._clock = clock
        self._lock = asyncio.Lock()
        self._open = OpenBuckets()
        self._last_raw_slot: int | None = None
        self._last_inverter_report_s: dict[str, int] = {}
        self._seen_inverter_report: dict[str, datetime] = {}  # last_report already looked at, by serial
        self._seen_inverters: Sequence[InverterState] = ()  # the inverters of the last tick, looked at
        self._last_prune_ms: int | None = None
        self._pending = PendingBatch()
        self._kept_states: dict[str, KeptState] = {}
        self._tick_ms: int | None = None  # time of the tick being appended (kept states' clock)
        self._coarse_written_ms: int | None = None  # tick time of the last write of the open buckets
        self._rebuildable = rebuildable(settings.retention)
        self._bucket_starts = BucketStarts(zone)

    @property
    def url(self) -> str:
        """The storage URL, without password."""
        return self._backend.display_url

    async def __aenter__(self) -> History:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Write what is pending, then close the database (closed even if that write fails)."""
        try:
            await self.flush()
        finally:
            await self._backend.close()

    async def flush(self) -> None:
        """Write the pending ticks, buckets and inverter reports now."""
        async with self._lock:
            await self._write([], every_state=True)

    async def _write(self, statements: Sequence[Statement], *, every_state: bool = False) -> None:
        """``statements``, the pending batch and the kept states that are due in one transaction (the
        batch stays pending on failure)."""
        pending = self._pending
        self._take_open_buckets()
        if not pending and not statements:
            return
        time_ms = None if every_state else self._tick_ms
        interval_ms = self._settings.state_interval_s * 1000
        due = [(key, kept) for key, kept in self._kept_states.items() if kept.due(time_ms, interval_ms)]
        markers = [kept.marker() if kept.marker else None for _, kept in due]
        kept_rows = [self._state_upsert(key, kept.current()) for key, kept in due]
        held = self._held_buckets(time_ms)
        await self._backend.write([*pending.statements(held), *kept_rows, *statements])
        pending.clear(held)
        if not held:
            self._coarse_written_ms = self._tick_ms
        for (_, kept), marker in zip(due, markers, strict=True):
            kept.written_marker, kept.written_ms = marker, self._tick_ms

    def _take_open_buckets(self) -> None:
        """The open coarse buckets as they stand into the pending batch (before it is written or read)."""
        for resolution, bucket in self._open.unwritten():
            self._pending.put_bucket(resolution, bucket, closes=None)

    def _held_buckets(self, time_ms: int | None) -> tuple[Resolution, ...]:
        """The open 15 min and day buckets change with every batch but can be rebuilt from the minute
        rows after a crash (coarse.py): rewritten only every ``coarse_interval_s`` (and when
        they close, at flush and close), they spare two pages of every batch."""
        if time_ms is None or self._coarse_written_ms is None or not self._rebuildable:
            return ()
        if time_ms - self._coarse_written_ms >= self._settings.coarse_interval_s * 1000:
            return ()
        return self._rebuildable

    async def _resume(self) -> None:
        """Reload what ``append`` keeps in memory: the open buckets and the last raw and inverter times."""
        stored: dict[Resolution, Bucket] = {}
        for resolution in AGGREGATES:
            rows = await self._backend.query(
                f"SELECT {_AGGREGATE_SELECT_COLUMNS} FROM {AGGREGATE_TABLES[resolution.value]}"  # noqa: S608
                " ORDER BY bucket DESC LIMIT 1"
            )
            if rows:
                stored[resolution] = bucket_from_row(rows[0])
        for resolution, bucket in await rebuild_coarse(self._backend, stored, self._zone, self._rebuildable):
            self._pending.put_bucket(resolution, bucket, closes=None)
            stored[resolution] = bucket
        self._open.resume(stored)
        rows = await self._backend.query("SELECT max(time_ms) FROM tick")
        if rows and rows[0][0] is not None:
            self._last_raw_slot = self._raw_slot(int(rows[0][0]))
        rows = await self._backend.query("SELECT serial, max(report_s) FROM inverter_report GROUP BY serial")
        self._last_inverter_report_s = {str(serial): int(report_s) for serial, report_s in rows}

    def _raw_slot(self, time_ms: int) -> int:
        return int(time_ms // (self._settings.raw_interval_s * 1000))

    # -- writing ----------------------------------------------------------------------------------

    async def append(self, snapshot: Snapshot) -> None:
        """Take one tick: raw (if its slot is new), downsampled series, new inverter reports.

        Written with the pending batch when it is ``flush_interval_s`` old, when a bucket closes or
        pruning is due; StorageError then, and the batch stays pending for the next try."""
        time_ms = _epoch_ms(snapshot.time, "snapshot time")
        values = encode_snapshot(snapshot)
        async with self._lock:
            self._tick_ms = time_ms
            pending = self._pending
            raw_slot = self._raw_slot(time_ms)
            new_slot = raw_slot != self._last_raw_slot
            pending.add_tick(time_ms, (time_ms, int(snapshot.staleness.stale), *values) if new_slot else None)
            self._last_raw_slot = raw_slot
            if not snapshot.staleness.stale:
                for resolution, bucket, before in self._open.add(
                    values, self._bucket_starts.of(snapshot.time)
                ):
                    pending.put_bucket(resolution, bucket, closes=before)
            for report in self._new_inverter_reports(snapshot.inverters):
                pending.reports.append(report)
                self._last_inverter_report_s[report[0]] = report[1]
            prune_due = (
                self._last_prune_ms is None
                or time_ms - self._last_prune_ms >= self._settings.prune_interval_s * 1000
            )
            first_ms = pending.first_ms if pending.first_ms is not None else time_ms
            if prune_due:
                await self._write(self._prune_statements(snapshot.time))
                self._last_prune_ms = time_ms
            elif (
                pending.bucket_closed
                or time_ms - first_ms >= self._settings.flush_interval_s * 1000
                or self._marked_state_changed()
            ):
                await self._write([])

    def _marked_state_changed(self) -> bool:
        return any(
            kept.marker is not None and kept.marker() != kept.written_marker
            for kept in self._kept_states.values()
        )

    def _new_inverter_reports(self, inverters: Sequence[InverterState]) -> list[InverterRow]:
        if inverters is self._seen_inverters:  # a snapshot keeps the tuple while none of them changed
            return []
        self._seen_inverters = inverters
        reports: list[InverterRow] = []
        seen = self._seen_inverter_report
        for inverter in inverters:
            # inverters report every 5-15 min: most ticks carry the report of the tick before
            if inverter.last_report is None or seen.get(inverter.serial) == inverter.last_report:
                continue
            seen[inverter.serial] = inverter.last_report
            report_s = round(
                _epoch_ms(inverter.last_report, f"inverter {inverter.serial} last_report") / 1000
            )
            if report_s > self._last_inverter_report_s.get(inverter.serial, -1):
                reports.append(
                    (
                        inverter.serial,
                        report_s,
                        _optional_int(inverter.power_w),
                        _optional_int(inverter.max_power_w),
                        _optional_int(inverter.today_wh),
                    )
                )
        return reports

    def _prune_statements(self, now: datetime) -> list[Statement]:
        retention = self._settings.retention
        tables: list[tuple[str, str, timedelta | None, int]] = [
            ("tick", "time_ms", retention.raw, 1000),
            *((AGGREGATE_TABLES[r.value], "bucket", retention.of(r), 1) for r in AGGREGATES),
            ("inverter_report", "report_s", retention.inverters, 1),
            ("event", "time_ms", retention.events, 1000),
        ]
        return [
            (f"DELETE FROM {table} WHERE {column} < ?", (round((now - kept).timestamp() * per_s),))  # noqa: S608
            for table, column, kept, per_s in tables
            if kept is not None
        ]

    async def prune(self, now: datetime) -> None:
        """Delete what is older than its retention at ``now`` (``append`` does it every prune interval)."""
        _epoch_ms(now, "prune time")
        async with self._lock:
            await self._write(self._prune_statements(now))

    # -- reading ----------------------------------------------------------------------------------

    async def series(
        self,
        fields: str | Sequence[str],
        start: datetime,
        end: datetime,
        resolution: str = "auto",
    ) -> Series:
        """Points of ``fields`` in [start, end): ticks, or buckets starting in the range (plus the one
        holding ``start``). ``auto`` picks the finest kept resolution giving at most a few thousand points."""
        specs = field_specs(fields)
        start_ms, end_ms = _epoch_ms(start, "series start"), _epoch_ms(end, "series end")
        chosen = (
            pick_resolution(
                start,
                end,
                now=self._clock(),
                retention=self._settings.retention,
                raw_interval_s=self._settings.raw_interval_s,
            )
            if resolution == "auto"
            else Resolution.parse(resolution)
        )
        if chosen is Resolution.RAW:
            columns = ", ".join(spec.name for spec in specs)
            async with self._lock:  # no batch written between the query and the pending rows
                rows = await self._backend.query(
                    f"SELECT time_ms, {columns} FROM tick"  # noqa: S608
                    " WHERE time_ms >= ? AND time_ms < ? ORDER BY time_ms",
                    (start_ms, end_ms),
                )
                written = {row[0] for row in rows}
                rows += [
                    raw_projection(row, specs)
                    for row in self._pending.ticks_between(start_ms, end_ms)
                    if row[0] not in written
                ]
                rows.sort(key=lambda row: int(row[0]))
            points = tuple(
                Point(
                    datetime.fromtimestamp(row[0] / 1000, self._zone),
                    1,
                    {
                        spec.name: _raw_sample(spec, stored)
                        for spec, stored in zip(specs, row[1:], strict=True)
                    },
                )
                for row in rows
            )
            return Series(chosen, points)
        columns = ", ".join(name for spec in specs for name in aggregate_names(spec))
        first, end_s = bucket_start(start, chosen, self._zone), -(-end_ms // 1000)
        async with self._lock:
            self._take_open_buckets()
            stored = await self._backend.query(
                f"SELECT bucket, ticks, {columns} FROM {AGGREGATE_TABLES[chosen.value]}"  # noqa: S608
                " WHERE bucket >= ? AND bucket < ? ORDER BY bucket",
                (first, end_s),
            )
            by_bucket = {row[0]: row for row in stored}
            for row in self._pending.buckets_between(chosen, first, end_s):
                by_bucket[row[0]] = aggregate_projection(row, specs)
        rows = [by_bucket[key] for key in sorted(by_bucket)]
        return Series(chosen, tuple(self._aggregate_point(specs, row) for row in rows))

    def _aggregate_point(self, specs: Sequence[FieldSpec], row: Sequence[Any]) -> Point:
        samples: dict[str, Sample] = {}
        offset = 2
        for spec in specs:
            if spec.kind is FieldKind.GAUGE:
                count, total, low, high = row[offset : offset + 4]
                offset += 4
                samples[spec.name] = (
                    Sample(spec.decode(total / count), spec.decode(low), spec.decode(high))
                    if count
                    else Sample(None, None, None)
                )
            else:
                samples[spec.name] = Sample(spec.decode(row[offset]), None, None)
                offset += 1
        return Point(datetime.fromtimestamp(row[0], self._zone), row[1], samples)

    async def inverter_reports(
        self, start: datetime, end: datetime, *, serial: str | None = None
    ) -> list[InverterReport]:
        """Inverter reports whose report time is in [start, end), by time, optionally of one inverter."""
        sql = "SELECT serial, report_s, power_w, max_power_w, today_wh FROM inverter_report"
        sql += " WHERE report_s >= ? AND report_s < ?"
        params: list[Param] = [
            _epoch_ms(start, "start") // 1000,
            -(-_epoch_ms(end, "end") // 1000),
        ]
        if serial is not None:
            sql += " AND serial = ?"
            params.append(serial)
        rows = await self._backend.query(sql + " ORDER BY report_s, serial", params)
        return [
            InverterReport(str(s), datetime.fromtimestamp(t, self._zone), p, m, d) for s, t, p, m, d in rows
        ]

    # -- events -----------------------------------------------------------------------------------

    async def record_event(self, event: Event) -> None:
        params: tuple[Param, ...] = (
            _epoch_ms(event.time, "event time"),
            event.stage,
            event.action,
            int(event.ok),
            event.duration_s,
            event.error,
        )
        async with self._lock:
            await self._write(
                [
                    (
                        "INSERT INTO event (time_ms, stage, action, ok, duration_s, error)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        params,
                    )
                ]
            )

    async def events(
        self, start: datetime, end: datetime, *, stage: str | None = None, limit: int = 1000
    ) -> list[Event]:
        """Events in [start, end), oldest first, at most ``limit`` (the most recent ones)."""
        sql = "SELECT time_ms, stage, action, ok, duration_s, error FROM event"
        sql += " WHERE time_ms >= ? AND time_ms < ?"
        params: list[Param] = [_epoch_ms(start, "start"), _epoch_ms(end, "end")]
        if stage is not None:
            sql += " AND stage = ?"
            params.append(stage)
        rows = await self._backend.query(sql + " ORDER BY time_ms DESC, id DESC LIMIT ?", [*params, limit])
        return [
            Event(datetime.fromtimestamp(t / 1000, self._zone), s, a, bool(ok), d, e)
            for t, s, a, ok, d, e in reversed(rows)
        ]

    # -- state ------------------------------------------------------------------------------------

    async def get_state(self, key: str) -> dict[str, Any] | None:
        """The value last put under ``key``, or None."""
        rows = await self._backend.query("SELECT value FROM state WHERE key = ?", (key,))
        if not rows:
            return None
        try:
            value = json.loads(rows[0][0])
        except json.JSONDecodeError as err:
            raise StorageError(f"{self.url}: state {key!r} is not valid JSON: {err}") from err
        if not isinstance(value, dict):
            raise StorageError(f"{self.url}: state {key!r} is not a JSON object")
        return value

    async def put_state(self, key: str, value: Mapping[str, Any]) -> None:
        """Replace the value under ``key``, atomically and at once (with the pending batch)."""
        statement = self._state_upsert(key, value)
        async with self._lock:
            await self._write([statement])

    def keep_state(
        self,
        key: str,
        current: Callable[[], Mapping[str, Any]],
        *,
        marker: Callable[[], object] | None = None,
    ) -> None:
        """Store ``current()`` under ``key`` in the batches' transactions, in step with the history.

        Without ``marker``: with every batch. With one: at the tick where ``marker()`` changes (the
        batch is written then), else every ``state_interval_s``, and at flush and close. A state whose
        only changes between two markers are those a restart can redo (the day counters' last reading)
        is thus kept whole without rewriting its kilobytes every minute."""
        self._kept_states[key] = KeptState(current, marker)

    def _state_upsert(self, key: str, value: Mapping[str, Any]) -> Statement:
        try:
            text = json.dumps(dict(value), allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as err:
            raise StorageError(f"history: state {key!r} cannot be stored as JSON: {err}") from err
        return (_STATE_UPSERT, (key, text, _epoch_ms(self._clock(), "clock")))


def _raw_sample(spec: FieldSpec, stored: int | None) -> Sample:
    value = spec.decode(stored)
    return Sample(value, value, value) if spec.kind is FieldKind.GAUGE else Sample(value, None, None)


async def open_history(
    url: str,
    *,
    settings: HistorySettings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> History:
    """Open (creating or migrating it) the history database of ``url``: ``sqlite:///abs/path.db``
    (see ``default_history_url``) or ``postgresql://user:password@host:port/db``."""
    settings = settings or HistorySettings()
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise StorageError(f"site.timezone {settings.timezone!r}: unknown time zone") from err
    if settings.raw_interval_s <= 0:
        raise StorageError(f"history raw_interval_s must be > 0, not {settings.raw_interval_s}")
    backend = await open_backend(url, exclusive=settings.exclusive)
    try:
        await migrate(backend)
        history = History(backend=backend, settings=settings, zone=zone, clock=clock)
        await history._resume()
    except BaseException:
        await backend.close()
        raise
    return history
