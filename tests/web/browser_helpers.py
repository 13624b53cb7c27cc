"""The dashboard in real headless Chromium (Debian's), driven by Playwright, against the daemon + simulator.

Never downloads a browser: Playwright only drives /usr/bin/chromium (CHROMIUM overrides the path).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, async_playwright

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.config import Config
from enphase_secure.daemon.service import Daemon
from enphase_secure.simulator.live import LiveSource, load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000  # the machine is shared and loaded: waits are generous, asserted bounds are not


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def site_config(sim: Simulator, source: LiveSource, state_dir: Path, **sections: dict[str, Any]) -> Config:
    return daemon_config(sim, state_dir, timezone=str(source.now().tzinfo), **sections)


@contextlib.asynccontextmanager
async def simulated(
    scenario: str, *, speed: float = 1.0, start: datetime | None = None
) -> AsyncIterator[tuple[Simulator, LiveSource]]:
    source = load_scenario_source(scenario, speed=speed, start=start)
    async with run_simulator(source) as sim:
        yield sim, source


@contextlib.asynccontextmanager
async def daemon_running(config: Config, source: LiveSource) -> AsyncIterator[Daemon]:
    async with running(config, clock=source.now) as daemon:
        # the first snapshot, so that the page has figures at once
        await wait_until(lambda: daemon.latest_snapshot() is not None, 30)
        yield daemon


async def sim_call(sim: Simulator, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{sim.gateway_url}{path}", json=body, ssl=False) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()
