"""REST API served by the daemon on ``[web].listen``: snapshot, status and the controller."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from ..energy.snapshot import Snapshot
from ..errors import StorageError
from ..outputs.bus import Update
from ..storage import Series
from .connections import ConnectionGuard, ConnectionLimits
from .history_query import bad_request, parse_history_query
from .metrics import add_metrics_route
from .security import ApiSecurity


class DaemonView(Protocol):
    """What the web layer may read from the running daemon."""

    def latest_snapshot(self) -> Snapshot | None: ...

    def latest_update(self) -> Update | None:
        """The latest snapshot with the service's health and the controller's view."""
        ...

    def status(self) -> dict[str, Any]:
        """Gateway, firmware, token expiry, last poll, errors: JSON-ready, no secrets."""
        ...

    def control_view(self) -> dict[str, Any]:
        """Controller stages, state, timers, last decisions and action outcomes."""
        ...

    async def set_control_mode(self, stage: str, mode: str) -> None:
        """KeyError for an unknown stage, ValueError for an unknown mode."""
        ...

    async def history(
        self, fields: list[str], start: datetime | None, end: datetime | None, resolution: str
    ) -> Series:
        """Default: the last day (raw: hour) to now. StorageError / ValueError: the caller's mistake."""
        ...


VIEW_KEY = web.AppKey("daemon_view", DaemonView)


async def _snapshot(request: web.Request) -> web.Response:
    snapshot = request.app[VIEW_KEY].latest_snapshot()
    if snapshot is None:
        return web.json_response({"error": "no reading from the gateway yet"}, status=503)
    return web.json_response(snapshot.to_json())


async def _status(request: web.Request) -> web.Response:
    return web.json_response(request.app[VIEW_KEY].status())


async def _control(request: web.Request) -> web.Response:
    return web.json_response(request.app[VIEW_KEY].control_view())


async def _set_control(request: web.Request) -> web.Response:
    stage = request.match_info["stage"]
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return web.json_response({"error": 'body must be JSON: {"mode": "on" | "off" | "auto"}'}, status=400)
    mode = body.get("mode") if isinstance(body, dict) else None
    if not isinstance(mode, str):
        return web.json_response({"error": 'field "mode" missing: "on" | "off" | "auto"'}, status=400)
    view = request.app[VIEW_KEY]
    try:
        await view.set_control_mode(stage, mode)
    except KeyError:
        return web.json_response({"error": f"no stage named {stage!r}"}, status=404)
    except ValueError as err:
        return web.json_response({"error": str(err)}, status=400)
    return web.json_response(view.control_view())


async def _history(request: web.Request) -> web.Response:
    """GET /api/history?fields=a,b&start=ISO&end=ISO&resolution=auto|raw|1min|15min|1day"""
    query = parse_history_query(request)
    try:
        series = await request.app[VIEW_KEY].history(query.fields, query.start, query.end, query.resolution)
    except (StorageError, ValueError) as err:
        raise bad_request(str(err)) from None
    body = await asyncio.to_thread(lambda: json.dumps(series.to_json()))
    return web.Response(text=body, content_type="application/json")


def create_app(
    view: DaemonView, *, security: ApiSecurity | None = None, connections: ConnectionGuard | None = None
) -> web.Application:
    """``security`` None: no token, every write refused."""
    guard = connections or ConnectionGuard(ConnectionLimits())
    app = web.Application(
        middlewares=[(security or ApiSecurity()).middleware, guard.middleware],
        client_max_size=guard.limits.max_body_bytes,
    )
    app[VIEW_KEY] = view
    app.router.add_get("/api/snapshot", _snapshot)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/control", _control)
    app.router.add_get("/api/history", _history)
    app.router.add_post("/api/control/{stage}", _set_control)
    add_metrics_route(app, view)
    return app
