"""The MQTT output in the running daemon, end to end: the simulator's gateway, a real Mosquitto, a real
subscriber. Discovery configs and state payloads, availability (stale, stop, last will), a layout
change that removes the old entities, the broker going away and coming back, stage control."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.actions.mqtt import MqttBroker
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator
from mqtt_broker import Mosquitto, ha_entities

PREFIX = "enphase_secure"
DISCOVERY = "homeassistant"


@dataclass
class Seen:
    """Every message a subscriber to ``#`` received, and the retained view (topic -> last payload)."""

    messages: list[tuple[str, str, bool]] = field(default_factory=list)
    last: dict[str, str] = field(default_factory=dict)

    def add(self, topic: str, payload: str, retain: bool) -> None:
        self.messages.append((topic, payload, retain))
        if payload:
            self.last[topic] = payload
        else:
            self.last.pop(topic, None)

    def json(self, topic: str) -> Any:
        return json.loads(self.last[topic])

    def configs(self, serial: str) -> dict[str, dict[str, Any]]:
        node = f"/enphase_secure_{serial}/"
        return {t: json.loads(p) for t, p in self.last.items() if t.startswith(DISCOVERY) and node in t}


@contextlib.asynccontextmanager
async def subscribed(broker: MqttBroker) -> AsyncIterator[Seen]:
    seen = Seen()
    ready = asyncio.Event()

    async def listen() -> None:
        while True:  # follows the broker through a restart
            try:
                async with aiomqtt.Client(broker.host, broker.port) as client:
                    await client.subscribe("#")
                    ready.set()
                    async for message in client.messages:
                        payload = message.payload
                        text = payload.decode() if isinstance(payload, bytes) else str(payload or "")
                        seen.add(str(message.topic), text, message.retain)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    task = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _stage(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "start_above_w": 100000,
        "stop_below_w": 0,
        "on": {"command": {"argv": ["true"]}},
        "off": {"command": {"argv": ["true"]}},
    }


def _mqtt(broker: MqttBroker, **extra: Any) -> dict[str, Any]:
    return {"mqtt": {"host": broker.host, "port": broker.port, "publish_interval_s": 2, **extra}}


async def _eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    await wait_until(check, timeout=timeout)


async def test_discovery_state_stale_and_stop(tmp_path: Path, mosquitto: MqttBroker) -> None:
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source) as sim, subscribed(mosquitto) as seen:
        base = f"{PREFIX}/{sim.serial}"
        config = daemon_config(
            sim,
            tmp_path,
            timezone="Europe/Paris",
            publish=_mqtt(mosquitto, figure_topics=True),
            control={"stages": [_stage("Water heater")]},
        )
        async with running(config, clock=source.now) as daemon:

            def probed() -> bool:  # the first states come before the full probe (issue 13): the battery
                site = f"{base}/site/state"
                return site in seen.last and seen.json(site)["battery_soc_pct"] is not None

            await _eventually(lambda: probed() and len(seen.configs(sim.serial)) > 3)
            assert seen.last[f"{base}/status"] == "online"
            assert seen.last[f"{base}/live"] == "online"
            state = seen.json(f"{base}/site/state")
            assert state["stale"] is False
            assert state["production_power_w"] is not None
            assert state["grid_import_w_l3"] is not None  # per phase on a three-phase site
            assert state["battery_soc_pct"] is not None
            assert state["stage_1_on"] in (None, False)  # confirmed on: not yet known, or off
            assert json.loads(seen.last[f"{base}/production_power_w"]) == state["production_power_w"]
            await _eventually(lambda: f"{base}/control/water_heater/state" in seen.last)
            stage = seen.json(f"{base}/control/water_heater/state")
            assert stage["name"] == "Water heater"
            assert stage["mode"] == "auto"
            assert stage["reason"]

            entities = ha_entities(seen.configs(sim.serial))
            uid = f"enphase_secure_{sim.serial}_"
            power = entities[f"{uid}production_power_w"]
            assert power["config_topic"] == f"{DISCOVERY}/device/enphase_secure_{sim.serial}/site/config"
            assert power["platform"] == "sensor"
            assert power["device_class"] == "power"
            assert power["state_class"] == "measurement"
            assert power["unit_of_measurement"] == "W"
            assert power["state_topic"] == f"{base}/site/state"
            assert {a["topic"] for a in power["availability"]} == {f"{base}/status", f"{base}/live"}
            lifetime = entities[f"{uid}grid_import_lifetime_wh"]
            assert lifetime["state_class"] == "total_increasing"
            assert [a["topic"] for a in lifetime["availability"]] == [f"{base}/status"]
            assert entities[f"{uid}firmware"]["entity_category"] == "diagnostic"
            online = entities[f"{uid}gateway_online"]
            assert (online["platform"], online["device_class"]) == ("binary_sensor", "connectivity")
            select = entities[f"{uid}stage_1_mode"]
            assert select["command_topic"] == f"{base}/control/water_heater/set"
            assert select["options"] == ["auto", "on", "off"]
            inverter = next(iter(daemon.latest_snapshot().inverters)).serial  # type: ignore[union-attr]
            assert entities[f"{uid}inverter_{inverter}_power_w"]["device"]["via_device"] == f"{uid}site"

            # at least every publish_interval_s (2 s here), even unchanged: the site's topics (live);
            # an inverter's payload is retained and changes with its reports only (every 5-15 min)
            live = f"{base}/live"
            count = sum(1 for t, _, _ in seen.messages if t == live)
            await asyncio.sleep(4.5)
            assert sum(1 for t, _, _ in seen.messages if t == live) >= count + 1
            inverter_payload = seen.json(f"{base}/inverter_{inverter}/state")
            assert {"power_w", "today_wh", "lifetime_wh", "last_report"} <= set(inverter_payload)
            assert "report_age_s" not in inverter_payload  # an age would need a message per tick
            assert json.loads(seen.last[f"{base}/inverter_{inverter}/power_w"]) == inverter_payload["power_w"]

            # the gateway stops answering: instant figures null, their availability offline
            sim.faults.add(Fault(FaultKind.STATUS, status=503))
            await _eventually(lambda: seen.last.get(f"{base}/live") == "offline")
            await _eventually(lambda: seen.json(f"{base}/site/state")["stale"] is True)
            stale = seen.json(f"{base}/site/state")
            assert stale["production_power_w"] is None
            assert stale["grid_import_w_l1"] is None
            assert stale["gateway_online"] is False
            assert stale["production_lifetime_wh"] is not None  # counters keep their last value
            assert seen.last[f"{base}/production_power_w"] == "null"
            sim.faults.clear()
            await _eventually(lambda: seen.last.get(f"{base}/live") == "online")
        # a clean stop says offline (the last will covers a crash: see the next test), and the figures
        # are no longer live for a client reading only `live`
        await _eventually(lambda: seen.last.get(f"{base}/status") == "offline", timeout=5)
        await _eventually(lambda: seen.last.get(f"{base}/live") == "offline", timeout=5)


