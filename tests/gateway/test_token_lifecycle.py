"""The token lifecycle against the simulated gateway and its fake Enlighten/Entrez cloud (no mocks)."""

from __future__ import annotations

import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sim_gateway_for_tests import OWNER_PASSWORD, auto_config, manual_config, simulator

from enphase_secure.errors import (
    CloudCredentialsError,
    CloudError,
    CloudMfaError,
    TokenExpiredError,
)
from enphase_secure.gateway.connect import open_gateway
from enphase_secure.gateway.session import CHECK_JWT_PATH
from enphase_secure.gateway.tokenstore import token_cache_path
from enphase_secure.simulator.cloud import LOGIN_PATH, TOKENS_PATH
from enphase_secure.simulator.faults import Fault, FaultKind

READINGS = "/ivp/meters/readings"


def days_ahead(days: float):
    return lambda: datetime.now(UTC) + timedelta(days=days)


async def test_auto_first_login_reads_serial_obtains_and_caches_token(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = auto_config(sim)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            assert await gateway.get(READINGS)
            assert await gateway.get(READINGS)
        assert sim.cloud.count(LOGIN_PATH) == 1
        assert sim.cloud.count(TOKENS_PATH) == 1
        assert sim.requests.count("/info") == 1
        cache = token_cache_path(tmp_path, sim.host)
        assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
        assert cache.read_text().count(".") == 2


async def test_restart_reuses_cached_token_without_the_cloud(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = auto_config(sim)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
        cached = token_cache_path(tmp_path, sim.host).read_text()
        sim.cloud.configure(mode="down")
        calls_before = len(sim.cloud.calls)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            assert await gateway.get(READINGS)
        assert len(sim.cloud.calls) == calls_before
        assert token_cache_path(tmp_path, sim.host).read_text() == cached


async def test_renewal_before_expiry(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = auto_config(sim, renew_margin_days=7)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
        first = token_cache_path(tmp_path, sim.host).read_text()
        async with open_gateway(config, state_dir=tmp_path, clock=days_ahead(300)) as gateway:
            await gateway.get(READINGS)
        assert sim.cloud.count(TOKENS_PATH) == 1
        async with open_gateway(config, state_dir=tmp_path, clock=days_ahead(359)) as gateway:
            await gateway.get(READINGS)
        assert sim.cloud.count(TOKENS_PATH) == 2
        assert token_cache_path(tmp_path, sim.host).read_text() != first


async def test_revoked_token_is_replaced_after_check_jwt_refuses_it(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(auto_config(sim), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
            sim.revoke_tokens()
            assert await gateway.get(READINGS)
            assert await gateway.get(READINGS)
        assert sim.cloud.count(TOKENS_PATH) == 2
        assert sim.requests.count(CHECK_JWT_PATH) == 3  # first, the refused re-check, the new token


async def test_a_401_that_check_jwt_contradicts_needs_no_new_token(tmp_path: Path) -> None:
    async with simulator() as sim:
        async with open_gateway(auto_config(sim), state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
            sim.faults.add(Fault(kind=FaultKind.STATUS, status=401, paths=(READINGS,), count=1))
            assert await gateway.get(READINGS)
        assert sim.cloud.count(TOKENS_PATH) == 1
        assert sim.requests.count(CHECK_JWT_PATH) == 2


async def test_cloud_down_keeps_valid_cached_token_and_backs_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with simulator() as sim:
        config = auto_config(sim)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
        sim.cloud.configure(mode="down")
        logins_before = sim.cloud.count(LOGIN_PATH)
        with caplog.at_level(logging.WARNING):
            async with open_gateway(config, state_dir=tmp_path, clock=days_ahead(360)) as gateway:
                for _ in range(5):
                    assert await gateway.get(READINGS)
        assert sim.cloud.count(LOGIN_PATH) == logins_before + 1  # one attempt, then back-off
        assert "keeping the cached owner token" in caplog.text
        assert "next attempt in 60 s" in caplog.text


async def test_mfa_account_gets_a_clear_error(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = auto_config(sim, username="mfa@example.com", password="mfa-password")
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            with pytest.raises(CloudMfaError, match="multi-factor authentication"):
                await gateway.get(READINGS)
        assert not token_cache_path(tmp_path, sim.host).exists()


async def test_wrong_password_is_a_credentials_error(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = auto_config(sim, password="not-the-password")
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            with pytest.raises(CloudCredentialsError, match=r"gateway\.username / gateway\.password") as err:
                await gateway.get(READINGS)
        assert "not-the-password" not in str(err.value)
        assert sim.cloud.count(TOKENS_PATH) == 0


async def test_error_text_instead_of_token_keeps_the_old_one(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = auto_config(sim)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
        cached = token_cache_path(tmp_path, sim.host).read_text()
        sim.cloud.configure(mode="error_text")
        async with open_gateway(config, state_dir=tmp_path, clock=days_ahead(360)) as gateway:
            assert await gateway.get(READINGS)
        assert sim.cloud.count(TOKENS_PATH) == 2
        assert token_cache_path(tmp_path, sim.host).read_text() == cached


async def test_error_text_without_any_token_is_a_cloud_error(tmp_path: Path) -> None:
    async with simulator() as sim:
        sim.cloud.configure(mode="error_text")
        async with open_gateway(auto_config(sim), state_dir=tmp_path) as gateway:
            with pytest.raises(CloudError, match="answered 200 without a token"):
                await gateway.get(READINGS)


async def test_manual_token_near_expiry_warns_and_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with simulator() as sim:
        config = manual_config(sim, sim.issue_token(lifetime_s=10 * 86_400))
        with caplog.at_level(logging.WARNING):
            async with open_gateway(config, state_dir=tmp_path) as gateway:
                assert await gateway.get(READINGS)
                assert await gateway.get(READINGS)
        warnings = [r for r in caplog.records if "get a new token from Enlighten" in r.getMessage()]
        assert len(warnings) == 1  # once a day, not once a read
        assert "days left" in warnings[0].getMessage()


async def test_expired_manual_token_is_a_clear_error(tmp_path: Path) -> None:
    async with simulator() as sim:
        config = manual_config(sim, sim.issue_token(lifetime_s=86_400))
        async with open_gateway(config, state_dir=tmp_path, clock=days_ahead(2)) as gateway:
            with pytest.raises(TokenExpiredError, match=r"manual token .* expired on"):
                await gateway.get(READINGS)
        assert sim.requests.count(READINGS) == 0


async def test_no_flow_logs_the_password_or_a_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    tokens: set[str] = set()
    async with simulator() as sim:
        config = auto_config(sim)
        async with open_gateway(config, state_dir=tmp_path) as gateway:
            await gateway.get(READINGS)
            tokens.add(token_cache_path(tmp_path, sim.host).read_text())
            sim.revoke_tokens()
            await gateway.get(READINGS)
            tokens.add(token_cache_path(tmp_path, sim.host).read_text())
        sim.cloud.configure(mode="down")
        async with open_gateway(config, state_dir=tmp_path, clock=days_ahead(360)) as gateway:
            await gateway.get(READINGS)
        for bad in (
            auto_config(sim, password="wrong-secret-pw"),
            auto_config(sim, username="mfa@example.com"),
        ):
            sim.cloud.configure(mode="ok")
            async with open_gateway(bad, state_dir=tmp_path / "other") as gateway:
                try:
                    await gateway.get(READINGS)
                except CloudError as err:
                    errors.append(str(err))
        manual = sim.issue_token(lifetime_s=86_400)
        tokens.add(manual)
        async with open_gateway(manual_config(sim, manual), state_dir=tmp_path, clock=days_ahead(1.5)) as gw:
            try:
                await gw.get(READINGS)
            except TokenExpiredError as err:
                errors.append(str(err))
    assert len(errors) == 3
    assert len(tokens) == 3
    text = caplog.text + "\n".join(errors)
    assert "token" in caplog.text  # the flows did log about tokens
    for secret in (OWNER_PASSWORD, "wrong-secret-pw", "mfa-password", *tokens):
        assert secret not in text
        assert secret.split(".")[-1] not in text  # not even the signature part
