"""Proportional diversion end to end: the daemon's PI loop drives the simulator's dimmer (a 3 kW
water heater behind a router, set over HTTP with ``$level_pct``) on a day with passing clouds.

The simulator runs 30 times real time: a daemon tick (1 s) is 30 simulated seconds, coarser than a
real 1 s loop, so the figure here is a floor for what a real site gets."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from daemon_helpers import daemon_config, running
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.scenario import BUILTIN_DIR
from enphase_secure.simulator.server import run_simulator

PARIS = ZoneInfo("Europe/Paris")
SPEED = 30.0
MAX_W = 3000.0
TARGET_W = -50.0
MIN_INTERVAL_S = 45.0  # simulated seconds: at most one command every second tick


async def test_a_router_holds_the_grid_near_its_target_under_passing_clouds(tmp_path: Path) -> None:
    scenario = tmp_path / "house.toml"
    scenario.write_text(
        resources.files("enphase_secure.simulator")
        .joinpath(BUILTIN_DIR, "single-phase.toml")
        .read_text("utf-8")
        .replace("clouds = 0.3", "clouds = 1.0")
    )
    start = datetime(2024, 6, 21, 11, 30, tzinfo=PARIS)
    end = start + timedelta(minutes=45)
    source = load_scenario_source(str(scenario), speed=SPEED, start=start)
    dimmer = source.dimmers.add("router", MAX_W)
    samples: list[tuple[float, float]] = []  # (grid W, surplus the router could take W)
    async with run_simulator(source) as sim:
        url = f"{sim.gateway_url}/simulator/dimmers/router?level_pct=$level_pct"
        action = {"http": {"url": url, "verify_tls": False}}
        stage = {
            "name": "router",
            "kind": "proportional",
            "max_w": MAX_W,
            "target_grid_w": TARGET_W,
            "min_interval_s": MIN_INTERVAL_S,
            "on": action,
            "off": action,
        }
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris", control={"stages": [stage]})
        async with running(config, clock=source.now) as daemon, aiohttp.ClientSession() as http:
            warm_up = start + timedelta(minutes=10)
            while source.now() < end:
                truth = source.truth()
                grid_w = truth["power_w"]["balanced_net"]
                if source.now() >= warm_up:
                    samples.append((grid_w, dimmer.power_w - grid_w))
                await asyncio.sleep(0.25)
            control = await (await http.get(f"{daemon.web_url}/api/control")).json()

    # the ticks with a surplus the router can take (some, and less than its full power)
    held = [grid for grid, surplus in samples if 0 < surplus + TARGET_W < MAX_W]
    within = sum(1 for grid in held if abs(grid - TARGET_W) <= 100.0)
    share = within / len(held)
    commands = [t for t, _ in dimmer.commands]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(commands)]
    print(
        f"\nrouter: grid within ±100 W of {TARGET_W:g} W on {within}/{len(held)} ticks with surplus "
        f"({100 * share:.1f} %); {len(commands)} commands, shortest gap {min(gaps):.0f} s "
        f"(min_interval_s {MIN_INTERVAL_S:g}); level range "
        f"{min(level for _, level in dimmer.commands):g}-{max(level for _, level in dimmer.commands):g} %"
    )
    assert len(held) >= 0.8 * len(samples)  # a day with surplus most of the time
    assert share > 0.9
    assert min(gaps) >= MIN_INTERVAL_S
    assert len({level for _, level in dimmer.commands}) > 5  # it does follow the clouds
    router = control["stages"][0]
    assert router["kind"] == "proportional"
    assert router["state"]["level_pct"] == dimmer.level_pct
    assert router["energy_today_wh"] > 0
