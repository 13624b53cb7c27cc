"""GET /api/stream: the live updates as Server-Sent Events, an output on the bus (DESIGN.md §6).

Each update is encoded once and handed to every connected client's one-item slot: a client that
reads slowly gets the latest update, never a queue. The first event is the latest update at connect
time, so a (re)connecting page shows figures at once; ``retry`` makes EventSource reconnect after 1 s.
With no client connected an update is only kept, not encoded (most ticks of a daemon nobody watches).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from ..outputs.bus import Update

RETRY_MS = 1000
KEEPALIVE_S = 15.0
MAX_CLIENTS = 32


class _Client:
    __slots__ = ("closed", "event", "wake")

    def __init__(self) -> None:
        self.event: bytes | None = None
        self.wake = asyncio.Event()
        self.closed = False

    def offer(self, event: bytes) -> None:
        self.event = event
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    async def next(self, timeout_s: float) -> bytes | None:
        """The latest event not sent yet; None after ``timeout_s`` without one or once closed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout_s)
        self.wake.clear()
        event, self.event = self.event, None
        return None if self.closed else event


def encode_event(update: Update) -> bytes:
    """One SSE event: ``id`` is the snapshot time, ``data`` the update document on one line."""
    data = json.dumps(update.document, separators=(",", ":"), allow_nan=False)
    return f"id: {update.snapshot.time.isoformat()}\nevent: update\ndata: {data}\n\n".encode()


class EventStream:
    """The dashboard's output: fans each update out to the connected SSE clients."""

    name = "dashboard"

    def __init__(self, *, max_clients: int = MAX_CLIENTS) -> None:
        self._clients: set[_Client] = set()
        self._latest: Update | None = None
        self._latest_event: bytes | None = None  # the latest update encoded, once a client needs it
        self._max_clients = max_clients
        self._sent = 0

    async def start(self) -> None:
        """Nothing to connect: clients come to the web server."""

    async def stop(self) -> None:
        """Clients stay connected across a restart of the bus; the web server's shutdown ends them."""

    async def publish(self, update: Update) -> None:
        self._latest, self._latest_event = update, None
        if not self._clients:
            return
        event = self._encoded(update)
        for client in self._clients:
            client.offer(event)
        self._sent += len(self._clients)

    def _encoded(self, latest: Update) -> bytes:
        if self._latest_event is None:
            self._latest_event = encode_event(latest)
        return self._latest_event

    def status(self) -> dict[str, Any]:
        return {"clients": len(self._clients), "max_clients": self._max_clients, "events_sent": self._sent}

    @contextlib.contextmanager
    def client(self) -> Iterator[_Client]:
        """A new client's slot, primed with the latest event; web.HTTPServiceUnavailable when full."""
        if len(self._clients) >= self._max_clients:
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": f"too many live streams open (at most {self._max_clients})"}),
                content_type="application/json",
            )
        client = _Client()
        if self._latest is not None:
            client.offer(self._encoded(self._latest))
        self._clients.add(client)
        try:
            yield client
        finally:
            self._clients.discard(client)


STREAM_KEY = web.AppKey("event_stream", EventStream)
_OPEN_KEY = web.AppKey("open_streams", set[_Client])


async def _stream(request: web.Request) -> web.StreamResponse:
    with request.app[STREAM_KEY].client() as client:
        open_clients = request.app[_OPEN_KEY]
        open_clients.add(client)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        try:
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            while True:
                event = await client.next(KEEPALIVE_S)
                if client.closed:
                    break
                await response.write(event if event is not None else b": keepalive\n\n")
        except ConnectionError:
            pass  # the page went away
        finally:
            open_clients.discard(client)
    return response


async def _close_streams(app: web.Application) -> None:
    clients: set[_Client] = app[_OPEN_KEY]
    for client in tuple(clients):
        client.close()


def add_stream_route(app: web.Application, stream: EventStream) -> None:
    app[STREAM_KEY] = stream
    app[_OPEN_KEY] = set()
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/api/stream", _stream)
