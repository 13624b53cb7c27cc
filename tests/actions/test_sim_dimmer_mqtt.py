"""The simulator's dimmable load set over MQTT through a real Mosquitto broker."""

from __future__ import annotations

import asyncio
import contextlib

import aiomqtt
import pytest

from enphase_secure.actions.mqtt import MqttBroker
from enphase_secure.simulator.live import load_scenario_source


async def test_a_dimmer_follows_its_mqtt_topic(mosquitto: MqttBroker) -> None:
    source = load_scenario_source("single-phase", speed=1, paused=True)
    dimmer = source.dimmers.add("router", 2000)
    ready = asyncio.Event()
    follower = asyncio.create_task(source.dimmers.follow_mqtt(mosquitto.host, mosquitto.port, ready))
    try:
        await asyncio.wait_for(ready.wait(), 5)
        before = source.truth()["power_w"]["consumption"][0]
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            await client.publish("simulator/dimmers/router/set", "not a level", qos=1)
            await client.publish("simulator/dimmers/sauna/set", "10", qos=1)
            await client.publish("simulator/dimmers/router/set", '{"level_pct": 25}', qos=1)
            for _ in range(100):
                if dimmer.level_pct == 25.0:
                    break
                await asyncio.sleep(0.02)
            await client.publish("simulator/dimmers/router/set", "60", qos=1)
            for _ in range(100):
                if dimmer.level_pct == 60.0:
                    break
                await asyncio.sleep(0.02)
        assert [level for _, level in dimmer.commands] == [25.0, 60.0]  # the bad ones ignored
        assert source.truth()["power_w"]["consumption"][0] - before == pytest.approx(1200.0)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
