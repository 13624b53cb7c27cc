"""The fast lane (httptools, its own keep-alive connection) against the simulated gateway; and without it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest
from sim_gateway_for_tests import (
    auto_config,
    certificate_sha256,
    established_client_connections,
    manual_config,
    port,
    simulator,
)

from enphase_secure.daemon.event_loop import new_event_loop
from enphase_secure.errors import CertificateMismatchError, GatewayStatusError, GatewayUnreachableError
from enphase_secure.gateway.connect import open_gateway
from enphase_secure.gateway.session import CHECK_JWT_PATH, fast_reads_over
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.server import Simulator

READINGS = "/ivp/meters/readings"


def _readings_statuses(sim: Simulator) -> list[int]:
    return [record.status for record in sim.requests.records() if record.path == READINGS]


async def _until_connections(sim: Simulator, count: int) -> None:
    async with asyncio.timeout(2):
        while established_client_connections(port(sim)) != count:
            await asyncio.sleep(0.01)


def test_httptools_carries_the_fast_reads_when_installed() -> None:
    assert fast_reads_over() == "httptools"


async def test_a_fast_read_is_the_aiohttp_read_byte_for_byte(tmp_path: Path) -> None:
    async with simulator(paused=True) as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            fast = [await gateway.get(READINGS, fast=True) for _ in range(3)]
            assert fast == [await gateway.get(READINGS)] * 3
            assert b"activePower" in fast[0]
            assert await gateway.get("/info", fast=True) == await gateway.get("/info")
            assert established_client_connections(port(sim)) == 2  # the lane's and aiohttp's
        assert sim.requests.count(CHECK_JWT_PATH) == 1


async def test_a_refused_fast_read_checks_the_token_and_is_sent_again(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(auto_config(sim), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS, fast=True)
            sim.revoke_tokens()  # the nightly reset: the token and its session are gone
            assert b"activePower" in await gateway.get(READINGS, fast=True)
            sim.authority.revoke()  # only the new session's cookie can be accepted now
            assert b"activePower" in await gateway.get(READINGS, fast=True)
        assert sim.requests.count(CHECK_JWT_PATH) == 3  # accepted, refused, the new token accepted
        assert _readings_statuses(sim) == [200, 401, 200, 200]


async def test_an_idle_connection_the_gateway_closed_is_replaced(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            sim.faults.add(Fault(kind=FaultKind.IDLE_CLOSE, paths=(READINGS,), count=1))
            await gateway.get(READINGS, fast=True)
            await _until_connections(sim, 1)  # the gateway closed the lane's; aiohttp's is left
            assert b"activePower" in await gateway.get(READINGS, fast=True)
            assert established_client_connections(port(sim)) == 2
        assert _readings_statuses(sim) == [200, 200]  # one request per read: nothing sent twice


async def test_a_connection_closed_as_the_request_left_is_replaced_and_the_get_sent_once_more(
    tmp_path: Path,
) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS, fast=True)
            sim.faults.add(Fault(kind=FaultKind.RESET, paths=(READINGS,), count=1))
            assert b"activePower" in await gateway.get(READINGS, fast=True)
        assert _readings_statuses(sim) == [200, 0, 200]


async def test_a_gateway_that_drops_every_request_is_unreachable_after_one_retry(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS, fast=True)
            sim.faults.add(Fault(kind=FaultKind.RESET, paths=(READINGS,)))
            with pytest.raises(GatewayUnreachableError, match=f"^{READINGS}: .* closed the connection"):
                await gateway.get(READINGS, fast=True)
            assert _readings_statuses(sim) == [200, 0, 0]
            with pytest.raises(GatewayUnreachableError, match="closed the connection") as fresh:
                await gateway.get(READINGS, fast=True)  # on a fresh connection: not sent again
            assert "Bearer" not in str(fresh.value)
        assert _readings_statuses(sim) == [200, 0, 0, 0]


async def test_connection_close_from_the_gateway_is_honoured(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            sim.faults.add(Fault(kind=FaultKind.CLOSE, paths=(READINGS,), count=2))
            for _ in range(3):
                assert b"activePower" in await gateway.get(READINGS, fast=True)
        assert _readings_statuses(sim) == [200, 200, 200]


async def test_a_chunked_answer_reads_as_the_whole_body(tmp_path: Path) -> None:
    async with simulator(paused=True) as sim:
        sim.faults.add(Fault(kind=FaultKind.CHUNKED, paths=("/info",), count=1))
        async with (
            aiohttp.ClientSession() as plain,
            plain.get(f"{sim.gateway_url}/info", ssl=False) as answer,
        ):
            assert answer.headers["Transfer-Encoding"] == "chunked"  # the fault does chunk
            assert "Content-Length" not in answer.headers
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            whole = await gateway.get(READINGS)
            sim.faults.add(Fault(kind=FaultKind.CHUNKED, paths=(READINGS,), count=2))
            assert await gateway.get(READINGS, fast=True) == whole
            assert await gateway.get(READINGS, fast=True) == whole


async def test_a_hanging_gateway_times_out_naming_path_and_budget(tmp_path: Path) -> None:
    async with (
        simulator() as sim,
        open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway,
    ):
        await gateway.get(READINGS, fast=True)
        sim.faults.add(Fault(kind=FaultKind.TIMEOUT, paths=(READINGS,), count=1))
        with pytest.raises(GatewayUnreachableError, match=rf"{READINGS}: no answer within 0\.3 s"):
            await gateway.get(READINGS, timeout_s=0.3, fast=True)
        assert b"activePower" in await gateway.get(READINGS, fast=True)  # a late answer is not read


async def test_other_status_is_a_status_error_and_the_connection_lives_on(tmp_path: Path) -> None:
    async with simulator() as sim:
        sim.faults.add(Fault(kind=FaultKind.STATUS, status=503, paths=(READINGS,), count=1))
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            with pytest.raises(GatewayStatusError) as caught:
                await gateway.get(READINGS, fast=True)
            assert str(caught.value) == f"{READINGS}: HTTP 503"
            assert b"activePower" in await gateway.get(READINGS, fast=True)
            assert established_client_connections(port(sim)) == 2


async def test_the_pinned_certificate_is_checked_on_the_lane(tmp_path: Path) -> None:
    async with simulator() as sim:
        pinned = manual_config(sim, sim.issue_token(), cert_fingerprint=await certificate_sha256(sim))
        async with open_gateway(pinned, state_dir=tmp_path) as gateway:
            assert b"activePower" in await gateway.get(READINGS, fast=True)
        wrong = manual_config(sim, sim.issue_token(), cert_fingerprint="ab" * 32)
        async with open_gateway(wrong, state_dir=tmp_path) as gateway:
            with pytest.raises(CertificateMismatchError) as over_lane:
                await gateway.get("/info", fast=True)
            with pytest.raises(CertificateMismatchError) as over_aiohttp:
                await gateway.get("/info")
        assert str(over_lane.value) == str(over_aiohttp.value)
        assert "not the pinned gateway.cert_fingerprint" in str(over_lane.value)
        assert sim.requests.count("/info") == 0


async def test_fast_and_slow_reads_at_once_use_two_connections_at_most(tmp_path: Path) -> None:
    async with simulator() as sim:
        sim.faults.add(Fault(kind=FaultKind.LATENCY, delay_s=0.02))
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            seen: list[int] = []

            async def reads(path: str, *, fast: bool) -> None:
                for _ in range(8):
                    await gateway.get(path, fast=fast)
                    seen.append(established_client_connections(port(sim)))

            async with asyncio.TaskGroup() as group:
                group.create_task(reads(READINGS, fast=True))
                group.create_task(reads("/production.json", fast=False))
                group.create_task(reads("/ivp/ensemble/inventory", fast=False))
        assert max(seen) == 2


async def test_without_httptools_aiohttp_serves_the_fast_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "httptools", None)  # `import httptools` raises ImportError
    monkeypatch.delitem(sys.modules, "enphase_secure.gateway.fast_lane")
    assert fast_reads_over() == "aiohttp"
    async with (
        simulator(paused=True) as sim,
        open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway,
    ):
        assert await gateway.get(READINGS, fast=True) == await gateway.get(READINGS)
        assert established_client_connections(port(sim)) == 1


def test_the_lane_on_uvloop(tmp_path: Path) -> None:
    async def reads() -> bytes:
        async with simulator() as sim:
            pinned = manual_config(sim, sim.issue_token(), cert_fingerprint=await certificate_sha256(sim))
            async with open_gateway(pinned, state_dir=tmp_path) as gateway:
                return await gateway.get(READINGS, fast=True)

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        assert type(runner.get_loop()).__module__.startswith("uvloop")
        assert b"activePower" in runner.run(reads())


async def test_an_answer_cut_in_the_middle_is_an_error_naming_the_path(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS, fast=True)
            sim.faults.add(Fault(kind=FaultKind.CUT, paths=(READINGS,), count=1))
            with pytest.raises(GatewayUnreachableError, match=f"^{READINGS}: .*in the middle of the answer"):
                await gateway.get(READINGS, fast=True)
            sim.faults.add(Fault(kind=FaultKind.CUT, paths=(READINGS,), count=1))
            with pytest.raises(GatewayUnreachableError, match=f"^{READINGS}: "):
                await gateway.get(READINGS)  # aiohttp sees the same cut
            assert b"activePower" in await gateway.get(READINGS, fast=True)
        assert _readings_statuses(sim) == [200, 200, 200, 200]  # a cut answer is not asked again
