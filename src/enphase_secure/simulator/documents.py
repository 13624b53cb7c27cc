"""Render the gateway's documents from the site model, in the shapes of real captures.

Shapes follow the captures in ../shared/fixtures/gateways (7.6.175_with_cts, 7.6.114_without_cts,
8.2.127_with_3cts_and_battery_split, 8.2.4382_ACB): same keys, nesting and order. Every document is
rendered from the same model instant, so they agree with each other.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from .device_data import device_data_document, serves_device_data
from .model import (
    CHARGE,
    CONSUMPTION,
    DISCHARGE,
    EXPORT,
    IMPORT,
    PRODUCTION,
    SiteModel,
    phase_slot,
)
from .physics import unit_hash, value_noise
from .source import Document

EID_PRODUCTION = 704643328
EID_CONSUMPTION = 704643584
EID_STORAGE = 704643840
CHANNEL_EID_OFFSET = 1073741841  # channel eids = meter eid + this + channel index (as in the captures)
CHANNELS = 3  # a real meter always lists three channels, wired or not

# Reactive power bias per CT kind (var), for plausible power factors.
_REACTIVE_BIAS = {"production": 20.0, "net-consumption": -230.0, "total-consumption": -230.0, "storage": 90.0}
_PHANTOM_CREEP_W = 0.06  # unwired channels of a single-phase meter slowly count noise, as real ones do

Json = Any


class GatewayRenderer:
    """Documents of one simulated gateway; ``render`` answers a path like the real one (None = 404)."""

    def __init__(self, model: SiteModel) -> None:
        self.model = model
        scenario = model.scenario
        self.scenario = scenario
        self.cts = scenario.cts
        self.nominal_v = 120.0 if scenario.phases == "split" else 230.0
        self.freq_hz = 60.0 if scenario.phases == "split" else 50.0
        self.phase_mode = "three" if scenario.phases == "single" else scenario.phases
        self.meters: list[tuple[str, int]] = self._meter_kinds()
        seed = model.seed
        # Lifetime counters of a gateway that has been running for years: origin + integral since start.
        self.origin = {
            (kind, phase, side): _origin_wh(seed, index * 8 + phase * 2 + (side == "rcvd"), kind, side)
            for index, (kind, _) in enumerate(self.meters)
            for phase in range(CHANNELS)
            for side in ("dlvd", "rcvd")
        }
        self.inverters_origin_wh = round(300_000.0 + 900_000.0 * unit_hash(seed, 0x1A7))
        self._routes: dict[str, Callable[[Mapping[str, str]], Document | None]] = {
            "/info": self._info,
            "/ivp/meters": self._meters,
            "/ivp/meters/readings": self._readings,
            "/production.json": self._production_json,
            "/production": self._production,
            "/api/v1/production": self._api_v1_production,
            "/api/v1/production/inverters": self._api_v1_inverters,
            "/ivp/ensemble/inventory": self._ensemble_inventory,
            "/ivp/ensemble/power": self._ensemble_power,
            "/ivp/ensemble/secctrl": self._ensemble_secctrl,
        }
        if serves_device_data(scenario.gateway.firmware):
            self._routes["/ivp/pdm/device_data"] = self._device_data

    @property
    def paths(self) -> list[str]:
        return list(self._routes)

    def render(self, path: str, query: Mapping[str, str]) -> Document | None:
        route = self._routes.get(path)
        return route(query) if route else None

    def _meter_kinds(self) -> list[tuple[str, int]]:
        cts = self.scenario.cts
        kinds = []
        if cts.production:
            kinds.append(("production", EID_PRODUCTION))
        if cts.consumption:
            kinds.append((f"{cts.consumption}-consumption", EID_CONSUMPTION))
        if cts.storage:
            kinds.append(("storage", EID_STORAGE))
        return kinds

    # ---- /info

    def _info(self, _query: Mapping[str, str]) -> Document:
        gateway = self.scenario.gateway
        version = ".".join(f"{int(part):02d}" for part in gateway.firmware.lstrip("DR").split(".")[:3])
        body = _INFO_TEMPLATE.format(
            time=int(self.model.t),
            serial=gateway.serial,
            part_number=gateway.part_number,
            software=gateway.firmware,
            imeter="true" if self.cts.any else "false",
            app_version=version,
        )
        return Document(200, body.encode(), "text/xml")

    # ---- meters

    def _meters(self, _query: Mapping[str, str]) -> Document:
        meters: list[dict[str, Json]] = [
            {
                "eid": eid,
                "state": "enabled",
                "measurementType": kind,
                "phaseMode": self.phase_mode,
                "phaseCount": self.model.phase_count,
                "meteringStatus": "normal",
                "statusFlags": [],
            }
            for kind, eid in self.meters
        ]
        return _json(meters, indent=4)

    def _channel_power_energy(self, kind: str, phase: int) -> tuple[float, float, float]:
        """(activePower W, actEnergyDlvd Wh, actEnergyRcvd Wh) of a wired channel."""
        model = self.model
        dlvd0 = self.origin[(kind, phase, "dlvd")]
        rcvd0 = self.origin[(kind, phase, "rcvd")]
        if kind == "production":
            return model.power(phase, PRODUCTION), dlvd0 + model.energy(phase, PRODUCTION), rcvd0
        if kind == "net-consumption":
            return (
                model.net_w[phase],
                dlvd0 + model.energy(phase, IMPORT),
                rcvd0 + model.energy(phase, EXPORT),
            )
        if kind == "total-consumption":
            return model.power(phase, CONSUMPTION), dlvd0 + model.energy(phase, CONSUMPTION), rcvd0
        return (
            model.power(phase, DISCHARGE) - model.power(phase, CHARGE),
            dlvd0 + model.energy(phase, DISCHARGE),
            rcvd0 + model.energy(phase, CHARGE),
        )

    def voltage(self, phase: int) -> float:
        return self.nominal_v + 4.0 * value_noise(self.model.seed + 7 * phase, self.model.t, 60.0) - 2.0

    def _channel(self, kind: str, eid: int, phase: int) -> dict[str, Json]:
        timestamp = int(self.model.t)
        if phase >= self.model.phase_count:
            return self._unwired_channel(kind, eid, phase, timestamp)
        power, dlvd, rcvd = self._channel_power_energy(kind, phase)
        moved = dlvd - self.origin[(kind, phase, "dlvd")] + rcvd - self.origin[(kind, phase, "rcvd")]
        return _reading(
            eid=eid,
            timestamp=timestamp,
            power=power,
            reactive=_REACTIVE_BIAS[kind] + 0.05 * abs(power),
            dlvd=dlvd,
            rcvd=rcvd,
            apparent_energy=1.1 * (dlvd + rcvd),
            lagg=0.25 * self.origin[(kind, phase, "dlvd")] + 0.12 * moved,
            lead=0.25 * self.origin[(kind, phase, "rcvd")] + 0.08 * moved,
            voltage=self.voltage(phase),
            freq=self.freq_hz,
        )

    def _unwired_channel(self, kind: str, eid: int, phase: int, timestamp: int) -> dict[str, Json]:
        """A channel with no phase behind it: zeros on split-phase meters, phantom counts otherwise."""
        if self.scenario.phases == "split":
            if kind == "net-consumption" and self.cts.storage:
                # 8.2.127: the net CT's third channel repeats the storage CT's second one.
                return {**self._channel("storage", eid, 1), "eid": eid}
            zero = 0.0
            return _reading(
                eid=eid,
                timestamp=timestamp,
                power=zero,
                reactive=zero,
                dlvd=zero,
                rcvd=zero,
                apparent_energy=zero,
                lagg=zero,
                lead=zero,
                voltage=zero,
                freq=zero if kind == "storage" else self.freq_hz,
            )
        elapsed_h = (self.model.t - self.model.start_ts) / 3600.0
        rcvd = self.origin[(kind, phase, "rcvd")] / 200.0 + _PHANTOM_CREEP_W * elapsed_h
        jitter = value_noise(self.model.seed + 13 * phase, self.model.t, 30.0)
        return _reading(
            eid=eid,
            timestamp=timestamp,
            power=-jitter if phase == 2 else 0.0,
            reactive=0.0,
            dlvd=0.011 * phase,
            rcvd=rcvd,
            apparent_energy=1.4 * rcvd,
            lagg=0.05 * rcvd,
            lead=0.001 * phase,
            voltage=3.0 * phase + 2.0 * jitter,
            freq=self.freq_hz,
        )

    def meter_reading(self, kind: str, eid: int) -> dict[str, Json]:
        channels = [self._channel(kind, eid + CHANNEL_EID_OFFSET + index, index) for index in range(CHANNELS)]
        wired = channels[: self.model.phase_count]
        top = {key: sum(channel[key] for channel in wired) for key in _SUMMED_KEYS}
        voltages = [channel["voltage"] for channel in wired]
        voltage = sum(voltages) if self.scenario.phases == "split" else sum(voltages) / len(voltages)
        return _reading(
            eid=eid,
            timestamp=int(self.model.t),
            power=top["activePower"],
            reactive=top["reactivePower"],
            dlvd=top["actEnergyDlvd"],
            rcvd=top["actEnergyRcvd"],
            apparent_energy=top["apparentEnergy"],
            lagg=top["reactEnergyLagg"],
            lead=top["reactEnergyLead"],
            voltage=voltage,
            freq=self.freq_hz,
            current=top["current"],
        ) | {"channels": channels}

    def _readings(self, _query: Mapping[str, str]) -> Document:
        return _json([self.meter_reading(kind, eid) for kind, eid in self.meters], indent=4)

    # ---- production.json

    def _production_json(self, query: Mapping[str, str]) -> Document:
        return _json(self.production_document(details=query.get("details") == "1"), compact=True)

    def _production(self, _query: Mapping[str, str]) -> Document:
        return _json(self.production_document(details=False), compact=True)

    def production_document(self, *, details: bool) -> dict[str, Json]:
        model = self.model
        reports = model.inverter_reports()
        production: list[dict[str, Json]] = [
            {
                "type": "inverters",
                "activeCount": len(reports),
                "readingTime": max(report.date_ts for report in reports),
                "wNow": sum(report.watts for report in reports),
                "whLifetime": self.inverters_lifetime_wh(),
            }
        ]
        document: dict[str, Json] = {"production": production}
        if self.cts.production:
            production.append(self._eim("production", self._phases_of("production"), details))
        if self.cts.consumption:
            document["consumption"] = [
                self._eim("total-consumption", self._phases_of("total-consumption"), details),
                self._eim("net-consumption", self._phases_of("net-consumption"), details),
            ]
        document["storage"] = [self._acb_storage()]
        return document

    def inverters_lifetime_wh(self) -> int:
        return int(self.inverters_origin_wh + self.model.total_energy(PRODUCTION))

    def _phases_of(self, kind: str) -> list[tuple[float, float, float, float]]:
        """Per wired phase: (wNow, whLifetime, whToday, whLastSevenDays) as production.json shows it."""
        model = self.model
        phases = []
        for phase in range(model.phase_count):
            power, lifetime, terms = self._gateway_view(kind, phase)
            today = sum(sign * model.gateway_today(phase_slot(phase, q)) for q, sign in terms)
            seven = sum(sign * model.gateway_last_seven_days(phase_slot(phase, q)) for q, sign in terms)
            phases.append((power, lifetime, today, seven))
        return phases

    def _gateway_view(self, kind: str, phase: int) -> tuple[float, float, list[tuple[int, float]]]:
        """What the gateway shows for one phase: power, lifetime and the model energies its days add up."""
        if kind == "production":
            power, dlvd, _ = self._channel_power_energy(kind, phase)
            return power, dlvd, [(PRODUCTION, 1.0)]
        measured = f"{self.cts.consumption}-consumption"
        if kind == measured:
            power, dlvd, rcvd = self._channel_power_energy(kind, phase)
            terms = [(CONSUMPTION, 1.0)] if kind == "total-consumption" else [(IMPORT, 1.0), (EXPORT, -1.0)]
            return power, dlvd - rcvd, terms
        other_w, other_wh, other_terms = self._gateway_view(measured, phase)
        prod_w, prod_wh, prod_terms = self._gateway_view("production", phase)
        if kind == "net-consumption":  # the gateway computes net = total - production
            return other_w - prod_w, other_wh - prod_wh, [*other_terms, (PRODUCTION, -1.0)]
        # total = production + net, a storage CT or not (8.2.127: 1714.424 + 129.407 = 1843.831 W)
        return other_w + prod_w, other_wh + prod_wh, other_terms + prod_terms

    def _eim(
        self, kind: str, phases: list[tuple[float, float, float, float]], details: bool
    ) -> dict[str, Json]:
        is_net = kind == "net-consumption"  # real gateways never fill the net block's day counters
        voltages = [self.voltage(phase) for phase in range(len(phases))]
        lines = [
            _eim_values(values, voltage, is_net) for values, voltage in zip(phases, voltages, strict=True)
        ]
        summed = [sum(values[index] for values in phases) for index in range(4)]
        voltage = sum(voltages) if self.scenario.phases == "split" else sum(voltages) / len(voltages)
        block: dict[str, Json] = {
            "type": "eim",
            "activeCount": 1,
            "measurementType": kind,
            "readingTime": int(self.model.t),
            **_eim_values((summed[0], summed[1], summed[2], summed[3]), voltage, is_net),
        }
        if details:
            block["lines"] = lines
        return block

    def _acb_storage(self) -> dict[str, Json]:
        battery = self.scenario.battery
        if battery is None or battery.kind != "acb":
            return {"type": "acb", "activeCount": 0, "readingTime": 0, "wNow": 0, "whNow": 0, "state": "idle"}
        model = self.model
        power = round(model.battery_w)
        return {
            "type": "acb",
            "activeCount": battery.units,
            "readingTime": int(model.t),
            "wNow": power,
            "whNow": round(model.stored_wh),
            "state": "discharging" if power > 0 else "charging" if power < 0 else "idle",
            "percentFull": round(model.soc_pct),
        }

    # ---- api/v1

    def _api_v1_production(self, _query: Mapping[str, str]) -> Document:
        model = self.model
        total = [phase_slot(phase, PRODUCTION) for phase in range(model.phase_count)]
        return _json(
            {
                "wattHoursToday": int(sum(model.gateway_today(slot) for slot in total)),
                "wattHoursSevenDays": int(sum(model.gateway_last_seven_days(slot) for slot in total)),
                "wattHoursLifetime": self.inverters_lifetime_wh(),
                "wattsNow": sum(report.watts for report in model.inverter_reports()),
            },
            indent=2,
        )

    def _api_v1_inverters(self, _query: Mapping[str, str]) -> Document:
        units = self.model.inverters
        reports = self.model.inverter_reports()
        return _json(
            [
                {
                    "serialNumber": unit.serial,
                    "lastReportDate": report.date_ts,
                    "devType": 1,
                    "lastReportWatts": report.watts,
                    "maxReportWatts": unit.max_report_w,
                }
                for unit, report in zip(units, reports, strict=True)
            ],
            indent=2,
        )

    def _device_data(self, _query: Mapping[str, str]) -> Document:
        return _json(device_data_document(self), indent=2)

    # ---- ensemble

    def battery_serials(self) -> list[str]:
        battery = self.scenario.battery
        if battery is None:
            return []
        return [f"{self.scenario.gateway.serial}{index + 1:02d}" for index in range(battery.units)]

    def _has_iq_battery(self) -> bool:
        return self.scenario.battery is not None and self.scenario.battery.kind == "iq"

    def _ensemble_inventory(self, _query: Mapping[str, str]) -> Document:
        if not self._has_iq_battery():
            return _json([], indent=4)
        battery = self.scenario.battery
        assert battery is not None  # _has_iq_battery
        now = int(self.model.t)
        installed = int(self.model.start_ts) - 86_400 * 90
        soc = round(self.model.soc_pct)
        temperature = round(20 + abs(self.model.battery_w) / battery.units / 250)  # warms with its power
        devices = [
            {
                "part_num": "836-01826-r76",
                "serial_num": serial,
                "installed": installed,
                "device_status": ["envoy.global.ok", "prop.done"],
                "last_rpt_date": now - 60 * index,
                "admin_state": 6,
                "admin_state_str": "ENCHG_STATE_READY",
                "created_date": installed,
                "img_load_date": installed,
                "img_pnum_running": "3.0.6614_rel/31.13",
                "bmu_fw_version": "3.8.63",
                "communicating": True,
                "sleep_enabled": False,
                "percentFull": soc,
                "temperature": temperature,
                "maxCellTemp": temperature + 1,
                "reported_enc_grid_state": "grid-tied",
                "comm_level_sub_ghz": 4,
                "comm_level_2_4_ghz": 4,
                "led_status": 12,
                "dc_switch_off": False,
                "encharge_rev": 3,
                "encharge_capacity": round(battery.capacity_wh),
                "phase": f"ph-{'abc'[battery.phase - 1]}",
                "der_index": 1,
            }
            for index, serial in enumerate(self.battery_serials())
        ]
        return _json([{"type": "ENCHARGE", "devices": devices}], indent=4)

    def _ensemble_power(self, _query: Mapping[str, str]) -> Document:
        devices = []
        if self._has_iq_battery():
            serials = self.battery_serials()
            unit_mw = round(self.model.battery_w * 1000 / len(serials))
            soc = round(self.model.soc_pct)
            devices = [
                {"serial_num": serial, "real_power_mw": unit_mw, "apparent_power_mva": unit_mw, "soc": soc}
                for serial in serials
            ]
        return _json({"devices:": devices}, indent=4)

    def _ensemble_secctrl(self, _query: Mapping[str, str]) -> Document | None:
        if not self.cts.any and self.scenario.battery is None:
            return None  # 7.6.114 without CTs answers 404
        battery = self.scenario.battery
        model = self.model
        soc = round(model.soc_pct)
        capacity = round(model.battery_capacity_wh)
        iq = battery is not None and battery.kind == "iq"
        acb = battery is not None and battery.kind == "acb"
        reserve_pct = round(battery.soc_min_pct) if iq and battery else 0
        values = {
            "configured_backup_soc": reserve_pct,
            "adjusted_backup_soc": reserve_pct,
            "agg_soc": soc if battery else 0,
            "Max_energy": capacity,
            "ENC_agg_soc": soc if iq else 0,
            "ENC_agg_soh": 100 if iq else 0,
            "ENC_agg_backup_energy": round(capacity * reserve_pct / 100) if iq else 0,
            "ENC_agg_avail_energy": round(model.stored_wh) if iq else 0,
            "Enc_commissioned_capacity": capacity if iq else 0,
            "Enc_max_available_capacity": capacity if iq else 0,
            "ACB_agg_soc": soc if acb else 0,
            "ACB_agg_energy": round(model.stored_wh) if acb else 0,
        }
        return _json({**_SECCTRL_BIASES, **values, **_SECCTRL_TAIL}, indent=4)


def _origin_wh(seed: int, key: int, kind: str, side: str) -> float:
    """A lifetime counter's value at the simulation start; one-way CTs have only a few Wh received."""
    scale = 5_000.0 if side == "rcvd" and kind in ("production", "total-consumption") else 2_500_000.0
    return round(scale * (0.2 + unit_hash(seed ^ 0x0C7, key)), 3)


