"""What the MQTT output sends for one update (pure), and when: on change, at least every interval."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from sample_updates import SITES, TOPICS, site

from enphase_secure.outputs.bus import Update
from enphase_secure.outputs.mqtt_state import Message, StateTracker, state_messages


def by_topic(messages: list[Message]) -> dict[str, str]:
    return {m.topic: m.payload for m in messages}


@pytest.mark.parametrize(
    ("layout", "device", "has", "lacks"),
    [
        ("single", "site", {"production_power_w", "grid_import_w_l3", "battery_soc_pct", "stage_1_on"},
         set()),
        ("split", "prod", {"production_power_w", "gateway_online", "stage_1_on"}, {"grid_import_w"}),
        ("split", "conso_net", {"grid_import_w", "grid_export_today_wh_l2", "voltage_v"},
         {"battery_soc_pct"}),
        ("split", "bat", {"battery_soc_pct", "battery_power_w"}, {"production_power_w"}),
    ],
)  # fmt: skip
def test_one_payload_per_layout_device(layout: str, device: str, has: set[str], lacks: set[str]) -> None:
    sent = by_topic(state_messages(SITES["3 phases, net CT, battery"], layout, TOPICS, figure_topics=True))
    payload = json.loads(sent[f"enphase_secure/122212345678/{device}/state"])
    assert has <= set(payload)
    assert not lacks & set(payload)
    assert payload["stale"] is False
    assert payload["time"] == "2026-06-21T12:00:00+00:00"
    for key in has:  # each figure also on its own topic, the same value as JSON
        assert json.loads(sent[f"enphase_secure/122212345678/{key}"]) == payload[key]


def test_stale_nulls_instant_figures_and_says_offline() -> None:
    update = site(phases=3, battery=True, ct=True, stale=True)
    sent = by_topic(state_messages(update, "single", TOPICS, figure_topics=True))
    assert sent["enphase_secure/122212345678/live"] == "offline"
    payload = json.loads(sent["enphase_secure/122212345678/site/state"])
    assert payload["stale"] is True
    assert payload["grid_import_w"] is None  # not 0
    assert payload["grid_import_w_l1"] is None
    assert payload["battery_soc_pct"] is None
    assert payload["voltage_v"] is None
    assert payload["production_lifetime_wh"] == 1e6  # counters keep their last value
    assert payload["grid_import_today_wh"] == 100.0
    assert sent["enphase_secure/122212345678/grid_import_w"] == "null"
    inverter = sent["enphase_secure/122212345678/inverter_482212345678/power_w"]
    assert inverter == "null"


def test_figure_topics_only_when_asked() -> None:
    sent = by_topic(state_messages(SITES["3 phases, net CT, battery"], "split", TOPICS))
    assert set(sent) == {
        f"enphase_secure/122212345678/{name}"
        for name in ("status", "live", "prod/state", "conso_net/state", "conso_total/state", "bat/state",
                     "inverter_482212345678/state", "control/water_heater/state")
    }  # fmt: skip


def test_stage_state_and_reason() -> None:
    sent = by_topic(state_messages(SITES["1 phase, net CT, battery"], "single", TOPICS))
    stage = json.loads(sent["enphase_secure/122212345678/control/water_heater/state"])
    assert stage == {
        "name": "Water heater", "on": True, "mode": "auto", "reason": "surplus",
        "confirmed_on": None, "delivery": None, "failsafe": None, "disabled": None, "switched_at": None,
    }  # fmt: skip


def moved(
    update: Update,
    *,
    power_w: float | None = None,
    inverter_w: float | None = None,
    age_s: float | None = None,
    stale: bool | None = None,
    storage: bool = True,
) -> Update:
    """The same site with a few figures changed (``age_s``: the inverter's report age, by the time)."""
    snapshot = update.snapshot
    inverter = snapshot.inverters[0]
    inverter = dataclasses.replace(inverter, power_w=inverter.power_w if inverter_w is None else inverter_w)
    snapshot = dataclasses.replace(
        snapshot,
        time=snapshot.time if age_s is None else snapshot.time + timedelta(seconds=age_s),
        production=dataclasses.replace(
            snapshot.production, power_w=snapshot.production.power_w if power_w is None else power_w
        ),
        inverters=(inverter,),
        storage=snapshot.storage if storage else None,
        staleness=snapshot.staleness
        if stale is None
        else dataclasses.replace(snapshot.staleness, stale=stale),
    )
    return Update(snapshot, update.health, update.control)


BASE = "enphase_secure/122212345678"


def test_changes_at_once_the_site_every_interval_inverters_on_change() -> None:
    tracker = StateTracker("single", interval_s=10.0)
    update = SITES["1 phase, net CT, battery"]

    def due(item: Update, now_s: float) -> list[str]:
        return [m.topic.removeprefix(f"{BASE}/") for m in tracker.due(item, TOPICS, now_s)]

    everything = ["status", "live", "site/state", "inverter_482212345678/state", "control/water_heater/state"]
    assert due(update, 0.0) == everything
    assert due(update, 1.0) == []  # nothing changed
    assert due(moved(update, power_w=700.0), 2.0) == ["site/state"]
    aged = moved(update, power_w=700.0, age_s=65.0)
    assert aged.document["inverters"][0]["report_age_s"] == 65.0
    assert due(aged, 3.0) == []  # an age alone: not even in a payload
    # 10 s on: the site's topics again, unchanged (at least every interval); the inverter's is retained;
    # "online" again too, in case another instance with this serial said "offline" since
    assert due(moved(update, power_w=700.0), 10.5) == ["status", "live", "control/water_heater/state"]
    assert due(moved(update, power_w=700.0), 12.5) == ["site/state"]
    assert due(moved(update, power_w=700.0, inverter_w=300.0), 13.0) == ["inverter_482212345678/state"]
    stale = due(moved(update, power_w=700.0, inverter_w=300.0, stale=True), 14.0)
    assert stale == ["live", "site/state", "inverter_482212345678/state"]  # instant figures now null
    tracker.reset()  # a new connection: everything once
    assert due(update, 15.0) == everything


def test_a_topic_no_longer_sent_is_emptied_once() -> None:
    tracker = StateTracker("split", interval_s=10.0)
    update = SITES["1 phase, net CT, battery"]
    assert f"{BASE}/bat/state" in {m.topic for m in tracker.due(update, TOPICS, 0.0)}
    gone = [
        m for m in tracker.due(moved(update, storage=False), TOPICS, 1.0) if m.topic == f"{BASE}/bat/state"
    ]
    assert gone == [Message(f"{BASE}/bat/state", "", retain=True, qos=1)]
    assert not [m for m in tracker.due(moved(update, storage=False), TOPICS, 2.0) if "/bat/" in m.topic]


def test_inverter_payloads_carry_the_report_time_not_an_age() -> None:
    sent = by_topic(state_messages(SITES["1 phase, net CT, battery"], "single", TOPICS, figure_topics=True))
    payload = json.loads(sent[f"{BASE}/inverter_482212345678/state"])
    assert payload["last_report"] == "2026-06-21T12:00:00+00:00"
    assert payload["power_w"] == 250.0
    assert "report_age_s" not in payload
    assert f"{BASE}/inverter_482212345678/report_age_s" not in sent


@pytest.mark.parametrize("layout", ["single", "split"])
def test_what_the_broker_retains_is_what_one_update_says(layout: str) -> None:
    """The plan and the values kept between updates change nothing but the work."""
    tracker = StateTracker(layout, interval_s=10.0, figure_topics=True)
    update = SITES["3 phases, net CT, battery"]
    retained: dict[str, str] = {}
    for n, item in enumerate(
        (update, moved(update, power_w=1.0), moved(update, power_w=2.0, inverter_w=3.0, stale=True), update)
    ):
        retained.update(by_topic(tracker.due(item, TOPICS, float(n))))
        assert retained == by_topic(state_messages(item, layout, TOPICS, figure_topics=True))


@pytest.mark.parametrize(
    ("left", "emptied"),
    [({"bat/state", "site/state"}, ["bat/state"]),  # another layout's device
     ({"control/old_stage/state"}, ["control/old_stage/state"]),  # a stage removed
     ({"site/production_power_w", "status", "live"}, ["site/production_power_w"]),  # figure_topics off
     (set(), [])],
)  # fmt: skip
def test_retained_topics_an_earlier_run_left_are_emptied(left: set[str], emptied: list[str]) -> None:
    tracker = StateTracker("single", interval_s=10.0)
    tracker.reset({f"{BASE}/{topic}" for topic in left})
    first = tracker.due(SITES["1 phase, net CT, battery"], TOPICS, 0.0)
    assert [m.topic.removeprefix(f"{BASE}/") for m in first if m.payload == ""] == emptied
    assert all(m.retain for m in first)
    again = tracker.due(SITES["1 phase, net CT, battery"], TOPICS, 20.0)
    assert [m for m in again if m.payload == ""] == []  # once
