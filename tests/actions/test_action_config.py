"""Action specs: unknown kinds and keys, bad values and templates are ConfigErrors naming the key;
TLS options against a real HTTPS server with a self-signed certificate."""

from __future__ import annotations

import ssl
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from actions_loopback import loopback_certificate
from aiohttp import web

from enphase_secure.actions.base import run_with_retries
from enphase_secure.actions.jeedom import JeedomEndpoint
from enphase_secure.actions.registry import ActionContext, build_actions, build_control_actions
from enphase_secure.actions.templates import template_values
from enphase_secure.control.controller import Command
from enphase_secure.errors import ConfigError
from loopback import free_port

PATH = "control.stages[2].on"
VALUES = template_values(Command("heater", "on", "test"), None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"smtp": {}}, f"{PATH}.smtp: unknown action; known: command, homeassistant, http, jeedom, mqtt"),
        ({"http": {"url": "http://127.0.0.1/", "methd": "GET"}}, f"{PATH}.http.methd: unknown key"),
        ({"http": {"url": "ftp://127.0.0.1/"}}, f"{PATH}.http.url: 'ftp://127.0.0.1/' is not an http(s) URL"),
        ({"http": {"method": "GET"}}, f"{PATH}.http.url: required"),
        (
            {"http": {"url": "http://127.0.0.1/", "method": "BREW"}},
            f"{PATH}.http.method: 'BREW' is not one of",
        ),
        ({"http": {"url": "http://127.0.0.1/$power"}}, f"{PATH}.http.url: unknown template value $power"),
        ({"http": {"url": "http://127.0.0.1/", "body": "${"}}, f"{PATH}.http.body: invalid template"),
        (
            {"http": {"url": "http://127.0.0.1/", "retries": 11}},
            f"{PATH}.http.retries: 11 is not between 0 and 10",
        ),
        (
            {"http": {"url": "http://127.0.0.1/", "timeout_s": 0}},
            f"{PATH}.http.timeout_s: 0 is below the minimum",
        ),
        (
            {"http": {"url": "http://127.0.0.1/", "verify_tls": False, "ca_file": "/etc/hostname"}},
            f"{PATH}.http.ca_file: useless with verify_tls = false",
        ),
        (
            {"http": {"url": "http://127.0.0.1/", "ca_file": "/nonexistent.pem"}},
            f"{PATH}.http.ca_file: no such file",
        ),
        ({"jeedom": {"cmd_id": 5}}, f"{PATH}.jeedom: needs [publish.jeedom] with url and apikey"),
        ({"mqtt": {"topic": "a"}}, f"{PATH}.mqtt: needs an MQTT broker"),
        ({"command": {"argv": []}}, f"{PATH}.command.argv: required"),
        (
            {"command": {"argv": ["no-such-program-xyz"]}},
            f"{PATH}.command.argv[0]: program 'no-such-program-xyz' not found",
        ),
        ({"command": {"argv": "ls -l"}}, f"{PATH}.command.argv: expected a list of strings"),
        (
            {"homeassistant": {"url": "http://127.0.0.1", "domain": "switch", "service": "turn_on"}},
            f"{PATH}.homeassistant.token: give exactly one of token or token_file",
        ),
        (
            {"homeassistant": {"url": "http://127.0.0.1", "token": "t", "domain": "Switch!", "service": "x"}},
            f"{PATH}.homeassistant.domain: 'Switch!' is not a Home Assistant domain name",
        ),
    ],
)
def test_invalid_spec_names_the_key(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        build_actions(spec, PATH, ActionContext())
    assert str(exc.value).startswith(message)


def test_jeedom_needs_a_command_id() -> None:
    context = ActionContext(jeedom=JeedomEndpoint(url="http://127.0.0.1", apikey="k"))
    with pytest.raises(ConfigError, match=r"control.stages\[2\].on.jeedom.cmd_id: required"):
        build_actions({"jeedom": {}}, PATH, context)


def test_secrets_are_not_in_config_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        build_actions(
            {"http": {"url": "http://127.0.0.1/", "headers": {"Authorization": 42}}}, PATH, ActionContext()
        )
    assert "42" not in str(exc.value)


def test_several_kinds_in_one_table_and_stages_by_name() -> None:
    stages = [
        {
            "name": "heater",
            "start_above_w": 1,
            "stop_below_w": 0,
            "on": {
                "http": {"url": "http://127.0.0.1/on"},
                "command": {"argv": [sys.executable, "-c", "pass"]},
            },
        },
        {"name": "pump", "start_above_w": 1, "stop_below_w": 0},
    ]
    actions = build_control_actions(stages, ActionContext())
    assert [a.kind for a in actions["heater"].on] == ["http", "command"]
    assert actions["heater"].off == ()
    assert actions["pump"].on == ()


@pytest.fixture
async def https_url(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    cert_pem, key_pem = loopback_certificate()
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/on", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    try:
        yield f"https://127.0.0.1:{port}/on", tmp_path / "cert.pem"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("tls", "succeeds"), [({}, False), ({"verify_tls": False}, True), ({"ca_file": "CERT"}, True)]
)
async def test_tls_options_against_a_self_signed_server(
    https_url: tuple[str, Path], tls: dict[str, Any], succeeds: bool
) -> None:
    url, cert = https_url
    tls = {k: str(cert) if v == "CERT" else v for k, v in tls.items()}
    (action,) = build_actions({"http": {"url": url, "retries": 0, **tls}}, PATH, ActionContext())
    _, error = await run_with_retries(action, VALUES)
    assert (error is None) is succeeds, error
    if not succeeds:
        assert error is not None
        assert "does not verify" in error
        assert "verify_tls = false" in error
        assert "ca_file" in error
