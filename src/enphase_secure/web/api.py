"""REST API served by the daemon on ``[web].listen``: snapshot, status and the controller."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from ..energy.snapshot import Snapshot
from ..errors import StorageError, UnknownHistoryFieldError
from ..storage import Series
from .dashboard import add_dashboard_routes
from .openapi import CONTROL_MODES, HISTORY_RESOLUTIONS, add_openapi_routes, error_body
from .stream import EventStream, add_stream_route


class DaemonView(Protocol):
    """What the web layer may read from the running daemon."""

    def latest_snapshot(self) -> Snapshot | None: ...

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
        """Default: the last day to now. StorageError / ValueError: the caller's mistake."""
        ...


VIEW_KEY = web.AppKey("daemon_view", DaemonView)


async def _snapshot(request: web.Request) -> web.Response:
    snapshot = request.app[VIEW_KEY].latest_snapshot()
    if snapshot is None:
        return _error(503, "no reading from the gateway yet")
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
    except ValueError:
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


def _bad_request(message: str, field: str | None) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=error_body(message, field), content_type="application/json")


def _time_param(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_request(f"{name}: {text!r} is not an ISO 8601 time", name) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _history(request: web.Request) -> web.Response:
    """GET /api/history?fields=a,b&start=ISO&end=ISO&resolution=auto|raw|1min|15min|1day"""
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    if not fields:
        raise _bad_request("fields: give one or more history fields, comma separated", "fields")
    start, end = _time_param(request, "start"), _time_param(request, "end")
    resolution = request.query.get("resolution", "auto")
    if resolution not in HISTORY_RESOLUTIONS:
        raise _bad_request(
            f"resolution: {resolution!r} is not one of {', '.join(HISTORY_RESOLUTIONS)}", "resolution"
        )
    if start is not None and end is not None and start >= end:
        raise _bad_request("start: must be before end", "start")
    try:
        series = await request.app[VIEW_KEY].history(fields, start, end, resolution)
    except UnknownHistoryFieldError as err:
        raise _bad_request(f"fields: {err}", "fields") from None
    except (StorageError, ValueError) as err:
        raise _bad_request(str(err), "start" if isinstance(err, ValueError) else None) from None
    return web.json_response(series.to_json())


def create_app(view: DaemonView, *, stream: EventStream | None = None) -> web.Application:
    app = web.Application()
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
    return app
