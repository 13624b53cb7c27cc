"""The real client pyenphase against every built-in live scenario: it reads what the documents say.

The clock is paused, so pyenphase and the test see the same instant.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pyenphase import Envoy
from pyenphase.const import SupportedFeatures

from enphase_secure.simulator.live import BUILTIN_SCENARIOS, LiveSource, load_scenario_source
from enphase_secure.simulator.server import run_simulator

MIDDAY_S = 6.5 * 3600  # the built-ins start at 06:00


def served(source: LiveSource, path: str, **query: str) -> Any:
    document = source.document(path, query)
    assert document is not None
    return json.loads(document.body)


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
async def test_pyenphase_reads_the_served_values(name: str) -> None:
    source = load_scenario_source(name, speed=3600, paused=True)
    source.control_clock(advance_s=MIDDAY_S)
    scenario = source.scenario
    async with run_simulator(source) as sim:
        envoy = Envoy(sim.host)
        try:
            await envoy.setup()
            await envoy.authenticate(token=sim.issue_token())
            await envoy.probe()
            data = await envoy.update()
        finally:
            await envoy.close()

    assert envoy.serial_number == scenario.gateway.serial
    assert envoy.firmware == scenario.gateway.firmware.lstrip("D")
    assert envoy.part_number == scenario.gateway.part_number
    features = envoy.supported_features
    production = served(source, "/production.json", details="1")
    assert data.system_production is not None

    inverters = {item["serialNumber"]: item for item in served(source, "/api/v1/production/inverters")}
    assert set(data.inverters) == set(inverters)
    for serial, inverter in data.inverters.items():
        assert inverter.last_report_watts == inverters[serial]["lastReportWatts"]
        assert inverter.last_report_date == inverters[serial]["lastReportDate"]

    cts = scenario.cts
    assert bool(features & SupportedFeatures.CTMETERS) == cts.any
    if not cts.production:
        v1 = served(source, "/api/v1/production")
        assert data.system_production.watts_now == v1["wattsNow"] == production["production"][0]["wNow"]
        assert data.system_production.watt_hours_lifetime == v1["wattHoursLifetime"]
        assert data.system_consumption is None
        return

    eim = {
        block["measurementType"]: block for block in production["production"][1:] + production["consumption"]
    }
    assert data.system_production.watts_now == round(eim["production"]["wNow"])
    assert data.system_production.watt_hours_lifetime == round(eim["production"]["whLifetime"])
    assert data.system_production.watt_hours_today == round(eim["production"]["whToday"])
    assert data.system_consumption is not None
    assert data.system_net_consumption is not None
    assert data.system_consumption.watts_now == round(eim["total-consumption"]["wNow"])
    assert data.system_net_consumption.watts_now == round(eim["net-consumption"]["wNow"])
    assert data.system_net_consumption.watt_hours_lifetime == round(eim["net-consumption"]["whLifetime"])

    meters = {m["eid"]: m["measurementType"] for m in served(source, "/ivp/meters")}
    readings = {meters[r["eid"]]: r for r in served(source, "/ivp/meters/readings")}
    assert {str(kind) for kind in data.ctmeters} == set(readings)
    for kind, meter in data.ctmeters.items():
        reading = readings[str(kind)]
        assert meter.active_power == round(reading["activePower"])
        assert meter.energy_delivered == round(reading["actEnergyDlvd"])
        assert meter.energy_received == round(reading["actEnergyRcvd"])
    if scenario.phase_count > 1:
        assert envoy.phase_count == scenario.phase_count
        assert data.system_production_phases is not None
        lines = eim["production"]["lines"]
        watts = [phase.watts_now for phase in data.system_production_phases.values() if phase is not None]
        assert watts == [round(line["wNow"]) for line in lines]
        assert data.ctmeters_phases
        for kind, phases in data.ctmeters_phases.items():
            channels = readings[str(kind)]["channels"]
            assert [phase.active_power for phase in phases.values()] == [
                round(channel["activePower"]) for channel in channels[: scenario.phase_count]
            ]

    battery = scenario.battery
    if battery is not None and battery.kind == "iq":
        power = {unit["serial_num"]: unit for unit in served(source, "/ivp/ensemble/power")["devices:"]}
        assert data.encharge_power is not None
        assert {serial: unit.real_power_mw for serial, unit in data.encharge_power.items()} == {
            serial: unit["real_power_mw"] for serial, unit in power.items()
        }
        assert data.encharge_aggregate is not None
        assert (
            data.encharge_aggregate.state_of_charge == served(source, "/ivp/ensemble/secctrl")["ENC_agg_soc"]
        )
    if battery is not None and battery.kind == "acb":
        storage = production["storage"][0]
        assert data.acb_power is not None
        assert data.acb_power.power == storage["wNow"]
        assert data.acb_power.state_of_charge == storage["percentFull"]
        assert data.acb_power.charge_wh == storage["whNow"]
