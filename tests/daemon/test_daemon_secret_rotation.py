"""A secret rewritten in its *_file (the config file untouched) takes effect at SIGHUP: the MQTT password
and the API token, against a real Mosquitto and the daemon's real web server; the values never logged."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from daemon_helpers import running, wait_until
from enphase_secure.config import load_config
from enphase_secure.daemon.reload import ConfigWatcher
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator
from loopback import free_port
from mqtt_broker import Mosquitto

OLD_PASSWORD, NEW_PASSWORD = "old-pass-4471", "new-pass-9034"
OLD_TOKEN, NEW_TOKEN = "api-token-old-5512", "api-token-new-7720"


def _config_text(host: str, token: str, state_dir: Path, broker_port: int, web_port: int, files: Path) -> str:
    return (
        f'[gateway]\nhost = "{host}"\ntoken_mode = "manual"\ntoken = "{token}"\n'
        f'[site]\ntimezone = "Europe/Paris"\n[storage]\nstate_dir = "{state_dir}"\n'
        f'[web]\nlisten = "127.0.0.1:{web_port}"\ntoken_file = "{files / "api-token"}"\n'
        f'[publish.mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\nusername = "enphase"\n'
        f'password_file = "{files / "mqtt-password"}"\n'
    )


async def _write_status(url: str, token: str) -> int:
    """The answer to a write (a stage's mode) with this bearer token: 401 for a wrong token, else 404."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/api/control/none", json={"mode": "auto"}, headers=headers) as resp,
    ):
        return resp.status


async def test_sighup_rereads_rotated_secret_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broker = Mosquitto(tmp_path, users={"enphase": NEW_PASSWORD})
    broker.start()
    (tmp_path / "mqtt-password").write_text(OLD_PASSWORD + "\n")
    (tmp_path / "api-token").write_text(OLD_TOKEN + "\n")
    source = load_scenario_source("single-phase", speed=30)
    try:
        async with run_simulator(source) as sim:
            file = tmp_path / "config.toml"
            file.write_text(
                _config_text(
                    sim.host, sim.issue_token(), tmp_path / "state", broker.port, free_port(), tmp_path
                )
            )
            config = load_config(file)
            with caplog.at_level(logging.INFO):
                async with running(config, clock=source.now) as daemon:
                    watcher = ConfigWatcher(path=file, current=config, apply=daemon.apply_config, poll_s=3600)
                    watcher.install_sighup()
                    task = asyncio.create_task(watcher.run())
                    try:
                        mqtt = lambda: daemon.status()["outputs"]["mqtt"]  # noqa: E731
                        await wait_until(lambda: "refused the username/password" in caplog.text, timeout=20)
                        assert mqtt()["connected"] is False
                        url = daemon.status()["api"]["url"]
                        assert await _write_status(url, NEW_TOKEN) == 401

                        (tmp_path / "mqtt-password").write_text(NEW_PASSWORD + "\n")
                        (tmp_path / "api-token").write_text(NEW_TOKEN + "\n")
                        os.kill(os.getpid(), signal.SIGHUP)

                        await wait_until(lambda: mqtt().get("connected") is True, timeout=20)
                        url = daemon.status()["api"]["url"]
                        assert await _write_status(url, OLD_TOKEN) == 401
                        assert await _write_status(url, NEW_TOKEN) == 404  # past the token check
                        assert watcher.last_error is None
                    finally:
                        task.cancel()
                        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
    finally:
        broker.stop()
    assert "changed: web.token, publish.mqtt.password" in caplog.text
    for secret in (OLD_PASSWORD, NEW_PASSWORD, OLD_TOKEN, NEW_TOKEN):
        assert secret not in caplog.text
