"""[publish.mqtt]: the keys of the MQTT output, their mistakes named, the password kept secret."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from enphase_secure.config import parse_config
from enphase_secure.errors import ConfigError
from enphase_secure.outputs.build import build_outputs, mqtt_settings

GATEWAY = {"host": "127.0.0.1:8443", "token_mode": "manual", "token": "abc.def.ghi"}


def config(**mqtt: Any) -> dict[str, Any]:
    return {"gateway": GATEWAY, "publish": {"layout": "split", "mqtt": mqtt}}


@pytest.mark.parametrize(
    ("mqtt", "culprit"),
    [
        ({"password": "pw-1", "password_file": "/x"}, "publish.mqtt: give password or password_file"),
        ({"ca_file": __file__}, "publish.mqtt: ca_file needs tls = true"),
        ({"topic_prefix": "home/#"}, "topic_prefix 'home/#'"),
        ({"discovery_prefix": "/homeassistant"}, "discovery_prefix"),
        ({"publish_interval_s": 0.5}, "publish.mqtt.publish_interval_s"),
        ({"port": 0}, "publish.mqtt.port"),
        ({"retain": True}, "publish.mqtt.retain: unknown key"),
        ({"discovery": "entity"}, "publish.mqtt.discovery"),
        ({"username": "u", "password_file": "/nonexistent/pw"}, "publish.mqtt.password_file"),
        ({"tls": True, "ca_file": "/nonexistent/ca.pem"}, "publish.mqtt.ca_file: '/nonexistent/ca.pem'"),
        ({"tls": True, "ca_file": "/"}, "publish.mqtt.ca_file: '/' is not a file"),
        ({"host": "mqtt://127.0.0.1"}, "publish.mqtt.host: 'mqtt://127.0.0.1': write the host name only"),
        ({"host": "mqtts://broker.lan:8883"}, "use tls = true and port"),
        ({"host": "broker.lan/mqtt"}, "publish.mqtt.host: 'broker.lan/mqtt'"),
        ({"password": "pw-1"}, "publish.mqtt: password needs a username (publish.mqtt.username)"),
    ],
)
def test_mistakes_are_named(mqtt: dict[str, Any], culprit: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(config(**mqtt))
    assert culprit in str(exc.value)
    assert "pw-1" not in str(exc.value)


def test_settings_from_the_config(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("from-file-7\n")
    (tmp_path / "ca.pem").write_text("a CA\n")
    parsed = parse_config(
        config(
            host="broker.lan", port=8883, username="enphase", password_file=str(secret), tls=True,
            ca_file=str(tmp_path / "ca.pem"), client_id="enphase-1", publish_interval_s=30,
            figure_topics=True, homeassistant_discovery=False, discovery="component",
        )
    )  # fmt: skip
    settings = mqtt_settings(parsed)
    assert (settings.host, settings.port, settings.username) == ("broker.lan", 8883, "enphase")
    assert settings.password == "from-file-7"
    assert (settings.tls, settings.ca_file, settings.client_id) == (
        True,
        str(tmp_path / "ca.pem"),
        "enphase-1",
    )
    assert (settings.publish_interval_s, settings.figure_topics, settings.discovery) == (30, True, False)
    assert settings.discovery_mode == "component"
    assert settings.layout == "split"
    assert settings.target == "mqtts://broker.lan:8883"
    assert "from-file-7" not in repr(parsed)


def test_defaults_and_which_outputs_exist() -> None:
    settings = mqtt_settings(parse_config(config()))
    assert (settings.host, settings.port, settings.tls) == ("127.0.0.1", 1883, False)
    assert (settings.topic_prefix, settings.discovery_prefix) == ("enphase_secure", "homeassistant")
    assert (settings.publish_interval_s, settings.figure_topics, settings.discovery) == (10.0, False, True)
    assert settings.discovery_mode == "device"
    logger = logging.getLogger("test")
    assert [o.name for o in build_outputs(parse_config(config()), logger=logger)] == ["mqtt"]
    assert build_outputs(parse_config({"gateway": GATEWAY}), logger=logger) == []
