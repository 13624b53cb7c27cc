"""The daemon's energy state kept as the daemon keeps it, for the crash test: a real StorageGuard and
EnergyStateStore, SiteEnergy advanced by the real ``account`` (balanced metering: import and export
integrated from the net power) one tick per simulated second from tick ``first``, restored first if a
state was saved. Each tick waits for a line on stdin (the test's go, so that the writer can never run
ahead of the kill), then prints its index and integrated import and export (Wh) once its append has
returned, until it is killed."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime

from storage_snapshots import make_snapshot
from storage_writer import ZONE, lifetime_wh, tick_time

from enphase_secure.daemon.energy_state import EnergyStateStore
from enphase_secure.daemon.storage_guard import StorageGuard
from enphase_secure.energy.site import SiteEnergy, account
from enphase_secure.storage import HistorySettings

SERIAL = "122212345678"
FLUSH_INTERVAL_S = 20.0


def net_w(index: int) -> float:
    """Importing 1.2 kW for 7 s, then exporting 0.5 kW for 7 s, and so on."""
    return 1200.0 if (index // 7) % 2 else -500.0


async def main(url: str, first: int) -> None:
    log = logging.getLogger("energy_state_writer")
    settings = HistorySettings(timezone=ZONE.key, flush_interval_s=FLUSH_INTERVAL_S)
    guard = StorageGuard(url, settings=settings, clock=lambda: datetime.now(UTC), logger=log)
    if await guard.open() is None:
        raise SystemExit(f"history unavailable: {guard.error}")
    store = EnergyStateStore(guard, clock=lambda: datetime.now(UTC), logger=log)
    restored = await store.restore()
    site = restored[0] if restored is not None else SiteEnergy()
    store.keep(lambda: (SERIAL, site))
    index = first
    while sys.stdin.readline():
        snapshot = make_snapshot(
            tick_time(index),
            production_w=500.0,
            net_w=net_w(index),
            production_lifetime_wh=lifetime_wh(index),
        )
        snapshot, site = account(site, snapshot, tz=ZONE, metering="balanced", max_gap_s=5.0)
        await guard.write("history", lambda history: history.append(snapshot))  # noqa: B023 (awaited here)
        print(index, site.grid.balanced.import_wh, site.grid.balanced.export_wh, flush=True)
        index += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