_SUMMED_KEYS = (
    "actEnergyDlvd", "actEnergyRcvd", "apparentEnergy", "reactEnergyLagg", "reactEnergyLead",
    "activePower", "reactivePower", "current",
)  # fmt: skip


def _reading(
    *,
    eid: int,
    timestamp: int,
    power: float,
    reactive: float,
    dlvd: float,
    rcvd: float,
    apparent_energy: float,
    lagg: float,
    lead: float,
    voltage: float,
    freq: float,
    current: float | None = None,
) -> dict[str, Json]:
    apparent = math.hypot(power, reactive)
    if current is None:
        current = apparent / voltage if voltage else 0.0
    return {
        "eid": eid,
        "timestamp": timestamp,
        "actEnergyDlvd": round(dlvd, 3),
        "actEnergyRcvd": round(rcvd, 3),
        "apparentEnergy": round(apparent_energy, 3),
        "reactEnergyLagg": round(lagg, 3),
        "reactEnergyLead": round(lead, 3),
        "instantaneousDemand": round(power, 3),
        "activePower": round(power, 3),
        "apparentPower": round(apparent, 3),
        "reactivePower": round(reactive, 3),
        "pwrFactor": round(power / apparent, 3) if apparent else 0.0,
        "voltage": round(voltage, 3),
        "current": round(current, 3),
        "freq": freq,
    }


