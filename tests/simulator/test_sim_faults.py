from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from simulator_helpers import BATTERY_FOLDER, bearer

from enphase_secure.errors import ConfigError
from enphase_secure.simulator.faults import Fault, FaultKind, FaultSet, in_nightly_gap, parse_fault_spec
from enphase_secure.simulator.replay import ReplaySource
from enphase_secure.simulator.server import Simulator, run_simulator

READINGS = "/ivp/meters/readings"


async def add_fault(http: aiohttp.ClientSession, sim: Simulator, body: dict[str, object]) -> dict:
    async with http.post(f"{sim.gateway_url}/simulator/faults", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def fetch(
    http: aiohttp.ClientSession, sim: Simulator, path: str = READINGS, timeout_s: float = 5.0
) -> tuple[int, bytes]:
    async with http.get(
        sim.gateway_url + path,
        headers=bearer(sim.issue_token()),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    ) as response:
        return response.status, await response.read()


async def test_latency_targets_a_path_and_counts(http: aiohttp.ClientSession, sim: Simulator) -> None:
    await add_fault(http, sim, {"kind": "latency", "delay_s": 0.3, "paths": [READINGS], "count": 1})
    started = time.perf_counter()
    await fetch(http, sim, "/ivp/meters")
    assert time.perf_counter() - started < 0.25
    started = time.perf_counter()
    assert (await fetch(http, sim))[0] == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    await fetch(http, sim)
    assert time.perf_counter() - started < 0.25
    assert sim.faults.active() == []


async def test_timeout_hangs_until_the_client_gives_up(http: aiohttp.ClientSession, sim: Simulator) -> None:
    await add_fault(http, sim, {"kind": "timeout", "count": 1})
    with pytest.raises(asyncio.TimeoutError):
        await fetch(http, sim, timeout_s=0.3)
    assert (await fetch(http, sim))[0] == 200


@pytest.mark.parametrize("status", [401, 500, 503])
async def test_status_faults(http: aiohttp.ClientSession, sim: Simulator, status: int) -> None:
    await add_fault(http, sim, {"kind": "status", "status": status, "count": 2})
    assert (await fetch(http, sim))[0] == status
    assert (await fetch(http, sim, "/info"))[0] == status
    assert (await fetch(http, sim))[0] == 200


async def test_connection_reset(http: aiohttp.ClientSession, sim: Simulator) -> None:
    # aiohttp retries an idempotent request once when a reused connection drops: reset twice.
    await add_fault(http, sim, {"kind": "reset", "count": 2})
    with pytest.raises(aiohttp.ClientError):
        await fetch(http, sim)
    assert (await fetch(http, sim))[0] == 200
    assert [record.status for record in sim.requests.records()] == [0, 0, 200]


async def test_truncated_and_invalid_json(
    http: aiohttp.ClientSession, sim: Simulator, fixtures_dir: Path
) -> None:
    whole = (fixtures_dir / BATTERY_FOLDER / "ivp_meters_readings").read_bytes()
    await add_fault(http, sim, {"kind": "truncated_json", "count": 1})
    status, body = await fetch(http, sim)
    assert status == 200
    assert whole.startswith(body)
    assert len(body) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    await add_fault(http, sim, {"kind": "invalid_json", "count": 1})
    status, body = await fetch(http, sim)
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert (await fetch(http, sim))[1] == whole


async def test_reboot_is_unreachable_then_back_without_sessions(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    token = sim.issue_token()
    async with http.get(f"{sim.gateway_url}/auth/check_jwt", headers=bearer(token)) as response:
        session_id = response.cookies["sessionId"].value
    await add_fault(http, sim, {"kind": "reboot", "duration_s": 0.4})
    with pytest.raises(aiohttp.ClientError):
        await fetch(http, sim)
    async with http.get(f"{sim.gateway_url}/simulator/faults") as response:
        assert (await response.json())["rebooting_for_s"] > 0
    await asyncio.sleep(0.45)
    async with http.get(sim.gateway_url + READINGS, cookies={"sessionId": session_id}) as response:
        assert response.status == 401
    assert (await fetch(http, sim))[0] == 200


async def test_revoke_through_the_control_api(http: aiohttp.ClientSession, sim: Simulator) -> None:
    token = sim.issue_token()
    await add_fault(http, sim, {"kind": "revoke"})
    async with http.get(sim.gateway_url + READINGS, headers=bearer(token)) as response:
        assert response.status == 401


async def test_control_api_lists_clears_and_rejects(http: aiohttp.ClientSession, sim: Simulator) -> None:
    shown = await add_fault(http, sim, {"kind": "status", "status": 503, "paths": "/production.json"})
    assert shown["faults"][0]["paths"] == ["/production.json"]
    assert shown["faults"][0]["remaining"] is None
    async with http.delete(f"{sim.gateway_url}/simulator/faults") as response:
        assert (await response.json())["faults"] == []
    for bad, field in [({"kind": "meltdown"}, "kind"), ({"kind": "status", "status": 418}, "status")]:
        async with http.post(f"{sim.gateway_url}/simulator/faults", json=bad) as response:
            assert response.status == 400
            assert field in (await response.json())["error"]
    async with http.post(f"{sim.gateway_url}/simulator/faults", data=b"{") as response:
        assert response.status == 400


async def test_request_log_api(http: aiohttp.ClientSession, sim: Simulator) -> None:
    await fetch(http, sim)
    await fetch(http, sim, "/production.json?details=1")
    async with http.get(f"{sim.gateway_url}/simulator/requests") as response:
        body = await response.json()
    assert body["per_path"] == {READINGS: 1, "/production.json": 1}
    assert body["requests"][1]["query"] == "details=1"
    async with http.delete(f"{sim.gateway_url}/simulator/requests") as response:
        assert response.status == 200
    assert sim.requests.count() == 0


class FixedClockReplay(ReplaySource):
    def __init__(self, folder: Path, local: datetime) -> None:
        super().__init__(folder)
        self.local = local

    def now(self) -> datetime:
        return self.local


@pytest.mark.parametrize(("hour", "minute", "hangs"), [(23, 0, True), (22, 50, False)])
async def test_nightly_gap(
    http: aiohttp.ClientSession, fixtures_dir: Path, hour: int, minute: int, hangs: bool
) -> None:
    source = FixedClockReplay(fixtures_dir / BATTERY_FOLDER, datetime(2024, 6, 1, hour, minute).astimezone())
    async with run_simulator(source, nightly_gap=True) as sim:
        if hangs:
            with pytest.raises(asyncio.TimeoutError):
                await fetch(http, sim, "/info", timeout_s=0.3)
        else:
            assert (await fetch(http, sim, "/info"))[0] == 200


def test_in_nightly_gap_bounds() -> None:
    assert not in_nightly_gap(datetime(2024, 1, 1, 22, 56, 59))
    assert in_nightly_gap(datetime(2024, 1, 1, 22, 57))
    assert in_nightly_gap(datetime(2024, 1, 1, 23, 9, 59))
    assert not in_nightly_gap(datetime(2024, 1, 1, 23, 10))


def test_fault_specs_and_decisions() -> None:
    fault = parse_fault_spec("status:status=500:count=2:paths=/a,/b")
    assert fault == Fault(FaultKind.STATUS, paths=("/a", "/b"), count=2, status=500)
    faults = FaultSet()
    faults.extend(
        [parse_fault_spec("latency:delay_s=0.2"), parse_fault_spec("latency:delay_s=0.1:count=1"), fault]
    )
    first = faults.decide("/a")
    assert first.delay_s == pytest.approx(0.3)
    assert first.failure == fault
    assert faults.decide("/c").failure is None
    assert faults.decide("/b").delay_s == pytest.approx(0.2)
    assert faults.decide("/a").failure is None
    for spec, message in [
        ("latency", "delay_s"),
        ("status:status=abc", "status"),
        ("reset:count=0", "count"),
        ("reset:paths=ivp", "paths"),
        ("reset:speed=2", "unknown"),
        ("reset:count", "key=value"),
    ]:
        with pytest.raises(ConfigError, match=message):
            parse_fault_spec(spec)
