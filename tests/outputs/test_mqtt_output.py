"""The MQTT adapter on its own against a real Mosquitto: TLS with a CA file, a broker it cannot trust,
bad commands, and what its status shows (never the password)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from pathlib import Path

import aiomqtt
import pytest
from sample_updates import SITES

from enphase_secure.errors import OutputUnavailableError
from enphase_secure.outputs.mqtt import MqttOutput, MqttSettings
from mqtt_broker import Mosquitto

SECRET = "mqtt-pass-123"
STATE = "enphase_secure/122212345678/site/state"


async def _until(predicate: object, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_tls_with_a_ca_file(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path, tls=True)
    broker.start()
    try:
        assert broker.ca_file is not None
        settings = MqttSettings(
            host="127.0.0.1", port=broker.port, tls=True, ca_file=str(broker.ca_file), password=SECRET,
            username="enphase", discovery=False,
        )  # fmt: skip
        output = MqttOutput(settings, control=None, logger=logging.getLogger("test"))
        context = ssl.create_default_context(cafile=str(broker.ca_file))
        async with aiomqtt.Client("127.0.0.1", broker.port, tls_context=context) as client:
            await client.subscribe("enphase_secure/#")
            await output.start()
            try:
                await output.publish(SITES["1 phase, net CT, battery"])  # connects once the serial is known
                await _until(lambda: output.status()["connected"])
                await output.publish(SITES["1 phase, net CT, battery"])
                async with asyncio.timeout(10):
                    async for message in client.messages:
                        if str(message.topic) == STATE:
                            assert json.loads(message.payload)["battery_soc_pct"] == 55.0  # type: ignore[arg-type]
                            break
            finally:
                await output.stop()
        status = output.status()
        assert status["target"] == f"mqtts://127.0.0.1:{broker.port}"
        assert SECRET not in json.dumps(status)
    finally:
        broker.stop()


async def test_a_broker_it_cannot_trust_is_reported_not_queued(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = Mosquitto(tmp_path, tls=True)
    broker.start()
    try:
        settings = MqttSettings(host="127.0.0.1", port=broker.port, tls=True, password=SECRET)  # system CAs
        output = MqttOutput(settings, control=None, logger=logging.getLogger("test.mqtt"))
        await output.start()
        try:
            await output.publish(SITES["1 phase, net CT, battery"])
            await _until(lambda: "unreachable" in caplog.text)
            with pytest.raises(OutputUnavailableError, match="not connected") as exc:
                await output.publish(SITES["1 phase, net CT, battery"])
            assert "certificate" in str(exc.value).lower()
            assert output.status()["connected"] is False
            assert output.status()["messages_sent"] == 0
        finally:
            await output.stop()
        assert SECRET not in caplog.text
        assert caplog.text.count("unreachable") == 1  # logged once, however many retries
    finally:
        broker.stop()


async def test_a_ca_file_that_cannot_be_read_is_named_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = Mosquitto(tmp_path, tls=True)
    broker.start()
    try:
        assert broker.ca_file is not None
        ca_file = tmp_path / "later" / "ca.pem"
        settings = MqttSettings(host="127.0.0.1", port=broker.port, tls=True, ca_file=str(ca_file))
        output = MqttOutput(settings, control=None, logger=logging.getLogger("test.mqtt"))
        await output.start()
        try:
            await output.publish(SITES["1 phase, net CT, battery"])
            await _until(lambda: "unreachable" in caplog.text)
            with pytest.raises(OutputUnavailableError, match="No such file"):
                await output.publish(SITES["1 phase, net CT, battery"])
            ca_file.parent.mkdir()
            ca_file.write_bytes(broker.ca_file.read_bytes())  # fixed: the loop is still retrying
            await _until(lambda: output.status()["connected"], timeout=20)
        finally:
            await output.stop()
    finally:
        broker.stop()


async def test_status_heals_after_another_instance_said_offline(tmp_path: Path) -> None:
    # a short-lived second instance with the same serial exits: its offline (retained) replaces online
    broker = Mosquitto(tmp_path)
    broker.start()
    status_topic = "enphase_secure/122212345678/status"
    try:
        settings = MqttSettings(host="127.0.0.1", port=broker.port, discovery=False, publish_interval_s=1.0)
        output = MqttOutput(settings, control=None, logger=logging.getLogger("test"))
        await output.start()
        try:
            await output.publish(SITES["1 phase, net CT, battery"])
            await _until(lambda: output.status()["connected"])
            async with aiomqtt.Client("127.0.0.1", broker.port) as other:
                await other.publish(status_topic, "offline", qos=1, retain=True)
            seen: list[str] = []

            async def ticks() -> None:  # the daemon's fast loop, one update a tick
                while True:
                    await output.publish(SITES["1 phase, net CT, battery"])
                    await asyncio.sleep(0.2)

            ticker = asyncio.create_task(ticks())
            try:
                async with aiomqtt.Client("127.0.0.1", broker.port) as watcher:
                    await watcher.subscribe(status_topic)
                    async with asyncio.timeout(15):
                        async for message in watcher.messages:
                            seen.append(bytes(message.payload).decode())  # type: ignore[arg-type]
                            if seen[-1] == "online":
                                break
            finally:
                ticker.cancel()
            assert seen[0] == "offline"
            assert seen[-1] == "online"
        finally:
            await output.stop()
    finally:
        broker.stop()


async def test_a_refused_login_names_the_keys_to_check(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = Mosquitto(tmp_path, users={"enphase": "right-pass"})
    broker.start()
    try:
        settings = MqttSettings(host="127.0.0.1", port=broker.port, username="enphase", password=SECRET)
        output = MqttOutput(settings, control=None, logger=logging.getLogger("test.mqtt"))
        await output.start()
        try:
            await output.publish(SITES["1 phase, net CT, battery"])
            await _until(lambda: "unreachable" in caplog.text or "refused" in caplog.text)
            assert "refused the username/password" in caplog.text
            assert "publish.mqtt.username" in caplog.text
            assert "publish.mqtt.password" in caplog.text
            assert SECRET not in caplog.text
        finally:
            await output.stop()
    finally:
        broker.stop()


async def test_state_topics_no_longer_sent_are_emptied_at_connect(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path)
    broker.start()
    base = "enphase_secure/122212345678"
    old = [f"{base}/bat/state", f"{base}/control/old_stage/state", f"{base}/site/production_power_w"]
    try:
        # an earlier run left these: the split layout, a stage since removed, figure_topics = true
        async with aiomqtt.Client("127.0.0.1", broker.port) as earlier:
            for topic in old:
                await earlier.publish(topic, "{}", qos=1, retain=True)
        settings = MqttSettings(host="127.0.0.1", port=broker.port, discovery=False)
        output = MqttOutput(settings, control=None, logger=logging.getLogger("test"))
        await output.start()
        try:
            await output.publish(SITES["1 phase, net CT, battery"])
            await _until(lambda: output.status()["connected"])
            await output.publish(SITES["1 phase, net CT, battery"])
            retained: dict[str, bytes] = {}
            async with aiomqtt.Client("127.0.0.1", broker.port) as later:
                await later.subscribe(f"{base}/#")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2):
                        async for message in later.messages:
                            retained[str(message.topic)] = bytes(message.payload)  # type: ignore[arg-type]
            assert f"{base}/site/state" in retained
            assert retained[f"{base}/status"] == b"online"
            assert [topic for topic in old if topic in retained] == []
        finally:
            await output.stop()
    finally:
        broker.stop()
