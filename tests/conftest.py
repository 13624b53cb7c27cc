"""Shared test fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from enphase_secure.actions.mqtt import MqttBroker
from mqtt_broker import Mosquitto

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
