"""merge_snapshot on small documents: sources, sign rules, phases, storage, unknown stays None."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from enphase_secure.energy.merge import GatewayReadings, PhaseSetting, merge_snapshot
from enphase_secure.gateway.ensemble import EnsembleInventory, EnsemblePower, EnsembleStatus
from enphase_secure.gateway.info import GatewayInfo
from enphase_secure.gateway.inverters import InverterReports
from enphase_secure.gateway.meters import MeterConfig, MeterReadings
from enphase_secure.gateway.production import ApiV1Production, ProductionReport

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def info(firmware: str = "D8.2.127", imeter: bool = True) -> GatewayInfo:
    return GatewayInfo("122212345678", "800-00654-r08", firmware, imeter, True)


def doc(value: Any) -> bytes:
    return json.dumps(value).encode()


def measure(power: float, dlvd: float, rcvd: float, voltage: float = 230.0) -> dict[str, Any]:
    return {
        "activePower": power,
        "actEnergyDlvd": dlvd,
        "actEnergyRcvd": rcvd,
        "voltage": voltage,
        "current": 1.0,
        "pwrFactor": 0.9,
        "freq": 50.0,
    }


def metered(*cts: tuple[int, str, int, list[dict[str, Any]]]) -> tuple[MeterConfig, MeterReadings]:
    """Each CT: (eid, measurementType, phaseCount, channels); the top level is the channels' sum."""
    config = [
        {
            "eid": eid,
            "state": "enabled",
            "measurementType": kind,
            "phaseMode": "three" if n == 3 else "split",
            "phaseCount": n,
        }
        for eid, kind, n, _ in cts
    ]
    readings = []
    for eid, _kind, n, channels in cts:
        wired = channels[:n]
        top = measure(
            sum(c["activePower"] for c in wired),
            sum(c["actEnergyDlvd"] for c in wired),
            sum(c["actEnergyRcvd"] for c in wired),
            voltage=sum(c["voltage"] for c in wired),
        )
        readings.append({"eid": eid, **top, "channels": channels})
    return MeterConfig.from_json(doc(config)), MeterReadings.from_json(doc(readings))


def ct_readings(*cts: tuple[int, str, int, list[dict[str, Any]]], **more: Any) -> GatewayReadings:
    config, readings = metered(*cts)
    return GatewayReadings(
        info=more.pop("info", info()), meter_config=config, meter_readings=readings, **more
    )


SINGLE_NET = ct_readings(
    (1, "production", 1, [measure(1000.0, 5000.0, 10.0)]),
    (2, "net-consumption", 1, [measure(-300.0, 8000.0, 2000.0)]),
)


def test_net_ct_site() -> None:
    snap = merge_snapshot(SINGLE_NET, time=NOW)
    assert (snap.phase_mode, snap.phase_count) == ("single", 1)
    assert snap.production.power_w == 1000.0
    assert snap.production.lifetime_wh == 5000.0
    assert snap.net_consumption.power_w == -300.0
    assert snap.net_consumption.lifetime_wh == 6000.0
    assert snap.consumption.power_w == 700.0
    assert snap.consumption.lifetime_wh == 11000.0
    assert (snap.grid.import_w, snap.grid.export_w) == (0.0, 300.0)
    assert (snap.grid.import_lifetime_wh, snap.grid.export_lifetime_wh) == (8000.0, 2000.0)
    assert snap.grid.estimated is False
    assert [m.type for m in snap.meters] == ["production", "net-consumption"]
    assert snap.production.today_wh is None
    assert snap.production.last_7_days_wh is None
    assert snap.gateway.firmware == "D8.2.127"


def test_total_ct_site_derives_net_and_flags_estimated_import_export() -> None:
    readings = ct_readings(
        (1, "production", 1, [measure(1000.0, 5000.0, 10.0)]),
        (2, "total-consumption", 1, [measure(800.0, 9000.0, 0.0)]),
    )
    snap = merge_snapshot(readings, time=NOW)
    assert snap.consumption.power_w == 800.0
    assert snap.consumption.lifetime_wh == 9000.0
    assert snap.net_consumption.power_w == -200.0
    assert snap.net_consumption.lifetime_wh == 4000.0
    assert (snap.grid.import_w, snap.grid.export_w) == (0.0, 200.0)
    assert snap.grid.import_lifetime_wh is None
    assert snap.grid.export_lifetime_wh is None
    assert snap.grid.estimated is True


