"""Shared test fixtures."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from enphase_secure.actions.mqtt import MqttBroker

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES_DIR = REPO_ROOT.parent / "shared" / "fixtures" / "gateways"
FIXTURES_ENV = "ENPHASE_FIXTURES_DIR"


def capture_root() -> Path | None:
    """The folder of real gateway captures, or None when this clone has none and none was asked for.

    When ENPHASE_FIXTURES_DIR is set (CI sets it) the folder must exist: the conformance suite then
    fails instead of skipping.
    """
    configured = os.environ.get(FIXTURES_ENV)
    if configured:
        return Path(configured)
    return DEFAULT_FIXTURES_DIR if DEFAULT_FIXTURES_DIR.is_dir() else None


def capture_folders() -> list[Path]:
    root = capture_root()
    if root is None or not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir())


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    root = capture_root()
    if root is None:
        pytest.skip(f"no gateway captures: set {FIXTURES_ENV} or clone beside ../shared")
    if not root.is_dir():
        pytest.fail(f"{FIXTURES_ENV}={root} is not a folder of gateway captures")
    return root


MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto")


class Mosquitto:
    """A Mosquitto broker on a free 127.0.0.1 port (Debian package ``mosquitto``), stoppable and
    restartable on the same port (to test a broker that goes away and comes back)."""

    def __init__(self, folder: Path) -> None:
        executable = next((p for p in map(shutil.which, MOSQUITTO_CANDIDATES) if p), None)
        if executable is None:
            pytest.fail("mosquitto is not installed (apt-get install -y mosquitto)")
        self._executable = executable
        self._folder = folder
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.broker = MqttBroker(host="127.0.0.1", port=self.port)
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self._folder / "mosquitto.conf"
        config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        log_path = self._folder / "mosquitto.log"
        with log_path.open("a") as log:
            self._process = subprocess.Popen(
                [self._executable, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not start: {log_path.read_text()}")
                time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
            self._process = None


@pytest.fixture
def mosquitto_server(tmp_path: Path) -> Iterator[Mosquitto]:
    server = Mosquitto(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mosquitto(mosquitto_server: Mosquitto) -> MqttBroker:
    """The broker's address, for tests that only publish and subscribe."""
    return mosquitto_server.broker


SHARED_DISCOVERY_OPTIONS = ("state_topic", "availability", "qos")


def ha_entities(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Device-based discovery configs (topic -> payload) as Home Assistant reads them: unique id ->
    the component with the device's shared options it does not override, its device and topic."""
    entities = {}
    for topic, config in configs.items():
        shared = {k: config[k] for k in SHARED_DISCOVERY_OPTIONS if k in config}
        for object_id, component in config.get("components", {}).items():
            if len(component) == 1:  # platform alone: a component being removed
                continue
            entities[component["unique_id"]] = {
                **shared,
                **component,
                "device": config["device"],
                "origin": config["origin"],
                "config_topic": topic,
                "object_id": object_id,
            }
    return entities
