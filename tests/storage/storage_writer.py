"""A history writer for the crash test, shaped like the daemon's fast loop: one tick per simulated
second from tick ``first`` on, a production lifetime counter growing 3 Wh a tick, day counters kept by
the real energy code and kept with the history batches as the daemon keeps them (``keep_state`` with
the daemon's change marker: at once when a baseline or the day changes, else every few minutes). It
prints each tick's index once its append has returned, until it is killed."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage_snapshots import make_snapshot

from enphase_secure.daemon.energy_state import counters_marker
from enphase_secure.energy.daycounters import DayCounters
from enphase_secure.storage import HistorySettings, open_history

ZONE = ZoneInfo("Europe/Paris")
MIDNIGHT_TICK = 90
T0 = datetime(2026, 6, 2, tzinfo=ZONE) - timedelta(seconds=MIDNIGHT_TICK)  # tick 90 is local midnight
STATE_KEY = "day_counters"
FLUSH_INTERVAL_S = 45.0


def tick_time(index: int) -> datetime:
    return T0 + timedelta(seconds=index)


def lifetime_wh(index: int) -> float:
    return 100_000.0 + 3.0 * index


async def main(url: str, first: int) -> None:
    settings = HistorySettings(timezone=ZONE.key, flush_interval_s=FLUSH_INTERVAL_S)
    async with await open_history(url, settings=settings) as history:
        saved = await history.get_state(STATE_KEY)
        counters = DayCounters.from_json(saved) if saved is not None else DayCounters.empty()
        # lambdas, not bound methods: counters is rebound at every tick
        history.keep_state(STATE_KEY, lambda: counters.to_json(), marker=lambda: counters_marker(counters))  # noqa: PLW0108
        index = first
        while True:
            at = tick_time(index)
            counters = counters.update({"production": lifetime_wh(index)}, at, ZONE)
            today = counters.today("production", at, ZONE)
            snapshot = make_snapshot(at, production_w=10_800.0, production_lifetime_wh=lifetime_wh(index))
            snapshot = replace(
                snapshot, production=replace(snapshot.production, today_wh=today.wh if today else None)
            )
            await history.append(snapshot)
            print(index, flush=True)
            index += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
