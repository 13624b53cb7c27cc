"""Which outputs a configuration asks for (each output's engineer adds its own line here)."""

from __future__ import annotations

import logging

from ..config import Config
from .bus import Output
from .jeedom import JeedomOutput


def build_outputs(config: Config, *, logger: logging.Logger) -> list[Output]:
    outputs: list[Output] = []
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