def _eim_values(values: tuple[float, float, float, float], voltage: float, is_net: bool) -> dict[str, Json]:
    """One production.json block's figures from (wNow, whLifetime, whToday, whLastSevenDays)."""
    power, lifetime, today, seven = values
    reactive = -230.0 if power < 0 else 0.1 * power
    apparent = math.hypot(power, reactive)
    return {
        "wNow": round(power, 3),
        "whLifetime": round(lifetime, 3),
        "varhLeadLifetime": round(0.08 * abs(lifetime), 3),
        "varhLagLifetime": round(0.12 * abs(lifetime), 3),
        "vahLifetime": round(1.1 * abs(lifetime), 3),
        "rmsCurrent": round(apparent / voltage, 3),
        "rmsVoltage": round(voltage, 3),
        "reactPwr": round(reactive, 3),
        "apprntPwr": round(apparent, 3),
        "pwrFactor": round(power / apparent, 2) if apparent else 0.0,
        "whToday": 0 if is_net else round(today, 3),
        "whLastSevenDays": 0 if is_net else round(seven, 3),
        "vahToday": 0 if is_net else round(1.1 * today, 3),
        "varhLeadToday": 0 if is_net else round(0.08 * today, 3),
        "varhLagToday": 0 if is_net else round(0.12 * today, 3),
    }


