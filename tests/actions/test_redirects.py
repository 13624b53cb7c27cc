"""Redirects against loopback servers: nothing with a key or token goes to another origin; Home
Assistant's action fails on any redirect; same-origin redirects of the http action are followed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from actions_loopback import Received, Recorder, recording_server
from aiohttp import web
from test_actions import APIKEY, TOKEN, VALUES, one

from enphase_secure.actions.base import run_with_retries
from enphase_secure.actions.jeedom import JeedomEndpoint
from enphase_secure.actions.registry import ActionContext

API_KEY_HEADER = "relay-key-789"


@pytest.fixture
async def origin(http_server: Recorder) -> AsyncIterator[tuple[str, list[Received]]]:
    """A server that sends every request elsewhere (``http_server``, another port: another origin),
    except /here-old (and Home Assistant's switch.here), redirected on the same origin to /here-new."""

    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path in ("/here-old", "/api/services/switch/here"):
            raise web.HTTPTemporaryRedirect("/here-new")
        if request.path == "/here-new":
            return web.Response(text="ok")
        raise web.HTTPTemporaryRedirect(f"{http_server.url}/stolen?apikey={APIKEY}")

    async with recording_server() as server:
        server.answer = answer
        yield server.url, server.requests


async def test_http_never_takes_its_key_to_another_origin(
    origin: tuple[str, list[Received]], http_server: Recorder
) -> None:
    url, got = origin
    action = one(
        "http",
        {"url": f"{url}/relay?key={API_KEY_HEADER}", "headers": {"X-Api-Key": API_KEY_HEADER}, "retries": 0},
    )
    attempts, error = await run_with_retries(action, VALUES)
    assert attempts == 1
    assert error is not None
    assert f"HTTP 307 redirect to {http_server.url}/stolen" in error
    assert "another server, not followed" in error
    assert APIKEY not in error
    assert API_KEY_HEADER not in error
    assert [r.path for r in got] == ["/relay"]
    assert http_server.requests == []  # the other origin received nothing at all


async def test_http_follows_a_redirect_on_the_same_origin_with_method_and_body(
    origin: tuple[str, list[Received]], http_server: Recorder
) -> None:
    url, got = origin
    action = one(
        "http",
        {"url": f"{url}/here-old", "method": "PUT", "body": '{"on": true}', "headers": {"X-Api-Key": "k"}},
    )
    assert await run_with_retries(action, VALUES) == (1, None)
    assert [(r.method, r.path, r.body) for r in got] == [
        ("PUT", "/here-old", b'{"on": true}'),
        ("PUT", "/here-new", b'{"on": true}'),
    ]
    assert got[1].headers["X-Api-Key"] == "k"
    assert http_server.requests == []


async def test_jeedom_never_takes_its_apikey_to_another_origin(
    origin: tuple[str, list[Received]], http_server: Recorder
) -> None:
    url, got = origin
    action = one(
        "jeedom", {"cmd_id": 12, "retries": 0}, ActionContext(jeedom=JeedomEndpoint(url=url, apikey=APIKEY))
    )
    _, error = await run_with_retries(action, VALUES)
    assert error is not None
    assert "redirect to" in error
    assert "another server" in error
    assert APIKEY not in error
    assert APIKEY.encode() in got[0].body  # sent to the configured Jeedom only
    assert http_server.requests == []


@pytest.mark.parametrize("service", ["turn_on", "here"])
async def test_home_assistant_reports_any_redirect_as_a_failure(
    origin: tuple[str, list[Received]], http_server: Recorder, service: str
) -> None:
    url, got = origin
    spec = {"url": url, "domain": "switch", "service": service, "token": TOKEN, "retries": 0}
    _, error = await run_with_retries(one("homeassistant", spec), VALUES)
    assert error is not None
    assert "redirect to" in error
    assert "not followed" in error
    assert TOKEN not in error
    assert len(got) == 1
    assert http_server.requests == []
