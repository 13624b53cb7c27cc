"""Fixtures for the actions tests: a recording HTTP server on loopback (Mosquitto: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from actions_loopback import Recorder, recording_server


@pytest.fixture
async def http_server() -> AsyncIterator[Recorder]:
    async with recording_server() as recorder:
        yield recorder