THREE_PHASE = ct_readings(
    (
        1,
        "production",
        3,
        [measure(1000.0, 100.0, 0.0), measure(1000.0, 100.0, 0.0), measure(1000.0, 100.0, 0.0)],
    ),
    (
        2,
        "net-consumption",
        3,
        [measure(-900.0, 50.0, 60.0), measure(400.0, 70.0, 5.0), measure(-100.0, 10.0, 20.0)],
    ),
)


def test_three_phase_grid_per_phase_and_total() -> None:
    snap = merge_snapshot(THREE_PHASE, time=NOW)
    assert (snap.phase_mode, snap.phase_count) == ("three", 3)
    assert snap.net_consumption.phases_w == (-900.0, 400.0, -100.0)
    assert snap.consumption.phases_w == (100.0, 1400.0, 900.0)
    assert [(p.import_w, p.export_w) for p in snap.grid.phases] == [(0.0, 900.0), (400.0, 0.0), (0.0, 100.0)]
    assert (snap.grid.import_w, snap.grid.export_w) == (0.0, 600.0)
    assert snap.grid.import_lifetime_wh == 130.0


def test_phantom_channels_left_out_of_phases_and_meters() -> None:
    phantom = ct_readings(
        (
            1,
            "production",
            2,
            [
                measure(488.0, 300.0, 1.0),
                measure(0.0, 0.0, 5370.0, voltage=6.0),
                measure(-1.0, 0.0, 9818.0, voltage=11.0),
            ],
        ),
        (
            2,
            "net-consumption",
            2,
            [measure(-200.0, 10.0, 1.0), measure(330.0, 20.0, 2.0), measure(-465.0, 99.0, 99.0)],
        ),
    )
    snap = merge_snapshot(phantom, time=NOW)
    assert (snap.phase_mode, snap.phase_count) == ("split", 2)
    assert snap.production.phases_w == (488.0, None)
    assert snap.net_consumption.phases_w == (-200.0, 330.0)
    meters = {m.type: m for m in snap.meters}
    assert meters["production"].phases_w == (488.0,)
    assert meters["net-consumption"].phases_w == (-200.0, 330.0)
    assert meters["net-consumption"].energy_delivered_wh == 30.0


@pytest.mark.parametrize(
    ("setting", "mode", "count", "net_phases"),
    [
        ("auto", "three", 3, (-900.0, 400.0, -100.0)),
        ("single", "single", 1, (-600.0,)),
        ("three", "three", 3, (-900.0, 400.0, -100.0)),
    ],
)
def test_phase_setting(setting: PhaseSetting, mode: str, count: int, net_phases: tuple[float, ...]) -> None:
    snap = merge_snapshot(THREE_PHASE, time=NOW, phases=setting)
    assert (snap.phase_mode, snap.phase_count) == (mode, count)
    assert snap.net_consumption.phases_w == net_phases
    assert len(snap.grid.phases) == count


def test_forcing_three_phases_keeps_channels_voltage_would_drop() -> None:
    low = ct_readings(
        (
            1,
            "net-consumption",
            3,
            [
                measure(10.0, 1.0, 0.0),
                measure(20.0, 1.0, 0.0, voltage=5.0),
                measure(30.0, 1.0, 0.0, voltage=5.0),
            ],
        )
    )
    assert merge_snapshot(low, time=NOW).net_consumption.phases_w == (60.0,)
    assert merge_snapshot(low, time=NOW, phases="three").net_consumption.phases_w == (10.0, 20.0, 30.0)


def production_report(**blocks: Any) -> ProductionReport:
    return ProductionReport.from_json(doc(blocks))


def eim(kind: str, power: float, lifetime: float, active: int = 1) -> dict[str, Any]:
    return {
        "type": "eim",
        "measurementType": kind,
        "activeCount": active,
        "wNow": power,
        "whLifetime": lifetime,
    }


INVERTERS_BLOCK = {"type": "inverters", "activeCount": 38, "wNow": 5521, "whLifetime": 32465106}
API_V1 = ApiV1Production(power_w=4.0, today_wh=0.0, last_7_days_wh=1583.0, lifetime_wh=1583.0)


