"""Fixtures for the actions tests: a recording HTTP server on loopback (Mosquitto: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from actions_loopback import Received, Recorder, free_port
from aiohttp import web
from aiohttp.test_utils import TestServer


@pytest.fixture
async def http_server() -> AsyncIterator[Recorder]:
    recorder = Recorder()

    async def handle(request: web.Request) -> web.StreamResponse:
        recorder.requests.append(
            Received(
                request.method,
                request.path,
                request.query_string,
                dict(request.headers),
                await request.read(),
            )
        )
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
