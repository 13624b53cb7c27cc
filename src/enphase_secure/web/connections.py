"""Bounds on what HTTP clients may hold: connections, time to send a request, body size (issue 10).

Beyond ``max_connections``, the oldest connection not serving a request is closed to make room (or the
new one, when all are busy), without a log line: a flood of half-open sockets must neither starve the
daemon of file descriptors nor fill the log, and a real client arriving after it is still served. A
connection that has not sent a whole request head within ``header_timeout_s`` (after it opened or
after its previous response) is closed; a body not received within ``body_timeout_s`` gets 408.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import resource
import time
from dataclasses import dataclass
from typing import cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from .security import Handler


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 64
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    max_body_bytes: int = 64 * 1024
    keepalive_s: float = 15.0


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.Transport, transport).abort()


class ConnectionGuard:
    """Give ``middleware`` to the app and ``protocol_factory`` to ``loop.create_server``."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0
        self._opened: dict[RequestHandler, float] = {}  # oldest first: monotonic time of the accept
        self._idle_since: dict[RequestHandler, float] = {}  # monotonic end of the latest response
        self._timers: set[RequestHandler] = set()  # connections whose header timer is pending
        self._busy: set[RequestHandler] = set()

    def protocol_factory(self, server: web.Server) -> asyncio.Protocol | RequestHandler:
        """At the limit, the oldest connection not serving a request makes room; if none, refused."""
        live = self._live()
        if len(live) >= self.limits.max_connections:
            idle = next((h for h in live if h not in self._busy), None)
            if idle is None:
                self.refused += 1
                return _Refused()
            self.evicted += 1
            self._close(idle)
        handler = server()
        self._opened[handler] = time.monotonic()
        self._arm(handler)
        return handler

    def _live(self) -> list[RequestHandler]:
        """Open connections, oldest first (one accepted in this loop turn is not made yet: not counted)."""
        now = time.monotonic()
        live = []
        for handler, opened in list(self._opened.items()):
            transport = handler.transport
            if transport is not None and not transport.is_closing():
                live.append(handler)
            elif now - opened > self.limits.header_timeout_s:
                del self._opened[handler]
        return live

    def _close(self, handler: RequestHandler) -> None:
        self._opened.pop(handler, None)
        self._idle_since.pop(handler, None)
        transport = handler.transport
        if transport is not None and not transport.is_closing():
            handler.force_close()
            transport.abort()

    def _arm(self, handler: RequestHandler) -> None:
        """The header timeout runs from now; one timer per connection, not one per response (a client
        polling every second would keep ten in the event loop and wake it ten times as often)."""
        self._idle_since[handler] = time.monotonic()
        if handler not in self._timers:
            self._start_timer(handler, self.limits.header_timeout_s)

    def _start_timer(self, handler: RequestHandler, delay_s: float) -> None:
        self._timers.add(handler)
        asyncio.get_running_loop().call_later(delay_s, self._expire, handler)

    def _expire(self, handler: RequestHandler) -> None:
        self._timers.discard(handler)
        if handler in self._busy:
            return  # serving a request: its end arms the timer again
        idle_s = time.monotonic() - self._idle_since.get(handler, -math.inf)
        if idle_s < self.limits.header_timeout_s:  # a response since: the timeout runs from it
            self._start_timer(handler, self.limits.header_timeout_s - idle_s)
            return
        if handler.transport is not None and not handler.transport.is_closing():
            self.timed_out += 1
        self._close(handler)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        protocol = request.protocol
        self._busy.add(protocol)
        try:
            if request.body_exists:
                try:
                    await asyncio.wait_for(request.read(), self.limits.body_timeout_s)
                except TimeoutError:
                    response = web.json_response({"error": "request body not received in time"}, status=408)
                    response.force_close()
                    return response
            return await handler(request)
        finally:
            self._busy.discard(protocol)
            self._arm(protocol)

    def status(self) -> dict[str, int]:
        return {
            "open": len(self._live()),
            "max": self.limits.max_connections,
            "refused": self.refused,
            "evicted": self.evicted,
            "timed_out": self.timed_out,
        }


class GuardedSite(web.TCPSite):
    """A TCP site whose connections go through ``guard``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard) -> None:
        super().__init__(runner, host, port, backlog=guard.limits.max_connections)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert isinstance(server, web.Server)
        guard = self._guard
        self._server = await asyncio.get_running_loop().create_server(
            lambda: guard.protocol_factory(server), self._host, self._port, backlog=self._backlog
        )
        self._bound_port = self._server.sockets[0].getsockname()[1]


def raise_open_files_limit() -> None:
    """Use the hard limit of open files as the soft one (systemd's LimitNOFILE sets both)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
