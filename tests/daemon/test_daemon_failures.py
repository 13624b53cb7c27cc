"""The daemon facing a user's mistakes: wrong password, unusable token file, taken port."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from daemon_helpers import daemon_config, get_json, running, wait_until
from enphase_secure.config import parse_config
from enphase_secure.errors import ConfigError
from enphase_secure.simulator.cloud import LOGIN_PATH
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


async def test_wrong_password_does_not_hammer_the_cloud(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = load_scenario_source("single-phase")
    async with run_simulator(source) as sim:
        config = parse_config(
            {
                "gateway": {
                    "host": sim.host,
                    "token_mode": "auto",
                    "username": "owner@example.com",
                    "password": "wrong-password-123",
                    "enlighten_url": sim.cloud_url,
                    "entrez_url": sim.cloud_url,
                },
                "storage": {"state_dir": str(tmp_path)},
                "web": {"listen": "127.0.0.1:0"},
            }
        )
        with caplog.at_level(logging.DEBUG):
            async with running(config, clock=source.now) as daemon:
                await wait_until(lambda: daemon.status()["gateway"]["error"] is not None)
                await asyncio.sleep(4)  # the daemon retries its gateway loop several times meanwhile
                assert sim.cloud.count(LOGIN_PATH) == 1  # the token manager's backoff (60 s) holds
                assert "gateway.password" in daemon.status()["gateway"]["error"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "not available" in r.message]
    assert len(warnings) == 1  # once per state change, not per retry
    assert "wrong-password-123" not in caplog.text


async def test_unusable_token_file_is_reported_not_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = load_scenario_source("single-phase")
    async with run_simulator(source) as sim:
        bad = tmp_path / "token"
        bad.write_text("not-a-jwt")
        config = parse_config(
            {
                "gateway": {"host": sim.host, "token_mode": "manual", "token_file": str(bad)},
                "storage": {"state_dir": str(tmp_path)},
                "web": {"listen": "127.0.0.1:0"},
            }
        )
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: daemon.status()["gateway"]["error"] is not None)
            assert "gateway.token_file" in daemon.status()["gateway"]["error"]
            assert daemon.latest_snapshot() is None  # nothing published rather than fake figures
    assert "unexpected error" not in caplog.text


async def test_taken_port_on_reload_keeps_the_old_api(tmp_path: Path) -> None:
    source = load_scenario_source("single-phase", speed=30)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            async with running(config, clock=source.now) as daemon:
                old_url = daemon.web_url
                moved = config.model_copy(
                    update={"web": config.web.model_copy(update={"listen": f"127.0.0.1:{port}"})}
                )
                with pytest.raises(ConfigError, match=rf"web\.listen '127\.0\.0\.1:{port}'"):
                    await daemon.apply_config(moved)
                assert daemon.web_url == old_url
                assert daemon.config.web.listen == "127.0.0.1:0"
                status, _ = await get_json(f"{old_url}/api/status")
                assert status == 200
