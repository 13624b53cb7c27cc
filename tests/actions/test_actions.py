"""Each action kind against a real server on 127.0.0.1 (HTTP, Jeedom and Home Assistant imitations,
a Mosquitto broker, real programs), with its timeout and bounded retries."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiomqtt
from actions_loopback import Recorder
from aiohttp import web

from enphase_secure.actions.base import Action, run_with_retries
from enphase_secure.actions.jeedom import JeedomEndpoint
from enphase_secure.actions.mqtt import MqttBroker
from enphase_secure.actions.registry import ActionContext, build_actions
from enphase_secure.actions.templates import template_values
from enphase_secure.control.controller import Command
from enphase_secure.energy.snapshot import EnergyFlow, GatewayIdentity, Grid, PhaseBalance, Snapshot, Storage
from loopback import free_port

APIKEY = "jeedom-secret-key-123"
TOKEN = "ha-long-lived-token-456"
ON = Command(
    stage="water heater", action="on", reason="surplus 2500 W > start_above_w 2100 W for 60 s & more"
)
SNAPSHOT = Snapshot(
    time=datetime(2026, 6, 21, 12, 0, tzinfo=UTC),
    gateway=GatewayIdentity(serial="1", firmware="8.2", part_number=None),
    phase_mode="three",
    phase_count=3,
    production=EnergyFlow(power_w=4200.0),
    consumption=EnergyFlow(power_w=1700.0),
    net_consumption=EnergyFlow(power_w=-2500.0),
    grid=Grid(
        import_w=0.0,
        export_w=2500.0,
        phases=(PhaseBalance(0.0, 1200.5), PhaseBalance(0.0, 1300.0), PhaseBalance(None, None)),
    ),
    storage=Storage(power_w=-800.0, soc_pct=64.0, available_wh=None, capacity_wh=None),
)
VALUES = template_values(ON, SNAPSHOT)


def one(kind: str, spec: dict[str, Any], context: ActionContext | None = None) -> Action:
    (action,) = build_actions({kind: spec}, "control.stages[0].on", context or ActionContext())
    return action


def test_template_values_from_the_snapshot() -> None:
    assert VALUES["export_w"] == "2500"
    assert VALUES["phase1_export_w"] == "1200.5"
    assert VALUES["phase3_export_w"] == "null"
    assert VALUES["surplus_w"] == "2500"
    assert VALUES["battery_power_w"] == "-800"
    assert VALUES["battery_soc_pct"] == "64"
    assert VALUES["time"] == "2026-06-21T12:00:00+00:00"
    assert (VALUES["stage"], VALUES["action"]) == ("water heater", "on")
    assert template_values(ON, None)["export_w"] == "null"


async def test_http_sends_method_headers_and_templated_body(http_server: Recorder) -> None:
    action = one(
        "http",
        {
            "url": f"{http_server.url}/api/$action?who=$stage&why=$reason",
            "method": "PUT",
            "headers": {"X-Api-Key": "k-789"},
            "body": '{"stage": "$stage", "export_w": $export_w, "soc": $battery_soc_pct}',
        },
    )
    assert await run_with_retries(action, VALUES) == (1, None)
    (got,) = http_server.requests
    assert (got.method, got.path) == ("PUT", "/api/on")
    assert parse_qs(got.query) == {"who": ["water heater"], "why": [ON.reason]}  # values URL-encoded
    assert got.headers["X-Api-Key"] == "k-789"
    assert got.headers["Content-Type"] == "application/json"
    assert json.loads(got.body) == {"stage": "water heater", "export_w": 2500, "soc": 64}


async def test_http_500_fails_after_bounded_retries(http_server: Recorder) -> None:
    async def fail(request: web.Request) -> web.Response:
        return web.Response(status=500)

    http_server.answer = fail
    action = one("http", {"url": f"{http_server.url}/on?apikey=k-789", "retries": 2, "retry_delay_s": 0.05})
    started = time.monotonic()
    attempts, error = await run_with_retries(action, VALUES)
    assert (attempts, len(http_server.requests)) == (3, 3)
    assert error == f"POST {http_server.url}/on: HTTP 500"  # no query string: it may hold a key
    assert time.monotonic() - started < 2


async def test_http_hanging_server_times_out_each_attempt(http_server: Recorder) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    http_server.answer = hang
    action = one("http", {"url": f"{http_server.url}/on", "timeout_s": 0.2, "retries": 1, "retry_delay_s": 0})
    started = time.monotonic()
    attempts, error = await run_with_retries(action, VALUES)
    elapsed = time.monotonic() - started
    assert attempts == 2
    assert error == f"POST {http_server.url}/on: no answer within timeout_s 0.2"
    assert 0.4 <= elapsed < 1.5


async def test_http_connection_refused_is_a_failure_naming_the_url() -> None:
    action = one("http", {"url": "http://127.0.0.1:9/on", "retries": 0})
    attempts, error = await run_with_retries(action, VALUES)
    assert attempts == 1
    assert error is not None
    assert error.startswith("POST: nothing listens at 'http://127.0.0.1:9/on' (connection refused)")


async def test_header_secrets_never_reach_the_error(http_server: Recorder) -> None:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(status=403, text=request.headers["Authorization"])

    http_server.answer = echo
    action = one(
        "http", {"url": f"{http_server.url}/on", "headers": {"Authorization": "Bearer s3cr3t"}, "retries": 0}
    )
    _, error = await run_with_retries(action, VALUES)
    assert error is not None
    assert "s3cr3t" not in error


def jeedom_context(recorder: Recorder) -> ActionContext:
    return ActionContext(jeedom=JeedomEndpoint(url=recorder.url, apikey=APIKEY))


async def test_jeedom_sends_the_exact_json_rpc_request(http_server: Recorder) -> None:
    async def jeedom(request: web.Request) -> web.Response:
        return web.json_response({"jsonrpc": "2.0", "id": 1, "result": {"value": "", "collectDate": ""}})

    http_server.answer = jeedom
    action = one("jeedom", {"cmd_id": 1234, "options": {"slider": "$export_w"}}, jeedom_context(http_server))
    assert await run_with_retries(action, VALUES) == (1, None)
    (got,) = http_server.requests
    assert (got.method, got.path) == ("POST", "/core/api/jeeApi.php")
    assert got.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(got.body.decode())
    assert list(form) == ["request"]
    assert json.loads(form["request"][0]) == {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "cmd::execCmd",
        "params": {"apikey": APIKEY, "id": 1234, "options": {"slider": "2500"}},
    }


async def test_jeedom_error_answer_is_a_failure_without_the_key(http_server: Recorder) -> None:
    async def refuse(request: web.Request) -> web.Response:
        sent = json.loads((await request.post())["request"])  # type: ignore[arg-type]
        message = f"Clé API invalide : {sent['params']['apikey']}"
        return web.json_response({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": message}})

    http_server.answer = refuse
    action = one("jeedom", {"cmd_id": 7, "retries": 1, "retry_delay_s": 0}, jeedom_context(http_server))
    attempts, error = await run_with_retries(action, VALUES)
    assert attempts == 2
    assert error == (
        f"{http_server.url}/core/api/jeeApi.php cmd::execCmd 7: Jeedom error -32001: Clé API invalide : ***"
    )


async def test_jeedom_plain_text_answer_is_a_failure(http_server: Recorder) -> None:
    action = one("jeedom", {"cmd_id": 7, "retries": 0}, jeedom_context(http_server))
    _, error = await run_with_retries(action, VALUES)
    assert error == f"{http_server.url}/core/api/jeeApi.php cmd::execCmd 7: the answer is not JSON-RPC"


async def test_homeassistant_calls_the_service(http_server: Recorder) -> None:
    async def ha(request: web.Request) -> web.Response:
        return web.json_response([])

    http_server.answer = ha
    spec = {
        "url": http_server.url,
        "token": TOKEN,
        "domain": "switch",
        "service": "turn_on",
        "data": {"entity_id": "switch.water_heater", "note": "$reason", "brightness": 255},
    }
    assert await run_with_retries(one("homeassistant", spec), VALUES) == (1, None)
    (got,) = http_server.requests
    assert (got.method, got.path) == ("POST", "/api/services/switch/turn_on")
    assert got.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(got.body) == {"entity_id": "switch.water_heater", "note": ON.reason, "brightness": 255}


async def test_homeassistant_refused_token(http_server: Recorder, tmp_path: Path) -> None:
    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=401, text=f"bad token {request.headers['Authorization']}")

    http_server.answer = refuse
    token_file = tmp_path / "ha.token"
    token_file.write_text(TOKEN + "\n")
    spec = {"url": http_server.url, "token_file": str(token_file), "domain": "switch", "service": "turn_off"}
    attempts, error = await run_with_retries(one("homeassistant", {**spec, "retries": 0}), VALUES)
    assert attempts == 1
    assert (
        error
        == f"POST {http_server.url}/api/services/switch/turn_off: Home Assistant refused the token (HTTP 401)"
    )
    assert http_server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


PRINT_ARGS = "import json, sys; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))"


async def test_command_templated_values_stay_single_arguments(tmp_path: Path) -> None:
    out = tmp_path / "args.json"
    pwned = tmp_path / "pwned"
    nasty = f'x"; touch {pwned}; echo "$(touch {pwned})` touch {pwned}`'
    values = template_values(Command(stage=nasty, action="on", reason="r"), SNAPSHOT)
    action = one(
        "command", {"argv": [sys.executable, "-c", PRINT_ARGS, str(out), "$stage", "--power=$export_w"]}
    )
    assert await run_with_retries(action, values) == (1, None)
    assert json.loads(out.read_text()) == [nasty, "--power=2500"]
    assert not pwned.exists()


async def test_command_killed_on_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    action = one("command", {"argv": [sys.executable, "-c", script], "timeout_s": 1, "retries": 0})
    started = time.monotonic()
    attempts, error = await run_with_retries(action, VALUES)
    assert time.monotonic() - started < 3
    assert (attempts, error) == (1, f"{sys.executable}: no answer within timeout_s 1")
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists()  # killed and reaped


async def test_command_nonzero_exit_is_a_failure() -> None:
    action = one(
        "command", {"argv": [sys.executable, "-c", "raise SystemExit(3)"], "retries": 1, "retry_delay_s": 0}
    )
    assert await run_with_retries(action, VALUES) == (2, f"{sys.executable}: exit status 3")


async def test_mqtt_publishes_to_a_real_broker(mosquitto: MqttBroker) -> None:
    action = one(
        "mqtt",
        {
            "topic": "home/solar/$action",
            "payload": '{"stage": "$stage", "w": $export_w}',
            "qos": 1,
            "retain": True,
        },
        ActionContext(mqtt=mosquitto),
    )
    assert await run_with_retries(action, VALUES) == (1, None)
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        await client.subscribe("home/solar/#")
        async with asyncio.timeout(5):
            message = await anext(aiter(client.messages))
    assert str(message.topic) == "home/solar/on"
    assert message.retain is True  # delivered from the broker's retained store
    assert json.loads(message.payload) == {"stage": "water heater", "w": 2500}  # type: ignore[arg-type]


async def test_mqtt_broker_down_fails_after_retries() -> None:
    action = one(
        "mqtt",
        {"topic": "t", "retries": 1, "retry_delay_s": 0, "timeout_s": 2},
        ActionContext(mqtt=MqttBroker(host="127.0.0.1", port=free_port(), password="mqtt-pw")),
    )
    started = time.monotonic()
    attempts, error = await run_with_retries(action, VALUES)
    assert attempts == 2
    assert error is not None
    assert error.startswith("mqtt://127.0.0.1:")
    assert "mqtt-pw" not in error
    assert time.monotonic() - started < 5
