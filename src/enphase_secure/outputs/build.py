"""Which outputs a configuration asks for (each output's engineer adds its own line here).

Each output's module is imported when the configuration asks for it (aiomqtt alone is a tenth of the
daemon's start-up).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..config import Config
from .bus import Output

if TYPE_CHECKING:
    from .jeedom import JeedomOutput
    from .mqtt import ControlPort, MqttSettings


def build_outputs(
    config: Config, *, logger: logging.Logger, control: ControlPort | None = None
) -> list[Output]:
    outputs: list[Output] = []
    if config.publish.mqtt is not None:
        from .mqtt import MqttOutput  # noqa: PLC0415

        outputs.append(MqttOutput(mqtt_settings(config), control=control, logger=logger))
    if (jeedom := jeedom_output(config, logger)) is not None:
        outputs.append(jeedom)
    return outputs


def jeedom_output(config: Config, logger: logging.Logger) -> JeedomOutput | None:
    section = config.publish.jeedom
    apikey = section.apikey_value() if section else None
    if section is None or apikey is None:
        return None
    from .jeedom import JeedomOutput  # noqa: PLC0415

    return JeedomOutput(
        url=section.url,
        apikey=apikey.get_secret_value(),
        layout=config.publish.layout,
        refresh_s=section.refresh_s,
        logger=logger,
    )


def mqtt_settings(config: Config) -> MqttSettings:
    from .mqtt import MqttSettings  # noqa: PLC0415

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
