"""Fixed-schedule ticking: ticks stay on a grid (no drift); a tick that is late is skipped, never queued."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tick:
    number: int
    deadline_s: float
    skipped: int


def next_tick(origin_s: float, interval_s: float, last_number: int, now_s: float) -> Tick:
    """The grid point to run after tick ``last_number``; grid points are ``origin + n * interval``.

    Normally tick ``last_number + 1``. When the previous tick ran long and several points are already
    due, only the most recent one runs (at once); the older ones are skipped and counted.
    """
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    wanted = last_number + 1
    due = math.floor((now_s - origin_s) / interval_s + 1e-9)
    number = max(wanted, due)
    return Tick(number=number, deadline_s=origin_s + number * interval_s, skipped=number - wanted)


async def ticks(
    interval_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    first_immediately: bool = True,
) -> AsyncIterator[Tick]:
    """Yield ticks on a fixed grid; the body of the loop runs between ticks."""
    origin = clock()
    number = -1 if first_immediately else 0
    while True:
        tick = next_tick(origin, interval_s, number, clock())
        delay = tick.deadline_s - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        number = tick.number
        yield tick
