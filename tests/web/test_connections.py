from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from enphase_secure.web.connections import ConnectionGuard, ConnectionLimits, GuardedSite

HEADER_TIMEOUT_S = 1.0


async def _hello(_request: web.Request) -> web.Response:
    return web.Response(text="hello")


@pytest.fixture
async def served() -> AsyncIterator[tuple[ConnectionGuard, str]]:
    guard = ConnectionGuard(ConnectionLimits(header_timeout_s=HEADER_TIMEOUT_S, keepalive_s=60.0))
    app = web.Application(middlewares=[guard.middleware])
    app.router.add_get("/", _hello)
    runner = web.AppRunner(app, keepalive_timeout=60.0, handle_signals=False)
    await runner.setup()
    await GuardedSite(runner, "127.0.0.1", 0, guard).start()
    host, port = runner.addresses[0][:2]
    try:
        yield guard, f"http://{host}:{port}/"
    finally:
        await runner.cleanup()


async def test_polling_client_wakes_the_timer_per_timeout_not_per_response(
    served: tuple[ConnectionGuard, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    guard, url = served
    expiries: list[RequestHandler] = []
    expire = guard._expire

    def counted(handler: RequestHandler) -> None:
        expiries.append(handler)
        expire(handler)

    monkeypatch.setattr(guard, "_expire", counted)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
        for _ in range(25):  # 2.5 s on one keep-alive connection: the timeout runs from each response
            async with http.get(url) as response:
                assert await response.text() == "hello"
            await asyncio.sleep(0.1)
        assert guard.timed_out == 0
        assert 1 <= len(expiries) <= 4  # one timer per connection, re-armed: not 25
        await asyncio.sleep(HEADER_TIMEOUT_S * 1.6)  # idle: closed a header timeout after its last response
        assert guard.timed_out == 1
