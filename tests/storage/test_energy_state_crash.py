"""The daemon's energy state across a SIGKILL, on both backends: the grid integrator (energy no
restart could redo) as of the last stored batch, the day counters' baselines exact, although the
whole ~8 KB state is not rewritten with every batch (daemon/energy_state.py)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from energy_state_writer import FLUSH_INTERVAL_S, SERIAL
from storage_writer import MIDNIGHT_TICK, ZONE, lifetime_wh, tick_time

from enphase_secure.daemon.energy_state import SITE_STATE_KEY, EnergyStateStore
from enphase_secure.daemon.storage_guard import StorageGuard
from enphase_secure.storage import HistorySettings, open_history

WRITER = Path(__file__).with_name("energy_state_writer.py")
KILL_AFTER = 170  # ticks, not a batch multiple; tick 90 is local midnight


def _run_then_kill(url: str, ticks: int) -> dict[int, tuple[float, float]]:
    """Integrated (import, export) Wh printed at each tick, until the writer is killed at ``ticks``: it
    is given exactly ``ticks`` go lines, so it waits, mid-batch, for the kill after the last one."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(WRITER.parent), os.environ.get("PYTHONPATH", "")]),
    }
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), url, "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    writer.stdin.write("\n" * ticks)
    writer.stdin.flush()
    printed: dict[int, tuple[float, float]] = {}
    try:
        for line in writer.stdout:
            index, imported, exported = line.split()
            printed[int(index)] = (float(imported), float(exported))
            if int(index) >= ticks - 1:
                writer.send_signal(signal.SIGKILL)
                break
        writer.wait(timeout=30)
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -signal.SIGKILL, "the writer stopped by itself"
    return printed


async def test_a_kill_loses_no_integrated_energy_of_stored_batches_nor_any_baseline(history_url: str) -> None:
    printed = _run_then_kill(history_url, KILL_AFTER)
    settings = HistorySettings(timezone=ZONE.key)
    async with await open_history(history_url, settings=settings) as history:
        raw = await history.series("production_w", tick_time(0), tick_time(1000), resolution="raw")
        whole = await history.get_state(SITE_STATE_KEY)
    last_stored = round((raw.points[-1].time - tick_time(0)).total_seconds())
    assert KILL_AFTER - 1 - last_stored <= FLUSH_INTERVAL_S + 1  # at most a batch of raw points lost
    assert last_stored < KILL_AFTER - 1  # the kill landed mid-batch
    # The whole state was last written at midnight (the day changed), not with the batches since.
    assert whole is not None
    last_reading = datetime.fromisoformat(whole["energy"]["counters"]["counters"]["production"]["last_time"])
    assert last_reading == tick_time(MIDNIGHT_TICK)
    assert last_stored - MIDNIGHT_TICK > 2 * FLUSH_INTERVAL_S

    log = logging.getLogger("test")
    guard = StorageGuard(history_url, settings=settings, clock=lambda: datetime.now(UTC), logger=log)
    await guard.open()
    try:
        restored = await EnergyStateStore(guard, clock=lambda: datetime.now(UTC), logger=log).restore()
    finally:
        await guard.close()
    assert restored is not None
    site, serial = restored
    assert serial == SERIAL
    # The integrator as of the last stored tick, to the Wh's last bit.
    assert site.grid.last is not None
    assert site.grid.last.at == tick_time(last_stored)
    assert (site.grid.balanced.import_wh, site.grid.balanced.export_wh) == printed[last_stored]
    assert site.grid.balanced.import_wh > 0
    assert site.grid.balanced.export_wh > 0
    # The day counters' baselines whole: today is the lifetime growth since midnight, exactly.
    restart = KILL_AFTER + 3
    counters = site.counters.update({"production": lifetime_wh(restart)}, tick_time(restart), ZONE)
    today = counters.today("production", tick_time(restart), ZONE)
    assert today is not None
    assert today.wh == lifetime_wh(restart) - lifetime_wh(MIDNIGHT_TICK)
    assert not today.estimated
