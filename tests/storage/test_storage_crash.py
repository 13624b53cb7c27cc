"""A writer killed with SIGKILL mid-batch loses at most one batch of raw points and no day-counter
energy, on both backends (the writer, storage_writer.py, crosses local midnight)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from storage_writer import FLUSH_INTERVAL_S, MIDNIGHT_TICK, STATE_KEY, ZONE, lifetime_wh, tick_time

from enphase_secure.energy.daycounters import DayCounters
from enphase_secure.storage import HistorySettings, open_history

WRITER = Path(__file__).with_name("storage_writer.py")
BATCH_TICKS = int(FLUSH_INTERVAL_S) + 1  # a batch holds the ticks of flush_interval_s, both ends included
RUNS = ((0, 170), (174, 80), (258, 137))  # first tick, ticks before the kill (not a batch multiple)
DOWNTIME_TICKS = 4


def _write_then_kill(url: str, first: int, ticks: int) -> int:
    """Run the writer from tick ``first``, SIGKILL it after ``ticks`` ticks; the last tick it reported."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(WRITER.parent), os.environ.get("PYTHONPATH", "")]),
    }
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), url, str(first)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert writer.stdout is not None
    last = first - 1
    try:
        for line in writer.stdout:
            last = int(line)
            if last >= first + ticks - 1:
                writer.send_signal(signal.SIGKILL)
                break
        writer.wait(timeout=30)
        last = max([last, *(int(line) for line in writer.stdout.read().split())])
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -signal.SIGKILL, "the writer stopped by itself"
    return last


async def test_a_killed_writer_loses_at_most_one_batch_and_no_day_energy(history_url: str) -> None:
    settings = HistorySettings(timezone=ZONE.key)
    expected_stored: list[int] = []
    losses: list[int] = []
    for first, ticks in RUNS:
        last_reported = _write_then_kill(history_url, first, ticks)
        async with await open_history(history_url, settings=settings) as history:
            start, end = tick_time(0), tick_time(1000)
            raw = await history.series("production_today_wh", start, end, resolution="raw")
            minutes = await history.series("production_w", start, end, resolution="1min")
            quarters = await history.series("production_w", start, end, resolution="15min")
            days = await history.series("production_w", start, end, resolution="1day")
            saved = await history.get_state(STATE_KEY)
        stored = [round((p.time - tick_time(0)).total_seconds()) for p in raw.points]
        this_run = stored[len(expected_stored) :]
        # Earlier runs' ticks are intact; this run's are a prefix of what it wrote, short of at most one
        # batch (plus the tick committed but killed before it was printed).
        assert stored[: len(expected_stored)] == expected_stored
        assert this_run == list(range(first, first + len(this_run)))
        lost = last_reported + 1 - (first + len(this_run))
        assert -1 <= lost <= BATCH_TICKS, f"lost {lost} raw ticks"
        losses.append(lost)
        expected_stored = stored
        # The downsampled series went in the same transactions as the raw ticks; the open 15 min and
        # day buckets, written only every few minutes, are rebuilt from the minutes at the reopening.
        assert sum(p.ticks for p in minutes.points) == len(stored)
        assert sum(p.ticks for p in quarters.points) == len(stored)
        assert [p.ticks for p in days.points] == [MIDNIGHT_TICK, len(stored) - MIDNIGHT_TICK]
        # Every stored day counter after midnight is exactly the lifetime growth since midnight.
        for tick, point in zip(stored, raw.points, strict=True):
            if tick >= MIDNIGHT_TICK:
                assert point.samples["production_today_wh"].value == 3 * (tick - MIDNIGHT_TICK)
        # The daemon restarting now, a few seconds later, finds today's energy whole.
        assert saved is not None
        restart = last_reported + DOWNTIME_TICKS
        at = tick_time(restart)
        counters = DayCounters.from_json(saved).update({"production": lifetime_wh(restart)}, at, ZONE)
        today = counters.today("production", at, ZONE)
        assert today is not None
        assert today.wh == lifetime_wh(restart) - lifetime_wh(MIDNIGHT_TICK)
        assert not today.estimated
        assert at - tick_time(MIDNIGHT_TICK) < timedelta(days=1)
    assert max(losses) > 1, f"no kill landed mid-batch (losses {losses}): is the history batching?"
