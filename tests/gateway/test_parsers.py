"""Table-driven tests of the endpoint parsers on small documents (no captures needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from enphase_secure.errors import GatewayResponseError
from enphase_secure.gateway.ensemble import EnsembleInventory, EnsemblePower, EnsembleStatus
from enphase_secure.gateway.info import GatewayInfo, firmware_version
from enphase_secure.gateway.inverters import InverterReports
from enphase_secure.gateway.meters import MeterConfig, MeterReadings
from enphase_secure.gateway.production import ApiV1Production, ProductionReport


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


INFO = b"""<?xml version="1.0"?><envoy_info><time>1</time><device><sn>122212345678</sn>
<pn>800-00654-r08</pn><software>D8.2.127</software><imeter>true</imeter></device>
<web-tokens>true</web-tokens><package name="app"><version>08.02.127</version></package></envoy_info>"""


def channel(power: float, voltage: float | None = 230.0) -> dict[str, Any]:
    value: dict[str, Any] = {
        "activePower": power,
        "actEnergyDlvd": 100.0,
        "actEnergyRcvd": 5.0,
        "pwrFactor": 0.9,
        "current": 2.0,
        "freq": 50.0,
    }
    if voltage is not None:
        value["voltage"] = voltage
    return value


def ct_config(eid: int, kind: str, *, state: str = "enabled", phases: int = 1) -> dict[str, Any]:
    return {
        "eid": eid,
        "state": state,
        "measurementType": kind,
        "phaseMode": "three" if phases == 3 else "single",
        "phaseCount": phases,
        "meteringStatus": "normal",
        "statusFlags": [],
    }


def test_info_reads_serial_part_number_firmware_and_flags() -> None:
    info = GatewayInfo.from_xml(INFO)
    assert (info.serial, info.part_number, info.firmware) == ("122212345678", "800-00654-r08", "D8.2.127")
    assert info.imeter is True
    assert info.web_tokens is True
    assert info.firmware_version == (8, 2, 127)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("D8.3.5433", (8, 3, 5433)), ("R3.9.36", (3, 9, 36)), ("7.6.175", (7, 6, 175)), ("garbage", None)],
)
def test_firmware_version(text: str, expected: tuple[int, int, int] | None) -> None:
    assert firmware_version(text) == expected


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (b"<envoy_info><device><pn>x</pn><software>D8.2.1</software></device></envoy_info>", "device.sn"),
        (b"<envoy_info><device><sn>1</sn></device></envoy_info>", "device.software"),
        (b"<envoy_info></envoy_info>", "device"),
        (b"not xml <", None),
    ],
)
def test_info_errors_name_the_field(document: bytes, field: str | None) -> None:
    with pytest.raises(GatewayResponseError) as caught:
        GatewayInfo.from_xml(document)
    assert caught.value.endpoint == "/info"
    assert caught.value.field == field


def test_meter_config_keeps_unknown_enum_values() -> None:
    config = MeterConfig.from_json(
        body([ct_config(1, "production"), ct_config(2, "heat-pump", state="standby", phases=3)])
    )
    assert [ct.measurement_type for ct in config.cts] == ["production", "heat-pump"]
    assert [ct.eid for ct in config.enabled] == [1]
    assert config.cts[1].state == "standby"
    assert config.cts[1].phase_count == 3


def test_meter_config_of_a_gateway_without_cts_is_empty() -> None:
    assert MeterConfig.from_json(b"[]").cts == ()


def test_readings_total_and_channels() -> None:
    reading = {
        "eid": 7,
        "timestamp": 1700000000,
        **channel(300.0),
        "channels": [channel(100.0), channel(200.0)],
    }
    readings = MeterReadings.from_json(body([reading]))
    ct = readings.by_eid(7)
    assert ct is not None
    assert ct.total.power_w == 300.0
    assert [c.power_w for c in ct.channels] == [100.0, 200.0]
    assert ct.total.energy_delivered_wh == 100.0
    assert ct.total.frequency_hz == 50.0
    assert (ct.total.current_a, ct.total.power_factor) == (2.0, 0.9)
    assert [c.voltage_v for c in ct.channels] == [230.0, 230.0]
    assert readings.by_eid(8) is None


BAD_READING = {"eid": 7, **channel(1.0)}


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([{**BAD_READING, "activePower": None}], "[0].activePower"),
        ([{k: v for k, v in BAD_READING.items() if k != "actEnergyRcvd"}], "[0].actEnergyRcvd"),
        ([{**BAD_READING, "activePower": "12"}], "[0].activePower"),
        ([{**BAD_READING, "activePower": True}], "[0].activePower"),
        ([{**BAD_READING, "eid": "7"}], "[0].eid"),
        ([{**BAD_READING, "channels": [channel(1.0), {"activePower": 1}]}], "[0].channels[1].actEnergyDlvd"),
        ({"eid": 7}, "<root>"),
        ({"error": "not available"}, "error"),
    ],
)
def test_malformed_readings_name_endpoint_and_field(document: Any, field: str) -> None:
    with pytest.raises(GatewayResponseError) as caught:
        MeterReadings.from_json(body(document))
    assert caught.value.endpoint == "/ivp/meters/readings"
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize("document", [b"", b"{trunc", b"\xff\xfe"])
def test_invalid_json_is_a_response_error(document: bytes) -> None:
    with pytest.raises(GatewayResponseError, match=r"/ivp/meters: not JSON"):
        MeterConfig.from_json(document)


def line(power: float, lifetime: float) -> dict[str, Any]:
    return {"wNow": power, "whLifetime": lifetime, "whToday": lifetime, "whLastSevenDays": lifetime}


def eim(kind: str, power: float, lifetime: float, *, active: int = 1, lines: int = 0) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "eim",
        "activeCount": active,
        "measurementType": kind,
        **line(power, lifetime),
    }
    if lines:
        block["lines"] = [line(power / lines, lifetime / lines) for _ in range(lines)]
    return block


PRODUCTION_JSON = {
    "production": [
        {"type": "inverters", "activeCount": 10, "readingTime": 1, "wNow": 990, "whLifetime": 5000},
        eim("production", 1000.0, 6000.0, lines=2),
    ],
    "consumption": [eim("total-consumption", 1500.0, 9000.0), eim("net-consumption", 500.0, 3000.0)],
    "storage": [
        {
            "type": "acb",
            "activeCount": 2,
            "wNow": 260,
            "whNow": 930,
            "state": "discharging",
            "percentFull": 25,
        }
    ],
}


def test_production_report_blocks() -> None:
    report = ProductionReport.from_json(body(PRODUCTION_JSON))
    assert report.inverters is not None
    assert (report.inverters.power_w, report.inverters.lifetime_wh, report.inverters.active_count) == (
        990,
        5000,
        10,
    )
    assert report.production is not None
    assert report.production.power_w == 1000.0
    assert [ln.power_w for ln in report.production.lines] == [500.0, 500.0]
    assert report.total_consumption is not None
    assert report.total_consumption.lifetime_wh == 9000.0
    assert report.net_consumption is not None
    assert report.net_consumption.power_w == 500.0
    assert report.acb is not None
    assert (report.acb.power_w, report.acb.stored_wh, report.acb.soc_pct) == (260, 930, 25)


def test_production_report_without_cts_or_storage() -> None:
    report = ProductionReport.from_json(
        body({"production": [{"type": "inverters", "activeCount": 3, "wNow": 5, "whLifetime": 7}]})
    )
    assert report.production is None
    assert report.consumption == ()
    assert report.acb is None
    assert report.net_consumption is None


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"consumption": []}, "production"),
        (
            {"production": [{"type": "eim", "activeCount": 1, "measurementType": "production"}]},
            "production[0].wNow",
        ),
        ({"production": [{"activeCount": 1}]}, "production[0].type"),
        ({"production": [], "storage": [{"type": "acb", "activeCount": 1, "wNow": 1}]}, "storage[0].whNow"),
        (
            {"production": [eim("production", 1, 1) | {"lines": [{"wNow": 1}]}]},
            "production[0].lines[0].whLifetime",
        ),
    ],
)
def test_malformed_production_report(document: Any, field: str) -> None:
    with pytest.raises(GatewayResponseError) as caught:
        ProductionReport.from_json(body(document))
    assert caught.value.endpoint == "/production.json?details=1"
    assert caught.value.field == field


def test_api_v1_production() -> None:
    api = ApiV1Production.from_json(
        body(
            {
                "wattHoursToday": 36462,
                "wattHoursSevenDays": 189712,
                "wattHoursLifetime": 6139406,
                "wattsNow": 5740,
            }
        )
    )
    assert (api.power_w, api.today_wh, api.last_7_days_wh, api.lifetime_wh) == (5740, 36462, 189712, 6139406)
    with pytest.raises(GatewayResponseError, match="wattsNow"):
        ApiV1Production.from_json(body({"wattHoursLifetime": 1}))


def test_inverters_skip_ac_batteries_and_parse_report_time() -> None:
    reports = InverterReports.from_json(
        body(
            [
                {
                    "serialNumber": "A",
                    "lastReportDate": 1700000000,
                    "devType": 1,
                    "lastReportWatts": 209,
                    "maxReportWatts": 314,
                },
                {
                    "serialNumber": "B",
                    "lastReportDate": 1700000300,
                    "lastReportWatts": 0,
                    "maxReportWatts": 300,
                },
                {
                    "serialNumber": "ACB1",
                    "lastReportDate": 1700000000,
                    "devType": 11,
                    "lastReportWatts": 5,
                    "maxReportWatts": 270,
                },
            ]
        )
    )
    assert [i.serial for i in reports.inverters] == ["A", "B"]
    assert reports.inverters[0].last_report == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert reports.inverters[0].max_power_w == 314


def test_inverters_missing_serial() -> None:
    with pytest.raises(GatewayResponseError) as caught:
        InverterReports.from_json(body([{"lastReportDate": 1, "lastReportWatts": 1, "maxReportWatts": 1}]))
    assert caught.value.field == "[0].serialNumber"


def test_ensemble_inventory_batteries_and_device_types() -> None:
    inventory = EnsembleInventory.from_json(
        body(
            [
                {
                    "type": "ENCHARGE",
                    "devices": [
                        {"serial_num": "1", "percentFull": 20, "encharge_capacity": 3500},
                        {"serial_num": "2", "percentFull": 40, "encharge_capacity": 3500},
                    ],
                },
                {"type": "ENPOWER", "devices": [{"serial_num": "9"}]},
                {"type": "NEW-THING", "devices": []},
            ]
        )
    )
    assert [b.soc_pct for b in inventory.batteries] == [20, 40]
    assert inventory.device_types == ("ENCHARGE", "ENPOWER", "NEW-THING")


def test_ensemble_power_key_with_colon_and_milliwatts() -> None:
    power = EnsemblePower.from_json(
        body(
            {
                "devices:": [
                    {"serial_num": "1", "real_power_mw": -136000, "soc": 21},
                    {"serial_num": "2", "real_power_mw": 36500},
                ]
            }
        )
    )
    assert [u.power_w for u in power.units] == [-136.0, 36.5]
    assert power.power_w == pytest.approx(-99.5)
    with pytest.raises(GatewayResponseError) as caught:
        EnsemblePower.from_json(body({"devices": []}))
    assert caught.value.field == "devices:"


def test_ensemble_status() -> None:
    status = EnsembleStatus.from_json(
        body(
            {
                "agg_soc": 39,
                "Max_energy": 7220,
                "ENC_agg_soc": 54,
                "ENC_agg_avail_energy": 1890,
                "Enc_max_available_capacity": 3500,
                "ACB_agg_soc": 25,
                "ACB_agg_energy": 930,
            }
        )
    )
    assert (status.soc_pct, status.capacity_wh, status.iq_soc_pct, status.iq_available_wh) == (
        39,
        7220,
        54,
        1890,
    )
    assert (status.acb_soc_pct, status.acb_available_wh, status.iq_capacity_wh) == (25, 930, 3500)
    with pytest.raises(GatewayResponseError, match="agg_soc"):
        EnsembleStatus.from_json(body({"Max_energy": 1}))


def device(serial: str, channels: list[Any], *, name: str = "pcu", active: bool = True) -> dict[str, Any]:
    return {"devName": name, "sn": serial, "active": active, "channels": channels}


def test_inverter_device_data_active_microinverters_only() -> None:
    reading = {"watts": {"now": 120, "max": 300}, "lastReading": {"endDate": 1780000000}}
    reports = InverterReports.from_device_data(
        body(
            {
                "deviceCount": 3,
                "deviceDataLimit": 50,
                "1": device("X1", [reading]),
                "2": device("X2", [reading], active=False),
                "3": device("R1", [], name="nsrb"),
            }
        )
    )
    assert [(i.serial, i.power_w, i.max_power_w) for i in reports.inverters] == [("X1", 120, 300)]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"1": device("X1", [])}, "1.channels"),
        ({"1": device("X1", [{"watts": {"now": 1, "max": 2}}])}, "1.channels[0].lastReading"),
        ([], "<root>"),
    ],
)
def test_malformed_device_data(document: Any, field: str) -> None:
    with pytest.raises(GatewayResponseError) as caught:
        InverterReports.from_device_data(body(document))
    assert caught.value.endpoint == "/ivp/pdm/device_data"
    assert caught.value.field == field
