"""What the MQTT output sends for one update (pure), and when: on change, at least every interval."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sample_updates import SITES, TOPICS, site

from enphase_secure.outputs.bus import Update
from enphase_secure.outputs.mqtt_state import Message, Throttle, state_messages


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
        for name in ("live", "prod/state", "conso_net/state", "conso_total/state", "bat/state",
                     "inverter_482212345678/state", "control/water_heater/state")
    }  # fmt: skip


def test_stage_state_and_reason() -> None:
    sent = by_topic(state_messages(SITES["1 phase, net CT, battery"], "single", TOPICS))
    stage = json.loads(sent["enphase_secure/122212345678/control/water_heater/state"])
    assert stage == {
        "name": "Water heater", "on": True, "mode": "auto", "reason": "surplus",
        "confirmed_on": None, "delivery": None, "failsafe": None, "disabled": None, "switched_at": None,
    }  # fmt: skip


def test_throttle_sends_changes_and_the_rest_every_interval() -> None:
    throttle = Throttle(10.0)
    first = [Message("a", "1"), Message("b", "x", change_key="same"), Message("c", "3", periodic=False)]
    assert throttle.due(first, 0.0) == first
    assert throttle.due(first, 1.0) == []  # nothing changed
    changed = [Message("a", "2"), Message("b", "y", change_key="same")]
    changed.append(Message("c", "3", periodic=False))
    assert [m.topic for m in throttle.due(changed, 2.0)] == ["a"]  # b: only its time moved
    assert [m.topic for m in throttle.due(changed, 10.5)] == ["b"]  # b: 10 s since it was sent; c: retained
    assert [m.topic for m in throttle.due(changed, 12.0)] == ["a"]
    changed[-1] = Message("c", "4", periodic=False)
    assert [m.topic for m in throttle.due(changed, 12.5)] == ["c"]  # c: on change only
    changed.pop()
    # a topic no longer produced: its retained value is deleted once
    gone = throttle.due([Message("a", "2")], 13.0)
    assert gone == [Message("b", "", retain=True, qos=1), Message("c", "", retain=True, qos=1)]
    assert throttle.due([Message("a", "2")], 14.0) == []
    throttle.reset()
    assert throttle.due([Message("a", "2")], 15.0) == [Message("a", "2")]


def test_an_age_alone_is_not_a_change() -> None:
    update = SITES["1 phase, net CT, battery"]
    inverter = update.snapshot.inverters[0]

    def aged(age_s: float, power_w: float | None = 250.0) -> Update:
        moved = dataclasses.replace(inverter, report_age_s=age_s, power_w=power_w)
        return Update(dataclasses.replace(update.snapshot, inverters=(moved,)), update.health, update.control)

    topic = "enphase_secure/122212345678/inverter_482212345678/state"
    throttle = Throttle(10.0)
    first = [m for m in throttle.due(state_messages(aged(60.0), "single", TOPICS), 0.0) if m.topic == topic]
    assert json.loads(first[0].payload)["report_age_s"] == 60.0
    assert not [
        m for m in throttle.due(state_messages(aged(61.0), "single", TOPICS), 1.0) if m.topic == topic
    ]
    changed = [
        m for m in throttle.due(state_messages(aged(62.0, 300.0), "single", TOPICS), 2.0) if m.topic == topic
    ]
    assert json.loads(changed[0].payload)["report_age_s"] == 62.0  # sent with the next real change


def test_the_memo_changes_nothing_but_the_work() -> None:
    update = SITES["3 phases, net CT, battery"]
    inverter = update.snapshot.inverters[0]
    memo: dict[str, Any] = {}
    for age_s, power_w, stale in ((60.0, 250.0, False), (61.0, 250.0, False), (62.0, 300.0, False),
                                  (63.0, 300.0, True)):  # fmt: skip
        moved = dataclasses.replace(inverter, report_age_s=age_s, power_w=power_w)
        snapshot = dataclasses.replace(
            update.snapshot,
            inverters=(moved,),
            staleness=dataclasses.replace(update.snapshot.staleness, stale=stale),
        )
        item = Update(snapshot, update.health, update.control)
        assert state_messages(item, "split", TOPICS, memo=memo) == state_messages(item, "split", TOPICS)
    assert set(memo) == {"inverter_482212345678"}
