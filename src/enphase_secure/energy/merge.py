"""Pure: the latest gateway readings -> a Snapshot (DESIGN.md §3, §4), day counters left to daycounters.

Sources, best first. Production: production CT, /production.json CT block, /api/v1/production, the
inverters block of /production.json. Net and total consumption: the consumption CT (net or total; the
other one derived with net = total - production), then the /production.json consumption blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ..gateway import quirks
from ..gateway.ensemble import BatteryUnit, EnsembleInventory, EnsemblePower, EnsembleStatus
from ..gateway.info import GatewayInfo
from ..gateway.inverters import InverterReports
from ..gateway.meters import CtConfig, CtReading, Measurement, MeterConfig, MeterReadings
from ..gateway.production import ApiV1Production, CtTotals, ProductionReport
from .snapshot import (
    EnergyFlow,
    GatewayIdentity,
    Grid,
    InverterState,
    MeterState,
    PhaseBalance,
    Snapshot,
    Storage,
)

PhaseSetting = Literal["auto", "single", "three"]
PRODUCTION = "production"
NET_CONSUMPTION = "net-consumption"
TOTAL_CONSUMPTION = "total-consumption"
MAIN_CT_TYPES = (PRODUCTION, NET_CONSUMPTION, TOTAL_CONSUMPTION)
Phases = tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class GatewayReadings:
    """The latest answer of each endpoint family (None: not read, or the gateway has none)."""

    info: GatewayInfo | None = None
    meter_config: MeterConfig | None = None
    meter_readings: MeterReadings | None = None
    production_report: ProductionReport | None = None
    api_v1_production: ApiV1Production | None = None
    inverters: InverterReports | None = None
    ensemble_inventory: EnsembleInventory | None = None
    ensemble_power: EnsemblePower | None = None
    ensemble_status: EnsembleStatus | None = None


@dataclass(frozen=True, slots=True)
class _Ct:
    config: CtConfig
    reading: CtReading
    phase_indexes: tuple[int, ...]  # the channels that are real, wired phases


@dataclass(frozen=True, slots=True)
class PhaseLayout:
    mode: str | None  # "single" | "split" | "three" | as the gateway says; None: unknown
    count: int | None
    forced: bool  # set by ``site.phases``, not derived from the wiring


def merge_snapshot(readings: GatewayReadings, *, time: datetime, phases: PhaseSetting = "auto") -> Snapshot:
    version = readings.info.firmware_version if readings.info else None
    cts = _metered_cts(readings)
    layout = _layout(cts, readings.production_report, phases)
    by_type = {ct.config.measurement_type: ct for ct in cts}
    report = readings.production_report

    production = _production(readings, by_type.get(PRODUCTION), layout, version)
    net_ct, total_ct = by_type.get(NET_CONSUMPTION), by_type.get(TOTAL_CONSUMPTION)
    if net_ct is not None:
        net = _ct_flow(net_ct, layout, _net_energy)
        consumption = _sum_flows(production, net)
    elif total_ct is not None:
        consumption = _ct_flow(total_ct, layout, _delivered)
        net = _difference_flows(consumption, production)
    else:
        net = _report_flow(report.net_consumption if report else None, layout)
        consumption = _report_flow(report.total_consumption if report else None, layout)

    return Snapshot(
        time=time,
        gateway=GatewayIdentity(
            serial=readings.info.serial if readings.info else None,
            firmware=readings.info.firmware if readings.info else None,
            part_number=readings.info.part_number if readings.info else None,
        ),
        phase_mode=layout.mode,
        phase_count=layout.count,
        production=production,
        consumption=consumption,
        net_consumption=net,
        grid=_grid(net, net_ct, layout),
        storage=_storage(readings),
        inverters=_inverters(readings.inverters),
        meters=tuple(_meter(ct, version) for ct in cts),
    )


def _metered_cts(readings: GatewayReadings) -> tuple[_Ct, ...]:
    if readings.meter_config is None or readings.meter_readings is None:
        return ()
    return tuple(
        _Ct(config, reading, quirks.wired_channels(config, reading))
        for config, reading in quirks.configured_readings(readings.meter_config, readings.meter_readings)
    )


def phase_layout(readings: GatewayReadings, phases: PhaseSetting = "auto") -> PhaseLayout:
    """The site's phases: forced by ``site.phases``, else the wired phases of the main CTs."""
    return _layout(_metered_cts(readings), readings.production_report, phases)