def _json(value: Json, *, indent: int | None = None, compact: bool = False) -> Document:
    text = json.dumps(value, separators=(",", ":")) if compact else json.dumps(value, indent=indent)
    return Document(200, text.encode(), "application/json")


_SECCTRL_BIASES = {
    "shutdown": False,
    "freq_bias_hz": 0.0,
    "voltage_bias_v": 0.0,
    "freq_bias_hz_q8": 0,
    "voltage_bias_v_q5": 0,
    "freq_bias_hz_phaseb": 0.0,
    "voltage_bias_v_phaseb": 0.0,
    "freq_bias_hz_q8_phaseb": 0,
    "voltage_bias_v_q5_phaseb": 0,
    "freq_bias_hz_phasec": 0.0,
    "voltage_bias_v_phasec": 0.0,
    "freq_bias_hz_q8_phasec": 0,
    "voltage_bias_v_q5_phasec": 0,
}
_SECCTRL_TAIL = {
    "VLS_Limit": 10,
    "soc_rec_enabled": False,
    "soc_recovery_entry": 2,
    "soc_recovery_exit": 10,
    "Commission_in_progress": False,
    "ESS_in_progress": False,
}

_INFO_TEMPLATE = """<?xml version='1.0' encoding='UTF-8'?>
<envoy_info>
  <time>{time}</time>
  <device>
    <sn>{serial}</sn>
    <pn>{part_number}</pn>
    <software>{software}</software>
    <euaid>4c8675</euaid>
    <seqnum>0</seqnum>
    <apiver>1</apiver>
    <imeter>{imeter}</imeter>
  </device>
  <web-tokens>true</web-tokens>
  <package name='rootfs'>
    <pn>500-00001-r01</pn>
    <version>02.00.00</version>
    <build>1210</build>
  </package>
  <package name='kernel'>
    <pn>500-00011-r02</pn>
    <version>04.04.225</version>
    <build>3eb4d3</build>
  </package>
  <package name='app'>
    <pn>500-00002-r01</pn>
    <version>{app_version}</version>
    <build>f79c8d</build>
  </package>
  <build_info>
    <build_id>enphase-secure-simulator</build_id>
    <build_time_gmt>1687460237</build_time_gmt>
    <release_ver>02.00.4238</release_ver>
    <release_stage>700-GA</release_stage>
  </build_info>
</envoy_info>
"""
