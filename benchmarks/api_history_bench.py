"""/api/history under load: what the largest requests cost and how long they stall the event loop.

Fills a SQLite history with simulated raw ticks (one a second), serves it through the daemon's API
(token, bounds, connection guard), then times requests while a 100 ms ticker measures how late the
event loop runs (the fast loop's 1 s schedule depends on it). Refused requests are timed too.

    .venv/bin/python benchmarks/api_history_bench.py [--ticks 21600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from storage_bench import DAY, simulated_day

from enphase_secure.config import WebConfig
from enphase_secure.daemon.web_server import ApiServer
from enphase_secure.energy.snapshot import Snapshot
from enphase_secure.storage import History, HistorySettings, Series, open_history
from enphase_secure.storage.fields import FIELDS


class _View:
    def __init__(self, history: History, now: datetime) -> None:
        self._history, self._now = history, now

    def latest_snapshot(self) -> Snapshot | None:
        return None

    def status(self) -> dict[str, Any]:
        return {}

    def control_view(self) -> dict[str, Any]:
        return {}

    async def set_control_mode(self, stage: str, mode: str) -> None:
        raise KeyError(stage)

    async def history(
        self, fields: list[str], start: datetime | None, end: datetime | None, resolution: str
    ) -> Series:
        end = end or self._now
        start = start or end - timedelta(days=1)
        return await self._history.series(fields, start, end, resolution)


async def _stall_ms(work: Any) -> tuple[float, float, Any]:
    """(seconds the work took, worst event-loop lateness in ms meanwhile, its result)."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.1)
            worst = max(worst, time.monotonic() - before - 0.1)

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    result = await work
    took = time.monotonic() - started
    done.set()
    await task
    return took, 1000 * worst, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=21_600, help="raw ticks stored (default: 6 h)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        history = await open_history(f"sqlite://{Path(folder) / 'h.db'}", settings=HistorySettings())
        fill_started = time.monotonic()
        for snapshot in simulated_day(args.ticks):
            await history.append(snapshot)
        print(f"stored {args.ticks} ticks in {time.monotonic() - fill_started:.1f} s")
        now = DAY + timedelta(seconds=args.ticks)
        view = _View(history, now)
        api = ApiServer(view, logging.getLogger("bench"))
        await api.start(WebConfig(listen="127.0.0.1:0"), Path(folder))
        all_fields = ",".join(spec.name for spec in FIELDS)
        some = ",".join(spec.name for spec in FIELDS[:16])
        span = f"start={DAY.isoformat()}&end={now.isoformat()}".replace("+", "%2B")
        cases = [
            (f"raw, all {len(FIELDS)} fields, {args.ticks} s", f"fields={all_fields}&resolution=raw&{span}"),
            ("raw, 2 fields, same range", f"fields=production_w,consumption_w&resolution=raw&{span}"),
            ("auto, 16 fields, same range", f"fields={some}&resolution=auto&{span}"),
            ("raw, 1 field, 7 days", "fields=production_w&resolution=raw&start=2026-05-25T00:00:00"),
        ]
        async with aiohttp.ClientSession() as http:
            for name, query in cases:

                async def get(query: str = query) -> tuple[int, int]:
                    async with http.get(f"{api.url}/api/history?{query}") as resp:
                        return resp.status, len(await resp.read())

                took, stall, (status, size) = await _stall_ms(get())
                line = f"{name:<34} HTTP {status} {size / 1e6:6.2f} MB {took:6.2f} s"
                print(f"{line}, loop stall {stall:5.0f} ms")

            # what the daemon did before the bounds: the whole series built and encoded on the loop
            async def unbounded() -> int:
                series = await history.series([spec.name for spec in FIELDS], DAY, now, "raw")
                return len(json.dumps(series.to_json()))

            took, stall, size = await _stall_ms(unbounded())
            name = f"(before: all {len(FIELDS)} fields, no bounds)"
            print(f"{name:<34} {size / 1e6:15.2f} MB {took:6.2f} s, loop stall {stall:5.0f} ms")
        await api.stop()
        await history.close()


if __name__ == "__main__":
    asyncio.run(main())
