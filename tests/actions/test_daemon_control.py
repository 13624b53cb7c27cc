"""The controller inside the running daemon, end to end: the simulator's gateway over HTTPS, a sunny day
at high speed, two stages switching the simulator's loads over HTTP, every action also received by a
real HTTP server and a real Mosquitto broker, the API showing and overriding it all."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import aiohttp
import aiomqtt
from actions_loopback import Recorder
from aiohttp import web

from daemon_helpers import daemon_config, running
from enphase_secure.actions.mqtt import MqttBroker
from enphase_secure.outputs.jeedom import CALLBACK_PATH
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.scenario import BUILTIN_DIR
from enphase_secure.simulator.server import Simulator, run_simulator

PARIS = ZoneInfo("Europe/Paris")
SPEED = 1200.0  # a daemon tick (1 s) is 20 simulated minutes


def _stage(
    name: str, priority: int, load_w: float, start: float, stop: float, sim: Simulator
) -> dict[str, Any]:
    def actions(switch: str) -> dict[str, Any]:
        return {
            "http": {"url": f"{sim.gateway_url}/simulator/loads/{name}/{switch}", "verify_tls": False},
            "mqtt": {"topic": "house/$stage", "payload": '{"action": "$action", "export_w": $export_w}'},
        }

    return {
        "name": name,
        "priority": priority,
        "load_w": load_w,
        "start_above_w": start,
        "stop_below_w": stop,
        "start_delay_s": 600,
        "stop_delay_s": 600,
        "min_on_s": 3600,
        "min_off_s": 1800,
        "on": {**actions("on"), "command": {"argv": ["true"]}},
        "off": {**actions("off"), "jeedom": {"cmd_id": 40 + priority, "options": {"title": "$stage off"}}},
    }


async def _collect(broker: MqttBroker, into: list[tuple[str, dict[str, Any]]], ready: asyncio.Event) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe("house/#", qos=1)
        ready.set()
        async for message in client.messages:
            into.append((str(message.topic), json.loads(bytes(message.payload))))  # type: ignore[arg-type]


async def _jeedom_ok(request: web.Request) -> web.Response:
    return web.json_response({"jsonrpc": "2.0", "id": 1, "result": "ok"})


async def test_two_loads_follow_the_sun_through_the_daemon(
    tmp_path: Path, mosquitto: MqttBroker, http_server: Recorder
) -> None:
    http_server.answer = _jeedom_ok
    # the built-in single-phase house, with a 1 kW dishwasher
    scenario = tmp_path / "house.toml"
    scenario.write_text(
        resources.files("enphase_secure.simulator")
        .joinpath(BUILTIN_DIR, "single-phase.toml")
        .read_text("utf-8")
        .replace("power_w = 1200", "power_w = 1000")
    )
    source = load_scenario_source(str(scenario), speed=SPEED, start=datetime(2024, 6, 21, 8, tzinfo=PARIS))
    published: list[tuple[str, dict[str, Any]]] = []
    ready = asyncio.Event()
    subscriber = asyncio.create_task(_collect(mosquitto, published, ready))
    await asyncio.wait_for(ready.wait(), 5)
    loads_seen: list[dict[str, bool]] = []
    export_wh = uncontrolled_export_wh = 0.0
    load_w = {"water-heater": 2000.0, "dishwasher": 1000.0}
    async with run_simulator(source) as sim:
        config = daemon_config(
            sim,
            tmp_path,
            timezone="Europe/Paris",
            publish={
                "mqtt": {"host": mosquitto.host, "port": mosquitto.port},
                "jeedom": {"url": http_server.url, "apikey": "jeedom-key-123"},
            },
            control={
                "stages": [
                    _stage("water-heater", 1, 2000, 2200, 300, sim),
                    _stage("dishwasher", 2, 1200, 1300, 200, sim),
                ]
            },
        )
        async with (
            running(config, clock=source.now) as daemon,
            aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {(tmp_path / 'api_token').read_text().strip()}"}
            ) as http,
        ):
            base = daemon.web_url
            while source.now() < datetime(2024, 6, 21, 20, 30, tzinfo=PARIS):
                loads = source.loads()
                loads_seen.append(loads)
                net_w = source.truth()["power_w"]["balanced_net"]
                drawn_w = sum(w for name, w in load_w.items() if loads[name])
                export_wh += max(-net_w, 0.0)
                uncontrolled_export_wh += max(drawn_w - net_w, 0.0)
                await asyncio.sleep(0.25)
            control = await (await http.get(f"{base}/api/control")).json()

            # manual override through the API: on at once, then back to auto
            resp = await http.post(f"{base}/api/control/dishwasher", json={"mode": "on"})
            assert resp.status == 200
            for _ in range(40):
                if source.loads()["dishwasher"]:
                    break
                await asyncio.sleep(0.1)
            assert source.loads()["dishwasher"] is True
            assert (await http.post(f"{base}/api/control/nope", json={"mode": "on"})).status == 404
            assert (await http.post(f"{base}/api/control/dishwasher", json={"mode": "up"})).status == 400
            resp = await http.post(f"{base}/api/control/dishwasher", json={"mode": "auto"})
            overridden = await resp.json()
    await asyncio.sleep(0.3)
    subscriber.cancel()

    # each load ran during the day and stopped in the evening, without chatter
    for name in ("water-heater", "dishwasher"):
        states = [seen[name] for seen in loads_seen]
        assert any(states), f"{name} never started"
        switchings = sum(1 for a, b in itertools.pairwise(states) if a != b)
        assert 2 <= switchings <= 4, f"{name} switched {switchings} times"  # on, off; no chatter
    assert loads_seen[-1] == {"water-heater": False, "dishwasher": False}
    # the loads soak up the surplus: far less exported than without them (same sampling)
    assert export_wh < 0.5 * uncontrolled_export_wh

    stages = {s["name"]: s for s in control["stages"]}
    for name in ("water-heater", "dishwasher"):
        assert stages[name]["last_decision"]["action"] == "off"
        outcomes = stages[name]["last_outcomes"]
        assert outcomes
        assert all(o["status"] == "ok" for o in outcomes)
    assert {o["kind"] for o in stages["water-heater"]["last_outcomes"]} == {"http", "mqtt", "jeedom"}
    assert next(s for s in overridden["stages"] if s["name"] == "dishwasher")["state"]["mode"] == "auto"

    # every off went to Jeedom (the recording server) as cmd::execCmd, every switching to the broker;
    # (the Jeedom output posts the figures to the plugin's callback on the same server)
    api_requests = [r for r in http_server.requests if r.path == "/core/api/jeeApi.php"]
    calls = [json.loads(parse_qs(r.body.decode())["request"][0]) for r in api_requests]
    assert all(c["method"] == "cmd::execCmd" and c["params"]["apikey"] == "jeedom-key-123" for c in calls)
    assert {c["params"]["id"] for c in calls} == {41, 42}
    assert {c["params"]["options"]["title"] for c in calls} == {"water-heater off", "dishwasher off"}
    assert {r.path for r in http_server.requests} <= {"/core/api/jeeApi.php", CALLBACK_PATH}
    topics = [topic for topic, _ in published]
    assert topics.count("house/water-heater") >= 2
    assert {payload["action"] for _, payload in published} == {"on", "off"}
