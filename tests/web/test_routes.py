"""Every route: served, described in /api/openapi.json, and answering bad parameters with a JSON error
that names the field at fault."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from test_api import _snapshot

from enphase_secure.outputs.figures import INVERTER_FIGURES, SITE_FIGURES
from enphase_secure.storage import History, Series, open_history
from enphase_secure.web.api import create_app
from enphase_secure.web.dashboard import STATIC_DIR
from enphase_secure.web.openapi import PATHS
from enphase_secure.web.security import ApiSecurity
from enphase_secure.web.stream import EventStream

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


class _View:
    """The daemon's side, with a real SQLite history and one controller stage."""

    def __init__(self, history: History) -> None:
        self._history = history
        self.modes: list[tuple[str, str]] = []

    def latest_snapshot(self) -> Any:
        return _snapshot(stale=False)

    def status(self) -> dict[str, Any]:
        return {"gateway": {"serial": "1"}, "outputs": {}}

    def control_view(self) -> dict[str, Any]:
        return {"enabled": True, "stages": [{"name": "boiler", "modes": self.modes}]}

    async def set_control_mode(self, stage: str, mode: str) -> None:
        if stage != "boiler":
            raise KeyError(stage)
        if mode not in ("on", "off", "auto"):
            raise ValueError(f"mode must be one of on, off, auto, not {mode!r}")
        self.modes.append((stage, mode))

    async def history(
        self, fields: list[str], start: datetime | None, end: datetime | None, resolution: str
    ) -> Series:
        end = end or NOW
        start = start or end - timedelta(days=1)
        if start >= end:
            raise ValueError("start must be before end")
        return await self._history.series(fields, start, end, resolution)


TOKEN = "route-test-token"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient[Any, Any], _View]]:
    history = await open_history(f"sqlite:///{tmp_path / 'history.db'}", clock=lambda: NOW)
    view = _View(history)
    app = create_app(view, stream=EventStream(), security=ApiSecurity(token=SecretStr(TOKEN)))
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client, view
    await history.close()


async def _error(client: TestClient[Any, Any], method: str, url: str, status: int, **kwargs: Any) -> Any:
    """The parameter's mistake, past the token (the security answers have their own tests)."""
    headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
    async with client.request(method, url, headers=headers, **kwargs) as response:
        assert response.status == status, await response.text()
        assert response.content_type == "application/json"
        body = await response.json()
        assert set(body) == {"error", "field"}
        assert body["error"]
        return body


async def test_every_served_route_is_described_and_every_description_served(
    client: tuple[TestClient[Any, Any], _View],
) -> None:
    test_client, _ = client
    app = test_client.server.app
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or (info["prefix"] + "/{path}")
        if route.method != "HEAD":
            served.add((route.method.lower(), path))
    described = {(method, path) for path, methods in PATHS.items() for method in methods}
    assert served == described
    document = await (await test_client.get("/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert operation["summary"], (method, path)
            assert operation["responses"], (method, path)
    page = await (await test_client.get("/api/docs")).text()
    for path in PATHS:
        assert f"<code>{path}</code>" in page


async def test_history_bad_parameters_name_the_field(client: tuple[TestClient[Any, Any], _View]) -> None:
    test_client, _ = client
    cases = {
        "/api/history": "fields",
        "/api/history?fields=": "fields",
        "/api/history?fields=production_w,solar_flux": "fields",
        "/api/history?fields=production_w&start=yesterday": "start",
        "/api/history?fields=production_w&end=2026-13-01": "end",
        "/api/history?fields=production_w&resolution=5min": "resolution",
        "/api/history?fields=production_w&start=2026-06-02T00:00:00Z&end=2026-06-01T00:00:00Z": "start",
    }
    for url, field in cases.items():
        body = await _error(test_client, "GET", url, 400)
        assert body["field"] == field, (url, body)
    assert "solar_flux" in (await _error(test_client, "GET", "/api/history?fields=solar_flux", 400))["error"]
    ok = await test_client.get("/api/history?fields=production_w&resolution=1min")
    assert ok.status == 200
    assert (await ok.json()) == {"resolution": "1min", "points": []}


async def test_control_bad_parameters_name_the_field(client: tuple[TestClient[Any, Any], _View]) -> None:
    test_client, view = client
    text = {"headers": {"Content-Type": "application/json"}}
    assert (await _error(test_client, "POST", "/api/control/boiler", 400, data="on", **text))[
        "field"
    ] == "body"
    assert (await _error(test_client, "POST", "/api/control/boiler", 415, data="on"))["field"] == "body"
    assert (await _error(test_client, "POST", "/api/control/boiler", 400, json=["on"]))["field"] == "mode"
    body = await _error(test_client, "POST", "/api/control/boiler", 400, json={"mode": 1})
    assert body["field"] == "mode"
    body = await _error(test_client, "POST", "/api/control/boiler", 400, json={"mode": "max"})
    assert body["field"] == "mode"
    assert "'max'" in body["error"]
    body = await _error(test_client, "POST", "/api/control/sauna", 404, json={"mode": "on"})
    assert body["field"] == "stage"
    assert "sauna" in body["error"]
    assert view.modes == []
    ok = await test_client.post(
        "/api/control/boiler", json={"mode": "on"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert ok.status == 200
    assert view.modes == [("boiler", "on")]


async def test_unknown_routes_and_methods_answer_json(client: tuple[TestClient[Any, Any], _View]) -> None:
    test_client, _ = client
    assert "/api/nothing" in (await _error(test_client, "GET", "/api/nothing", 404))["error"]
    assert "POST" in (await _error(test_client, "POST", "/api/snapshot", 405, json={}))["error"]
    assert (await _error(test_client, "DELETE", "/api/control/boiler", 405, json={}))["field"] is None
    assert (await test_client.get("/static/nothing.js")).status == 404
    assert (await test_client.get("/static/../api.py")).status in (403, 404)


async def test_dashboard_files_and_figures_served(client: tuple[TestClient[Any, Any], _View]) -> None:
    test_client, _ = client
    page = await test_client.get("/")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    for asset in (
        "/static/i18n.js",
        "/static/app.js",
        "/static/charts.js",
        "/static/app.css",
        "/static/vendor/uplot/uPlot.iife.min.js",
    ):
        assert asset in html
        response = await test_client.get(asset)
        assert response.status == 200, asset
        assert (await response.read()) == (STATIC_DIR / asset.removeprefix("/static/")).read_bytes()
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page must load nothing from elsewhere"
    figures = await (await test_client.get("/api/figures")).json()
    assert [f["key"] for f in figures["site"]] == [f.key for f in SITE_FIGURES]
    assert [f["key"] for f in figures["inverter"]] == [f.key for f in INVERTER_FIGURES]
    production = figures["site"][0]
    assert (production["name_fr"], production["name_en"]) == ("Prod Inst", "Production")
    assert production["unit"] == "W"


def test_vendored_uplot_is_the_recorded_unmodified_release() -> None:
    vendor = STATIC_DIR / "vendor" / "uplot"
    lines = (vendor / "VERSIONS").read_text().splitlines()
    assert lines[0].startswith("uplot 1.6.32 (MIT)")
    assert lines[1].startswith("tarball sha512-")
    recorded = dict(reversed(line.split("  ")) for line in lines[2:])
    assert set(recorded) == {"uPlot.iife.min.js", "uPlot.min.css", "LICENSE"}
    for name, digest in recorded.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (vendor / "LICENSE").read_text()
