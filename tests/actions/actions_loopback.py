"""Helpers shared by the actions tests and their fixtures (conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.test_utils import TestServer

from enphase_secure.simulator.tls import self_signed_certificate
from loopback import free_port


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


@contextlib.asynccontextmanager
async def recording_server() -> AsyncIterator[Recorder]:
    """An HTTP server on 127.0.0.1 recording every request; it answers ``answer`` (default: 200 ok)."""
    recorder = Recorder()

    async def handle(request: web.Request) -> web.StreamResponse:
        received = Received(
            request.method, request.path, request.query_string, dict(request.headers), await request.read()
        )
        recorder.requests.append(received)
        if recorder.answer is not None:
            return await recorder.answer(request)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    recorder.url = f"http://127.0.0.1:{server.port}"
    try:
        yield recorder
    finally:
        await server.close()


def loopback_certificate() -> tuple[bytes, bytes]:
    """A self-signed (certificate PEM, key PEM) valid for 127.0.0.1, as a device's own would be."""
    return self_signed_certificate("127.0.0.1", now=datetime.now(UTC), ip_address="127.0.0.1")
