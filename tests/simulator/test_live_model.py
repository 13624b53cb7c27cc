"""The live scenario model, stepped by hand (paused clock): counters, truth, battery, days, loads."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.simulator.live import BUILTIN_SCENARIOS, LiveSource, load_scenario_source, step_for_speed

DAY_S = 86_400.0
QUANTITIES = ("production", "consumption", "import", "export", "battery_charge", "battery_discharge")
# Which truth quantities a CT's channels count: (delivered, received); None = a constant counter.
CT_COUNTS = {
    "production": ("production", None),
    "net-consumption": ("import", "export"),
    "total-consumption": ("consumption", None),
    "storage": ("battery_discharge", "battery_charge"),
}


def paused(name: str, **kwargs: Any) -> LiveSource:
    return load_scenario_source(name, paused=True, step_s=60.0, **kwargs)


def doc(source: LiveSource, path: str, **query: str) -> Any:
    document = source.document(path, query)
    assert document is not None, path
    assert document.status == 200
    return json.loads(document.body)


def readings_by_type(source: LiveSource) -> dict[str, dict[str, Any]]:
    kinds = {meter["eid"]: meter["measurementType"] for meter in doc(source, "/ivp/meters")}
    return {kinds[reading["eid"]]: reading for reading in doc(source, "/ivp/meters/readings")}


def test_builtins_are_the_five_set_ups() -> None:
    assert set(BUILTIN_SCENARIOS) >= {
        "single-phase",
        "three-phase-battery",
        "split-phase-total",
        "no-ct",
        "acb",
    }


def test_step_is_fine_at_real_time_and_coarse_at_high_speed() -> None:
    assert step_for_speed(1.0) == 1.0
    assert step_for_speed(60.0) == 1.0
    assert step_for_speed(3600.0) == 60.0


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_a_day_of_counters_equals_the_truth(name: str) -> None:
    source = paused(name)
    phases = source.model.phase_count
    before, truth_before = readings_by_type(source), source.truth()
    source.control_clock(advance_s=DAY_S + 3 * 3600)
    after, truth = readings_by_type(source), source.truth()
    assert truth["days"], "a midnight was crossed"

    for kind, reading in after.items():
        delivered, received = CT_COUNTS[kind]
        wired = reading["channels"][:phases]
        for side, quantity in (("actEnergyDlvd", delivered), ("actEnergyRcvd", received)):
            for phase in range(phases):
                moved = wired[phase][side] - before[kind]["channels"][phase][side]
                expected = (
                    0.0
                    if quantity is None
                    else truth["lifetime"][quantity]["phases"][phase]
                    - truth_before["lifetime"][quantity]["phases"][phase]
                )
                assert moved == pytest.approx(expected, abs=0.002), (kind, side, phase)
            assert reading[side] == pytest.approx(sum(channel[side] for channel in wired), abs=0.002 * phases)
        assert reading["activePower"] == pytest.approx(
            sum(c["activePower"] for c in wired), abs=0.002 * phases
        )

    lifetime = truth["lifetime"]
    total = {q: lifetime[q]["total"] for q in QUANTITIES}
    assert total["production"] > 1000, "the sun shone"
    assert total["production"] + total["import"] + total["battery_discharge"] == pytest.approx(
        total["consumption"] + total["export"] + total["battery_charge"], rel=1e-9
    )
    assert lifetime["balanced_import"] - lifetime["balanced_export"] == pytest.approx(
        total["import"] - total["export"], rel=1e-9
    )
    # Nothing is lost between days: closed days + today = lifetime.
    for quantity in QUANTITIES:
        days = sum(day[quantity]["total"] for day in truth["days"])
        assert days + truth["today"][quantity]["total"] == pytest.approx(total[quantity], rel=1e-9)


def test_three_phase_exports_on_one_phase_while_importing_on_another() -> None:
    source = paused("three-phase-battery")
    source.control_clock(advance_s=DAY_S)
    lifetime = source.truth()["lifetime"]
    assert lifetime["balanced_import"] < lifetime["import"]["total"] - 100
    assert lifetime["balanced_export"] < lifetime["export"]["total"] - 100
    assert all(value > 0 for value in lifetime["export"]["phases"][:1] + lifetime["import"]["phases"][2:])


def test_single_phase_meter_has_phantom_channels_left_out_of_the_top_level() -> None:
    source = paused("single-phase")
    source.control_clock(advance_s=12 * 3600)
    net = readings_by_type(source)["net-consumption"]
    phantom = net["channels"][1:]
    assert all(channel["voltage"] < 20 for channel in phantom)
    assert all(channel["actEnergyRcvd"] > 0 for channel in phantom)
    assert net["actEnergyRcvd"] == net["channels"][0]["actEnergyRcvd"]


def test_split_phase_storage_quirk_is_not_needed_without_storage_ct() -> None:
    source = paused("split-phase-total")
    readings = readings_by_type(source)
    assert set(readings) == {"production", "total-consumption"}
    assert all(
        value == 0
        for key, value in readings["production"]["channels"][2].items()
        if key not in ("eid", "timestamp", "freq")
    )


@pytest.mark.parametrize("name", ["three-phase-battery", "acb"])
def test_battery_stays_within_its_soc_limits(name: str) -> None:
    source = paused(name)
    socs = []
    for _ in range(48):
        source.control_clock(advance_s=1800)
        battery = source.truth()["battery"]
        assert battery["min_wh"] - 1e-6 <= battery["stored_wh"] <= battery["max_wh"] + 1e-6
        socs.append(battery["soc_pct"])
    assert max(socs) - min(socs) > 20, "the battery was used"
    lifetime = source.truth()["lifetime"]
    assert lifetime["battery_charge"]["total"] > 0
    assert lifetime["battery_discharge"]["total"] > 0


@pytest.mark.parametrize(
    ("day", "hours"),
    [("2024-03-31", 23), ("2024-10-27", 25), ("2024-06-10", 24)],
)
def test_days_follow_local_midnight_across_dst(day: str, hours: int) -> None:
    zone = ZoneInfo("Europe/Paris")
    start = datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=zone)
    source = paused("single-phase", start=start)
    source.control_clock(advance_s=hours * 3600 - 60)
    assert source.truth()["days"] == []
    source.control_clock(advance_s=60)
    truth = source.truth()
    assert [entry["date"] for entry in truth["days"]] == [day]
    assert truth["today"]["since"] == truth["time"]
    assert datetime.fromisoformat(truth["time"]).hour == 0
    assert truth["today"]["consumption"]["total"] == 0


def test_gateway_whtoday_resets_a_little_after_midnight() -> None:
    zone = ZoneInfo("Europe/Paris")
    source = paused("single-phase", start=datetime(2024, 6, 21, 12, 0, tzinfo=zone))
    late_s = source.scenario.gateway_reset_late_s

    def consumption_today() -> float:
        value: float = doc(source, "/production.json")["consumption"][0]["whToday"]
        return value

    source.control_clock(advance_s=12 * 3600 - 60)
    before_midnight = consumption_today()
    source.control_clock(advance_s=60)
    at_midnight = consumption_today()
    assert at_midnight > before_midnight > 1000, "not reset at midnight exactly"
    source.control_clock(advance_s=late_s + 60)
    after_reset = consumption_today()
    assert 0 <= after_reset < 100
    seven = doc(source, "/production.json")["consumption"][0]["whLastSevenDays"]
    assert seven == pytest.approx(at_midnight + after_reset, abs=50)


def test_switching_a_load_raises_net_at_once_by_its_power() -> None:
    source = paused("single-phase")
    source.control_clock(advance_s=6 * 3600)
    net_before = readings_by_type(source)["net-consumption"]["activePower"]
    source.set_load("water-heater", True)
    net_after = readings_by_type(source)["net-consumption"]["activePower"]
    assert net_after - net_before == pytest.approx(2000.0, abs=0.01)
    assert source.loads()["water-heater"] is True
    with pytest.raises(KeyError):
        source.set_load("sauna", True)


def test_same_seed_same_day_other_seed_other_day() -> None:
    first, second, other = paused("single-phase"), paused("single-phase"), paused("single-phase", seed=999)
    for source in (first, second, other):
        source.control_clock(advance_s=DAY_S)
    assert first.truth()["lifetime"] == second.truth()["lifetime"]
    assert first.truth()["lifetime"]["production"] != other.truth()["lifetime"]["production"]


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_documents_agree_with_each_other(name: str) -> None:
    source = paused(name)
    source.control_clock(advance_s=6.5 * 3600)  # mid-day
    production = doc(source, "/production.json", details="1")
    readings = readings_by_type(source)
    inverters = doc(source, "/api/v1/production/inverters")
    v1 = doc(source, "/api/v1/production")
    truth = source.truth()
    now = int(truth["timestamp"])

    reported = sum(inverter["lastReportWatts"] for inverter in inverters)
    assert production["production"][0]["wNow"] == reported == v1["wattsNow"]
    assert production["production"][0]["activeCount"] == len(inverters) == source.scenario.inverter_count
    assert all(now - 300 < inverter["lastReportDate"] <= now for inverter in inverters)
    assert production["production"][0]["whLifetime"] == v1["wattHoursLifetime"]
    true_production = sum(truth["power_w"]["production"])
    assert reported == pytest.approx(true_production, rel=0.35, abs=50), "inverters lag by at most 5 min"
    assert sum(inv["today_wh"] for inv in truth["inverters"]) == pytest.approx(
        truth["today"]["production"]["total"], rel=1e-9
    )

    blocks = {block.get("measurementType", block["type"]): block for block in production["production"]}
    blocks |= {block["measurementType"]: block for block in production.get("consumption", [])}
    for kind, reading in readings.items():
        if kind in blocks:
            assert blocks[kind]["wNow"] == pytest.approx(reading["activePower"], abs=0.01)
    if "net-consumption" in blocks:
        # the gateway's total is production + net even with a storage CT (as on the 8.2.127 capture)
        assert blocks["total-consumption"]["wNow"] == pytest.approx(
            blocks["production"]["wNow"] + blocks["net-consumption"]["wNow"], abs=0.01
        )
        for block in blocks.values():
            if block["type"] == "eim":
                assert len(block["lines"]) == source.model.phase_count
                assert block["wNow"] == pytest.approx(sum(line["wNow"] for line in block["lines"]), abs=0.01)
        assert blocks["production"]["whLifetime"] == pytest.approx(
            readings["production"]["actEnergyDlvd"], abs=0.01
        )
        assert v1["wattHoursToday"] == int(blocks["production"]["whToday"])
    else:
        assert "consumption" not in production
        assert doc(source, "/ivp/meters") == []
    assert "lines" not in json.dumps(doc(source, "/production.json"))


def test_iq_battery_documents_agree() -> None:
    source = paused("three-phase-battery")
    source.control_clock(advance_s=4 * 3600)
    truth = source.truth()
    power = doc(source, "/ivp/ensemble/power")["devices:"]
    inventory = doc(source, "/ivp/ensemble/inventory")[0]["devices"]
    secctrl = doc(source, "/ivp/ensemble/secctrl")
    storage_ct = readings_by_type(source)["storage"]
    soc = round(truth["battery"]["soc_pct"])
    assert [unit["serial_num"] for unit in power] == [unit["serial_num"] for unit in inventory]
    assert all(unit["soc"] == soc for unit in power)
    assert all(unit["percentFull"] == soc for unit in inventory)
    assert secctrl["ENC_agg_soc"] == secctrl["agg_soc"] == soc
    assert secctrl["ENC_agg_avail_energy"] == round(truth["battery"]["stored_wh"])
    assert sum(unit["real_power_mw"] for unit in power) / 1000 == pytest.approx(
        storage_ct["activePower"], abs=1
    )
    assert storage_ct["activePower"] == pytest.approx(truth["power_w"]["battery"], abs=0.01)


def test_acb_appears_in_production_json_storage() -> None:
    source = paused("acb")
    source.control_clock(advance_s=14 * 3600)
    truth = source.truth()
    storage = doc(source, "/production.json")["storage"][0]
    assert storage["activeCount"] == 3
    assert storage["percentFull"] == round(truth["battery"]["soc_pct"])
    assert storage["wNow"] == round(truth["power_w"]["battery"])
    assert doc(source, "/ivp/ensemble/secctrl")["ACB_agg_soc"] == storage["percentFull"]


def test_no_ct_gateway_answers_like_a_standard_one() -> None:
    source = paused("no-ct")
    info = source.document("/info", {})
    assert info is not None
    assert b"<imeter>false</imeter>" in info.body
    assert source.document("/ivp/ensemble/secctrl", {}) is None
    assert source.document("/ivp/unknown", {}) is None
    assert doc(source, "/ivp/meters/readings") == []
