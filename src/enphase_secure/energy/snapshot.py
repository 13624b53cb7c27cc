"""The Snapshot: what one poll of the gateway means to a user (DESIGN.md §4).

Frozen dataclasses with units in field names; ``to_json`` gives the binding JSON names.
Unknown values are ``None`` (null in JSON), never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .frozen import set_directly


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    serial: str | None
    firmware: str | None
    part_number: str | None

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "firmware": self.firmware, "part_number": self.part_number}


@set_directly
@dataclass(frozen=True, slots=True)
class EnergyFlow:
    """Production, total consumption or net consumption."""

    power_w: float | None = None
    phases_w: tuple[float | None, ...] = ()
    today_wh: float | None = None
    last_7_days_wh: float | None = None
    lifetime_wh: float | None = None
    phases_today_wh: tuple[float | None, ...] = ()
    phases_lifetime_wh: tuple[float | None, ...] = ()
    today_estimated: bool = False
    """Part of today was split off a gap or lost to a counter reset."""

    def to_json(self) -> dict[str, Any]:
        return {
            "power_w": self.power_w,
            "phases_w": list(self.phases_w),
            "today_wh": self.today_wh,
            "last_7_days_wh": self.last_7_days_wh,
            "lifetime_wh": self.lifetime_wh,
            "phases_today_wh": list(self.phases_today_wh),
            "phases_lifetime_wh": list(self.phases_lifetime_wh),
            "today_estimated": self.today_estimated,
        }


@set_directly
@dataclass(frozen=True, slots=True)
class PhaseBalance:
    import_w: float | None
    export_w: float | None
    import_today_wh: float | None = None
    export_today_wh: float | None = None
    import_lifetime_wh: float | None = None
    export_lifetime_wh: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "import_w": self.import_w,
            "export_w": self.export_w,
            "import_today_wh": self.import_today_wh,
            "export_today_wh": self.export_today_wh,
            "import_lifetime_wh": self.import_lifetime_wh,
            "export_lifetime_wh": self.export_lifetime_wh,
        }


@set_directly
@dataclass(frozen=True, slots=True)
class GridEnergy:
    """Import/export energy as one metering method counts it ("gateway" counters or "balanced")."""

    metering: str
    import_today_wh: float | None
    export_today_wh: float | None
    import_last_7_days_wh: float | None
    export_last_7_days_wh: float | None
    estimated: bool
    import_w: float | None = None
    export_w: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "metering": self.metering,
            "import_w": self.import_w,
            "export_w": self.export_w,
            "import_today_wh": self.import_today_wh,
            "export_today_wh": self.export_today_wh,
            "import_last_7_days_wh": self.import_last_7_days_wh,
            "export_last_7_days_wh": self.export_last_7_days_wh,
            "estimated": self.estimated,
        }


@set_directly
@dataclass(frozen=True, slots=True)
class Grid:
    import_w: float | None = None
    export_w: float | None = None
    phases: tuple[PhaseBalance, ...] = ()
    import_today_wh: float | None = None
    export_today_wh: float | None = None
    import_lifetime_wh: float | None = None
    export_lifetime_wh: float | None = None
    metering: str = "gateway"
    estimated: bool = False
    """Import/export come from integrating power, not from a gateway counter that splits them."""
    import_last_7_days_wh: float | None = None
    export_last_7_days_wh: float | None = None
    today_estimated: bool = False
    alternative: GridEnergy | None = None
    """The metering method not in force, so that both stay available."""

    def to_json(self) -> dict[str, Any]:
        return {
            "import_w": self.import_w,
            "export_w": self.export_w,
            "phases": [p.to_json() for p in self.phases],
            "import_today_wh": self.import_today_wh,
            "export_today_wh": self.export_today_wh,
            "import_lifetime_wh": self.import_lifetime_wh,
            "export_lifetime_wh": self.export_lifetime_wh,
            "import_last_7_days_wh": self.import_last_7_days_wh,
            "export_last_7_days_wh": self.export_last_7_days_wh,
            "metering": self.metering,
            "estimated": self.estimated,
            "today_estimated": self.today_estimated,
            "alternative": self.alternative.to_json() if self.alternative else None,
        }


@set_directly
@dataclass(frozen=True, slots=True)
class GatewayConsumption:
    """The gateway's own "total consumption" (production + net): on a site with an AC-coupled battery
    behind the net CT it counts charging as consumption and discharge as negative consumption, as the
    Enphase app shows it."""

    power_w: float | None = None
    phases_w: tuple[float | None, ...] = ()
    today_wh: float | None = None
    lifetime_wh: float | None = None


@dataclass(frozen=True, slots=True)
class BatteryUnitState:
    """One IQ Battery as the ensemble inventory and power endpoints report it."""

    serial: str
    soc_pct: float | None
    temperature_c: float | None
    power_w: float | None
    phase: int | None
    """1-based phase the unit is wired to, None when the gateway does not say."""

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "soc_pct": self.soc_pct,
            "temperature_c": self.temperature_c,
            "power_w": self.power_w,
            "phase": self.phase,
        }


@set_directly
@dataclass(frozen=True, slots=True)
class Storage:
    power_w: float | None
    """> 0 discharging into the house, < 0 charging."""
    soc_pct: float | None
    available_wh: float | None
    capacity_wh: float | None
    phases_w: tuple[float | None, ...] = ()
    """Per phase where the battery's phase is known (storage CT channels, inventory ``phase``)."""
    charged_today_wh: float | None = None
    discharged_today_wh: float | None = None
    charged_lifetime_wh: float | None = None
    discharged_lifetime_wh: float | None = None
    phases_charged_lifetime_wh: tuple[float | None, ...] = ()
    phases_discharged_lifetime_wh: tuple[float | None, ...] = ()
    energy_estimated: bool = False
    """Energies integrated from the battery's power (no storage CT): lifetime counts since then."""
    units: tuple[BatteryUnitState, ...] = ()

    @property
    def charge_w(self) -> float | None:
        return None if self.power_w is None else max(0.0, -self.power_w)

    @property
    def discharge_w(self) -> float | None:
        return None if self.power_w is None else max(0.0, self.power_w)

    def to_json(self) -> dict[str, Any]:
        return {
            "power_w": self.power_w,
            "soc_pct": self.soc_pct,
            "available_wh": self.available_wh,
            "capacity_wh": self.capacity_wh,
            "charge_w": self.charge_w,
            "discharge_w": self.discharge_w,
            "phases_w": list(self.phases_w),
            "charged_today_wh": self.charged_today_wh,
            "discharged_today_wh": self.discharged_today_wh,
            "charged_lifetime_wh": self.charged_lifetime_wh,
            "discharged_lifetime_wh": self.discharged_lifetime_wh,
            "energy_estimated": self.energy_estimated,
            "units": [u.to_json() for u in self.units],
        }


