"""Token behaviour from QA (issue 10): a changed token_file is used, a refused manual token is checked
once, a refused new token does not make the daemon log in again and again, no renewal warning after a
successful renewal of a short-lived token, and the expiry shown is the new token's."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sim_gateway_for_tests import auto_config, simulator

from enphase_secure.config import GatewayConfig
from enphase_secure.errors import GatewayAuthError
from enphase_secure.gateway.connect import open_gateway, token_provider
from enphase_secure.gateway.session import CHECK_JWT_PATH
from enphase_secure.gateway.token import decode_token
from enphase_secure.gateway.token_manager import TOKEN_FILE_EVERY_S
from enphase_secure.simulator.cloud import LOGIN_PATH
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.server import Simulator

READINGS = "/ivp/meters/readings"


def _file_config(sim: Simulator, token_file: Path) -> GatewayConfig:
    return GatewayConfig.model_validate(
        {"host": sim.host, "token_mode": "manual", "token_file": str(token_file), "timeout_s": 5}
    )


async def test_refused_manual_token_checked_once_then_a_new_token_file_is_used(tmp_path: Path) -> None:
    async with simulator() as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token())
        sim.revoke_tokens()
        config = _file_config(sim, token_file)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            for _ in range(9):  # the daemon's retries
                with pytest.raises(GatewayAuthError, match="Get a new one from Enlighten"):
                    await gateway.get(READINGS)
            assert sim.requests.count(CHECK_JWT_PATH) == 1
            fresh = sim.issue_token()
            token_file.write_text(fresh + "\n")
            os.utime(token_file, ns=(1, 1))  # a different modification time, whatever the clock
            assert await gateway.get(READINGS)
            assert gateway.base_url
        assert sim.requests.count(READINGS) == 1


class _Clock:
    """The wall clock, moved on by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_broken_token_file_keeps_the_old_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with simulator() as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token())
        config = _file_config(sim, token_file)
        clock = _Clock()
        async with open_gateway(config, state_dir=tmp_path, clock=clock) as gateway:
            assert await gateway.get(READINGS)
            token_file.write_text("half a token")
            clock.advance(TOKEN_FILE_EVERY_S)
            with caplog.at_level(logging.ERROR):
                assert await gateway.get(READINGS)
                clock.advance(TOKEN_FILE_EVERY_S)
                assert await gateway.get(READINGS)
    errors = [r.getMessage() for r in caplog.records if "token_file changed" in r.getMessage()]
    assert len(errors) == 1
    assert "half a token" not in caplog.text


async def test_token_file_looked_at_every_few_seconds_not_at_each_request(tmp_path: Path) -> None:
    async with simulator() as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token(lifetime_s=86400))
        config = _file_config(sim, token_file)
        clock = _Clock()
        tokens = token_provider(config, state_dir=tmp_path, clock=clock)
        async with open_gateway(config, state_dir=tmp_path, tokens=tokens) as gateway:
            assert await gateway.get(READINGS)
            first_expiry = tokens.expires_at
            token_file.write_text(sim.issue_token(lifetime_s=2 * 86400))
            os.utime(token_file, ns=(1, 1))
            clock.advance(TOKEN_FILE_EVERY_S - 1)
            assert await gateway.get(READINGS)
            assert tokens.expires_at == first_expiry  # the old token still works: not looked at yet
            assert sim.requests.count(CHECK_JWT_PATH) == 1
            clock.advance(1)
            assert await gateway.get(READINGS)
            assert tokens.expires_at is not None
            assert first_expiry is not None
            assert tokens.expires_at > first_expiry  # the new token, checked once
            assert sim.requests.count(CHECK_JWT_PATH) == 2


async def test_token_replaced_in_file_used_at_once_when_the_old_one_is_refused(tmp_path: Path) -> None:
    async with simulator() as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token())
        config = _file_config(sim, token_file)
        async with open_gateway(config, state_dir=tmp_path, clock=_Clock()) as gateway:
            assert await gateway.get(READINGS)
            sim.revoke_tokens()
            token_file.write_text(sim.issue_token() + "\n")
            os.utime(token_file, ns=(1, 1))
            assert await gateway.get(READINGS)  # refused: the file is looked at, no error
            assert sim.requests.count(CHECK_JWT_PATH) == 3  # the first token, it again, the file's


async def test_gateway_refusing_new_tokens_gets_one_login_then_backoff(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(auto_config(sim), state_dir=tmp_path) as gateway:
            assert await gateway.get(READINGS)
            sim.faults.add(Fault(kind=FaultKind.STATUS, status=401, paths=(CHECK_JWT_PATH, READINGS)))
            for _ in range(7):  # the daemon's retries during a 401 storm: 7 logins in 2 min before
                with pytest.raises(GatewayAuthError):
                    await gateway.get(READINGS)
        # the first login, one renewal for the first refusal; the new token refused too: back off 60 s
        assert sim.cloud.count(LOGIN_PATH) == 2


async def test_short_lived_token_renewed_without_warning_and_expiry_follows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with simulator() as sim:
        sim.cloud.configure(token_lifetime_s=12 * 3600)
        config = auto_config(sim)
        tokens = token_provider(config, state_dir=tmp_path)
        with caplog.at_level(logging.INFO):
            async with open_gateway(config, state_dir=tmp_path, tokens=tokens) as gateway:
                assert await gateway.get(READINGS)
                first = tokens.expires_at
                sim.revoke_tokens()
                assert await gateway.get(READINGS)
                assert tokens.expires_at is not None
                assert first is not None
                assert tokens.expires_at >= first
                cached = decode_token((tmp_path / next(p.name for p in tmp_path.iterdir())).read_text())
                assert tokens.expires_at == cached.info.expires_at
    assert "renewal keeps failing" not in caplog.text
    assert "obtained a new" in caplog.text
