"""Home Assistant discovery configs checked against Home Assistant's own rules, on tables of sites.

The ``homeassistant`` package needs Python 3.13 (this project runs on 3.11), so its rules are copied
here as data, each with its source:
- sensor device class -> allowed units and state classes: home-assistant/core
  homeassistant/components/sensor/const.py, DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES
  (a state class may also be absent);
- binary sensor device classes: homeassistant/components/binary_sensor/__init__.py BinarySensorDeviceClass;
- discovery topic ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`` with ids of
  ``[a-zA-Z0-9_-]`` (TOPIC_MATCHER in homeassistant/components/mqtt/discovery.py); a device-based
  payload has ``device`` and ``origin`` and ``components``, each with a ``platform`` and a ``unique_id``;
  a component is removed by sending it as its platform alone (home-assistant.io/integrations/mqtt,
  "Device discovery payload"; home-assistant/home-assistant.io pull request 33072);
- a select needs ``command_topic`` and ``options``; ``entity_category`` is ``config`` or ``diagnostic``
  and a sensor may not be ``config`` (homeassistant/helpers/entity.py, sensor/__init__.py);
- the Energy dashboard takes a sensor with device_class ``energy``, state_class ``total`` or
  ``total_increasing`` and an energy unit (home-assistant.io/docs/energy/faq, "Troubleshooting missing
  entities").
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sample_updates import SITES, TOPICS

from enphase_secure.outputs.ha_discovery import discovery_configs, discovery_messages
from mqtt_broker import ha_entities

ENERGY_UNITS = {"Wh", "kWh", "MWh", "GWh", "TWh", "mWh", "J", "kJ", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal"}
SENSOR_RULES: dict[str, tuple[set[str | None], set[str]]] = {
    # device_class: (units, state classes)
    "power": ({"W", "kW", "MW", "GW", "TW"}, {"measurement"}),
    "energy": (ENERGY_UNITS, {"total", "total_increasing"}),
    "energy_storage": (ENERGY_UNITS, {"measurement"}),
    "battery": ({"%"}, {"measurement"}),
    "voltage": ({"V", "mV", "µV", "kV", "MV"}, {"measurement"}),
    "current": ({"A", "mA"}, {"measurement"}),
    "frequency": ({"Hz", "kHz", "MHz", "GHz"}, {"measurement"}),
    "temperature": ({"°C", "°F", "K"}, {"measurement"}),
    "duration": ({"d", "h", "min", "s", "ms"}, {"measurement", "total", "total_increasing"}),
    "timestamp": ({None}, set()),
}
BINARY_CLASSES = {"connectivity", "running", "power", "problem", "plug", "battery_charging"}
# Home Assistant's own TOPIC_MATCHER, applied to the topic without "<discovery_prefix>/"
TOPIC = re.compile(r"(?P<component>\w+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?(?P<object>[a-zA-Z0-9_-]+)/config")
PLATFORMS = {"sensor", "binary_sensor", "select"}


def check_device(topic: str, config: dict[str, Any]) -> list[str]:
    """A device-based config: its topic, its shared mappings (home-assistant.io/integrations/mqtt,
    "Device discovery payload": device and origin are required, components each with a platform)."""
    prefix, _, rest = topic.partition("/")
    match = TOPIC.fullmatch(rest)
    if prefix != "homeassistant" or match is None or match["component"] != "device":
        return [f"{topic}: not a device discovery topic (or ids outside [a-zA-Z0-9_-])"]
    problems = [f"missing {key}" for key in ("device", "origin", "components") if key not in config]
    if not config.get("device", {}).get("identifiers"):
        problems.append("device without identifiers")
    if not config.get("origin", {}).get("name"):
        problems.append("origin without name")
    problems += [
        f"{object_id}: no platform" for object_id, c in config["components"].items() if "platform" not in c
    ]
    return problems


def check(entity: dict[str, Any]) -> list[str]:
    """What Home Assistant would reject in one entity (shared options merged); empty when valid."""
    problems = []
    component = entity["platform"]
    if component not in PLATFORMS:
        problems.append(f"{component}: not a platform we mean to use")
    for key in ("unique_id", "name", "state_topic", "availability"):
        if key not in entity:
            problems.append(f"missing {key}")
    if entity.get("entity_category") not in (None, "diagnostic", "config"):
        problems.append(f"entity_category {entity['entity_category']!r}")
    for availability in entity.get("availability", ()):
        if "+" in availability["topic"] or "#" in availability["topic"]:
            problems.append("wildcard availability topic")
    if entity.get("availability_mode", "latest") not in ("all", "any", "latest"):
        problems.append("availability_mode")
    if component == "sensor":
        if entity.get("entity_category") == "config":
            problems.append("a sensor cannot be a config entity")
        device_class = entity.get("device_class")
        unit = entity.get("unit_of_measurement")
        state_class = entity.get("state_class")
        if device_class is not None:
            units, state_classes = SENSOR_RULES[device_class]
            if unit not in units:
                problems.append(f"{device_class}: unit {unit!r} not in {units}")
            if state_class is not None and state_class not in state_classes:
                problems.append(f"{device_class}: state_class {state_class!r} not in {state_classes}")
        elif unit is None and state_class is not None:
            problems.append("a state class on a text sensor")
        if state_class not in (None, "measurement", "total", "total_increasing"):
            problems.append(f"state_class {state_class!r}")
        if "last_reset_value_template" in entity and state_class != "total":  # sensor/__init__.py
            problems.append("last_reset without state_class total")
        if "suggested_display_precision" in entity and unit is None:
            problems.append("display precision on a sensor without a unit")
    if component == "binary_sensor" and entity.get("device_class") not in (None, *BINARY_CLASSES):
        problems.append(f"binary_sensor device_class {entity['device_class']!r}")
    if component == "select" and (not entity.get("command_topic") or not entity.get("options")):
        problems.append("select without command_topic or options")
    return problems


def energy_dashboard_ready(config: dict[str, Any]) -> bool:
    return (
        config.get("device_class") == "energy"
        and config.get("state_class") in ("total", "total_increasing")
        and config.get("unit_of_measurement") in ENERGY_UNITS
    )


@pytest.mark.parametrize("layout", ["single", "split"])
@pytest.mark.parametrize("name", list(SITES))
def test_every_config_follows_home_assistant_rules(name: str, layout: str) -> None:
    configs = discovery_configs(SITES[name], layout, TOPICS, "homeassistant")
    assert {t: p for t, c in configs.items() if (p := check_device(t, c))} == {}
    entities = ha_entities(configs)
    assert len(entities) == sum(len(c["components"]) for c in configs.values())  # unique ids unique
    assert {uid: p for uid, entity in entities.items() if (p := check(entity))} == {}
    json.dumps(configs)  # every payload is JSON


def by_key(layout: str = "single", name: str = "3 phases, net CT, battery") -> dict[str, dict[str, Any]]:
    entities = ha_entities(discovery_configs(SITES[name], layout, TOPICS, "homeassistant"))
    return {uid.removeprefix("enphase_secure_122212345678_"): e for uid, e in entities.items()}


def test_the_energy_dashboard_sensors_qualify() -> None:
    entities = by_key()
    # the README tells users to pick these (grid import/export, production, house consumption)
    for key in (
        "grid_import_lifetime_wh",
        "grid_export_lifetime_wh",
        "production_lifetime_wh",
        "consumption_lifetime_wh",
        "grid_import_today_wh",
        "production_today_wh",
        "battery_charged_lifetime_wh",
        "battery_discharged_lifetime_wh",
    ):
        assert energy_dashboard_ready(entities[key]), key
    assert entities["production_power_w"]["state_class"] == "measurement"
    assert not energy_dashboard_ready(entities["production_last_7_days_wh"])  # a sliding window: no
    assert entities["token_days_left"]["entity_category"] == "diagnostic"
    assert entities["last_poll"]["device_class"] == "timestamp"


@pytest.mark.parametrize(
    ("key", "instant"),
    [("production_power_w", True), ("grid_import_w_l2", True), ("battery_soc_pct", True),
     ("production_lifetime_wh", False), ("grid_import_today_wh", False), ("gateway_online", False)],
)  # fmt: skip
def test_instant_figures_follow_the_live_topic(key: str, instant: bool) -> None:
    entity = by_key()[key]
    topics = [a["topic"] for a in entity["availability"]]
    assert topics == ([TOPICS.status, TOPICS.live] if instant else [TOPICS.status])
    assert entity.get("availability_mode", "all") == "all"


def test_sites_and_layouts_decide_which_devices_exist() -> None:
    small = discovery_configs(SITES["1 phase, production CT only"], "split", TOPICS, "homeassistant")
    big = discovery_configs(SITES["3 phases, net CT, battery"], "split", TOPICS, "homeassistant")
    node = "homeassistant/device/enphase_secure_122212345678"
    assert set(big) == {
        f"{node}/{device}/config"
        for device in ("prod", "conso_net", "conso_total", "bat", "inverter_482212345678")
    }
    # no consumption CT: no consumption device; the voltage (the table's net-consumption device) goes
    # with the production rather than alone on a device of its own
    assert set(small) == {f"{node}/prod/config", f"{node}/inverter_482212345678/config"}
    assert "voltage_v" in small[f"{node}/prod/config"]["components"]
    assert "voltage_v" in big[f"{node}/conso_net/config"]["components"]
    assert big[f"{node}/bat/config"]["device"]["via_device"] == "enphase_secure_122212345678_prod"


def test_removals_empty_devices_and_reduce_components_to_their_platform() -> None:
    small = discovery_configs(SITES["1 phase, production CT only"], "split", TOPICS, "homeassistant")
    big = discovery_configs(SITES["3 phases, net CT, battery"], "split", TOPICS, "homeassistant")
    messages = discovery_messages(small, big)
    gone = [m for m in messages if m.payload == ""]
    assert {m.topic for m in gone} == set(big) - set(small)  # the consumption and battery devices
    assert messages[: len(gone)] == gone  # removals first
    assert all(m.retain for m in messages)
    prod = next(json.loads(m.payload) for m in messages if m.topic.endswith("/prod/config"))
    assert prod["components"]["production_power_w_l1"] == {"platform": "sensor"}  # gone from a kept device
    assert prod["components"]["voltage_v"]["unique_id"].endswith("_voltage_v")
    # once removed, the next round leaves them out
    sent = {m.topic: json.loads(m.payload) for m in messages if m.payload}
    again = next(json.loads(m.payload) for m in discovery_messages(small, sent) if "/prod/" in m.topic)
    assert set(again["components"]) == set(small[next(t for t in small if "/prod/" in t)]["components"])


def test_stage_entities() -> None:
    entities = by_key(name="1 phase, net CT, battery")
    select = entities["stage_1_mode"]
    assert select["platform"] == "select"
    assert select["command_topic"] == "enphase_secure/122212345678/control/water_heater/set"
    assert select["state_topic"] == "enphase_secure/122212345678/control/water_heater/state"
    running = entities["stage_1_on"]
    assert running["platform"] == "binary_sensor"
    assert running["device_class"] == "running"
    assert running["value_template"] == (
        "{% if value_json.stage_1_on is none %}None{% elif value_json.stage_1_on %}ON{% else %}OFF{% endif %}"
    )
    assert running["state_topic"] == "enphase_secure/122212345678/site/state"
    assert entities["stage_1_reason"]["entity_category"] == "diagnostic"


def check_component(topic: str, config: dict[str, Any]) -> list[str]:
    """A per-component config (Home Assistant before 2024.11): ``<prefix>/<component>/<node>/<object>/
    config``, the entity's options with its device and origin, no ``platform`` (the topic says it)."""
    prefix, _, rest = topic.partition("/")
    match = TOPIC.fullmatch(rest)
    if prefix != "homeassistant" or match is None or match["component"] not in PLATFORMS:
        return [f"{topic}: not a per-component discovery topic (or ids outside [a-zA-Z0-9_-])"]
    problems = [] if match["node"] == "enphase_secure_122212345678" else [f"{topic}: node"]
    if "platform" in config or "components" in config:
        problems.append("device-based keys in a per-component config")
    if not config.get("device", {}).get("identifiers"):
        problems.append("device without identifiers")
    return problems + check({**config, "platform": match["component"]})


