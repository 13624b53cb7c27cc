"""Who may use the API: token, cross-site writes, JSON bodies, body size, history bounds (issue 10)."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from enphase_secure.config import parse_config
from enphase_secure.energy.snapshot import Snapshot
from enphase_secure.errors import ConfigError
from enphase_secure.storage import Resolution, Series
from enphase_secure.web.api import create_app
from enphase_secure.web.security import ApiSecurity, is_loopback, load_or_create_token

TOKEN = "s3cret-api-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class _View:
    def __init__(self) -> None:
        self.modes: list[tuple[str, str]] = []
        self.queries: list[tuple[list[str], datetime | None, datetime | None, str]] = []

    def latest_snapshot(self) -> Snapshot | None:
        return None

    def status(self) -> dict[str, Any]:
        return {"ok": True}

    def control_view(self) -> dict[str, Any]:
        return {"stages": [{"name": "heater", "mode": self.modes[-1][1] if self.modes else "auto"}]}

    async def set_control_mode(self, stage: str, mode: str) -> None:
        self.modes.append((stage, mode))

    async def history(
        self, fields: list[str], start: datetime | None, end: datetime | None, resolution: str
    ) -> Series:
        self.queries.append((fields, start, end, resolution))
        return Series(Resolution.RAW, ())


def _client(view: _View, security: ApiSecurity | None) -> TestClient[Any, Any]:
    return TestClient(TestServer(create_app(view, security=security), host="127.0.0.1"))


async def test_writes_need_the_token_and_a_json_body_from_the_same_origin() -> None:
    view = _View()
    async with _client(view, ApiSecurity(token=SecretStr(TOKEN))) as client:
        url = "/api/control/heater"
        origin = f"http://{client.host}:{client.port}"
        # no token, a wrong one, another scheme: refused and nothing switched
        assert (await client.post(url, json={"mode": "on"})).status == 401
        assert (
            await client.post(url, json={"mode": "on"}, headers={"Authorization": "Bearer no"})
        ).status == 401
        assert (await client.post(url, json={"mode": "on"}, headers={"Authorization": TOKEN})).status == 401
        # the attack of the issue: a text/plain POST from another site's page
        evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
        resp = await client.post(url, data='{"mode": "on"}', headers={**AUTH, **evil})
        assert resp.status == 403
        assert "another origin" in (await resp.json())["error"]
        resp = await client.post(url, json={"mode": "on"}, headers={**AUTH, "Sec-Fetch-Site": "cross-site"})
        assert resp.status == 403
        resp = await client.post(url, json={"mode": "on"}, headers={**AUTH, "Origin": "null"})
        assert resp.status == 403
        # same origin but not JSON
        resp = await client.post(url, data='{"mode": "on"}', headers={**AUTH, "Content-Type": "text/plain"})
        assert resp.status == 415
        assert view.modes == []
        # the dashboard (same origin) and a script (no Origin) with the token
        resp = await client.post(url, json={"mode": "on"}, headers={**AUTH, "Origin": origin})
        assert resp.status == 200
        assert (await client.post(url, json={"mode": "off"}, headers=AUTH)).status == 200
        assert view.modes == [("heater", "on"), ("heater", "off")]
        # reads stay open on a loopback listener
        assert (await client.get("/api/status")).status == 200


async def test_without_a_token_every_write_is_refused() -> None:
    view = _View()
    async with _client(view, None) as client:
        resp = await client.post("/api/control/heater", json={"mode": "on"}, headers=AUTH)
        assert resp.status == 401
        assert "no token" in (await resp.json())["error"]
    assert view.modes == []


async def test_reads_need_the_token_off_loopback() -> None:
    async with _client(_View(), ApiSecurity(token=SecretStr(TOKEN), reads_need_token=True)) as client:
        for path in ("/api/status", "/api/snapshot", "/api/control", "/api/history?fields=production_w"):
            resp = await client.get(path)
            assert resp.status == 401, path
            assert resp.headers["WWW-Authenticate"] == "Bearer"
            assert TOKEN not in await resp.text()
        assert (await client.get("/api/status", headers=AUTH)).status == 200


async def test_big_and_deeply_nested_bodies_answer_4xx_not_500() -> None:
    view = _View()
    async with _client(view, ApiSecurity(token=SecretStr(TOKEN))) as client:
        url = "/api/control/heater"
        headers = {**AUTH, "Content-Type": "application/json"}
        resp = await client.post(url, data=b" " * (10 * 1024 * 1024), headers=headers)
        assert resp.status == 413
        resp = await client.post(url, data="[" * 50_000, headers=headers)
        assert resp.status == 400
        assert "JSON" in (await resp.json())["error"]
    assert view.modes == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("fields=production_w&end=0001-01-01", "out of range"),
        ("fields=production_w&start=9999-12-31T00:00:00", "out of range"),
        ("fields=" + ",".join(f"f{i}" for i in range(17)), "at most 16"),
        ("fields=production_w,consumption_w&resolution=1min&start=2026-01-01T00:00:00", "more than 50000"),
        (
            "fields=production_w&resolution=raw&start=2026-06-01T00:00:00%2B00:00&end=2026-06-08T00:00:00%2B00:00",
            "more than 50000",
        ),
        ("fields=production_w&resolution=2s", "unknown history resolution"),
    ],
)
async def test_history_requests_are_bounded(query: str, message: str) -> None:
    view = _View()
    async with _client(view, None) as client:
        resp = await client.get(f"/api/history?{query}")
        assert resp.status == 400
        assert message in (await resp.json())["error"]
    assert view.queries == []


async def test_history_fields_deduplicated_and_naive_times_left_to_the_site_zone() -> None:
    view = _View()
    async with _client(view, None) as client:
        resp = await client.get(
            "/api/history?fields=production_w,production_w,%20grid_w&start=2026-06-01T00:00:00&resolution=15min"
        )
        assert resp.status == 200
        assert json.loads(await resp.text()) == {"resolution": "raw", "points": []}
    [(fields, start, _, _)] = view.queries
    assert fields == ["production_w", "grid_w"]
    assert start is not None
    assert start.tzinfo is None  # the daemon reads it in the site's zone


def test_generated_token_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "api_token"
    first = load_or_create_token(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.get_secret_value()) >= 32
    assert load_or_create_token(path).get_secret_value() == first.get_secret_value()
    with pytest.raises(ConfigError, match="api_token"):
        load_or_create_token(tmp_path / "missing-dir" / "api_token")


def test_non_loopback_listener_needs_a_configured_token() -> None:
    base = {"gateway": {"host": "192.0.2.1", "token_mode": "manual", "token": "x"}}
    with pytest.raises(ConfigError, match=r"web: listen '0\.0\.0\.0:8080' is reachable from the network"):
        parse_config({**base, "web": {"listen": "0.0.0.0:8080"}})
    config = parse_config({**base, "web": {"listen": "0.0.0.0:8080", "token": TOKEN}})
    assert config.web.token_value() == SecretStr(TOKEN)
    assert TOKEN not in repr(config)
    assert [is_loopback(h) for h in ("127.0.0.1", "[::1]", "localhost", "192.168.1.2", "0.0.0.0")] == [
        True,
        True,
        True,
        False,
        False,
    ]
