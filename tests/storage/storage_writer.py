"""A history writer for the crash test: appends one tick per simulated second, from ``start`` on, and
prints each tick's index once its append has returned, until it is killed."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from storage_snapshots import make_snapshot

from enphase_secure.storage import open_history


async def main(url: str, first: int) -> None:
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    async with await open_history(url) as history:
        index = first
        while True:
            await history.append(
                make_snapshot(t0 + timedelta(seconds=index), production_w=float(index % 1000), net_w=-1.0)
            )
            print(index, flush=True)
            index += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
