"""Sites without a usable CT (none installed, or all disabled in /ivp/meters): the 1 s loop reads
/api/v1/production, not the readings that such a gateway still answers (an empty list, or its disabled
CTs' noise), and the served production follows the gateway tick by tick."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon_helpers import daemon_config, fast_reads, running, wait_until
from enphase_secure.daemon.service import Daemon
from enphase_secure.gateway import meters, production
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.replay import ReplaySource
from enphase_secure.simulator.server import run_simulator

TICKS = 8


async def _ticks(daemon: Daemon, count: int) -> list[dict[str, Any]]:
    """The snapshot of each of the next ``count`` good fast reads."""
    snapshots: list[dict[str, Any]] = []
    for _ in range(count):
        reads = fast_reads(daemon)
        await wait_until(lambda reads=reads: fast_reads(daemon) > reads, timeout=30)  # type: ignore[misc]
        snapshot = daemon.latest_snapshot()
        assert snapshot is not None
        snapshots.append(snapshot.to_json())
    return snapshots


async def test_production_of_a_site_without_cts_moves_every_tick(tmp_path: Path) -> None:
    source = load_scenario_source("no-ct", speed=60)  # a tick is a minute of sunshine
    source.control_clock(advance_s=5 * 3600)  # 11:00
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Berlin")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 2, timeout=30)
            sim.requests.clear()
            snapshots = await _ticks(daemon, TICKS)
        requested = Counter(r.path for r in sim.requests.records())
    lifetimes = [s["production"]["lifetime_wh"] for s in snapshots]
    powers = [s["production"]["power_w"] for s in snapshots]
    assert all(later > earlier for earlier, later in itertools.pairwise(lifetimes)), lifetimes
    assert len(set(powers)) > TICKS // 2, powers  # the inverters' reports, as the gateway sums them
    assert requested[production.API_V1_PRODUCTION_PATH] >= TICKS
    assert requested[meters.READINGS_PATH] == 0  # an empty list every second: not polled


async def test_disabled_cts_are_not_polled(tmp_path: Path, fixtures_dir: Path) -> None:
    # a real capture: both CTs disabled, their readings (noise) answered; /api/v1/production all-zero
    # counters (quirks.api_v1_production_usable), so production is /production.json's inverters block
    async with run_simulator(ReplaySource(fixtures_dir / "7.3.466_metered_disabled_cts")) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Berlin")
        async with running(config, clock=lambda: datetime.now(UTC)) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 3, timeout=30)
            status = daemon.status()
            snapshot = daemon.latest_snapshot()
        requested = Counter(r.path for r in sim.requests.records())
    assert status["gateway"]["cts"] == []  # the enabled ones
    assert requested[meters.READINGS_PATH] <= 1  # the full probe's, at most
    assert requested[production.API_V1_PRODUCTION_PATH] >= 3
    assert snapshot is not None
    assert snapshot.production.power_w == 751  # the inverters block; /api/v1/production says 689
    assert snapshot.meters == ()
