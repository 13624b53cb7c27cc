"""REST API served by the daemon on ``[web].listen``: ``/api/snapshot`` and ``/api/status``."""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import web

from ..energy.snapshot import Snapshot


class DaemonView(Protocol):
    """What the web layer may read from the running daemon."""

    def latest_snapshot(self) -> Snapshot | None: ...

    def status(self) -> dict[str, Any]:
        """Gateway, firmware, token expiry, last poll, errors: JSON-ready, no secrets."""
        ...


VIEW_KEY = web.AppKey("daemon_view", DaemonView)


async def _snapshot(request: web.Request) -> web.Response:
    snapshot = request.app[VIEW_KEY].latest_snapshot()
    if snapshot is None:
        return web.json_response({"error": "no reading from the gateway yet"}, status=503)
    return web.json_response(snapshot.to_json())


async def _status(request: web.Request) -> web.Response:
    return web.json_response(request.app[VIEW_KEY].status())


def create_app(view: DaemonView) -> web.Application:
    app = web.Application()
    app[VIEW_KEY] = view
    app.router.add_get("/api/snapshot", _snapshot)
    app.router.add_get("/api/status", _status)
    return app