@pytest.mark.parametrize("layout", ["single", "split"])
@pytest.mark.parametrize("name", list(SITES))
def test_per_component_configs_follow_home_assistant_rules(name: str, layout: str) -> None:
    devices = discovery_configs(SITES[name], layout, TOPICS, "homeassistant")
    components = discovery_configs(SITES[name], layout, TOPICS, "homeassistant", per_component=True)
    assert {t: p for t, c in components.items() if (p := check_component(t, c))} == {}
    # the same entities as device-based discovery, with the same options
    by_unique = {c["unique_id"]: c for c in components.values()}
    assert set(by_unique) == set(ha_entities(devices))
    for unique_id, entity in ha_entities(devices).items():
        expected = {k: v for k, v in entity.items() if k not in ("platform", "config_topic", "object_id")}
        assert by_unique[unique_id] == expected
    energy = by_unique.get("enphase_secure_122212345678_production_lifetime_wh")
    assert energy is not None
    assert energy_dashboard_ready(energy)
    # object ids do not depend on the layout: a layout change keeps every topic
    other = "split" if layout == "single" else "single"
    assert set(components) == set(
        discovery_configs(SITES[name], other, TOPICS, "homeassistant", per_component=True)
    )


def test_switching_discovery_mode_empties_the_other_modes_topics() -> None:
    site = SITES["3 phases, net CT, battery"]
    devices = discovery_configs(site, "split", TOPICS, "homeassistant")
    components = discovery_configs(site, "split", TOPICS, "homeassistant", per_component=True)
    for new, old in ((components, devices), (devices, components)):
        messages = discovery_messages(new, old)
        gone = [m.topic for m in messages if m.payload == ""]
        assert set(gone) == set(old)  # every topic of the other mode emptied, before anything new
        assert [m.topic for m in messages[len(gone) :]] == list(new)
        assert all(m.payload for m in messages[len(gone) :])
    topic = "homeassistant/sensor/enphase_secure_122212345678/inverter_482212345678_power_w/config"
    assert components[topic]["state_topic"] == "enphase_secure/122212345678/inverter_482212345678/state"
    assert components["homeassistant/select/enphase_secure_122212345678/stage_1_mode/config"]["options"]


