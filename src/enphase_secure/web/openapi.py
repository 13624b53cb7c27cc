"""The API described: GET /api/openapi.json (OpenAPI 3.1) and GET /api/docs (the routes as a page).

Every route the app serves is listed here; a test checks the two agree. Errors on /api/ paths are
JSON ``{"error": message, "field": name or null}`` (the ``json_errors`` middleware turns aiohttp's
own 404/405 pages into that shape too).
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .. import __version__

HISTORY_RESOLUTIONS = ("auto", "raw", "1min", "15min", "1day")
CONTROL_MODES = ("on", "off", "auto")

_ERROR = {"$ref": "#/components/schemas/Error"}
_OBJECT = {"type": "object"}


def error_body(message: str, field: str | None = None) -> str:
    return json.dumps({"error": message, "field": field})


def _json(description: str, schema: dict[str, Any] = _OBJECT) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    texts = {
        400: "bad parameter (the field is named)",
        401: "API token missing or wrong (writes; reads too when the listener is not loopback)",
        403: "request from another site refused",
        404: "not found",
        408: "request not sent in time",
        413: "body too large",
        415: "body is not JSON",
        503: "not available yet",
    }
    return {str(code): _json(texts[code], _ERROR) for code in codes}


def _query(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


PATHS: dict[str, dict[str, Any]] = {
    "/": {"get": {"summary": "The dashboard (HTML page)", "responses": {"200": {"description": "page"}}}},
    "/static/{path}": {
        "get": {
            "summary": "The dashboard's script, styles and the vendored uPlot",
            "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "file"}, **_errors(404)},
        }
    },
    "/api/snapshot": {
        "get": {
            "summary": "The latest snapshot (DESIGN §4 JSON); unknown values null, stale flagged",
            "responses": {"200": _json("snapshot"), **_errors(503)},
        }
    },
    "/api/status": {
        "get": {
            "summary": "Gateway, token expiry, last poll, loops, history and outputs status (no secrets)",
            "responses": {"200": _json("status")},
        }
    },
    "/api/stream": {
        "get": {
            "summary": "Server-Sent Events: one `update` event per snapshot (snapshot + health + control), "
            "latest first; a slow client skips to the newest",
            "responses": {
                "200": {"description": "event stream", "content": {"text/event-stream": {}}},
                **_errors(503),
            },
        }
    },
    "/api/figures": {
        "get": {
            "summary": "The table of figures: path, kind, unit, French and English names, split device",
            "responses": {"200": _json("figures")},
        }
    },
    "/api/history": {
        "get": {
            "summary": "A series of history fields over a time range",
            "parameters": [
                _query("fields", "comma-separated history fields", {"type": "string"}, required=True),
                _query("start", "ISO 8601 time (default: end - 1 day)", {"type": "string"}),
                _query("end", "ISO 8601 time (default: now)", {"type": "string"}),
                _query("resolution", "series resolution", {"enum": list(HISTORY_RESOLUTIONS)}),
            ],
            "responses": {"200": _json("series"), **_errors(400)},
        }
    },
    "/api/control": {
        "get": {
            "summary": "Controller stages: state, reason, timers, last decision and action outcomes",
            "responses": {"200": _json("controller view")},
        }
    },
    "/api/control/{stage}": {
        "post": {
            "summary": "Override one stage: on, off, or back to auto",
            "parameters": [{"name": "stage", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["mode"],
                            "properties": {"mode": {"enum": list(CONTROL_MODES)}},
                        }
                    }
                },
            },
            "responses": {"200": _json("controller view"), **_errors(400, 401, 403, 404, 408, 413, 415)},
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus exposition: the figures table, inverters, stages, the service's health",
            "responses": {"200": {"description": "text exposition", "content": {"text/plain": {}}}},
        }
    },
    "/api/openapi.json": {
        "get": {"summary": "This description", "responses": {"200": _json("OpenAPI 3.1 document")}}
    },
    "/api/docs": {"get": {"summary": "The routes as a page", "responses": {"200": {"description": "page"}}}},
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "enphase-secure", "version": __version__},
        "paths": PATHS,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "field"],
                    "properties": {
                        "error": {"type": "string"},
                        "field": {"type": ["string", "null"], "description": "the parameter at fault"},
                    },
                }
            }
        },
    }


def _docs_page() -> str:
    rows = []
    for path, methods in PATHS.items():
        for method, operation in methods.items():
            params = ", ".join(p["name"] for p in operation.get("parameters", ()) if p["in"] == "query")
            rows.append(
                f"<tr><td>{method.upper()}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(operation['summary'])}</td><td>{html.escape(params)}</td></tr>"
            )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>enphase-secure API</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:.3rem .5rem;text-align:left}</style></head><body>"
        '<h1>enphase-secure API</h1><p>Machine-readable: <a href="/api/openapi.json">/api/openapi.json</a>'
        ' (OpenAPI 3.1). Errors: <code>{"error": "...", "field": "..."}</code>.</p>'
        "<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Query</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )


async def _openapi(_request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def _docs(_request: web.Request) -> web.Response:
    return web.Response(text=_docs_page(), content_type="text/html")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's plain-text 404/405 on /api/ paths answered as the API's JSON error."""
    try:
        return await handler(request)
    except web.HTTPException as err:
        if not request.path.startswith("/api/") or err.content_type == "application/json":
            raise
        if err.status < 400:
            raise
        message = {404: f"no route {request.path}", 405: f"{request.method} not allowed on {request.path}"}
        err.text = error_body(message.get(err.status, err.reason))
        err.content_type = "application/json"
        raise


def add_openapi_routes(app: web.Application) -> None:
    app.middlewares.append(json_errors)
    app.router.add_get("/api/openapi.json", _openapi)
    app.router.add_get("/api/docs", _docs)
