"""Conformance over every real capture with firmware >= 7, served by the replay simulator over HTTPS.

Our readers (through GatewaySession) and merge build the snapshot; pyenphase 4.2 reads the same server
as an oracle. Meters, per-phase powers, lifetime counters, inverters and storage must agree. Where we
deliberately differ, the assertion says so and checks the reason on the data:

- phantom channels: pyenphase reports every channel up to the largest phaseCount (and the phase count
  itself from the configuration); we leave out channels beyond the CT's phaseCount or of unwired
  phases (voltage below quirks.UNWIRED_PHASE_MAX_VOLTAGE_V), whose counters are not energy that flowed.
- storage capacity: for IQ Batteries alone pyenphase gives ``Enc_max_available_capacity`` and we give
  ``Max_energy`` (equal on every capture); with only ACBs and an empty ensemble inventory pyenphase
  reads no secctrl at all, we still take ``Max_energy`` from it.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from pyenphase import Envoy
from pyenphase.const import PHASENAMES, SupportedFeatures
from pyenphase.models.envoy import EnvoyData
from pyenphase.models.inverter import EnvoyInverter

from enphase_secure.energy.merge import GatewayReadings, merge_snapshot
from enphase_secure.energy.snapshot import MeterState, Snapshot
from enphase_secure.errors import GatewayResponseError
from enphase_secure.gateway import inverters as inverters_module
from enphase_secure.gateway import quirks
from enphase_secure.gateway.info import GatewayInfo
from enphase_secure.gateway.inverters import InverterReports, read_inverter_device_data
from enphase_secure.gateway.meters import MeterConfig, MeterReadings
from enphase_secure.gateway.probe import GatewayCapabilities, probe
from enphase_secure.gateway.production import ApiV1Production, ProductionReport
from enphase_secure.gateway.session import GatewaySession
from enphase_secure.gateway.token import decode_token
from enphase_secure.gateway.token_manager import ManualTokens
from enphase_secure.simulator.replay import ReplaySource
from enphase_secure.simulator.server import run_simulator

pytestmark = pytest.mark.conformance


def capture_folders() -> list[Path]:
    # `import conftest` may resolve to another folder's conftest.py: load the root one by path.
    spec = importlib.util.spec_from_file_location(
        "conformance_root_conftest", Path(__file__).with_name("conftest.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folders: list[Path] = module.capture_folders()
    return folders


def firmware_of(folder: Path) -> tuple[int, int, int] | None:
    info = folder / "info"
    return GatewayInfo.from_xml(info.read_bytes()).firmware_version if info.is_file() else None


def supported_folders() -> list[Path]:
    return [f for f in capture_folders() if quirks.at_least(firmware_of(f), quirks.MIN_SUPPORTED_FIRMWARE)]


FOLDERS = supported_folders()


def test_captures_with_firmware_7_or_later_are_present(fixtures_dir: Path) -> None:
    names = [f.name for f in FOLDERS]
    assert len(names) >= 15, names
    assert {"8.3.5433_tot_is_net_cons", "7.3.466_with_cts_3phase", "8.2.4382_ACB"} <= set(names)


@dataclass(frozen=True, slots=True)
class Reads:
    capabilities: GatewayCapabilities
    snapshot: Snapshot
    device_data: InverterReports | None
    envoy: Envoy
    data: EnvoyData


async def read_both(folder: Path) -> Reads:
    async with run_simulator(ReplaySource(folder)) as sim:
        token = sim.issue_token()
        async with GatewaySession(host=sim.host, tokens=ManualTokens(token=decode_token(token))) as session:
            capabilities = await probe(session)
            try:
                device_data: InverterReports | None = await read_inverter_device_data(session)
            except GatewayResponseError:
                device_data = None
        snapshot = merge_snapshot(capabilities.readings, time=datetime.now(UTC))
        connector = aiohttp.TCPConnector(ssl=False)
        async with aiohttp.ClientSession(connector=connector) as client:
            envoy = Envoy(sim.host, client=client, v2_acb_mode=False)
            await envoy.setup()
            await envoy.authenticate(token=token)
            await envoy.probe()
            data = await envoy.update()
    return Reads(capabilities, snapshot, device_data, envoy, data)


def assert_meter_equal(ours: MeterState, oracle: object) -> None:
    assert round(ours.power_w or 0) == oracle.active_power  # type: ignore[attr-defined]
    assert round(ours.energy_delivered_wh or 0) == oracle.energy_delivered  # type: ignore[attr-defined]
    assert round(ours.energy_received_wh or 0) == oracle.energy_received  # type: ignore[attr-defined]
    assert ours.voltage_v == oracle.voltage  # type: ignore[attr-defined]
    assert ours.current_a == oracle.current  # type: ignore[attr-defined]
    assert ours.power_factor == oracle.power_factor  # type: ignore[attr-defined]
    assert ours.frequency_hz == oracle.frequency  # type: ignore[attr-defined]


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
async def test_snapshot_agrees_with_pyenphase(folder: Path, fixtures_dir: Path) -> None:
    reads = await read_both(folder)
    capabilities, snap, envoy, data = reads.capabilities, reads.snapshot, reads.envoy, reads.data
    assert capabilities.firmware_supported
    assert snap.gateway.serial == envoy.serial_number
    assert snap.gateway.part_number == envoy.part_number

    # meters: the enabled CTs, matched by eid
    oracle_meters = {kind: m for kind, m in data.ctmeters.items() if m is not None}
    assert {m.type for m in snap.meters} == set(oracle_meters)
    for meter in snap.meters:
        assert_meter_equal(meter, oracle_meters[meter.type])

    # per phase: equal on the wired phases; the channels pyenphase adds are phantom ones
    readings = capabilities.readings.meter_readings
    for meter in snap.meters:
        assert readings is not None
        config = next(ct for ct in capabilities.cts if ct.eid == meter.eid)
        reading = readings.by_eid(meter.eid)
        assert reading is not None
        wired = quirks.wired_channels(config, reading)
        oracle_phases = data.ctmeters_phases.get(meter.type) or {}
        if not oracle_phases:  # pyenphase gives phases only above one phase: the CT is its one channel
            assert [round(p or 0) for p in meter.phases_w] == [oracle_meters[meter.type].active_power]
        for index, name in enumerate(PHASENAMES):
            oracle = oracle_phases.get(name)
            if oracle is None:
                continue
            if index in wired:
                assert round(meter.phases_w[wired.index(index)] or 0) == oracle.active_power
            else:
                voltage = reading.channels[index].voltage_v
                beyond_phase_count = index >= config.phase_count
                unwired = voltage is not None and voltage < quirks.UNWIRED_PHASE_MAX_VOLTAGE_V
                assert beyond_phase_count or unwired, f"{meter.type} {name} left out but wired"
        flow = {"production": snap.production, "net-consumption": snap.net_consumption}.get(meter.type)
        if flow is not None and (snap.phase_count or 0) > 1:
            assert [p for p in flow.phases_w if p is not None] == list(meter.phases_w)

    # the flows built from the CTs
    production_ct = oracle_meters.get("production")
    net_ct = oracle_meters.get("net-consumption")
    total_ct = oracle_meters.get("total-consumption")
    if production_ct is not None:
        assert round(snap.production.power_w or 0) == production_ct.active_power
        assert round(snap.production.lifetime_wh or 0) == production_ct.energy_delivered
    elif data.system_production is not None:
        assert round(snap.production.power_w or 0) == data.system_production.watts_now
        assert round(snap.production.lifetime_wh or 0) == data.system_production.watt_hours_lifetime
    else:
        assert snap.production.power_w is None
    if net_ct is not None:
        assert (round(snap.grid.import_lifetime_wh or 0), round(snap.grid.export_lifetime_wh or 0)) == (
            net_ct.energy_delivered,
            net_ct.energy_received,
        )
        assert round(snap.net_consumption.power_w or 0) == net_ct.active_power
        if production_ct is not None:
            gateway_w = snap.gateway_consumption.power_w or 0
            assert abs(gateway_w - production_ct.active_power - net_ct.active_power) <= 1
            # the house: production + net + storage (DESIGN.md §3), never below 0
            battery_w = snap.storage.power_w if snap.storage else 0.0
            assert battery_w is not None
            assert snap.consumption.power_w == pytest.approx(max(0.0, gateway_w + battery_w), abs=0.01)
    elif total_ct is not None:
        assert round(snap.consumption.power_w or 0) == total_ct.active_power
        assert snap.grid.estimated
    elif data.system_net_consumption is not None and snap.net_consumption.power_w is not None:
        assert round(snap.net_consumption.power_w) == data.system_net_consumption.watts_now
        assert round(snap.net_consumption.lifetime_wh or 0) == data.system_net_consumption.watt_hours_lifetime
        assert data.system_consumption is not None
        assert round(snap.consumption.power_w or 0) == data.system_consumption.watts_now

    # inverters
    ours_inverters = {i.serial: (i.power_w, i.max_power_w, i.last_report) for i in snap.inverters}
    oracle_inverters = {
        serial: (i.last_report_watts, i.max_report_watts, datetime.fromtimestamp(i.last_report_date, UTC))
        for serial, i in data.inverters.items()
    }
    if SupportedFeatures.DETAILED_INVERTERS in (envoy.supported_features or SupportedFeatures(0)):
        # pyenphase prefers /ivp/pdm/device_data; we read /api/v1/production/inverters (DESIGN §2) and
        # fall back to device_data: same inverters, but each endpoint holds its own last report.
        assert reads.device_data is not None
        details = {i.serial: (i.power_w, i.max_power_w, i.last_report) for i in reads.device_data.inverters}
        assert details == oracle_inverters
        assert set(ours_inverters) == set(oracle_inverters)
    else:
        assert ours_inverters == oracle_inverters

    # storage
    assert_storage_agrees(snap, data)


def assert_storage_agrees(snap: Snapshot, data: EnvoyData) -> None:
    storage = snap.storage
    iq = bool(data.encharge_inventory)
    acb = data.acb_power is not None
    if not iq and not acb:
        assert storage is None
        return
    assert storage is not None
    if iq and acb:
        aggregate = data.battery_aggregate
        assert aggregate is not None
        assert (storage.soc_pct, storage.available_wh, storage.capacity_wh) == (
            aggregate.state_of_charge,
            aggregate.available_energy,
            aggregate.max_available_capacity,
        )
    elif iq:
        enc = data.encharge_aggregate
        assert enc is not None
        assert (storage.soc_pct, storage.available_wh, storage.capacity_wh) == (
            enc.state_of_charge,
            enc.available_energy,
            enc.max_available_capacity,
        )
    else:
        assert data.acb_power is not None
        assert (storage.soc_pct, storage.available_wh) == (
            data.acb_power.state_of_charge,
            data.acb_power.charge_wh,
        )
    iq_power_w = sum(p.real_power_mw for p in (data.encharge_power or {}).values()) / 1000.0 if iq else 0.0
    acb_power_w = data.acb_power.power if data.acb_power is not None else 0.0
    storage_ct = data.ctmeters.get("storage")
    if storage_ct is not None:
        # a storage CT is read with the net CT every second: its power is the battery's in the house
        # figure (the ensemble's, read every 15 s, is another instant on 8.2.127)
        assert round(storage.power_w or 0) == storage_ct.active_power
        assert round(storage.discharged_lifetime_wh or 0) == storage_ct.energy_delivered
        assert round(storage.charged_lifetime_wh or 0) == storage_ct.energy_received
        assert not storage.energy_estimated
    else:
        assert storage.power_w == pytest.approx(iq_power_w + acb_power_w)
        assert storage.energy_estimated
    # per unit: SoC and temperature as the inventory gives them
    oracle_units = data.encharge_inventory or {}
    assert {u.serial for u in storage.units} == set(oracle_units)
    for unit in storage.units:
        assert unit.soc_pct == oracle_units[unit.serial].percent_full
        assert unit.temperature_c == oracle_units[unit.serial].temperature


# Each quirk of gateway/quirks.py, checked on the capture that shows it.


def folder_named(fixtures_dir: Path, name: str) -> Path:
    folder = fixtures_dir / name
    assert folder.is_dir(), f"capture {name} missing from {fixtures_dir}"
    return folder


def capture(fixtures_dir: Path, name: str, *files: str) -> list[bytes]:
    folder = folder_named(fixtures_dir, name)
    return [(folder / file).read_bytes() for file in files]


def test_quirk_phantom_channels_on_captures(fixtures_dir: Path) -> None:
    config, readings = capture(fixtures_dir, "7.3.466_with_cts_3phase", "ivp_meters", "ivp_meters_readings")
    snap = merge_snapshot(
        GatewayReadings(
            meter_config=MeterConfig.from_json(config), meter_readings=MeterReadings.from_json(readings)
        ),
        time=datetime.now(UTC),
    )
    assert (snap.phase_mode, snap.phase_count) == ("single", 1)  # configured "three"/3, one phase wired
    assert snap.production.phases_w == (488.925,)
    config, readings = capture(
        fixtures_dir, "8.2.127_with_3cts_and_battery_split", "ivp_meters", "ivp_meters_readings"
    )
    parsed = MeterReadings.from_json(readings)
    snap = merge_snapshot(
        GatewayReadings(meter_config=MeterConfig.from_json(config), meter_readings=parsed),
        time=datetime.now(UTC),
    )
    net = next(m for m in snap.meters if m.type == "net-consumption")
    storage = next(m for m in snap.meters if m.type == "storage")
    net_reading = parsed.by_eid(net.eid)
    assert net_reading is not None
    assert net_reading.channels[2].power_w == storage.phases_w[1]  # the net CT's 3rd channel repeats storage
    assert net.phases_w == (-201.39, 330.797)
    assert net.energy_delivered_wh == pytest.approx(
        sum(c.energy_delivered_wh for c in net_reading.channels[:2])
    )


def test_quirk_total_is_net_on_8_3_5433(fixtures_dir: Path) -> None:
    info, report, readings = capture(
        fixtures_dir, "8.3.5433_tot_is_net_cons", "info", "production.json_details_1", "ivp_meters_readings"
    )
    raw = ProductionReport.from_json(report)
    total, net = raw.total_consumption, raw.net_consumption
    assert total is not None
    assert net is not None
    assert (total.power_w, total.lifetime_wh) == (net.power_w, net.lifetime_wh)
    repaired = quirks.repair_total_consumption(raw, GatewayInfo.from_xml(info).firmware_version)
    total_ct = MeterReadings.from_json(readings).by_eid(704643584)
    assert repaired.total_consumption is not None
    assert total_ct is not None
    assert repaired.total_consumption.power_w == pytest.approx(total_ct.total.power_w, abs=10)
    assert repaired.total_consumption.lifetime_wh == pytest.approx(
        total_ct.total.energy_delivered_wh, rel=1e-4
    )
    # and its day counters are the lifetime counter: never used
    assert raw.production is not None
    assert raw.production.today_wh == raw.production.last_7_days_wh == raw.production.lifetime_wh


def test_quirk_readings_beyond_the_configured_cts(fixtures_dir: Path) -> None:
    config, readings = capture(fixtures_dir, "8.3.5169_with_generator", "ivp_meters", "ivp_meters_readings")
    meters, parsed = MeterConfig.from_json(config), MeterReadings.from_json(readings)
    assert {r.eid for r in parsed.cts} - {c.eid for c in meters.cts} == {1023410688}
    assert [c.eid for c, _ in quirks.configured_readings(meters, parsed)] == [c.eid for c in meters.enabled]


def test_quirk_api_v1_on_metered_gateway_without_cts(fixtures_dir: Path) -> None:
    info, api, report, meters = capture(
        fixtures_dir, "8.2.4264_metered_noct", "info", "api_v1_production", "production.json", "ivp_meters"
    )
    parsed_info = GatewayInfo.from_xml(info)
    api_v1 = ApiV1Production.from_json(api)
    inverters = ProductionReport.from_json(report).inverters
    assert inverters is not None
    assert api_v1.lifetime_wh < inverters.lifetime_wh / 1000  # api/v1 holds the disabled CT's counters
    assert not quirks.api_v1_production_usable(
        api_v1,
        version=parsed_info.firmware_version,
        metered=bool(parsed_info.imeter),
        has_enabled_ct=bool(MeterConfig.from_json(meters).enabled),
    )


def test_quirk_inactive_production_block(fixtures_dir: Path) -> None:
    (report,) = capture(fixtures_dir, "7.3.466_metered_disabled_cts", "production.json")
    block = ProductionReport.from_json(report).production
    assert block is not None
    assert not quirks.production_block_active(block.active_count)
    assert block.power_w != 0  # the values look plausible: only activeCount tells they are stale


DEVICE_DATA_FOLDERS = [f for f in capture_folders() if (f / "ivp_pdm_device_data").is_file()]


def test_captures_with_device_data_are_present() -> None:
    assert {f.name for f in DEVICE_DATA_FOLDERS} >= {"8.2.4345_with_device_data", "8.3.5169_with_generator"}


@pytest.mark.parametrize("folder", DEVICE_DATA_FOLDERS, ids=[f.name for f in DEVICE_DATA_FOLDERS])
def test_device_data_detail_equals_the_document_and_pyenphase(folder: Path) -> None:
    body = (folder / "ivp_pdm_device_data").read_bytes()
    raw = json.loads(body)
    ours = {r.serial: r for r in InverterReports.from_device_data(body).inverters}
    records = {
        v["sn"]: v
        for v in raw.values()
        if isinstance(v, dict) and v.get("devName") == "pcu" and v.get("active")
    }
    assert set(ours) == set(records)
    assert ours
    for serial, record in records.items():
        mine, oracle = ours[serial], EnvoyInverter.from_device_data(record)
        channel = record["channels"][0]
        reading = channel["lastReading"]
        # the document's values, in our units (W, V, A, Hz, °C, Wh)
        assert mine.power_w == channel["watts"]["now"]
        assert mine.max_power_w == channel["watts"]["max"]
        assert mine.dc_voltage_v == pytest.approx(reading["dcVoltageINmV"] / 1000)
        assert mine.dc_current_a == pytest.approx(reading["dcCurrentINmA"] / 1000)
        assert mine.ac_voltage_v == pytest.approx(reading["acVoltageINmV"] / 1000)
        assert mine.ac_frequency_hz == pytest.approx(reading["acFrequencyINmHz"] / 1000)
        assert mine.temperature_c == reading["channelTemp"]
        assert mine.today_wh == channel["wattHours"]["today"]
        assert mine.lifetime_wh == pytest.approx(channel["lifetime"]["joulesProduced"] / 3600)
        # pyenphase 4.2's reading of the same record
        assert (mine.power_w, mine.max_power_w) == (oracle.last_report_watts, oracle.max_report_watts)
        assert mine.last_report == datetime.fromtimestamp(oracle.last_report_date, UTC)
        assert (mine.dc_voltage_v, mine.dc_current_a) == (oracle.dc_voltage, oracle.dc_current)
        assert (mine.ac_voltage_v, mine.ac_frequency_hz) == (oracle.ac_voltage, oracle.ac_frequency)
        assert mine.temperature_c == oracle.temperature
        assert mine.today_wh == oracle.energy_today
        assert round(mine.lifetime_wh or 0) == oracle.lifetime_energy


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
async def test_inverters_come_from_device_data_where_it_answers(folder: Path) -> None:
    async with run_simulator(ReplaySource(folder)) as sim:
        token = sim.issue_token()
        async with GatewaySession(host=sim.host, tokens=ManualTokens(token=decode_token(token))) as session:
            capabilities = await probe(session)
    snap = merge_snapshot(capabilities.readings, time=datetime.now(UTC))
    if capabilities.answers(inverters_module.DEVICE_DATA_PATH):
        assert snap.inverters
        assert all(i.dc_voltage_v is not None and i.lifetime_wh is not None for i in snap.inverters)
    elif capabilities.answers(inverters_module.INVERTERS_PATH):
        assert all(i.dc_voltage_v is None and i.today_wh is None for i in snap.inverters)
