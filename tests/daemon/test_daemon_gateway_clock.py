"""The daemon integrates on the gateway's clock: against a simulator at ``--speed 60`` (each 1 s poll
is a simulated minute) the balanced import/export match the truth, and readings whose timestamp did
not move (simulator paused) add nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.daemon.service import Daemon, utc_now
from enphase_secure.simulator.live import LiveSource, load_scenario_source
from enphase_secure.simulator.server import run_simulator

RUN_WALL_S = 40.0  # 40 simulated minutes
# Three phases without a battery (a battery would hold the netted total at 0): PV on L1, loads on L3.
SCENARIO = """
name = "three-phase-pv"
timezone = "Europe/Paris"
start = "2024-05-15T11:00:00"
phases = "three"
seed = 5
[gateway]
serial = "123456789013"
firmware = "8.2.127"
[cts]
production = true
consumption = "net"
[[inverters]]
count = 12
peak_w = 384
phase = 1
[sun]
latitude = 45.76
longitude = 4.84
clouds = 0.1
[load]
base_w = [250, 350, 1400]
noise = 0.15
"""


def _balanced(daemon: Daemon) -> tuple[float, float]:
    grid = daemon.site_energy.grid
    return grid.balanced.import_wh, grid.balanced.export_wh


async def _settled(daemon: Daemon, source: LiveSource) -> tuple[tuple[float, float], tuple[float, float]]:
    """Pause the simulator, let the daemon read the paused instant, then ours and the truth's."""
    source.control_clock(pause=True)
    reads = daemon.status()["loops"]["fast"]["reads"]
    await wait_until(lambda: daemon.status()["loops"]["fast"]["reads"] >= reads + 2, timeout=30)
    truth = source.truth()["lifetime"]
    return _balanced(daemon), (truth["balanced_import"], truth["balanced_export"])


async def test_balanced_figures_at_speed_60_match_the_truth(tmp_path: Path) -> None:
    scenario = tmp_path / "three-phase-pv.toml"
    scenario.write_text(SCENARIO)
    source = load_scenario_source(str(scenario), speed=60)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris", site={"grid_metering": "balanced"})
        async with running(config, clock=utc_now) as daemon:  # the wall clock, 60x slower
            # two fast reads: one interval integrated before the pause (else the race can leave it 0)
            await wait_until(lambda: daemon.status()["loops"].get("fast", {}).get("reads", 0) >= 2, 30)
            ours_before, truth_before = await _settled(daemon, source)
            await asyncio.sleep(3.0)  # paused: every reading repeats the same timestamp
            assert _balanced(daemon) == ours_before
            source.control_clock(pause=False)
            await asyncio.sleep(RUN_WALL_S)
            ours_after, truth_after = await _settled(daemon, source)
    assert ours_before != (0.0, 0.0)
    ours = [after - before for after, before in zip(ours_after, ours_before, strict=True)]
    truth = [after - before for after, before in zip(truth_after, truth_before, strict=True)]
    print(f"\nspeed 60, balanced import/export: ours {ours} Wh, truth {truth} Wh")
    assert sum(truth) > 300  # the site really moved energy over those simulated minutes
    for got, want in zip(ours, truth, strict=True):
        assert got == pytest.approx(want, rel=0.01, abs=0.005 * sum(truth))
