"""Home Assistant MQTT discovery configs (pure), derived from the figures table.

Device-based discovery (Home Assistant 2024.11 and later): one retained config per device of the layout
and per inverter, at ``<discovery_prefix>/device/enphase_secure_<serial>/<device>/config``, holding the
device, the origin and one component per entity. A device no longer wanted (another layout, the
battery gone) gets an empty payload; a component gone from a kept device is sent once as its platform
alone, which is how Home Assistant removes one component (home-assistant.io/integrations/mqtt,
device discovery), then left out. No orphan entity. Unique ids hold the gateway serial and the figure
key only, so an entity keeps its id across a layout change.

Per-component discovery (``discovery = "component"``, for Home Assistant before 2024.11): the same
entities, one retained config each at
``<discovery_prefix>/<platform>/enphase_secure_<serial>/<object>/config``, ``<object>`` being the
unique id without the node (``production_power_w``, ``inverter_<serial>_power_w``), holding the
device's shared options, the device and the origin; a topic the layout no longer has is emptied.
Both modes read back and empty whatever the other left: switching leaves no orphan.

Availability: every entity follows ``<prefix>/<serial>/status`` (the last will); instant figures also
follow ``<prefix>/<serial>/live``, so that while the gateway is stale Home Assistant shows them
"unavailable", never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .bus import Update
from .figures import Kind, Point
from .mqtt_layout import LayoutDevice, Topics, layout_devices, main_device_id, stage_names
from .mqtt_state import Message, dumps

NODE = "enphase_secure"
MODES = ("auto", "on", "off")
SHARED_OPTIONS = ("state_topic", "availability", "qos")  # a device's, for components that do not override
# a day total that may fall (``total``) says when its day began: the local midnight of the payload's time
DAY_START = (
    "{{ as_local(as_datetime(value_json.time))"
    ".replace(hour=0, minute=0, second=0, microsecond=0).isoformat() }}"
)


def _version() -> str:
    try:
        return version("enphase-secure")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0"


ORIGIN = {"name": "enphase-secure", "sw_version": _version()}


def config_topic(discovery_prefix: str, serial: str, device_id: str) -> str:
    return f"{discovery_prefix}/device/{NODE}_{serial}/{device_id}/config"


def component_topic(discovery_prefix: str, platform: str, serial: str, object_id: str) -> str:
    return f"{discovery_prefix}/{platform}/{NODE}_{serial}/{object_id}/config"


def discovery_filter(discovery_prefix: str, serial: str) -> str:
    """Every config this gateway's service may have left on the broker, in either mode."""
    return f"{discovery_prefix}/+/{NODE}_{serial}/+/config"


def discovery_configs(
    update: Update, layout: str, topics: Topics, discovery_prefix: str, *, per_component: bool = False
) -> dict[str, dict[str, Any]]:
    """config topic -> config, for every device (and entity) this update's site has: one per device,
    or with ``per_component`` one per entity."""
    devices = _device_configs(update, layout, topics, discovery_prefix)
    return _per_component(devices, topics.serial, discovery_prefix) if per_component else devices


def _per_component(
    devices: Mapping[str, Mapping[str, Any]], serial: str, discovery_prefix: str
) -> dict[str, dict[str, Any]]:
    """Each component of the device configs as a config of its own, with the device's shared options."""
    configs: dict[str, dict[str, Any]] = {}
    for device in devices.values():
        shared = {key: device[key] for key in SHARED_OPTIONS}
        for component in device["components"].values():
            entity = {key: value for key, value in component.items() if key != "platform"}
            object_id = component["unique_id"].removeprefix(f"{NODE}_{serial}_")
            topic = component_topic(discovery_prefix, component["platform"], serial, object_id)
            configs[topic] = {**shared, **entity, "device": device["device"], "origin": device["origin"]}
    return configs


