"""The figures table: which figures a site has, their per-phase variants and their values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from enphase_secure.energy.snapshot import (
    EnergyFlow,
    GatewayConsumption,
    GatewayIdentity,
    Grid,
    InverterState,
    PhaseBalance,
    Snapshot,
    Storage,
)
from enphase_secure.outputs.bus import Health, Update
from enphase_secure.outputs.figures import (
    INVERTER_FIGURES,
    KINDS,
    SITE_FIGURES,
    Device,
    Kind,
    SiteShape,
    resolve,
    site_points,
    stage_points,
    voltage_v,
)

ORIGINAL_IDS = {  # ../shared/jeedom-commands.md
    "PwattsNow", "PwattHoursToday", "PwattHoursSevenDays", "PwattHoursLifetime", "CwattsNow",
    "CwattHoursToday", "CwattHoursSevenDays", "CwattHoursLifetime", "CwattsNowNet", "CwattHoursTodayNet",
    "CwattHoursSevenDaysNet", "CwattHoursLifetimeNet", "Import", "Export", "cumulimport", "cumulexport",
    "tension", "batnow", "batperc", "ENC_agg_avail_energy", "Enc_max_available_capacity",
}  # fmt: skip


def document(phase_count: int, meters: list[str], storage: bool) -> dict[str, Any]:
    return {
        "phase_count": phase_count,
        "meters": [{"type": t, "voltage_v": 230.5 if t == "production" else None} for t in meters],
        "storage": {"power_w": -800.0, "soc_pct": 55.0} if storage else None,
        "production": {"power_w": 3000.0, "phases_w": [1000.0, 1100.0, 900.0][:phase_count]},
        "grid": {"import_w": 10.0, "phases": [{"import_w": 5.0}, {"import_w": 0.0}, {"import_w": 5.0}]},
        "control": {
            "stages": [
                {"state": {"confirmed_on": True}, "runtime_today_h": 1.5, "energy_today_wh": 3000.0},
                {"state": {"confirmed_on": False}, "runtime_today_h": 0.0, "energy_today_wh": 0.0},
            ]
        },
    }


def test_every_original_logical_id_is_in_the_table_once() -> None:
    ids = [f.jeedom_id for f in SITE_FIGURES if f.jeedom_id]
    assert set(ids) >= ORIGINAL_IDS
    assert len(ids) == len(set(ids))
    assert len({f.key for f in SITE_FIGURES}) == len(SITE_FIGURES)


@pytest.mark.parametrize(
    ("phases", "meters", "storage", "expect_in", "expect_out"),
    [
        (1, ["production"], False, {"PwattsNow", "tension"}, {"CwattsNow", "Import", "batnow", "PwattsNow1"}),
        (1, ["production", "net-consumption"], False, {"CwattsNow", "Import", "cumulexport"}, {"Import1"}),
        (3, ["production", "net-consumption"], True, {"Import1", "Import3", "PwattsNow2", "batperc"}, set()),
        (3, ["production", "total-consumption"], False, {"CwattsNow3", "cumulimport2"}, {"batnow"}),
    ],
)
def test_site_points_follow_the_site(
    phases: int, meters: list[str], storage: bool, expect_in: set[str], expect_out: set[str]
) -> None:
    points = site_points(SiteShape.of(document(phases, meters, storage)))
    ids = {p.jeedom_id for p in points}
    assert expect_in <= ids
    assert not expect_out & ids
    # per-phase variants never of a figure without a per-phase path
    assert "PwattHoursSevenDays1" not in ids


def test_values_come_from_the_document() -> None:
    data = document(3, ["production", "net-consumption"], True)
    data["voltage_v"] = voltage_v(data["meters"])
    values = {p.jeedom_id: p.value(data) for p in site_points(SiteShape.of(data))}
    assert values["PwattsNow"] == 3000.0
    assert values["PwattsNow2"] == 1100.0
    assert values["Import3"] == 5.0
    assert values["batnow"] == -800.0
    assert values["tension"] == 230.5
    assert values["CwattsNow"] is None  # not in the document: unknown, never 0
    names = {p.jeedom_id: (p.name_fr, p.name_en) for p in site_points(SiteShape.of(data))}
    assert names["Import2"] == ("Import Réseau 2", "Grid import L2")


def test_stage_points() -> None:
    data = document(1, ["production"], False)
    points = stage_points(data)
    assert [p.jeedom_id for p in points] == [
        "autoconso1",
        "autoconso1_duree",
        "autoconso1_energie",
        "autoconso2",
        "autoconso2_duree",
        "autoconso2_energie",
    ]
    assert [p.value(data) for p in points] == [True, 1.5, 3000.0, False, 0.0, 0.0]
    assert [p.figure.traits.binary for p in points] == [True, False, False] * 2
    assert [p.figure.traits.unit for p in points][:3] == [None, "h", "Wh"]


def test_resolve_tolerates_missing_steps() -> None:
    data = {"a": {"b": [1, {"c": 2}]}}
    assert resolve(data, "a.b.1.c") == 2
    assert resolve(data, "a.b.5.c") is None
    assert resolve(data, "a.x.c") is None
    assert resolve(data, "a.b.x") is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [("n", None), ("n.x", None), ("s.0", None), ("s", "text"), ("d.0", "zero"), ("t.1", 2), ("l.0.k", None),
     ("l.1.k", 0), ("l.-1", None), ("f", 0.0)],
)  # fmt: skip
def test_the_straight_path_agrees_with_the_careful_walk(path: str, expected: object) -> None:
    """Steps taken straight (a str is not a list to index, a mapping is read by key, never by place)."""
    data = {"n": None, "s": "text", "d": {"0": "zero"}, "t": (1, 2), "l": [None, {"k": 0}], "f": 0.0}
    assert resolve(data, path) == expected


def test_kinds_are_consistent() -> None:
    for kind, traits in KINDS.items():
        if traits.prometheus_type == "counter":
            assert kind is Kind.ENERGY_LIFETIME
        if traits.ha_device_class == "energy":
            assert traits.unit == "Wh"
    assert {f.device for f in SITE_FIGURES} == set(Device)
    assert {f.jeedom_id for f in INVERTER_FIGURES} >= {"Watt", "maxWatt", "calWH"}


def _has_path(data: Any, path: str) -> bool:
    node = data
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit():
            if int(part) >= len(node):
                return False
            node = node[int(part)]
        else:
            return False
    return True


def test_every_path_exists_in_the_snapshot_contract() -> None:
    """A typo in a path would publish 'unknown' for ever: every path must name a real snapshot field."""
    three = (1.0, 2.0, 3.0)
    flow = EnergyFlow(power_w=1.0, phases_w=three, phases_today_wh=three, phases_lifetime_wh=three)
    snapshot = Snapshot(
        time=datetime(2026, 6, 21, tzinfo=UTC),
        gateway=GatewayIdentity("1", "8.3", None),
        phase_mode="three",
        phase_count=3,
        production=flow,
        consumption=flow,
        net_consumption=flow,
        grid=Grid(phases=tuple(PhaseBalance(1.0, 0.0) for _ in three)),
        storage=Storage(power_w=1.0, soc_pct=50.0, available_wh=1.0, capacity_wh=2.0),
        inverters=(InverterState("i1", 1.0, 2.0, None, 3.0),),
        gateway_consumption=GatewayConsumption(power_w=1.0, phases_w=three),
    )
    data = Update(snapshot, Health(gateway_online=True)).document
    data["control"] = {
        "stages": [{"state": {"confirmed_on": True}, "runtime_today_h": 1.0, "energy_today_wh": 2.0}]
    }
    shape = SiteShape(phase_count=3, consumption_ct=True, storage=True)
    missing = [p.path for p in site_points(shape) + stage_points(data) if not _has_path(data, p.path)]
    assert missing == []
    inverter = data["inverters"][0]
    assert [f.path for f in INVERTER_FIGURES if f.path not in inverter] == []
