"""Bounds on what HTTP clients may hold: connections, time to send a request, body size (issue 10).

A connection beyond ``max_connections`` is closed as soon as it is accepted, without a log line (a
flood of half-open sockets must neither starve the daemon of file descriptors nor fill the log). A
connection that has not sent a whole request head within ``header_timeout_s`` (after it opened or
after its previous response) is closed; a body not received within ``body_timeout_s`` gets 408.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
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
        self.timed_out = 0
        self._server: web.Server | None = None
        # requests seen per open connection; a connection is forgotten when its timer finds it closed
        self._requests: dict[RequestHandler, int] = {}
        self._busy: set[RequestHandler] = set()

    def protocol_factory(self, server: web.Server) -> asyncio.Protocol | RequestHandler:
        self._server = server
        if len(server.connections) >= self.limits.max_connections:
            self.refused += 1
            return _Refused()
        handler = server()
        self._requests[handler] = 0
        self._arm(handler)
        return handler

    def _arm(self, handler: RequestHandler) -> None:
        seen = self._requests.get(handler, 0)
        asyncio.get_running_loop().call_later(self.limits.header_timeout_s, self._expire, handler, seen)

    def _expire(self, handler: RequestHandler, seen: int) -> None:
        if handler in self._busy or self._requests.get(handler) != seen:
            return
        del self._requests[handler]
        transport = handler.transport
        if transport is None or transport.is_closing():
            return
        self.timed_out += 1
        handler.force_close()
        transport.abort()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        protocol = request.protocol
        self._requests[protocol] = self._requests.get(protocol, 0) + 1
        self._busy.add(protocol)
        try:
            if request.body_exists:
                try:
                    await asyncio.wait_for(request.read(), self.limits.body_timeout_s)
                except TimeoutError:
                    protocol.force_close()
                    return web.json_response({"error": "request body not received in time"}, status=408)
            return await handler(request)
        finally:
            self._busy.discard(protocol)
            self._arm(protocol)

    def status(self) -> dict[str, int]:
        return {
            "open": len(self._server.connections) if self._server else 0,
            "max": self.limits.max_connections,
            "refused": self.refused,
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
