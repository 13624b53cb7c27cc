"""The daemon's history writes: batched, flushed with the energy state when it stops, and thinned to
``storage.raw_interval_s`` when asked."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

from daemon_helpers import daemon_config, fast_reads, running, wait_until
from enphase_secure.daemon.energy_state import SITE_STATE_KEY
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator
from enphase_secure.storage import open_history


async def test_stopping_writes_every_tick_and_the_energy_state(tmp_path: Path) -> None:
    source = load_scenario_source("single-phase", speed=1)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 4)
            start = source.now() - timedelta(hours=1)
            series = await daemon.history(["production_w"], start, source.now(), "raw")
            polled = len(series.points)
            assert polled >= 3  # the API sees the ticks still waiting in memory too
            site_today = daemon.site_energy.to_json()
        end = source.now()
    async with await open_history(config.storage.history_url) as history:
        stored = await history.series("production_w", start, end, resolution="raw")
        saved = await history.get_state(SITE_STATE_KEY)
    assert len(stored.points) >= polled
    assert saved is not None
    assert saved["serial"] == sim.serial
    assert set(saved["energy"]) == set(site_today)


async def test_raw_interval_thins_the_raw_history(tmp_path: Path) -> None:
    source = load_scenario_source("single-phase", speed=1)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="UTC", storage={"raw_interval_s": 3})
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 7, timeout=20)
            start = source.now() - timedelta(hours=1)
            raw = await daemon.history(["production_w"], start, source.now(), "raw")
            minutes = await daemon.history(["production_w"], start, source.now(), "1min")
    times = [p.time for p in raw.points]
    ticks = sum(p.ticks for p in minutes.points)
    assert ticks >= 7  # the downsampled series count every tick
    assert 2 <= len(times) <= ticks // 3 + 2
    # the first tick of each 3 s slot: 1 s polling puts them 3 +- 1 s apart
    assert all(b - a >= timedelta(seconds=1.5) for a, b in itertools.pairwise(times))