@set_directly
@dataclass(frozen=True, slots=True)
class InverterState:
    serial: str
    power_w: float | None
    """The last report's power; None once the inverter has stopped reporting (see ``reporting``)."""
    max_power_w: float | None
    last_report: datetime | None
    today_wh: float | None
    """The inverter's own figure (device_data), else the estimate (``today_estimated``); None: unknown."""
    today_estimated: bool = False
    lifetime_wh: float | None = None
    dc_voltage_v: float | None = None
    dc_current_a: float | None = None
    ac_voltage_v: float | None = None
    ac_frequency_hz: float | None = None
    temperature_c: float | None = None
    reporting: bool = True
    """False when the last report is too old to stand for the inverter's power now."""

    def report_age_s(self, now: datetime) -> float | None:
        """Seconds from the last report to ``now`` (the snapshot's time), in tenths."""
        return None if self.last_report is None else age_s_of(now - self.last_report)

    def aged(
        self,
        *,
        power_w: float | None,
        today_wh: float | None,
        today_estimated: bool,
        reporting: bool,
    ) -> InverterState:
        """``replace`` with the figures that change when a report comes or stops standing, built
        directly (16+ inverters at once)."""
        return InverterState(
            self.serial,
            power_w,
            self.max_power_w,
            self.last_report,
            today_wh,
            today_estimated,
            self.lifetime_wh,
            self.dc_voltage_v,
            self.dc_current_a,
            self.ac_voltage_v,
            self.ac_frequency_hz,
            self.temperature_c,
            reporting,
        )

    def to_json(self, now: datetime) -> dict[str, Any]:
        """``now``: the snapshot's time, which the last report's age is counted to."""
        return {
            "serial": self.serial,
            "power_w": self.power_w,
            "max_power_w": self.max_power_w,
            "last_report": self.last_report.isoformat() if self.last_report else None,
            "today_wh": self.today_wh,
            "today_estimated": self.today_estimated,
            "lifetime_wh": self.lifetime_wh,
            "dc_voltage_v": self.dc_voltage_v,
            "dc_current_a": self.dc_current_a,
            "ac_voltage_v": self.ac_voltage_v,
            "ac_frequency_hz": self.ac_frequency_hz,
            "temperature_c": self.temperature_c,
            "report_age_s": self.report_age_s(now),
            "reporting": self.reporting,
        }