@pytest.mark.parametrize(
    ("readings", "power", "lifetime"),
    [
        # no CT: /api/v1/production
        (
            GatewayReadings(
                info=info("D7.6.175", False),
                api_v1_production=API_V1,
                production_report=production_report(production=[INVERTERS_BLOCK]),
            ),
            4.0,
            1583.0,
        ),
        # metered gateway without CTs on 8.2.4264+: api/v1 lies, the inverters block is right
        (
            GatewayReadings(
                info=info("D8.2.4264", True),
                meter_config=MeterConfig(()),
                api_v1_production=API_V1,
                production_report=production_report(production=[INVERTERS_BLOCK]),
            ),
            5521.0,
            32465106.0,
        ),
        # production.json CT block when the readings are not available
        (
            GatewayReadings(
                info=info(),
                production_report=production_report(
                    production=[INVERTERS_BLOCK, eim("production", 900.0, 7000.0)]
                ),
            ),
            900.0,
            7000.0,
        ),
        # ... even beside a fresher /api/v1/production (the 1 s loop's endpoint when the readings do
        # not answer): on a metered gateway it is not the CT's figure (8.2.127_with_3cts: 0 W and
        # 2432969 Wh against the CT's 1714 W and 3165834 Wh; 8.3.5433: 4.8 MWh apart), and switching
        # to it would make the lifetime counter jump
        (
            GatewayReadings(
                info=info("D8.2.127"),
                api_v1_production=API_V1,
                production_report=production_report(
                    production=[INVERTERS_BLOCK, eim("production", 900.0, 7000.0)]
                ),
            ),
            900.0,
            7000.0,
        ),
        # a CT block with activeCount 0 is bogus: fall back
        (
            GatewayReadings(
                info=info("D7.3.466"),
                api_v1_production=API_V1,
                production_report=production_report(
                    production=[INVERTERS_BLOCK, eim("production", 900.0, 7000.0, active=0)]
                ),
            ),
            4.0,
            1583.0,
        ),
    ],
)
def test_production_sources(readings: GatewayReadings, power: float, lifetime: float) -> None:
    snap = merge_snapshot(readings, time=NOW)
    assert snap.production.power_w == power
    assert snap.production.lifetime_wh == lifetime


def test_consumption_from_production_json_when_no_readings() -> None:
    report = production_report(
        production=[eim("production", 300.0, 1000.0)],
        consumption=[eim("total-consumption", 500.0, 4000.0), eim("net-consumption", 200.0, 3000.0)],
    )
    snap = merge_snapshot(GatewayReadings(info=info(), production_report=report), time=NOW)
    assert (snap.consumption.power_w, snap.net_consumption.power_w) == (500.0, 200.0)
    assert (snap.grid.import_w, snap.grid.export_w) == (200.0, 0.0)
    assert snap.grid.import_lifetime_wh is None
    assert snap.grid.estimated is True


def test_nothing_known_is_none_never_zero() -> None:
    snap = merge_snapshot(GatewayReadings(), time=NOW)
    for flow in (snap.production, snap.consumption, snap.net_consumption):
        assert flow.power_w is None
        assert flow.lifetime_wh is None
        assert flow.phases_w == ()
    assert (snap.grid.import_w, snap.grid.export_w) == (None, None)
    assert snap.storage is None
    assert (snap.phase_mode, snap.phase_count) == (None, None)
    assert snap.gateway.serial is None
    inactive = production_report(
        production=[eim("production", 3.0, 1.0, active=0)],
        consumption=[eim("net-consumption", -5.0, 9.0, active=0)],
    )
    snap = merge_snapshot(GatewayReadings(production_report=inactive), time=NOW)
    assert snap.net_consumption.power_w is None
    assert snap.production.power_w is None


def inventory(*socs: float) -> EnsembleInventory:
    return EnsembleInventory.from_json(
        doc(
            [
                {
                    "type": "ENCHARGE",
                    "devices": [
                        {"serial_num": str(i), "percentFull": soc, "encharge_capacity": 3500}
                        for i, soc in enumerate(socs)
                    ],
                }
            ]
        )
    )


def ensemble_power(*milliwatts: int) -> EnsemblePower:
    return EnsemblePower.from_json(
        doc({"devices:": [{"serial_num": str(i), "real_power_mw": mw} for i, mw in enumerate(milliwatts)]})
    )


