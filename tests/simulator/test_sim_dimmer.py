"""The simulator's dimmable load over HTTP: power = level x max_w on its phase, in the truth."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from simulator_helpers import no_verify_context

from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=no_verify_context())) as session:
        yield session


async def test_a_dimmer_draws_its_level_on_its_phase(client: aiohttp.ClientSession) -> None:
    source = load_scenario_source("three-phase-battery", speed=1, paused=True)
    source.dimmers.add("router", 3000, phase=2)
    async with run_simulator(source) as sim:
        before = source.truth()["power_w"]["consumption"]
        url = f"{sim.gateway_url}/simulator/dimmers/router"
        async with client.post(f"{url}?level_pct=42.5") as response:
            assert response.status == 200
            assert (await response.json())["power_w"] == pytest.approx(1275.0)
        after = source.truth()["power_w"]["consumption"]
        assert after[1] - before[1] == pytest.approx(1275.0)
        assert after[0] == pytest.approx(before[0])
        async with client.post(url, json={"level_pct": 0}) as response:
            assert response.status == 200
        assert source.truth()["power_w"]["consumption"][1] == pytest.approx(before[1])
        async with client.get(f"{sim.gateway_url}/simulator/dimmers") as response:
            listed = await response.json()
        assert [c["level_pct"] for c in listed["router"]["commands"]] == [42.5, 0.0]
        for bad, status in (("?level_pct=120", 400), ("?level_pct=high", 400), ("", 400)):
            async with client.post(f"{url}{bad}") as response:
                assert response.status == status, bad
        async with client.post(f"{sim.gateway_url}/simulator/dimmers/sauna?level_pct=5") as response:
            assert response.status == 404


def test_a_dimmer_on_a_missing_phase_is_refused() -> None:
    source = load_scenario_source("single-phase", speed=1, paused=True)
    with pytest.raises(ValueError, match="phase 2"):
        source.dimmers.add("router", 3000, phase=2)
