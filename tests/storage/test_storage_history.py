"""The history against both backends: round trips, downsampling, retention, auto resolution, inverters,
state and events. Every test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from storage_snapshots import make_snapshot

from enphase_secure.energy.snapshot import InverterState
from enphase_secure.errors import StorageError
from enphase_secure.storage import Event, HistorySettings, Resolution, Retention, open_history

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


async def test_raw_round_trip(history_url: str) -> None:
    async with await open_history(history_url) as history:
        await history.append(
            make_snapshot(T0, production_w=2500.4, phases_w=(800.0, 900.0, 800.4), net_w=-700)
        )
        await history.append(make_snapshot(T0 + timedelta(seconds=1), production_w=None, net_w=150))
        series = await history.series(
            ["production_w", "production_phase2_w", "grid_export_w", "grid_import_w"],
            T0,
            T0 + timedelta(seconds=2),
            resolution="raw",
        )
    assert series.resolution is Resolution.RAW
    first, second = series.points
    assert first.time == T0
    assert first.samples["production_w"].value == 2500
    assert first.samples["production_phase2_w"].value == 900
    assert first.samples["grid_export_w"].value == 700
    assert first.samples["grid_import_w"].value == 0
    assert second.samples["production_w"].value is None  # unknown stays unknown
    assert second.samples["grid_import_w"].value == 150


async def test_downsampled_series_are_exact(history_url: str) -> None:
    # Two minutes of ticks every 10 s: powers 0, 10, ..., 110 W; lifetime counter grows 1 Wh per tick.
    async with await open_history(history_url, settings=HistorySettings(raw_interval_s=10)) as history:
        for i in range(12):
            await history.append(
                make_snapshot(
                    T0 + timedelta(seconds=10 * i), production_w=10.0 * i, production_lifetime_wh=1000.0 + i
                )
            )
        fields = ["production_w", "production_lifetime_wh"]
        end = T0 + timedelta(minutes=2)
        minutes = await history.series(fields, T0, end, resolution="1min")
        quarter = await history.series(fields, T0, end, resolution="15min")
        day = await history.series(fields, T0, end, resolution="1day")
    assert [p.time for p in minutes.points] == [T0, T0 + timedelta(minutes=1)]
    first, second = (p.samples["production_w"] for p in minutes.points)
    assert (first.value, first.min, first.max) == (25.0, 0.0, 50.0)
    assert (second.value, second.min, second.max) == (85.0, 60.0, 110.0)
    assert [p.samples["production_lifetime_wh"].value for p in minutes.points] == [1005.0, 1011.0]
    (q,) = quarter.points
    assert (q.samples["production_w"].value, q.samples["production_w"].min) == (55.0, 0.0)
    assert q.samples["production_w"].max == 110.0
    assert q.samples["production_lifetime_wh"].value == 1011.0
    (d,) = day.points
    assert d.time == datetime(2026, 6, 1, tzinfo=UTC)
    assert d.samples["production_w"].value == 55.0


async def test_stale_ticks_stay_out_of_the_downsampled_series(history_url: str) -> None:
    async with await open_history(history_url) as history:
        await history.append(make_snapshot(T0, production_w=100))
        await history.append(make_snapshot(T0 + timedelta(seconds=1), production_w=5000, stale=True))
        raw = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="raw")
        minute = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="1min")
    assert len(raw.points) == 2
    assert minute.points[0].samples["production_w"].max == 100


async def test_raw_interval_thins_the_raw_series_only(history_url: str) -> None:
    async with await open_history(history_url, settings=HistorySettings(raw_interval_s=5)) as history:
        for i in range(20):
            await history.append(make_snapshot(T0 + timedelta(seconds=i), production_w=float(i)))
        raw = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="raw")
        minute = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="1min")
    assert [p.samples["production_w"].value for p in raw.points] == [0, 5, 10, 15]
    assert minute.points[0].samples["production_w"].value == 9.5  # every tick counted


async def test_buckets_resume_after_reopening(history_url: str) -> None:
    async with await open_history(history_url) as history:
        await history.append(make_snapshot(T0, production_w=100))
        await history.append(make_snapshot(T0 + timedelta(seconds=1), production_w=200))
    async with await open_history(history_url) as history:
        await history.append(make_snapshot(T0 + timedelta(seconds=2), production_w=600))
        minute = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="1min")
    sample = minute.points[0].samples["production_w"]
    assert (sample.value, sample.min, sample.max) == (300.0, 100.0, 600.0)


async def test_retention_prunes_each_series(history_url: str) -> None:
    retention = Retention(
        raw=timedelta(hours=1),
        one_minute=timedelta(days=1),
        fifteen_minutes=timedelta(days=3),
        one_day=None,
        events=timedelta(days=2),
    )
    old = T0 - timedelta(days=5)
    async with await open_history(history_url, settings=HistorySettings(retention=retention)) as history:
        await history.append(make_snapshot(old, production_w=1))
        await history.record_event(Event(old, "water heater", "on", ok=True))
        await history.append(make_snapshot(T0 - timedelta(hours=2), production_w=2))
        await history.append(make_snapshot(T0, production_w=3))  # more than an hour later: prunes
        everything = (old - timedelta(days=1), T0 + timedelta(days=1))
        raw = await history.series("production_w", *everything, resolution="raw")
        minutes = await history.series("production_w", *everything, resolution="1min")
        quarters = await history.series("production_w", *everything, resolution="15min")
        days = await history.series("production_w", *everything, resolution="1day")
        events = await history.events(*everything)
    assert [p.samples["production_w"].value for p in raw.points] == [3]
    assert [p.samples["production_w"].value for p in minutes.points] == [2, 3]
    assert [p.samples["production_w"].value for p in quarters.points] == [2, 3]
    assert [p.samples["production_w"].value for p in days.points] == [1, 2.5]
    assert events == []


async def test_explicit_prune(history_url: str) -> None:
    async with await open_history(history_url) as history:
        await history.append(make_snapshot(T0, production_w=1))
        await history.prune(T0 + timedelta(days=8))
        raw = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="raw")
        minutes = await history.series("production_w", T0, T0 + timedelta(minutes=1), resolution="1min")
    assert raw.points == ()
    assert len(minutes.points) == 1


async def test_auto_resolution_uses_the_clock(history_url: str) -> None:
    now = T0 + timedelta(hours=1)
    async with await open_history(history_url, clock=lambda: now) as history:
        for i in range(3):
            await history.append(make_snapshot(T0 + timedelta(minutes=i), production_w=float(i)))
        hour = await history.series("production_w", T0, now)
        day = await history.series("production_w", now - timedelta(days=1), now)
        year = await history.series("production_w", now - timedelta(days=365), now)
    assert hour.resolution is Resolution.RAW
    assert len(hour.points) == 3
    assert day.resolution is Resolution.ONE_MINUTE
    assert len(day.points) == 3
    assert year.resolution is Resolution.ONE_DAY
    assert year.points[0].samples["production_w"].value == 1.0


async def test_inverter_reports_are_stored_once_per_report(history_url: str) -> None:
    report = T0 - timedelta(minutes=3)

    def inverters(at: datetime, watts: float) -> tuple[InverterState, ...]:
        return (
            InverterState("482100000001", watts, 295.0, at, 1200.0),
            InverterState("482100000002", None, None, None, None),
        )

    async with await open_history(history_url) as history:
        for i in range(5):  # the same report seen on five ticks
            await history.append(make_snapshot(T0 + timedelta(seconds=i), inverters=inverters(report, 250)))
    async with await open_history(history_url) as history:
        await history.append(make_snapshot(T0 + timedelta(seconds=5), inverters=inverters(report, 250)))
        later = report + timedelta(minutes=15)
        await history.append(make_snapshot(T0 + timedelta(minutes=15), inverters=inverters(later, 180.4)))
        reports = await history.inverter_reports(T0 - timedelta(hours=1), T0 + timedelta(hours=1))
        one = await history.inverter_reports(T0, T0 + timedelta(hours=1), serial="482100000001")
    assert [(r.serial, r.report_time, r.power_w) for r in reports] == [
        ("482100000001", report, 250),
        ("482100000001", later, 180),
    ]
    assert reports[0].max_power_w == 295
    assert reports[0].today_wh == 1200
    assert [r.report_time for r in one] == [later]


async def test_state_store(history_url: str) -> None:
    baselines = {"day": "2026-06-01", "import_wh": 1234567.5, "segments": [[0, 12.5]]}
    async with await open_history(history_url) as history:
        assert await history.get_state("day_counters") is None
        await history.put_state("day_counters", baselines)
        await history.put_state("firmware", {"version": "8.2.127"})
        await history.put_state("firmware", {"version": "8.3.5433"})
    async with await open_history(history_url) as history:
        assert await history.get_state("day_counters") == baselines
        assert await history.get_state("firmware") == {"version": "8.3.5433"}
        with pytest.raises(StorageError, match="'bad'"):
            await history.put_state("bad", {"when": datetime.now(UTC)})
        assert await history.get_state("bad") is None


async def test_events(history_url: str) -> None:
    events = [
        Event(T0, "water heater", "on", ok=True, duration_s=0.12),
        Event(T0 + timedelta(seconds=30), "pool pump", "on", ok=False, duration_s=5.0, error="HTTP 503"),
        Event(T0 + timedelta(minutes=5), "water heater", "off", ok=True, duration_s=0.08),
    ]
    async with await open_history(history_url) as history:
        for event in reversed(events):
            await history.record_event(event)
        window = (T0, T0 + timedelta(hours=1))
        everything = await history.events(*window)
        heater = await history.events(*window, stage="water heater")
        latest = await history.events(*window, limit=1)
    assert everything == events
    assert [e.action for e in heater] == ["on", "off"]
    assert latest == events[-1:]
    assert everything[1].error == "HTTP 503"


async def test_naive_times_are_refused(history_url: str) -> None:
    async with await open_history(history_url) as history:
        with pytest.raises(StorageError, match="snapshot time"):
            await history.append(make_snapshot(datetime(2026, 6, 1, 10, 0), production_w=1))