STATUS = EnsembleStatus.from_json(
    doc(
        {
            "agg_soc": 39,
            "Max_energy": 7220,
            "ENC_agg_soc": 54,
            "ENC_agg_avail_energy": 1890,
            "ACB_agg_energy": 930,
        }
    )
)
ACB = {"type": "acb", "activeCount": 3, "wNow": 260, "whNow": 930, "state": "discharging", "percentFull": 25}


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        # IQ Batteries: power from ensemble power (mW), charge from secctrl
        (
            GatewayReadings(
                ensemble_inventory=inventory(50, 58),
                ensemble_power=ensemble_power(-136000, 36000),
                ensemble_status=STATUS,
            ),
            (-100.0, 54, 1890, 7220),
        ),
        # without secctrl: capacity-weighted charge and summed capacity from the inventory
        (GatewayReadings(ensemble_inventory=inventory(50, 60)), (None, 55.0, None, 7000.0)),
        # ACB only (production.json storage)
        (
            GatewayReadings(production_report=production_report(production=[], storage=[ACB])),
            (260, 25, 930, None),
        ),
        # both: combined charge and energy
        (
            GatewayReadings(
                ensemble_inventory=inventory(54),
                ensemble_power=ensemble_power(105000),
                ensemble_status=STATUS,
                production_report=production_report(production=[], storage=[ACB]),
            ),
            (365.0, 39, 2820, 7220),
        ),
    ],
)
def test_storage(readings: GatewayReadings, expected: tuple[Any, ...]) -> None:
    storage = merge_snapshot(readings, time=NOW).storage
    assert storage is not None
    assert (storage.power_w, storage.soc_pct, storage.available_wh, storage.capacity_wh) == expected


@pytest.mark.parametrize(
    "readings",
    [
        GatewayReadings(ensemble_inventory=EnsembleInventory((), ("ENPOWER",)), ensemble_status=STATUS),
        GatewayReadings(
            production_report=production_report(production=[], storage=[{**ACB, "activeCount": 0}])
        ),
        GatewayReadings(
            production_report=production_report(
                production=[], storage=[{k: v for k, v in ACB.items() if k != "percentFull"}]
            )
        ),
    ],
)
def test_no_storage(readings: GatewayReadings) -> None:
    assert merge_snapshot(readings, time=NOW).storage is None


def test_inverters_without_day_estimate() -> None:
    reports = InverterReports.from_json(
        doc(
            [
                {
                    "serialNumber": "A",
                    "lastReportDate": 1780000000,
                    "lastReportWatts": 209,
                    "maxReportWatts": 314,
                }
            ]
        )
    )
    (inverter,) = merge_snapshot(GatewayReadings(inverters=reports), time=NOW).inverters
    assert (inverter.serial, inverter.power_w, inverter.max_power_w) == ("A", 209, 314)
    assert inverter.last_report == datetime.fromtimestamp(1780000000, UTC)
    assert inverter.today_wh is None


def test_storage_ct_anomaly_blanks_the_meter_not_the_site() -> None:
    readings = ct_readings(
        (1, "net-consumption", 2, [measure(100.0, 10.0, 1.0), measure(50.0, 5.0, 1.0)]),
        (3, "storage", 2, [measure(0.0, 0.0, 0.0), measure(-400.0, 500.0, 70.0)]),
        info=info("D8.3.6100"),
    )
    meters = {m.type: m for m in merge_snapshot(readings, time=NOW).meters}
    assert meters["storage"].power_w is None
    assert meters["storage"].energy_delivered_wh is None
    assert meters["net-consumption"].power_w == 150.0


def test_snapshot_json_has_the_contract_keys() -> None:
    data = merge_snapshot(SINGLE_NET, time=NOW).to_json()
    assert data["net_consumption"]["lifetime_wh"] == 6000.0
    assert data["meters"][1]["energy_received_wh"] == 2000.0
    assert [(p["import_w"], p["export_w"]) for p in data["grid"]["phases"]] == [(0.0, 300.0)]


def _phased_inventory(*phases: str | None) -> EnsembleInventory:
    devices = [
        {"serial_num": str(i), "percentFull": 50, "encharge_capacity": 3500, "temperature": 20 + i}
        | ({"phase": phase} if phase else {})
        for i, phase in enumerate(phases)
    ]
    return EnsembleInventory.from_json(doc([{"type": "ENCHARGE", "devices": devices}]))


