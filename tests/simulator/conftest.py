"""Fixtures for the simulator's server-side tests: a replay simulator and a client that trusts it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from simulator_helpers import BATTERY_FOLDER, no_verify_context

from enphase_secure.simulator.replay import ReplaySource
from enphase_secure.simulator.server import Simulator, run_simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A keep-alive client that sends cookies only when a test passes them."""
    connector = aiohttp.TCPConnector(ssl=no_verify_context())
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


@pytest.fixture
async def sim(fixtures_dir: Path) -> AsyncIterator[Simulator]:
    async with run_simulator(ReplaySource(fixtures_dir / BATTERY_FOLDER)) as simulator:
        yield simulator
