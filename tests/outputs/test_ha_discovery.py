"""Home Assistant discovery configs checked against Home Assistant's own rules, on tables of sites.

The ``homeassistant`` package needs Python 3.13 (this project runs on 3.11), so its rules are copied
here as data, each with its source:
- sensor device class -> allowed units and state classes: home-assistant/core
  homeassistant/components/sensor/const.py, DEVICE_CLASS_UNITS and DEVICE_CLASS_STATE_CLASSES
  (a state class may also be absent);
- binary sensor device classes: homeassistant/components/binary_sensor/__init__.py BinarySensorDeviceClass;
- discovery topic ``<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`` with ids of
  ``[a-zA-Z0-9_-]``: home-assistant.io/integrations/mqtt (Discovery topic; TOPIC_MATCHER in
  homeassistant/components/mqtt/discovery.py);
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

ENERGY_UNITS = {"Wh", "kWh", "MWh", "GWh", "TWh", "mWh", "J", "kJ", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal"}
SENSOR_RULES: dict[str, tuple[set[str | None], set[str]]] = {
    # device_class: (units, state classes)
    "power": ({"W", "kW", "MW", "GW", "TW"}, {"measurement"}),
    "energy": (ENERGY_UNITS, {"total", "total_increasing"}),
    "energy_storage": (ENERGY_UNITS, {"measurement"}),
    "battery": ({"%"}, {"measurement"}),
    "voltage": ({"V", "mV", "µV", "kV", "MV"}, {"measurement"}),
    "duration": ({"d", "h", "min", "s", "ms"}, {"measurement", "total", "total_increasing"}),
    "timestamp": ({None}, set()),
}
BINARY_CLASSES = {"connectivity", "running", "power", "problem", "plug", "battery_charging"}
# Home Assistant's own TOPIC_MATCHER, applied to the topic without "<discovery_prefix>/"
TOPIC = re.compile(r"(?P<component>\w+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?(?P<object>[a-zA-Z0-9_-]+)/config")
PLATFORMS = {"sensor", "binary_sensor", "select"}


def check(topic: str, config: dict[str, Any]) -> list[str]:
    """What Home Assistant would reject or not offer in the Energy dashboard; empty when valid."""
    problems = []
    prefix, _, rest = topic.partition("/")
    match = TOPIC.fullmatch(rest)
    if prefix != "homeassistant" or match is None:
        return [f"{topic}: not a discovery topic (or ids outside [a-zA-Z0-9_-])"]
    component = match["component"]
    if component not in PLATFORMS:
        problems.append(f"{component}: not a platform we mean to use")
    for key in ("unique_id", "name", "state_topic", "device", "availability"):
        if key not in config:
            problems.append(f"missing {key}")
    if not config.get("device", {}).get("identifiers"):
        problems.append("device without identifiers")
    if config.get("entity_category") not in (None, "diagnostic", "config"):
        problems.append(f"entity_category {config['entity_category']!r}")
    for availability in config.get("availability", ()):
        if "+" in availability["topic"] or "#" in availability["topic"]:
            problems.append("wildcard availability topic")
    if config.get("availability_mode", "latest") not in ("all", "any", "latest"):
        problems.append("availability_mode")
    if component == "sensor":
        if config.get("entity_category") == "config":
            problems.append("a sensor cannot be a config entity")
        device_class = config.get("device_class")
        unit = config.get("unit_of_measurement")
        state_class = config.get("state_class")
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
        if "suggested_display_precision" in config and unit is None:
            problems.append("display precision on a sensor without a unit")
    if component == "binary_sensor" and config.get("device_class") not in (None, *BINARY_CLASSES):
        problems.append(f"binary_sensor device_class {config['device_class']!r}")
    if component == "select" and (not config.get("command_topic") or not config.get("options")):
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
    assert configs
    problems = {topic: p for topic, config in configs.items() if (p := check(topic, config))}
    assert problems == {}
    unique_ids = [c["unique_id"] for c in configs.values()]
    assert len(unique_ids) == len(set(unique_ids))
    json.dumps(configs)  # every payload is JSON


def test_the_energy_dashboard_sensors_qualify() -> None:
    configs = discovery_configs(SITES["3 phases, net CT, battery"], "single", TOPICS, "homeassistant")
    by_key = {c["unique_id"].removeprefix("enphase_secure_122212345678_"): c for c in configs.values()}
    # the README tells users to pick these (grid import/export, production, house consumption)
    for key in (
        "grid_import_lifetime_wh",
        "grid_export_lifetime_wh",
        "production_lifetime_wh",
        "consumption_lifetime_wh",
        "grid_import_today_wh",
        "production_today_wh",
    ):
        assert energy_dashboard_ready(by_key[key]), key
    assert by_key["production_power_w"]["state_class"] == "measurement"
    assert not energy_dashboard_ready(by_key["production_last_7_days_wh"])  # a sliding window: no
    assert by_key["token_days_left"]["entity_category"] == "diagnostic"
    assert by_key["last_poll"]["device_class"] == "timestamp"


@pytest.mark.parametrize(
    ("key", "instant"),
    [("production_power_w", True), ("grid_import_w_l2", True), ("battery_soc_pct", True),
     ("production_lifetime_wh", False), ("grid_import_today_wh", False), ("gateway_online", False)],
)  # fmt: skip
def test_instant_figures_follow_the_live_topic(key: str, instant: bool) -> None:
    configs = discovery_configs(SITES["3 phases, net CT, battery"], "single", TOPICS, "homeassistant")
    config = next(c for c in configs.values() if c["unique_id"].endswith(f"_{key}"))
    topics = [a["topic"] for a in config["availability"]]
    assert topics == ([TOPICS.status, TOPICS.live] if instant else [TOPICS.status])
    assert config["availability_mode"] == "all"


def test_sites_and_layouts_decide_which_entities_exist() -> None:
    small = discovery_configs(SITES["1 phase, production CT only"], "split", TOPICS, "homeassistant")
    big = discovery_configs(SITES["3 phases, net CT, battery"], "split", TOPICS, "homeassistant")
    devices = {
        c["device"]["identifiers"][0].removeprefix("enphase_secure_122212345678_") for c in big.values()
    }
    assert devices == {"prod", "conso_net", "conso_total", "bat", "inverter_482212345678"}
    assert {c["device"]["identifiers"][0] for c in small.values()} == {
        "enphase_secure_122212345678_prod",
        "enphase_secure_122212345678_conso_net",  # the table puts the voltage there
        "enphase_secure_122212345678_inverter_482212345678",
    }
    assert not any("consumption" in t or "grid" in t or "battery" in t for t in small)
    # the battery gone (or another layout): its configs are emptied first, then the others sent
    messages = discovery_messages(small, big)
    gone = [m for m in messages if m.payload == ""]
    assert {m.topic for m in gone} == set(big) - set(small)
    assert all(m.retain for m in messages)
    assert messages[: len(gone)] == gone
    assert any("battery_soc_pct" in m.topic for m in gone)


def test_stage_entities() -> None:
    configs = discovery_configs(SITES["1 phase, net CT, battery"], "single", TOPICS, "homeassistant")
    select = configs["homeassistant/select/enphase_secure_122212345678/site_stage_1_mode/config"]
    assert select["command_topic"] == "enphase_secure/122212345678/control/water_heater/set"
    assert select["state_topic"] == "enphase_secure/122212345678/control/water_heater/state"
    running = configs["homeassistant/binary_sensor/enphase_secure_122212345678/site_stage_1_on/config"]
    assert running["device_class"] == "running"
    assert running["value_template"] == "{{ 'ON' if value_json.stage_1_on else 'OFF' }}"
    reason = configs["homeassistant/sensor/enphase_secure_122212345678/site_stage_1_reason/config"]
    assert reason["entity_category"] == "diagnostic"