# three phases: production 1000 W on L1; net -1500 / 300 / 600 W; an IQ Battery discharging 1200 W
THREE_PHASE_BATTERY_CTS = (
    (1, "production", 3, [measure(1000.0, 10.0, 0.0), measure(0.0, 0.0, 0.0), measure(0.0, 0.0, 0.0)]),
    (
        2,
        "net-consumption",
        3,
        [measure(-1500.0, 10.0, 40.0), measure(300.0, 20.0, 0.0), measure(600.0, 30.0, 0.0)],
    ),
)


@pytest.mark.parametrize(
    ("battery", "phases_w", "house_phases_w"),
    [
        # the inventory's phase of every unit: per phase
        (_phased_inventory("ph-a", "ph-a"), (1200.0, 0.0, 0.0), (700.0, 300.0, 600.0)),
        (_phased_inventory("ph-a", "ph-c"), (600.0, 0.0, 600.0), (100.0, 300.0, 1200.0)),
        # a unit without a phase (or an unknown name): total only, per phase unknown, never a guess
        (_phased_inventory("ph-a", None), (None, None, None), (None, None, None)),
        (_phased_inventory("ph-a", "ph-z"), (None, None, None), (None, None, None)),
    ],
)
def test_house_per_phase_only_where_the_battery_phase_is_known(
    battery: EnsembleInventory, phases_w: tuple[float | None, ...], house_phases_w: tuple[float | None, ...]
) -> None:
    readings = ct_readings(
        *THREE_PHASE_BATTERY_CTS, ensemble_inventory=battery, ensemble_power=ensemble_power(600000, 600000)
    )
    snap = merge_snapshot(readings, time=NOW)
    assert snap.storage is not None
    assert snap.storage.phases_w == phases_w
    assert snap.storage.energy_estimated
    assert (snap.storage.charge_w, snap.storage.discharge_w) == (0.0, 1200.0)
    assert [u.temperature_c for u in snap.storage.units] == [20.0, 21.0]
    # house = production + net + storage; the gateway's own figure leaves the battery out
    assert snap.consumption.power_w == 1000.0 - 600.0 + 1200.0
    assert snap.consumption.phases_w == house_phases_w
    assert snap.gateway_consumption.power_w == 400.0
    assert snap.gateway_consumption.phases_w == (-500.0, 300.0, 600.0)
    assert snap.consumption.lifetime_wh is None  # the battery's energy is only integrated: no lifetime


def test_storage_ct_gives_the_house_per_phase_and_exact_energy() -> None:
    readings = ct_readings(
        *THREE_PHASE_BATTERY_CTS,
        (3, "storage", 3, [measure(-800.0, 500.0, 900.0), measure(0.0, 0.0, 0.0), measure(0.0, 0.0, 0.0)]),
        ensemble_inventory=_phased_inventory("ph-b"),  # the CT's channels win over the inventory
        ensemble_power=ensemble_power(-790000),
    )
    snap = merge_snapshot(readings, time=NOW)
    assert snap.storage is not None
    assert snap.storage.power_w == -800.0
    assert snap.storage.phases_w == (-800.0, 0.0, 0.0)
    assert (snap.storage.discharged_lifetime_wh, snap.storage.charged_lifetime_wh) == (500.0, 900.0)
    assert not snap.storage.energy_estimated
    # L1: 1000 - 1500 - 800 < 0: CTs read a moment apart; a house load below 0 is never shown
    assert snap.consumption.phases_w == (0.0, 300.0, 600.0)
    assert snap.consumption.power_w == 0.0
    # lifetime: production 10 + net (60 - 40) + battery (500 - 900)
    assert snap.consumption.lifetime_wh == 10.0 + 20.0 - 400.0


def test_acb_on_three_phases_gives_the_house_in_total_only() -> None:
    report = ProductionReport.from_json(
        doc(
            {
                "production": [],
                "storage": [
                    {
                        "type": "acb",
                        "activeCount": 3,
                        "wNow": 500,
                        "whNow": 900,
                        "percentFull": 25,
                        "state": "x",
                    }
                ],
            }
        )
    )
    snap = merge_snapshot(ct_readings(*THREE_PHASE_BATTERY_CTS, production_report=report), time=NOW)
    assert snap.consumption.power_w == 1000.0 - 600.0 + 500.0
    assert snap.consumption.phases_w == (None, None, None)
