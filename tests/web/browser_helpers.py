"""The dashboard in real headless Chromium (Debian's), driven by Playwright, against the daemon + simulator.

Never downloads a browser: Playwright only drives /usr/bin/chromium (CHROMIUM overrides the path).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, async_playwright

from enphase_secure.config import Config, parse_config
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
    data: dict[str, Any] = {
        "gateway": {"host": sim.host, "token_mode": "manual", "token": sim.issue_token()},
        "site": {"timezone": str(source.now().tzinfo)},
        "storage": {"state_dir": str(state_dir)},
        "web": {"listen": "127.0.0.1:0"},
        **sections,
    }
    return parse_config(data)


@contextlib.asynccontextmanager
async def simulated(
    scenario: str, *, speed: float = 1.0, start: datetime | None = None
) -> AsyncIterator[tuple[Simulator, LiveSource]]:
    source = load_scenario_source(scenario, speed=speed, start=start)
    async with run_simulator(source) as sim:
        yield sim, source


@contextlib.asynccontextmanager
async def daemon_running(config: Config, source: LiveSource) -> AsyncIterator[Daemon]:
    daemon = Daemon(config, clock=source.now)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 30)
        for _ in range(600):  # the first snapshot, so that the page has figures at once
            if daemon.latest_snapshot() is not None:
                break
            await asyncio.sleep(0.05)
        yield daemon
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sim_call(sim: Simulator, method: str, path: str, body: Any = None) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{sim.gateway_url}{path}", json=body, ssl=False) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()
