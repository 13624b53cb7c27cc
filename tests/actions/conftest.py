"""Fixtures for the actions tests: a real Mosquitto broker, and a recording HTTP server, on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from actions_loopback import Recorder, free_port, recording_server

from enphase_secure.actions.mqtt import MqttBroker

MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto")


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MqttBroker]:
    """A Mosquitto broker on a free 127.0.0.1 port (Debian package ``mosquitto``)."""
    executable = next((p for p in map(shutil.which, MOSQUITTO_CANDIDATES) if p), None)
    if executable is None:
        pytest.fail("mosquitto is not installed (apt-get install -y mosquitto)")
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    log = (tmp_path / "mosquitto.log").open("w")
    process = subprocess.Popen([executable, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not start: {(tmp_path / 'mosquitto.log').read_text()}")
                time.sleep(0.02)
        yield MqttBroker(host="127.0.0.1", port=port)
    finally:
        process.terminate()
        process.wait(timeout=5)
        log.close()


@pytest.fixture
async def http_server() -> AsyncIterator[Recorder]:
    async with recording_server() as recorder:
        yield recorder
