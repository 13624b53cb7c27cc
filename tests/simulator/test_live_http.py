"""A live scenario over HTTPS: documents vs /simulator/truth over a simulated day, loads and clock routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from simulator_helpers import bearer, no_verify_context

from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=no_verify_context())
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


@pytest.fixture
async def live() -> AsyncIterator[Simulator]:
    async with run_simulator(
        load_scenario_source("three-phase-battery", speed=3600, paused=True)
    ) as simulator:
        yield simulator


async def get(client: aiohttp.ClientSession, sim: Simulator, path: str, token: str | None = None) -> Any:
    headers = bearer(token) if token else {}
    async with client.get(f"{sim.gateway_url}{path}", headers=headers) as response:
        assert response.status == 200, (path, response.status)
        return await response.json(content_type=None)


async def post(client: aiohttp.ClientSession, sim: Simulator, path: str, body: Any = None) -> Any:
    async with client.post(f"{sim.gateway_url}{path}", json=body) as response:
        assert response.status == 200, (path, response.status, await response.text())
        return await response.json()


async def test_counters_over_a_day_equal_truth_per_phase_and_balanced(
    client: aiohttp.ClientSession, live: Simulator
) -> None:
    token = live.issue_token()
    meters = {m["eid"]: m["measurementType"] for m in await get(client, live, "/ivp/meters", token)}

    async def snapshot() -> tuple[dict[str, Any], dict[str, Any]]:
        readings = await get(client, live, "/ivp/meters/readings", token)
        return {meters[r["eid"]]: r for r in readings}, await get(client, live, "/simulator/truth")

    first, truth0 = await snapshot()
    balanced_import = balanced_export = 0.0
    previous_net = first["net-consumption"]["activePower"]
    for _ in range(24 * 4):  # a day in 15-min ticks, the clock paused in between
        await post(client, live, "/simulator/clock", {"advance_s": 900})
        readings, truth = await snapshot()
        # A client integrating the balanced net every tick (left rectangle) approximates the truth.
        balanced_import += max(previous_net, 0.0) * 0.25
        balanced_export += max(-previous_net, 0.0) * 0.25
        previous_net = readings["net-consumption"]["activePower"]
        assert previous_net == pytest.approx(truth["power_w"]["balanced_net"], abs=0.01)

    net, net0 = readings["net-consumption"], first["net-consumption"]
    for phase in range(3):
        for side, quantity in (("actEnergyDlvd", "import"), ("actEnergyRcvd", "export")):
            moved = net["channels"][phase][side] - net0["channels"][phase][side]
            exact = (
                truth["lifetime"][quantity]["phases"][phase] - truth0["lifetime"][quantity]["phases"][phase]
            )
            assert moved == pytest.approx(exact, abs=0.002)
    exact_balanced = truth["lifetime"]["balanced_import"] - truth0["lifetime"]["balanced_import"]
    assert balanced_import == pytest.approx(exact_balanced, rel=0.25)
    per_phase_import = net["actEnergyDlvd"] - net0["actEnergyDlvd"]
    assert per_phase_import > exact_balanced + 100, "per-phase and balanced import differ on this site"
    assert truth["days"], "midnight was crossed"


async def test_loads_switch_by_json_and_by_empty_post(client: aiohttp.ClientSession, live: Simulator) -> None:
    assert await get(client, live, "/simulator/loads") == {"heat-pump": False, "water-heater": False}
    before = (await get(client, live, "/simulator/truth"))["power_w"]["consumption"][2]
    assert (await post(client, live, "/simulator/loads/heat-pump", {"on": True}))["heat-pump"] is True
    after = (await get(client, live, "/simulator/truth"))["power_w"]["consumption"][2]
    assert after - before == pytest.approx(2500.0)
    assert (await post(client, live, "/simulator/loads/heat-pump/off"))["heat-pump"] is False
    async with client.post(f"{live.gateway_url}/simulator/loads/sauna/on") as response:
        assert response.status == 404
    async with client.post(f"{live.gateway_url}/simulator/loads/heat-pump", json={"on": "yes"}) as response:
        assert response.status == 400


async def test_clock_pauses_advances_and_changes_speed(
    client: aiohttp.ClientSession, live: Simulator
) -> None:
    clock = await get(client, live, "/simulator/clock")
    assert clock["paused"] is True
    assert clock["step_s"] == 60.0
    advanced = await post(client, live, "/simulator/clock", {"advance_s": 3600})
    assert advanced["timestamp"] - clock["timestamp"] == 3600
    running = await post(client, live, "/simulator/clock", {"pause": False, "speed": 7200})
    assert running["paused"] is False
    assert running["speed"] == 7200
    async with client.post(f"{live.gateway_url}/simulator/clock", json={"rewind": 5}) as response:
        assert response.status == 400
        assert "rewind" in await response.text()
    async with client.post(f"{live.gateway_url}/simulator/clock", json={"advance_s": -5}) as response:
        assert response.status == 400