def _layout(cts: Sequence[_Ct], report: ProductionReport | None, phases: PhaseSetting) -> PhaseLayout:
    if phases == "single":
        return PhaseLayout("single", 1, forced=True)
    if phases == "three":
        return PhaseLayout("three", 3, forced=True)
    main = [ct for ct in cts if ct.config.measurement_type in MAIN_CT_TYPES]
    if main:
        count = max((max(ct.phase_indexes, default=0) + 1 for ct in main), default=1)
        return PhaseLayout(main[0].config.phase_mode if count > 1 else "single", count, forced=False)
    block = report.production if report else None
    if block is not None and quirks.production_block_active(block.active_count) and block.lines:
        count = sum(1 for line in block.lines if line.power_w or line.lifetime_wh) or 1
        return PhaseLayout(None if count > 1 else "single", count, forced=False)
    return PhaseLayout(None, None, forced=False)


def _ct_phases(ct: _Ct, layout: PhaseLayout, value: Callable[[Measurement], float]) -> Phases:
    if layout.count is None:
        return ()
    if layout.count == 1:
        return (value(ct.reading.total),)
    channels = ct.reading.channels
    usable = range(len(channels)) if layout.forced else ct.phase_indexes
    return tuple(
        value(channels[i]) if i in usable and i < len(channels) else None for i in range(layout.count)
    )


def _power(m: Measurement) -> float:
    return m.power_w


def _delivered(m: Measurement) -> float:
    return m.energy_delivered_wh


def _received(m: Measurement) -> float:
    return m.energy_received_wh


def _net_energy(m: Measurement) -> float:
    return round(m.energy_delivered_wh - m.energy_received_wh, DERIVED_DECIMALS)


def _ct_flow(ct: _Ct, layout: PhaseLayout, energy: Callable[[Measurement], float]) -> EnergyFlow:
    return EnergyFlow(
        power_w=ct.reading.total.power_w,
        phases_w=_ct_phases(ct, layout, _power),
        lifetime_wh=energy(ct.reading.total),
        phases_lifetime_wh=_ct_phases(ct, layout, energy),
    )


def _report_flow(block: CtTotals | None, layout: PhaseLayout) -> EnergyFlow:
    if block is None or not quirks.production_block_active(block.active_count):
        return EnergyFlow()
    if layout.count is None:
        phases: Phases = ()
    elif layout.count == 1:
        phases = (block.power_w,)
    else:
        phases = tuple(block.lines[i].power_w if i < len(block.lines) else None for i in range(layout.count))
    return EnergyFlow(power_w=block.power_w, phases_w=phases, lifetime_wh=block.lifetime_wh)


def _single_value_flow(power_w: float, lifetime_wh: float, layout: PhaseLayout) -> EnergyFlow:
    return EnergyFlow(
        power_w=power_w,
        phases_w=(power_w,) if layout.count == 1 else tuple(None for _ in range(layout.count or 0)),
        lifetime_wh=lifetime_wh,
    )


def _production(
    readings: GatewayReadings, ct: _Ct | None, layout: PhaseLayout, version: quirks.Version | None
) -> EnergyFlow:
    if ct is not None:
        return _ct_flow(ct, layout, _delivered)
    report = readings.production_report
    from_report = _report_flow(report.production if report else None, layout)
    if from_report.power_w is not None:
        return from_report
    api = readings.api_v1_production
    if api is not None and quirks.api_v1_production_usable(
        api,
        version=version,
        metered=bool(readings.info and readings.info.imeter),
        has_enabled_ct=bool(readings.meter_config and readings.meter_config.enabled),
    ):
        return _single_value_flow(api.power_w, api.lifetime_wh, layout)
    if report is not None and report.inverters is not None:
        return _single_value_flow(report.inverters.power_w, report.inverters.lifetime_wh, layout)
    return EnergyFlow()


# The gateway reports mW / mWh resolution; rounding derived sums to it drops float noise.
DERIVED_DECIMALS = 3


def _combine(a: float | None, b: float | None, sign: float) -> float | None:
    return None if a is None or b is None else round(a + sign * b, DERIVED_DECIMALS)


def _combine_flows(a: EnergyFlow, b: EnergyFlow, sign: float) -> EnergyFlow:
    if a.power_w is None or b.power_w is None:
        return EnergyFlow()
    return EnergyFlow(
        power_w=_combine(a.power_w, b.power_w, sign),
        phases_w=tuple(_combine(x, y, sign) for x, y in zip(a.phases_w, b.phases_w, strict=False)),
        lifetime_wh=_combine(a.lifetime_wh, b.lifetime_wh, sign),
        phases_lifetime_wh=tuple(
            _combine(x, y, sign) for x, y in zip(a.phases_lifetime_wh, b.phases_lifetime_wh, strict=False)
        ),
    )