def _device_configs(
    update: Update, layout: str, topics: Topics, discovery_prefix: str
) -> dict[str, dict[str, Any]]:
    document = update.document
    serial = topics.serial
    gateway = document.get("gateway") or {}
    main = main_device_id(layout)
    configs: dict[str, dict[str, Any]] = {}
    for device in layout_devices(document, layout):
        components: dict[str, dict[str, Any]] = {}
        for point in device.points:
            unique = (
                f"{NODE}_{serial}_{point.key}"
                if device.inverter is None
                else f"{NODE}_{serial}_inverter_{device.inverter}_{point.key}"
            )
            components[point.key] = _entity(point, unique, topics)
        if device.device_id == main:
            components.update(_stage_components(stage_names(document), serial, topics))
        configs[config_topic(discovery_prefix, serial, device.device_id)] = {
            "device": _device_block(device, serial, gateway, main),
            "origin": ORIGIN,
            "state_topic": topics.device_state(device.device_id),
            "availability": [{"topic": topics.status}],
            "qos": 0,
            "components": components,
        }
    return configs


def discovery_messages(
    configs: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Mapping[str, Any]]
) -> list[Message]:
    """What turns the configs on the broker (``previous``) into ``configs``: empty payloads for the
    configs gone (first), then each config; a device's components gone reduced to their platform."""
    messages = [Message(topic, "", retain=True, qos=1) for topic in sorted(set(previous) - set(configs))]
    for topic, config in configs.items():
        if "components" not in config:  # per component
            messages.append(Message(topic, dumps(config), retain=True, qos=1))
            continue
        components = dict(config["components"])
        for object_id, old in (previous.get(topic, {}).get("components") or {}).items():
            if object_id not in components and isinstance(old, Mapping) and len(old) > 1:
                components[object_id] = {"platform": old.get("platform")}
        messages.append(Message(topic, dumps({**config, "components": components}), retain=True, qos=1))
    return messages


def _stage_components(stages: Iterable[str], serial: str, topics: Topics) -> dict[str, dict[str, Any]]:
    """Per controller stage: its manual mode (a select) and the reason of its state (diagnostic)."""
    components: dict[str, dict[str, Any]] = {}
    for number, stage in enumerate(stages, start=1):
        components[f"stage_{number}_mode"] = {
            "platform": "select",
            "name": f"{stage} mode",
            "unique_id": f"{NODE}_{serial}_stage_{number}_mode",
            "state_topic": topics.stage_state(stage),
            "value_template": "{{ value_json.mode }}",
            "command_topic": topics.stage_set(stage),
            "options": list(MODES),
            "icon": "mdi:solar-power-variant",
        }
        components[f"stage_{number}_reason"] = {
            "platform": "sensor",
            "name": f"{stage} reason",
            "unique_id": f"{NODE}_{serial}_stage_{number}_reason",
            "state_topic": topics.stage_state(stage),
            "value_template": "{{ value_json.reason }}",
            "entity_category": "diagnostic",
        }
    return components


def _entity(point: Point, unique_id: str, topics: Topics) -> dict[str, Any]:
    """One component; the device's ``state_topic`` and ``availability`` apply unless given here."""
    figure, traits = point.figure, point.figure.traits
    config: dict[str, Any] = {"platform": traits.ha_platform, "name": point.name_en, "unique_id": unique_id}
    if traits.instant:
        config["availability"] = [{"topic": topics.status}, {"topic": topics.live}]
        config["availability_mode"] = "all"
    if traits.binary:
        key = f"value_json.{point.key}"  # null (unknown): "None", which Home Assistant shows as unknown
        config["value_template"] = (
            f"{{% if {key} is none %}}None{{% elif {key} %}}ON{{% else %}}OFF{{% endif %}}"
        )
    else:
        config["value_template"] = f"{{{{ value_json.{point.key} }}}}"
        if traits.unit is not None:
            config["unit_of_measurement"] = traits.unit
        if figure.ha_state_class is not None:
            config["state_class"] = figure.ha_state_class
        if figure.ha_state_class == "total" and figure.kind is Kind.ENERGY_TODAY:
            config["last_reset_value_template"] = DAY_START
        if traits.numeric:
            config["suggested_display_precision"] = traits.precision
    if traits.ha_device_class is not None:
        config["device_class"] = traits.ha_device_class
    if figure.diagnostic:
        config["entity_category"] = "diagnostic"
    return config


def _device_block(device: LayoutDevice, serial: str, gateway: Mapping[str, Any], main: str) -> dict[str, Any]:
    block: dict[str, Any] = {
        "identifiers": [f"{NODE}_{serial}_{device.device_id}"],
        "name": device.name if device.inverter is not None else f"{device.name} {serial}",
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