_MICROSECOND = timedelta(microseconds=1)


def age_s_of(age: timedelta) -> float:
    """``round(max(0.0, age.total_seconds()), 1)`` (16+ inverters a tick), in integers where exact.

    The tenths nearest to ``us`` microseconds are ``(us + 50_000) // 100_000``, and the float division
    by 10 rounds them as ``round`` does; ``total_seconds`` (``us / 10**6``) can land on either side of a
    tenth and a half only when ``us`` ends in 50_000, where ``round`` reads the float itself."""
    us = age // _MICROSECOND
    if us <= 0:
        return 0.0
    tenths, rest = divmod(us + 50_000, 100_000)
    if rest == 0 or us >= 10**15:  # beyond 31 years a float's error reaches the tenths
        return round(age.total_seconds(), 1)
    return tenths / 10


@set_directly
@dataclass(frozen=True, slots=True)
class MeterState:
    eid: int
    type: str
    power_w: float | None
    phases_w: tuple[float | None, ...]
    energy_delivered_wh: float | None
    energy_received_wh: float | None
    voltage_v: float | None
    current_a: float | None
    power_factor: float | None
    frequency_hz: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "eid": self.eid,
            "type": self.type,
            "power_w": self.power_w,
            "phases_w": list(self.phases_w),
            "energy_delivered_wh": self.energy_delivered_wh,
            "energy_received_wh": self.energy_received_wh,
            "voltage_v": self.voltage_v,
            "current_a": self.current_a,
            "power_factor": self.power_factor,
            "frequency_hz": self.frequency_hz,
        }


@set_directly
@dataclass(frozen=True, slots=True)
class Staleness:
    """Which parts of a snapshot are not fresh, and since how long (seconds)."""

    stale: bool = False
    age_s: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"stale": self.stale, "age_s": self.age_s, "reason": self.reason}


@set_directly
@dataclass(frozen=True, slots=True)
class Snapshot:
    time: datetime
    gateway: GatewayIdentity
    phase_mode: str | None
    phase_count: int | None
    production: EnergyFlow
    consumption: EnergyFlow
    net_consumption: EnergyFlow
    grid: Grid
    storage: Storage | None
    inverters: tuple[InverterState, ...] = ()
    meters: tuple[MeterState, ...] = ()
    staleness: Staleness = Staleness()
    gateway_consumption: GatewayConsumption = GatewayConsumption()
    reading_time: datetime | None = None
    """The gateway's own time of the meter readings (their ``timestamp``): energy is integrated on it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "gateway": self.gateway.to_json(),
            "phase_mode": self.phase_mode,
            "phase_count": self.phase_count,
            "production": self.production.to_json(),
            "consumption": {
                **self.consumption.to_json(),
                "gateway_w": self.gateway_consumption.power_w,
                "gateway_phases_w": list(self.gateway_consumption.phases_w),
                "gateway_today_wh": self.gateway_consumption.today_wh,
                "gateway_lifetime_wh": self.gateway_consumption.lifetime_wh,
            },
            "net_consumption": self.net_consumption.to_json(),
            "grid": self.grid.to_json(),
            "storage": self.storage.to_json() if self.storage else None,
            "inverters": [i.to_json(self.time) for i in self.inverters],
            "meters": [m.to_json() for m in self.meters],
            "stale": self.staleness.stale,
            "age_s": self.staleness.age_s,
            "stale_reason": self.staleness.reason,
            "reading_time": self.reading_time.isoformat() if self.reading_time else None,
        }
