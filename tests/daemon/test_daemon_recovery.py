"""After a long gateway outage, fresh figures come back within a few poll intervals (issue 10)."""

from __future__ import annotations

import time
from pathlib import Path

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.daemon.gateway_loop import FAST_BACKOFF_TICKS
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


async def test_fresh_again_within_a_few_intervals_after_a_long_outage(tmp_path: Path) -> None:
    source = load_scenario_source("single-phase", speed=10)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: (s := daemon.latest_snapshot()) is not None and not s.staleness.stale)
            sim.faults.add(Fault(kind=FaultKind.STATUS, status=503))
            await wait_until(lambda: (s := daemon.latest_snapshot()) is not None and s.staleness.stale)
            # five failures in a row: uncapped, the backoff would now be 16 s of stale figures
            await wait_until(lambda: daemon.status()["loops"]["fast"]["failures"] >= 5, timeout=60)
            sim.faults.clear()
            back = time.monotonic()
            await wait_until(lambda: not daemon.latest_snapshot().staleness.stale, timeout=30)  # type: ignore[union-attr]
            took_s = time.monotonic() - back
    assert took_s <= (FAST_BACKOFF_TICKS + 3) * config.polling.interval_s  # the cap, a tick, margin
