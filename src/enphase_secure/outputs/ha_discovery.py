"""Home Assistant MQTT discovery configs (pure), derived from the figures table.

One retained config per entity at ``<discovery_prefix>/<platform>/enphase_secure_<serial>/<object>/config``
(the per-component schema, which every Home Assistant version reads and which removes one entity with
one empty payload). The object id holds the layout device, so that another layout or a figure gone
leaves topics that ``removals`` empties: no orphan entity. Unique ids hold the gateway serial and the
figure key only, so an entity keeps its history across a layout change.

Availability: every entity follows ``<prefix>/<serial>/status`` (the last will); instant figures also
follow ``<prefix>/<serial>/live``, so that while the gateway is stale Home Assistant shows them
"unavailable", never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .bus import Update
from .figures import Point
from .mqtt_layout import LayoutDevice, Topics, layout_devices, main_device_id, stage_names
from .mqtt_state import Message, dumps

NODE = "enphase_secure"
MODES = ("auto", "on", "off")


def _version() -> str:
    try:
        return version("enphase-secure")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0"


ORIGIN = {"name": "enphase-secure", "sw_version": _version()}


def config_topic(discovery_prefix: str, platform: str, serial: str, object_id: str) -> str:
    return f"{discovery_prefix}/{platform}/{NODE}_{serial}/{object_id}/config"


def discovery_filter(discovery_prefix: str, serial: str) -> str:
    """Every config this gateway's service may have left on the broker."""
    return f"{discovery_prefix}/+/{NODE}_{serial}/+/config"


def discovery_configs(
    update: Update, layout: str, topics: Topics, discovery_prefix: str
) -> dict[str, dict[str, Any]]:
    """config topic -> config payload, for every entity this update's site has."""
    document = update.document
    serial = topics.serial
    gateway = document.get("gateway") or {}
    main = main_device_id(layout)
    configs: dict[str, dict[str, Any]] = {}
    for device in layout_devices(document, layout):
        block = _device_block(device, serial, gateway, main)
        for point in device.points:
            platform = point.figure.traits.ha_platform
            object_id = f"{device.device_id}_{point.key}"
            unique = (
                f"{NODE}_{serial}_{point.key}"
                if device.inverter is None
                else f"{NODE}_{serial}_inverter_{device.inverter}_{point.key}"
            )
            configs[config_topic(discovery_prefix, platform, serial, object_id)] = _entity(
                point, unique, topics.device_state(device.device_id), block, topics
            )
    for number, stage in enumerate(stage_names(document), start=1):
        block = _device_block(_main(layout, document), serial, gateway, main)
        availability = {"availability": [{"topic": topics.status}]}
        configs[config_topic(discovery_prefix, "select", serial, f"{main}_stage_{number}_mode")] = {
            "name": f"{stage} mode",
            "unique_id": f"{NODE}_{serial}_stage_{number}_mode",
            "state_topic": topics.stage_state(stage),
            "value_template": "{{ value_json.mode }}",
            "command_topic": topics.stage_set(stage),
            "options": list(MODES),
            "icon": "mdi:solar-power-variant",
            **availability,
            "device": block,
            "origin": ORIGIN,
        }
        configs[config_topic(discovery_prefix, "sensor", serial, f"{main}_stage_{number}_reason")] = {
            "name": f"{stage} reason",
            "unique_id": f"{NODE}_{serial}_stage_{number}_reason",
            "state_topic": topics.stage_state(stage),
            "value_template": "{{ value_json.reason }}",
            "entity_category": "diagnostic",
            **availability,
            "device": block,
            "origin": ORIGIN,
        }
    return configs


def discovery_messages(configs: Mapping[str, Mapping[str, Any]], previous: Iterable[str]) -> list[Message]:
    """Empty retained payloads for the configs no longer wanted (first), then the wanted ones."""
    gone = sorted(set(previous) - set(configs))
    return [Message(topic, "", retain=True, qos=1) for topic in gone] + [
        Message(topic, dumps(config), retain=True, qos=1) for topic, config in configs.items()
    ]


def _entity(
    point: Point, unique_id: str, state_topic: str, device: Mapping[str, Any], topics: Topics
) -> dict[str, Any]:
    figure, traits = point.figure, point.figure.traits
    availability = [{"topic": topics.status}]
    if traits.instant:
        availability.append({"topic": topics.live})
    config: dict[str, Any] = {
        "name": point.name_en,
        "unique_id": unique_id,
        "state_topic": state_topic,
        "availability": availability,
        "availability_mode": "all",
        "device": device,
        "origin": ORIGIN,
    }
    if traits.binary:
        config["value_template"] = f"{{{{ 'ON' if value_json.{point.key} else 'OFF' }}}}"
    else:
        config["value_template"] = f"{{{{ value_json.{point.key} }}}}"
        if traits.unit is not None:
            config["unit_of_measurement"] = traits.unit
        if traits.ha_state_class is not None:
            config["state_class"] = traits.ha_state_class
        if traits.numeric:
            config["suggested_display_precision"] = traits.precision
    if traits.ha_device_class is not None:
        config["device_class"] = traits.ha_device_class
    if figure.diagnostic:
        config["entity_category"] = "diagnostic"
    return config


def _main(layout: str, document: Mapping[str, Any]) -> LayoutDevice:
    main = main_device_id(layout)
    return next(d for d in layout_devices(document, layout) if d.device_id == main)


def _device_block(device: LayoutDevice, serial: str, gateway: Mapping[str, Any], main: str) -> dict[str, Any]:
    block: dict[str, Any] = {
        "identifiers": [f"{NODE}_{serial}_{device.device_id}"],
        "name": f"{device.name} {device.inverter or serial}",
        "manufacturer": "Enphase Energy",
    }
    if device.inverter is None:
        block["model"] = gateway.get("part_number") or "IQ Gateway"
        block["serial_number"] = serial
        if gateway.get("firmware"):
            block["sw_version"] = gateway["firmware"]
    else:
        block["model"] = "Microinverter"
        block["serial_number"] = device.inverter
    if device.device_id != main:
        block["via_device"] = f"{NODE}_{serial}_{main}"
    return block
