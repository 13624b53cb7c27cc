"""The HTTPS session against the simulated gateway: keep-alive, pinning, cookie, timeouts, error mapping."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sim_gateway_for_tests import (
    auto_config,
    certificate_sha256,
    established_client_connections,
    manual_config,
    port,
    simulator,
)
from tokens_for_tests import make_jwt

from enphase_secure.errors import (
    CertificateMismatchError,
    GatewayStatusError,
    GatewayUnreachableError,
)
from enphase_secure.gateway.connect import open_gateway
from enphase_secure.gateway.session import CHECK_JWT_PATH, GatewaySession
from enphase_secure.gateway.token import decode_token
from enphase_secure.gateway.token_manager import ManualTokens
from enphase_secure.simulator.faults import Fault, FaultKind

READINGS = "/ivp/meters/readings"


async def test_one_connection_and_one_check_jwt_for_many_reads(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            for _ in range(20):
                assert b"activePower" in await gateway.get(READINGS)
            assert established_client_connections(port(sim)) == 1
        assert sim.requests.count(CHECK_JWT_PATH) == 1
        assert sim.requests.count(READINGS) == 20


async def test_one_fast_tick_is_one_request(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
            sim.requests.clear()
            await gateway.get(READINGS, timeout_s=0.9)
        assert [(r.path, r.status) for r in sim.requests.records()] == [(READINGS, 200)]


async def test_the_session_cookie_check_jwt_set_is_sent(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
            sim.authority.revoke()  # the bearer token is refused from now on; the session lives on
            for _ in range(3):
                assert b"activePower" in await gateway.get(READINGS)
        assert sim.requests.count(CHECK_JWT_PATH) == 1
        assert [r.status for r in sim.requests.records() if r.path == READINGS] == [200] * 4


async def test_a_new_check_jwt_gives_the_cookie_sent_from_then_on(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(auto_config(sim), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
            sim.revoke_tokens()  # the nightly reset: the token and its session are gone
            assert await gateway.get(READINGS)  # 401, check_jwt refuses, new token, check_jwt, cookie
            sim.authority.revoke()  # only the new session's cookie can be accepted now
            for _ in range(3):
                assert await gateway.get(READINGS)
        assert sim.requests.count(CHECK_JWT_PATH) == 3
        assert [r.status for r in sim.requests.records() if r.path == READINGS] == [200, 401, 200] + [200] * 3


async def test_pinned_certificate_accepted(tmp_path: Path) -> None:
    async with simulator() as sim:
        fingerprint = await certificate_sha256(sim)
        config = manual_config(sim, sim.issue_token(), cert_fingerprint=fingerprint)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            assert await gateway.get(READINGS)


async def test_other_certificate_refused(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = manual_config(sim, sim.issue_token(), cert_fingerprint="ab" * 32)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            with pytest.raises(CertificateMismatchError, match=r"not the pinned gateway\.cert_fingerprint"):
                await gateway.get("/info")
        assert sim.requests.count() == 0


async def test_a_hanging_gateway_is_unreachable_within_the_budget(tmp_path: Path) -> None:
    async with simulator() as sim:
        sim.faults.add(Fault(kind=FaultKind.TIMEOUT, paths=(READINGS,)))
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            started = time.monotonic()
            with pytest.raises(GatewayUnreachableError, match=r"readings: no answer within 0\.3 s"):
                await gateway.get(READINGS, timeout_s=0.3)
            assert time.monotonic() - started < 1.0


async def test_reset_connection_is_unreachable(tmp_path: Path) -> None:
    async with simulator() as sim:
        sim.faults.add(Fault(kind=FaultKind.RESET, paths=(READINGS,)))
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            with pytest.raises(GatewayUnreachableError, match=READINGS):
                await gateway.get(READINGS)


async def test_other_status_names_path_and_status(tmp_path: Path) -> None:
    async with simulator() as sim:
        sim.faults.add(Fault(kind=FaultKind.STATUS, status=503, paths=(READINGS,), count=1))
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            with pytest.raises(GatewayStatusError) as caught:
                await gateway.get(READINGS)
            assert caught.value.status == 503
            assert str(caught.value) == f"{READINGS}: HTTP 503"
            assert await gateway.get(READINGS)


async def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = manual_config(sim, sim.issue_token())
    async with open_gateway(config, state_dir=tmp_path) as gateway:
        with pytest.raises(GatewayUnreachableError, match=r"127\.0\.0\.1"):
            await gateway.get("/info")


async def test_info_needs_no_token(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(manual_config(sim, sim.issue_token()), state_dir=tmp_path) as gateway:
            assert b"<sn>" in await gateway.get("/info")
        assert sim.requests.count(CHECK_JWT_PATH) == 0


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"host": ""}, "host must be"),
        ({"host": "https://x/"}, "host must be"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"cert_fingerprint": "abc"}, "64 hex digits"),
    ],
)
def test_constructor_validates_early(options: dict[str, object], problem: str) -> None:

    tokens = ManualTokens(
        token=decode_token(make_jwt(issued_at=datetime.now(UTC), lifetime=timedelta(days=1)))
    )
    arguments: dict[str, object] = {"host": "127.0.0.1:1", "tokens": tokens, **options}
    with pytest.raises(ValueError, match=problem):
        GatewaySession(**arguments)  # type: ignore[arg-type]