async def test_last_will_when_the_daemon_dies(tmp_path: Path, mosquitto: MqttBroker) -> None:
    source = load_scenario_source("single-phase", speed=60)
    async with run_simulator(source) as sim, subscribed(mosquitto) as seen:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[gateway]\nhost = "{sim.host}"\ntoken_mode = "manual"\ntoken = "{sim.issue_token()}"\n'
            f'[storage]\nstate_dir = "{tmp_path}"\n[web]\nlisten = "127.0.0.1:0"\n'
            f'[publish.mqtt]\nhost = "{mosquitto.host}"\nport = {mosquitto.port}\n'
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "enphase_secure.cli", "run", "-c", str(config),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        status = f"{PREFIX}/{sim.serial}/status"
        try:
            await _eventually(lambda: seen.last.get(status) == "online", timeout=30)
        finally:
            proc.kill()  # no chance to say goodbye: the broker publishes the last will
            await proc.wait()
        await _eventually(lambda: seen.last.get(status) == "offline", timeout=10)
        assert (status, "offline", False) in seen.messages  # the will itself, as it was sent


async def test_layout_change_removes_the_old_entities(tmp_path: Path, mosquitto: MqttBroker) -> None:
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source) as sim, subscribed(mosquitto) as seen:
        stages = {"stages": [_stage("Water heater")]}
        single = daemon_config(
            sim, tmp_path, timezone="Europe/Paris", publish=_mqtt(mosquitto), control=stages
        )
        async with running(single, clock=source.now):
            await _eventually(lambda: any("/inverter_" in t for t in seen.configs(sim.serial)))
            await asyncio.sleep(1.0)
            before = seen.configs(sim.serial)
        # restarted with another layout and without the controller stage: the service reads back what it
        # left on the broker and empties it
        split = daemon_config(
            sim, tmp_path, timezone="Europe/Paris", publish={"layout": "split", **_mqtt(mosquitto)}
        )
        async with running(split, clock=source.now):
            await _eventually(lambda: not any(t.endswith("/site/config") for t in seen.configs(sim.serial)))
            await asyncio.sleep(1.0)
            after = seen.configs(sim.serial)
    node = f"{DISCOVERY}/device/enphase_secure_{sim.serial}"
    assert {t.removeprefix(node) for t in before if "/inverter_" not in t} == {"/site/config"}
    assert {t.removeprefix(node) for t in after if "/inverter_" not in t} == {
        "/prod/config", "/conso_net/config", "/conso_total/config", "/bat/config",
    }  # fmt: skip
    # the same entities keep their unique ids (Home Assistant keeps their history); the stage is gone
    unique_before = {u for u in ha_entities(before) if "stage" not in u}
    assert unique_before == set(ha_entities(after))
    assert len(unique_before) > 40
    grid = ha_entities(after)[f"enphase_secure_{sim.serial}_grid_import_w"]
    assert grid["state_topic"] == f"{PREFIX}/{sim.serial}/conso_net/state"
    assert grid["device"]["via_device"] == f"enphase_secure_{sim.serial}_prod"
    assert seen.json(f"{PREFIX}/{sim.serial}/conso_net/state")["grid_import_w"] is not None


