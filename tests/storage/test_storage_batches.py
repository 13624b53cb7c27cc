"""Batched writes on both backends: ticks and open buckets wait in memory until the flush interval,
a closing bucket, a state or event write, ``flush()`` or ``close()``; reads see them meanwhile.
A second History on the same database shows what is really written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage_snapshots import make_snapshot

from enphase_secure.storage import Event, History, HistorySettings, open_history

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
END = T0 + timedelta(hours=1)


def tick(index: int) -> datetime:
    return T0 + timedelta(seconds=index)


async def stored_ticks(url: str) -> int:
    async with await open_history(url) as reader:
        return len((await reader.series("production_w", T0, END, resolution="raw")).points)


async def append_ticks(history: History, indexes: range) -> None:
    for i in indexes:
        await history.append(make_snapshot(tick(i), production_w=float(i)))


async def test_ticks_are_written_once_the_batch_is_flush_interval_old(history_url: str) -> None:
    settings = HistorySettings(flush_interval_s=30)
    async with await open_history(history_url, settings=settings) as history:
        await append_ticks(history, range(31))  # tick 0 goes at once (pruning is due at the first tick)
        assert await stored_ticks(history_url) == 1
        # The writer's own reads merge what waits: every tick, and the minute bucket so far.
        raw = await history.series("production_w", T0, END, resolution="raw")
        assert [p.samples["production_w"].value for p in raw.points] == [float(i) for i in range(31)]
        (minute,) = (await history.series("production_w", T0, END, resolution="1min")).points
        assert minute.ticks == 31
        assert minute.samples["production_w"].value == 15.0
        await append_ticks(history, range(31, 32))  # tick 1 is now 30 s old: the batch goes
        assert await stored_ticks(history_url) == 32


async def test_a_closing_bucket_writes_the_batch(history_url: str) -> None:
    settings = HistorySettings(flush_interval_s=600)
    async with await open_history(history_url, settings=settings) as history:
        await append_ticks(history, range(50, 60))
        assert await stored_ticks(history_url) == 1
        await append_ticks(history, range(60, 61))  # 10:01:00 closes the 10:00 minute
        assert await stored_ticks(history_url) == 11
        async with await open_history(history_url) as reader:
            minutes = await reader.series("production_w", T0, END, resolution="1min")
        assert [p.ticks for p in minutes.points] == [10, 1]


async def test_state_and_event_writes_carry_the_batch(history_url: str) -> None:
    settings = HistorySettings(flush_interval_s=600)
    async with await open_history(history_url, settings=settings) as history:
        await append_ticks(history, range(5))
        await history.put_state("site", {"baseline_wh": 12})
        assert await stored_ticks(history_url) == 5
        await append_ticks(history, range(5, 8))
        await history.record_event(Event(tick(8), "boiler", "on", True, 0.1, None))
        assert await stored_ticks(history_url) == 8
        await append_ticks(history, range(8, 10))
        await history.flush()
        assert await stored_ticks(history_url) == 10


async def test_close_writes_what_is_pending(history_url: str) -> None:
    settings = HistorySettings(flush_interval_s=600)
    async with await open_history(history_url, settings=settings) as history:
        await append_ticks(history, range(20))
        assert await stored_ticks(history_url) == 1
    async with await open_history(history_url) as reopened:
        raw = await reopened.series("production_w", T0, END, resolution="raw")
        (minute,) = (await reopened.series("production_w", T0, END, resolution="1min")).points
    assert len(raw.points) == 20
    assert minute.ticks == 20
    assert minute.samples["production_w"].max == 19.0


async def test_a_kept_state_goes_with_every_batch(history_url: str) -> None:
    settings = HistorySettings(flush_interval_s=600)
    state = {"ticks": 0}
    async with await open_history(history_url, settings=settings) as history:
        history.keep_state("site", lambda: state)
        for i in range(50, 61):
            state = {"ticks": i}
            await history.append(make_snapshot(tick(i), production_w=1.0))
        async with await open_history(history_url) as reader:
            assert await reader.get_state("site") == {"ticks": 60}  # written with the 10:01:00 batch
        state = {"ticks": 61}
        await history.append(make_snapshot(tick(61), production_w=1.0))
        async with await open_history(history_url) as reader:
            assert await reader.get_state("site") == {"ticks": 60}  # no write of its own
    async with await open_history(history_url) as reader:
        assert await reader.get_state("site") == {"ticks": 61}  # and at close


async def test_a_marked_state_goes_when_its_marker_changes_else_every_state_interval(
    history_url: str,
) -> None:
    settings = HistorySettings(flush_interval_s=30, state_interval_s=120)
    state, marker = {"ticks": 0}, "day 1"
    async with await open_history(history_url, settings=settings) as history:
        history.keep_state("site", lambda: state, marker=lambda: marker)

        async def saved_after(indexes: range) -> object:
            nonlocal state
            for i in indexes:
                state = {"ticks": i}
                await history.append(make_snapshot(tick(i), production_w=1.0))
            async with await open_history(history_url) as reader:
                return await reader.get_state("site")

        assert await saved_after(range(1)) == {"ticks": 0}  # the first batch
        # Batches at 10:00:31, 10:01:00 (a minute closes), 10:01:31: the unchanged marker waits.
        assert await saved_after(range(1, 100)) == {"ticks": 0}
        assert await stored_ticks(history_url) == 92
        marker = "day 2"  # a baseline moved: written at this very tick, its batch with it
        assert await saved_after(range(100, 101)) == {"ticks": 100}
        assert await stored_ticks(history_url) == 101
        # Batches at 10:02:00, 10:02:31, 10:03:00, 10:03:31, then 10:04:00, 140 s after the state's write.
        assert await saved_after(range(101, 240)) == {"ticks": 100}
        assert await saved_after(range(240, 241)) == {"ticks": 240}
        state = {"ticks": 241}
        await history.append(make_snapshot(tick(241), production_w=1.0))
    async with await open_history(history_url) as reader:
        assert await reader.get_state("site") == {"ticks": 241}  # and at close
