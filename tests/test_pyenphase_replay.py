"""The real client pyenphase 4.2 against the replay simulator: it reads what the served captures say."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pyenphase import Envoy
from pyenphase.const import SupportedFeatures

from enphase_secure.simulator.replay import ReplaySource
from enphase_secure.simulator.server import run_simulator

FOLDERS = [
    "7.3.466_with_cts_3phase",  # three-phase, CTs
    "7.6.114_without_cts",  # no CT
    "7.6.175_with_cts",
    "8.2.127_with_3cts_and_battery_split",  # IQ Batteries, storage CT
    "8.2.4382_ACB",  # ACB battery
    "8.3.5433_tot_is_net_cons",
]


def served(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_bytes())


@pytest.mark.parametrize("name", FOLDERS)
async def test_pyenphase_reads_the_served_values(fixtures_dir: Path, name: str) -> None:
    folder = fixtures_dir / name
    source = ReplaySource(folder)
    async with run_simulator(source) as sim:
        envoy = Envoy(sim.host)
        try:
            await envoy.setup()
            await envoy.authenticate(username=None, password=None, token=sim.issue_token())
            await envoy.probe()
            data = await envoy.update()
        finally:
            await envoy.close()
        assert sim.requests.count("/auth/check_jwt") == 1
        assert (
            sim.requests.count("/ivp/meters/readings") >= 1 or not (folder / "ivp_meters_readings").exists()
        )

    info = (folder / "info").read_text()
    assert envoy.serial_number == source.serial
    firmware = re.search(r"<software>[RD]?([^<]+)</software>", info)
    assert firmware is not None
    assert str(envoy.firmware) == firmware.group(1)

    inverters = served(folder, "api_v1_production_inverters")
    assert data.inverters
    for inverter in inverters:
        assert data.inverters[inverter["serialNumber"]].last_report_watts == inverter["lastReportWatts"]

    assert data.system_production is not None
    production_lifetimes = {served(folder, "api_v1_production")["wattHoursLifetime"]}
    for block in served(folder, "production.json")["production"]:
        production_lifetimes.add(round(block["whLifetime"]))
    assert data.system_production.watt_hours_lifetime in production_lifetimes

    has_cts = bool(envoy.supported_features & SupportedFeatures.CTMETERS)
    assert has_cts == (name != "7.6.114_without_cts")
    if has_cts:
        meters = {m["eid"]: m for m in served(folder, "ivp_meters")}
        readings = {r["eid"]: r for r in served(folder, "ivp_meters_readings")}
        production_ct = next(eid for eid, m in meters.items() if m["measurementType"] == "production")
        assert data.ctmeter_production is not None
        assert data.ctmeter_production.active_power == round(readings[production_ct]["activePower"])
        assert data.ctmeter_production.energy_delivered == round(readings[production_ct]["actEnergyDlvd"])

    if name == "8.2.127_with_3cts_and_battery_split":
        batteries = served(folder, "ivp_ensemble_inventory")[0]["devices"]
        assert data.encharge_inventory
        for battery in batteries:
            assert data.encharge_inventory[battery["serial_num"]].percent_full == battery["percentFull"]
    if name == "8.2.4382_ACB":
        storage = served(folder, "production.json")["storage"][0]
        assert data.acb_power is not None
        assert data.acb_power.charge_wh == storage["whNow"]
        assert data.acb_power.state_of_charge == storage["percentFull"]