@pytest.mark.parametrize(
    ("key", "state_class", "resets_daily"),
    [("net_consumption_today_wh", "total", True), ("net_consumption_today_wh_l1", "total", True),
     ("net_consumption_lifetime_wh", "total", False), ("net_consumption_lifetime_wh_l3", "total", False),
     ("consumption_gateway_today_wh", "total", True),
     ("grid_import_today_wh", "total_increasing", False),
     ("production_lifetime_wh", "total_increasing", False),
     ("consumption_lifetime_wh", "total_increasing", False)],
)  # fmt: skip
def test_figures_that_can_fall_are_totals(key: str, state_class: str, resets_daily: bool) -> None:
    # net = import - export falls whenever the house exports: total_increasing would read each fall as a
    # meter reset; a day total says when its day began (last_reset), a lifetime one needs none
    entity = by_key()[key]
    assert entity["state_class"] == state_class
    assert energy_dashboard_ready(entity)
    assert ("last_reset_value_template" in entity) is resets_daily


@pytest.mark.parametrize(
    ("layout", "device", "name"),
    [("single", "site", "Enphase gateway 122212345678"),
     ("split", "conso_net", "Enphase net consumption 122212345678"),
     ("single", "inverter_482212345678", "Enphase inverter 482212345678"),
     ("split", "inverter_482212345678", "Enphase inverter 482212345678")],
)  # fmt: skip
def test_device_names_say_the_serial_once(layout: str, device: str, name: str) -> None:
    configs = discovery_configs(SITES["3 phases, net CT, battery"], layout, TOPICS, "homeassistant")
    config = configs[f"homeassistant/device/enphase_secure_122212345678/{device}/config"]
    assert config["device"]["name"] == name
