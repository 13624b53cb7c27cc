from __future__ import annotations

import asyncio
import time

import pytest

from enphase_secure.daemon.schedule import next_tick, ticks


@pytest.mark.parametrize(
    ("origin", "interval", "last", "now", "number", "deadline", "skipped"),
    [
        (100.0, 1.0, 0, 100.2, 1, 101.0, 0),  # on time
        (100.0, 1.0, 0, 100.999, 1, 101.0, 0),
        (100.0, 1.0, 0, 101.0, 1, 101.0, 0),  # exactly on the point: run it
        (100.0, 1.0, 0, 101.5, 1, 101.0, 0),  # a little late: runs at once
        (100.0, 1.0, 0, 102.5, 2, 102.0, 1),  # tick 1 missed: skipped, not queued
        (100.0, 1.0, 0, 104.2, 4, 104.0, 3),
        (0.0, 60.0, 3, 10.0, 4, 240.0, 0),  # far ahead: wait for the grid
        (0.0, 2.5, -1, 0.0, 0, 0.0, 0),  # first tick immediately
    ],
)
def test_next_tick_table(
    origin: float, interval: float, last: int, now: float, number: int, deadline: float, skipped: int
) -> None:
    tick = next_tick(origin, interval, last, now)
    assert (tick.number, tick.deadline_s, tick.skipped) == (number, pytest.approx(deadline), skipped)


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        next_tick(0.0, 0.0, 0, 1.0)


async def test_ticks_do_not_drift_and_skip_slow_ones() -> None:
    start = time.monotonic()
    seen = []
    async for tick in ticks(0.05):
        seen.append(tick)
        if tick.number == 2:
            await asyncio.sleep(0.12)  # a slow tick: at 0.22 s, tick 3 is missed and 4 is due
        if len(seen) == 5:
            break
    numbers = [t.number for t in seen]
    assert numbers[:3] == [0, 1, 2]
    assert numbers[3:] == [4, 5]
    assert seen[3].skipped == 1
    # Deadlines stay on the grid: no drift accumulated by the slow body.
    for tick in seen:
        assert tick.deadline_s - start == pytest.approx(tick.number * 0.05, abs=0.01)
