"""``simulate --latency real``: each path takes a real gateway's service time, one request at a time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from simulator_helpers import bearer, simulate

from enphase_secure.cli import main
from enphase_secure.simulator.latency import REAL_SERVICE_S, latency_profile

READINGS_S = dict(REAL_SERVICE_S)["/ivp/meters/readings"]
PRODUCTION_S = dict(REAL_SERVICE_S)["/production.json"]


async def timed_get(http: aiohttp.ClientSession, url: str, token: str) -> tuple[int, float]:
    started = time.perf_counter()
    async with http.get(url, headers=bearer(token)) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def test_real_latency_serves_each_path_in_its_time_one_at_a_time(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    token_file = tmp_path / "token"
    async with simulate("--latency", "real", "--token-file", str(token_file)) as ready:
        gateway = ready.group(1)
        token = token_file.read_text().strip()
        status, alone_s = await timed_get(http, f"{gateway}/ivp/meters/readings", token)
        assert status == 200
        assert alone_s >= READINGS_S
        # A readings request arriving while production.json is being served waits for it.
        production = asyncio.create_task(timed_get(http, f"{gateway}/production.json?details=1", token))
        await asyncio.sleep(0.2)
        (status, behind_s), (production_status, production_s) = (
            await timed_get(http, f"{gateway}/ivp/meters/readings", token),
            await production,
        )
        assert (status, production_status) == (200, 200)
        assert production_s >= PRODUCTION_S
        assert behind_s >= PRODUCTION_S - 0.2 + READINGS_S - 0.05
        async with http.get(f"{gateway}/simulator/requests") as response:
            log = await response.json()
        durations = {r["path"]: r["duration_s"] for r in log["requests"]}
        assert durations["/production.json"] >= PRODUCTION_S


def test_profiles() -> None:
    real = latency_profile("real")
    assert real.serialised
    assert real.service_time_s("/ivp/meters/readings") == READINGS_S  # the longest prefix wins
    assert real.service_time_s("/ivp/meters") == 0.1
    assert real.service_time_s("/ivp/ensemble/secctrl") == 0.3
    assert real.service_time_s("/simulator/requests") == 0.0
    assert latency_profile("none").service_time_s("/production.json") == 0.0


def test_an_unknown_profile_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--latency", "slow"])
    assert exit_info.value.code == 2
    assert "--latency" in capsys.readouterr().err
