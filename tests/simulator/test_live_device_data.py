"""The simulator's /ivp/pdm/device_data: served from firmware 8.2.4345, shaped like the captures,
and consistent with the other documents and the truth of the same instant."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from simulator_helpers import capture_folders

from enphase_secure.gateway.inverters import InverterReports
from enphase_secure.simulator.live import LiveSource, load_scenario_source

PARIS = ZoneInfo("Europe/Paris")


def doc(source: LiveSource, path: str) -> Any:
    document = source.document(path, {})
    assert document is not None, path
    assert document.status == 200
    return json.loads(document.body)


def _key_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _key_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_key_tree(v) for v in value[:1]]
    return type(value).__name__ if not isinstance(value, int | float) or isinstance(value, bool) else "number"


def test_device_data_only_from_firmware_8_2_4345() -> None:
    assert load_scenario_source("single-phase", paused=True).document("/ivp/pdm/device_data", {}) is None
    assert load_scenario_source("acb", paused=True).document("/ivp/pdm/device_data", {}) is not None


def test_device_data_has_the_shape_of_the_8_2_4345_capture() -> None:
    (folder,) = [f for f in capture_folders() if f.name == "8.2.4345_with_device_data"]
    real = json.loads(Path(folder, "ivp_pdm_device_data").read_bytes())
    real_pcu = next(v for v in real.values() if isinstance(v, dict) and v["devName"] == "pcu")
    source = load_scenario_source("single-phase-battery", paused=True)
    ours = doc(source, "/ivp/pdm/device_data")
    our_pcu = next(v for v in ours.values() if isinstance(v, dict))
    assert _key_tree(our_pcu) == _key_tree(real_pcu)
    assert {k for k, v in ours.items() if not isinstance(v, dict)} == {"deviceCount", "deviceDataLimit"}


@pytest.mark.parametrize("hour", [9, 13, 17])
def test_device_data_agrees_with_the_other_documents_and_the_truth(hour: int) -> None:
    source = load_scenario_source(
        "single-phase-battery", paused=True, step_s=60.0, start=datetime(2024, 9, 10, 0, 0, tzinfo=PARIS)
    )
    source.control_clock(advance_s=hour * 3600.0)
    body = source.document("/ivp/pdm/device_data", {})
    assert body is not None
    detail = {r.serial: r for r in InverterReports.from_device_data(body.body).inverters}
    v1 = {i["serialNumber"]: i for i in doc(source, "/api/v1/production/inverters")}
    truth = {i["serial"]: i for i in source.truth()["inverters"]}
    (reading,) = [r for r in doc(source, "/ivp/meters/readings") if r["eid"] == 704643328]
    assert set(detail) == set(v1) == set(truth)
    for serial, inverter in detail.items():
        assert inverter.power_w == v1[serial]["lastReportWatts"]
        assert inverter.max_power_w == v1[serial]["maxReportWatts"]
        assert inverter.last_report.timestamp() == v1[serial]["lastReportDate"]
        assert inverter.today_wh == pytest.approx(truth[serial]["today_wh"], abs=0.5)
        assert inverter.today_wh is not None
        assert inverter.today_wh > 0
        assert inverter.ac_voltage_v == pytest.approx(reading["channels"][0]["voltage"], abs=0.01)
        assert inverter.ac_frequency_hz == 50.0
        assert inverter.dc_voltage_v is not None
        assert inverter.dc_current_a is not None
        assert inverter.dc_voltage_v * inverter.dc_current_a == pytest.approx(
            inverter.power_w / 0.965, rel=0.01
        )
        assert inverter.temperature_c is not None
        assert inverter.lifetime_wh is not None
        assert inverter.lifetime_wh > inverter.today_wh
    # the inverters' own day figures (whole Wh each) add up to the production CT's day
    assert sum(i.today_wh or 0 for i in detail.values()) == pytest.approx(
        source.truth()["today"]["production"]["total"], abs=0.5 * len(detail)
    )