async def test_discovery_mode_switch_leaves_no_orphans(tmp_path: Path, mosquitto: MqttBroker) -> None:
    source = load_scenario_source("single-phase", speed=60)
    async with run_simulator(source) as sim, subscribed(mosquitto) as seen:
        node = f"enphase_secure_{sim.serial}"
        # Home Assistant before 2024.11: one config per entity
        older = daemon_config(
            sim, tmp_path, timezone="Europe/Paris", publish=_mqtt(mosquitto, discovery="component")
        )
        async with running(older, clock=source.now):
            await _eventually(lambda: any(f"/sensor/{node}/inverter_" in t for t in seen.configs(sim.serial)))
            await asyncio.sleep(1.0)
            before = seen.configs(sim.serial)
        # back to device-based discovery (the default): the per-component configs are emptied
        newer = daemon_config(sim, tmp_path, timezone="Europe/Paris", publish=_mqtt(mosquitto))
        async with running(newer, clock=source.now):
            await _eventually(
                lambda: (
                    all(t.startswith(f"{DISCOVERY}/device/") for t in seen.configs(sim.serial))
                    and any("/inverter_" in t for t in seen.configs(sim.serial))
                )
            )
            await asyncio.sleep(1.0)
            after = seen.configs(sim.serial)
    assert {t.split("/")[1] for t in before} == {"sensor", "binary_sensor"}
    assert {t.split("/")[1] for t in after} == {"device"}
    assert {c["unique_id"] for c in before.values()} == set(ha_entities(after))  # the same entities
    power = before[f"{DISCOVERY}/sensor/{node}/production_power_w/config"]
    assert power["state_topic"] == f"{PREFIX}/{sim.serial}/site/state"
    assert (power["device_class"], power["unit_of_measurement"]) == ("power", "W")
    assert power["device"]["identifiers"] == [f"{node}_site"]


async def test_broker_down_then_back(tmp_path: Path, mosquitto_server: Mosquitto) -> None:
    broker = mosquitto_server.broker
    source = load_scenario_source("single-phase", speed=60)
    async with run_simulator(source) as sim, subscribed(broker) as seen:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris", publish=_mqtt(broker))
        state = f"{PREFIX}/{sim.serial}/site/state"
        async with running(config, clock=source.now) as daemon:
            await _eventually(lambda: state in seen.last)
            mosquitto_server.stop()
            await _eventually(lambda: daemon.status()["outputs"]["mqtt"]["connected"] is False)
            reads = daemon.status()["loops"]["fast"]["reads"]
            await _eventually(lambda: daemon.status()["loops"]["fast"]["reads"] >= reads + 6)
            output = daemon.status()["outputs"]["mqtt"]
            assert output["state"] == "failing"
            assert "not connected" in output["error"]
            seen.messages.clear()
            mosquitto_server.start()
            await _eventually(lambda: daemon.status()["outputs"]["mqtt"]["connected"], timeout=40)
            await _eventually(lambda: state in seen.last)
            reconnected = len(seen.messages)
            await asyncio.sleep(2.0)
            output = daemon.status()["outputs"]["mqtt"]
            assert output["state"] == "ok"
            assert output["connections"] == 2
    # no burst: the missed ticks were not queued; one state per tick after coming back
    states = [m for m in seen.messages if m[0] == state]
    assert len(states) <= 4, f"{len(states)} state messages in about 2 s after reconnecting"
    assert reconnected < 200


async def test_stage_control_over_mqtt(
    tmp_path: Path, mosquitto: MqttBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    source = load_scenario_source("single-phase", speed=60)
    async with run_simulator(source) as sim, subscribed(mosquitto) as seen:
        config = daemon_config(
            sim,
            tmp_path,
            timezone="Europe/Paris",
            publish=_mqtt(mosquitto),
            control={"stages": [_stage("Water heater")]},
        )
        base = f"{PREFIX}/{sim.serial}/control/water_heater"
        async with (
            running(config, clock=source.now) as daemon,
            aiomqtt.Client(mosquitto.host, mosquitto.port) as client,
        ):
            await _eventually(lambda: f"{base}/state" in seen.last)
            await client.publish(f"{base}/set", "on")
            await _eventually(lambda: seen.json(f"{base}/state")["mode"] == "on")
            assert "control: Water heater set to on by MQTT" in caplog.text
            await _eventually(lambda: seen.json(f"{base}/state")["on"] is True)
            assert daemon.control_view()["stages"][0]["state"]["mode"] == "on"
            await client.publish(f"{base}/set", "sideways")
            await client.publish(f"{PREFIX}/{sim.serial}/control/nope/set", "on")
            await client.publish(f"{base}/set", "AUTO ")
            await _eventually(lambda: seen.json(f"{base}/state")["mode"] == "auto")
            assert daemon.control_view()["stages"][0]["state"]["mode"] == "auto"
            site = seen.json(f"{PREFIX}/{sim.serial}/site/state")
            assert "stage_1_on" in site
