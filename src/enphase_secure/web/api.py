"""REST API served by the daemon on ``[web].listen``: snapshot, status and the controller."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web

from ..energy.snapshot import Snapshot
from ..errors import StorageError, UnknownHistoryFieldError
from ..outputs.bus import Update
from ..storage import Series
from .connections import ConnectionGuard, ConnectionLimits
from .dashboard import add_dashboard_routes
from .history_query import bad_request, parse_history_query
from .metrics import add_metrics_route
from .openapi import CONTROL_MODES, add_openapi_routes, error_body
from .security import ApiSecurity
from .stream import EventStream, add_stream_route


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


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    return web.Response(status=status, text=error_body(message, field), content_type="application/json")


async def _set_control(request: web.Request) -> web.Response:
    stage = request.match_info["stage"]
    modes = " | ".join(f'"{m}"' for m in CONTROL_MODES)
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return _error(400, f'body must be JSON: {{"mode": {modes}}}', "body")
    mode = body.get("mode") if isinstance(body, dict) else None
    if not isinstance(mode, str):
        return _error(400, f'field "mode" missing: {modes}', "mode")
    view = request.app[VIEW_KEY]
    try:
        await view.set_control_mode(stage, mode)
    except KeyError:
        return _error(404, f"no stage named {stage!r}", "stage")
    except ValueError as err:
        return _error(400, str(err), "mode")
    return web.json_response(view.control_view())


async def _history(request: web.Request) -> web.Response:
    """GET /api/history?fields=a,b&start=ISO&end=ISO&resolution=auto|raw|1min|15min|1day"""
    query = parse_history_query(request)
    try:
        series = await request.app[VIEW_KEY].history(query.fields, query.start, query.end, query.resolution)
    except UnknownHistoryFieldError as err:
        raise bad_request(f"fields: {err}", "fields") from None
    except (StorageError, ValueError) as err:
        raise bad_request(str(err), "start" if isinstance(err, ValueError) else None) from None
    body = await asyncio.to_thread(lambda: json.dumps(series.to_json()))
    return web.Response(text=body, content_type="application/json")


def create_app(
    view: DaemonView,
    *,
    security: ApiSecurity | None = None,
    connections: ConnectionGuard | None = None,
    stream: EventStream | None = None,
) -> web.Application:
    """``security`` None: no token, every write refused; ``stream``: the dashboard's SSE."""
    guard = connections or ConnectionGuard(ConnectionLimits())
    app = web.Application(
        middlewares=[(security or ApiSecurity()).middleware, guard.middleware],
        client_max_size=guard.limits.max_body_bytes,
    )
    app[VIEW_KEY] = view
    add_openapi_routes(app)
    add_dashboard_routes(app)
    if stream is not None:
        add_stream_route(app, stream)
    app.router.add_get("/api/snapshot", _snapshot)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/control", _control)
    app.router.add_get("/api/history", _history)
    app.router.add_post("/api/control/{stage}", _set_control)
    add_metrics_route(app, view)
    return app
