"""Which outputs a configuration asks for (each output's engineer adds its own line here)."""

from __future__ import annotations

import logging

from ..config import Config
from .bus import Output
from .jeedom import JeedomOutput
from .mqtt import ControlPort, MqttOutput, MqttSettings


def build_outputs(
    config: Config, *, logger: logging.Logger, control: ControlPort | None = None
) -> list[Output]:
    outputs: list[Output] = []
    if config.publish.mqtt is not None:
        outputs.append(MqttOutput(mqtt_settings(config), control=control, logger=logger))
    if (jeedom := jeedom_output(config, logger)) is not None:
        outputs.append(jeedom)
    return outputs


def jeedom_output(config: Config, logger: logging.Logger) -> JeedomOutput | None:
    section = config.publish.jeedom
    apikey = section.apikey_value() if section else None
    if section is None or apikey is None:
        return None
    return JeedomOutput(
        url=section.url,
        apikey=apikey.get_secret_value(),
        layout=config.publish.layout,
        refresh_s=section.refresh_s,
        logger=logger,
    )


def mqtt_settings(config: Config) -> MqttSettings:
    mqtt = config.publish.mqtt
    assert mqtt is not None
    password = mqtt.password_value()
    return MqttSettings(
        host=mqtt.host,
        port=mqtt.port,
        username=mqtt.username,
        password=password.get_secret_value() if password else None,
        tls=mqtt.tls,
        ca_file=str(mqtt.ca_file.expanduser()) if mqtt.ca_file else None,
        client_id=mqtt.client_id,
        topic_prefix=mqtt.topic_prefix,
        discovery=mqtt.homeassistant_discovery,
        discovery_mode=mqtt.discovery,
        discovery_prefix=mqtt.discovery_prefix,
        publish_interval_s=mqtt.publish_interval_s,
        figure_topics=mqtt.figure_topics,
        layout=config.publish.layout,
    )
