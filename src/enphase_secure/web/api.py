"""REST API served by the daemon on ``[web].listen``: snapshot, status and the controller."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import web

from ..energy.snapshot import Snapshot
from ..errors import StorageError
from ..outputs.bus import Update
from ..storage import Series
from .metrics import add_metrics_route


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
        """Default: the last day to now. StorageError / ValueError: the caller's mistake."""
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
    except ValueError:
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


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def _time_param(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _bad_request(f"{name}: {text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _history(request: web.Request) -> web.Response:
    """GET /api/history?fields=a,b&start=ISO&end=ISO&resolution=auto|raw|1min|15min|1day"""
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    if not fields:
        raise _bad_request("fields: give one or more history fields, comma separated")
    start, end = _time_param(request, "start"), _time_param(request, "end")
    try:
        series = await request.app[VIEW_KEY].history(
            fields, start, end, request.query.get("resolution", "auto")
        )
    except (StorageError, ValueError) as err:
        raise _bad_request(str(err)) from None
    return web.json_response(series.to_json())


def create_app(view: DaemonView) -> web.Application:
    app = web.Application()
    app[VIEW_KEY] = view
    app.router.add_get("/api/snapshot", _snapshot)
    app.router.add_get("/api/status", _status)
    app.router.add_get("/api/control", _control)
    app.router.add_get("/api/history", _history)
    app.router.add_post("/api/control/{stage}", _set_control)
    add_metrics_route(app, view)
    return app
