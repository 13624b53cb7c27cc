"""Helpers shared by the actions tests and their fixtures (conftest.py)."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from enphase_secure.simulator.tls import self_signed_certificate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """What the test server received, and what it answers (replace ``answer`` to change it)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None


def loopback_certificate() -> tuple[bytes, bytes]:
    """A self-signed (certificate PEM, key PEM) valid for 127.0.0.1, as a device's own would be."""
    return self_signed_certificate("127.0.0.1", now=datetime.now(UTC), ip_address="127.0.0.1")