def _sum_flows(a: EnergyFlow, b: EnergyFlow) -> EnergyFlow:
    return _combine_flows(a, b, 1.0)


def _difference_flows(a: EnergyFlow, b: EnergyFlow) -> EnergyFlow:
    return _combine_flows(a, b, -1.0)


def _import_w(net_w: float | None) -> float | None:
    return None if net_w is None else max(0.0, net_w)  # 0.0 first: never -0.0


def _export_w(net_w: float | None) -> float | None:
    return None if net_w is None else max(0.0, -net_w)


def _grid(net: EnergyFlow, net_ct: _Ct | None, layout: PhaseLayout) -> Grid:
    counters = net_ct.reading.total if net_ct is not None else None
    count = len(net.phases_w)
    imports = _ct_phases(net_ct, layout, _delivered) if net_ct is not None else (None,) * count
    exports = _ct_phases(net_ct, layout, _received) if net_ct is not None else (None,) * count
    return Grid(
        import_w=_import_w(net.power_w),
        export_w=_export_w(net.power_w),
        phases=tuple(
            PhaseBalance(_import_w(p), _export_w(p), import_lifetime_wh=imported, export_lifetime_wh=exported)
            for p, imported, exported in zip(net.phases_w, imports, exports, strict=True)
        ),
        import_lifetime_wh=counters.energy_delivered_wh if counters else None,
        export_lifetime_wh=counters.energy_received_wh if counters else None,
        estimated=net.power_w is not None and counters is None,
    )


def _sum_known(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _storage(readings: GatewayReadings) -> Storage | None:
    inventory, status, report = (
        readings.ensemble_inventory,
        readings.ensemble_status,
        readings.production_report,
    )
    batteries = inventory.batteries if inventory else ()
    acb = report.acb if report else None
    has_acb = acb is not None and acb.active_count > 0 and acb.soc_pct is not None
    if not batteries and not has_acb:
        return None
    power_parts: list[float | None] = []
    if batteries:
        power_parts.append(readings.ensemble_power.power_w if readings.ensemble_power else None)
    if acb is not None and has_acb:
        power_parts.append(acb.power_w)
    if batteries and has_acb:
        soc = status.soc_pct if status else None
        available = _sum_known([status.iq_available_wh, status.acb_available_wh]) if status else None
    elif batteries:
        soc = status.iq_soc_pct if status else _weighted_soc(batteries)
        available = status.iq_available_wh if status else None
    else:
        soc = acb.soc_pct if acb else None
        available = acb.stored_wh if acb else None
    capacity = status.capacity_wh if status else None
    if capacity is None and batteries and not has_acb:
        capacity = _sum_known([b.capacity_wh for b in batteries])
    return Storage(power_w=_sum_known(power_parts), soc_pct=soc, available_wh=available, capacity_wh=capacity)


def _weighted_soc(batteries: Sequence[BatteryUnit]) -> float | None:
    """Units' charge weighted by capacity (a plain mean when a capacity is unknown)."""
    capacities = [b.capacity_wh for b in batteries]
    if all(c for c in capacities):
        total = sum(c for c in capacities if c)
        return sum(b.soc_pct * (b.capacity_wh or 0.0) for b in batteries) / total
    return sum(b.soc_pct for b in batteries) / len(batteries)


def _inverters(reports: InverterReports | None) -> tuple[InverterState, ...]:
    if reports is None:
        return ()
    return tuple(
        InverterState(
            serial=r.serial,
            power_w=r.power_w,
            max_power_w=r.max_power_w,
            last_report=r.last_report,
            today_wh=None,
        )
        for r in reports.inverters
    )


def _meter(ct: _Ct, version: quirks.Version | None) -> MeterState:
    total = ct.reading.total
    broken = quirks.storage_reading_broken(ct.config, ct.reading, version)
    return MeterState(
        eid=ct.config.eid,
        type=ct.config.measurement_type,
        power_w=None if broken else total.power_w,
        phases_w=tuple(ct.reading.channels[i].power_w for i in ct.phase_indexes),
        energy_delivered_wh=None if broken else total.energy_delivered_wh,
        energy_received_wh=None if broken else total.energy_received_wh,
        voltage_v=total.voltage_v,
        current_a=total.current_a,
        power_factor=total.power_factor,
        frequency_hz=total.frequency_hz,
    )
