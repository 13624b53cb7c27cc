"""Pure: the latest gateway readings -> a Snapshot (DESIGN.md §3, §4), day counters left to daycounters.

Sources, best first. Production: production CT, /production.json CT block, /api/v1/production, the
inverters block of /production.json. Net and total consumption: the consumption CT (net or total; the
other one derived with net = total - production), then the /production.json consumption blocks.
With a net CT, consumption is the house's load, production + net + storage (storage > 0 discharging):
the gateway's own production + net, which counts a battery behind the net CT, is kept beside it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from ..gateway import quirks
from ..gateway.ensemble import EnsembleInventory, EnsemblePower, EnsembleStatus
from ..gateway.info import GatewayInfo
from ..gateway.inverters import InverterReports
from ..gateway.meters import ChannelMeasurement, CtConfig, CtReading, MeterConfig, MeterReadings
from ..gateway.production import ApiV1Production, CtTotals, ProductionReport
from .battery import StorageCtReading, storage_state
from .decimals import round3
from .frozen import set_directly
from .memo import last_call
from .snapshot import (
    EnergyFlow,
    GatewayConsumption,
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
STORAGE = "storage"
MAIN_CT_TYPES = (PRODUCTION, NET_CONSUMPTION, TOTAL_CONSUMPTION)
Phases = tuple[float | None, ...]


@set_directly  # replaced with each new answer: the readings every second
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


class _Ct(NamedTuple):
    config: CtConfig
    reading: CtReading
    phase_indexes: tuple[int, ...]  # the channels that are real, wired phases


class _CtPhases(NamedTuple):
    """A CT's values per phase of the site's layout (None: a channel left out)."""

    power_w: Phases
    delivered_wh: Phases
    received_wh: Phases


_NO_PHASES = _CtPhases((), (), ())


class _Flow(NamedTuple):
    """A flow's figures worked out on the way, published only as part of an EnergyFlow."""

    power_w: float | None
    phases_w: Phases
    lifetime_wh: float | None
    phases_lifetime_wh: Phases


_NO_FLOW = _Flow(None, (), None, ())


@dataclass(frozen=True, slots=True)
class PhaseLayout:
    mode: str | None  # "single" | "split" | "three" | as the gateway says; None: unknown
    count: int | None
    forced: bool  # set by ``site.phases``, not derived from the wiring


def merge_snapshot(readings: GatewayReadings, *, time: datetime, phases: PhaseSetting = "auto") -> Snapshot:
    version = _firmware_version(readings.info)
    cts = _metered_cts(readings)
    layout = _layout(cts, readings.production_report, phases)
    by_type = {ct.config.measurement_type: ct for ct in cts}
    report = readings.production_report

    production = _production(readings, by_type.get(PRODUCTION), layout, version)
    net_ct, total_ct = by_type.get(NET_CONSUMPTION), by_type.get(TOTAL_CONSUMPTION)
    storage_ct = by_type.get(STORAGE)
    storage_broken = storage_ct is not None and quirks.storage_reading_broken(
        storage_ct.config, storage_ct.reading, version
    )
    storage = storage_state(
        inventory=readings.ensemble_inventory,
        power=readings.ensemble_power,
        status=readings.ensemble_status,
        report=report,
        storage_ct=_storage_ct(storage_ct, layout) if storage_ct is not None and not storage_broken else None,
        phase_count=layout.count,
    )
    net_phases = _ct_phases(net_ct, layout) if net_ct is not None else None
    gateway_flow: EnergyFlow | _Flow  # the gateway's own "total consumption"
    if net_ct is not None and net_phases is not None:
        net = _net_flow(net_ct, net_phases)
        gateway_flow = _combine_flows(production, net, 1.0)
        consumption = _house(gateway_flow, storage)
    elif total_ct is not None:
        consumption = gateway_flow = _delivered_flow(total_ct, layout)
        net = _energy_flow(_combine_flows(consumption, production, -1.0))
    else:
        net = _report_flow(report.net_consumption if report else None, layout)
        consumption = gateway_flow = _report_flow(report.total_consumption if report else None, layout)

    return Snapshot(
        time=time,
        gateway=_identity(readings.info),
        phase_mode=layout.mode,
        phase_count=layout.count,
        production=production,
        consumption=consumption,
        net_consumption=net,
        grid=_grid(net, net_ct, net_phases),
        storage=storage,
        inverters=_inverters(readings.inverters),
        meters=tuple([_meter(ct, broken=storage_broken and ct is storage_ct) for ct in cts]),
        gateway_consumption=GatewayConsumption(
            power_w=gateway_flow.power_w,
            phases_w=gateway_flow.phases_w,
            lifetime_wh=gateway_flow.lifetime_wh,
        ),
        reading_time=_reading_time(readings.meter_readings),
    )


@last_call
def _firmware_version(info: GatewayInfo | None) -> quirks.Version | None:
    return info.firmware_version if info else None


@last_call
def _identity(info: GatewayInfo | None) -> GatewayIdentity:
    return GatewayIdentity(
        serial=info.serial if info else None,
        firmware=info.firmware if info else None,
        part_number=info.part_number if info else None,
    )


def _reading_time(readings: MeterReadings | None) -> datetime | None:
    """The gateway's time of its meter readings: the newest CT ``timestamp``."""
    stamps = [ct.timestamp_s for ct in readings.cts if ct.timestamp_s] if readings else []
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def _storage_ct(ct: _Ct, layout: PhaseLayout) -> StorageCtReading:
    total = ct.reading.total
    phases = _ct_phases(ct, layout)
    return StorageCtReading(
        power_w=total.power_w,
        phases_w=phases.power_w,
        discharged_lifetime_wh=total.energy_delivered_wh,
        charged_lifetime_wh=total.energy_received_wh,
        phases_discharged_lifetime_wh=phases.delivered_wh,
        phases_charged_lifetime_wh=phases.received_wh,
    )


def _at_least_zero(value: float | None) -> float | None:
    """A house load below 0 is measurement noise between CTs read at different instants."""
    return None if value is None else max(0.0, value)


def _house(gateway: _Flow, storage: Storage | None) -> EnergyFlow:
    """The house's load: the gateway's production + net, plus what the battery gives (DESIGN.md §3).

    Per phase only where the battery's phase is known; the lifetime value only where a storage CT counts
    the battery's energy (otherwise the site accounting integrates the battery's power).
    """
    if storage is None:
        return _energy_flow(gateway)
    if gateway.power_w is None:
        return EnergyFlow(phases_w=tuple(None for _ in gateway.phases_w))
    phases_w = _combine_phases(gateway.phases_w, storage.phases_w or (None,) * len(gateway.phases_w), 1.0)
    battery_net = _combine(storage.discharged_lifetime_wh, storage.charged_lifetime_wh, -1.0)
    phases_battery_net = _combine_phases(
        storage.phases_discharged_lifetime_wh, storage.phases_charged_lifetime_wh, -1.0
    )
    return EnergyFlow(
        power_w=_at_least_zero(_combine(gateway.power_w, storage.power_w, 1.0)),
        phases_w=tuple([None if p is None else max(0.0, p) for p in phases_w]),
        lifetime_wh=_combine(gateway.lifetime_wh, battery_net, 1.0),
        phases_lifetime_wh=_combine_phases(
            gateway.phases_lifetime_wh, phases_battery_net or (None,) * len(gateway.phases_lifetime_wh), 1.0
        ),
    )


def _metered_cts(readings: GatewayReadings) -> tuple[_Ct, ...]:
    if readings.meter_config is None or readings.meter_readings is None:
        return ()
    return tuple(
        [
            _Ct(config, reading, quirks.wired_channels(config, reading))
            for config, reading in quirks.configured_readings(readings.meter_config, readings.meter_readings)
        ]
    )


def phase_layout(readings: GatewayReadings, phases: PhaseSetting = "auto") -> PhaseLayout:
    """The site's phases: forced by ``site.phases``, else the wired phases of the main CTs."""
    return _layout(_metered_cts(readings), readings.production_report, phases)


def _layout(cts: Sequence[_Ct], report: ProductionReport | None, phases: PhaseSetting) -> PhaseLayout:
    if phases == "single":
        return _phase_layout("single", 1, True)
    if phases == "three":
        return _phase_layout("three", 3, True)
    main = [ct for ct in cts if ct.config.measurement_type in MAIN_CT_TYPES]
    if main:
        count = max([max(ct.phase_indexes, default=0) + 1 for ct in main])
        return _phase_layout(main[0].config.phase_mode if count > 1 else "single", count, False)
    block = report.production if report else None
    if block is not None and quirks.production_block_active(block.active_count) and block.lines:
        count = sum(1 for line in block.lines if line.power_w or line.lifetime_wh) or 1
        return _phase_layout(None if count > 1 else "single", count, False)
    return _phase_layout(None, None, False)


@functools.lru_cache(maxsize=16)  # a site has one layout: built once, not every second
def _phase_layout(mode: str | None, count: int | None, forced: bool) -> PhaseLayout:
    return PhaseLayout(mode, count, forced=forced)


def _ct_phases(ct: _Ct, layout: PhaseLayout) -> _CtPhases:
    if layout.count is None:
        return _NO_PHASES
    if layout.count == 1:
        total = ct.reading.total
        return _CtPhases((total.power_w,), (total.energy_delivered_wh,), (total.energy_received_wh,))
    channels = ct.reading.channels
    usable = range(len(channels)) if layout.forced else ct.phase_indexes
    picked = [channels[i] if i in usable and i < len(channels) else _LEFT_OUT for i in range(layout.count)]
    power_w, delivered_wh, received_wh, _ = zip(*picked, strict=True)  # the channels' columns
    return _CtPhases(power_w, delivered_wh, received_wh)


# a channel's values where the layout has a phase it does not wire
_LEFT_OUT = (None,) * len(ChannelMeasurement._fields)


def _delivered_flow(ct: _Ct, layout: PhaseLayout) -> EnergyFlow:
    """A production or total-consumption CT: its energy is what it counts delivered."""
    phases = _ct_phases(ct, layout)
    return EnergyFlow(
        power_w=ct.reading.total.power_w,
        phases_w=phases.power_w,
        lifetime_wh=ct.reading.total.energy_delivered_wh,
        phases_lifetime_wh=phases.delivered_wh,
    )


def _net_flow(ct: _Ct, phases: _CtPhases) -> EnergyFlow:
    """A net-consumption CT: imported (delivered) minus exported (received)."""
    total = ct.reading.total
    return EnergyFlow(
        power_w=total.power_w,
        phases_w=phases.power_w,
        lifetime_wh=round3(total.energy_delivered_wh - total.energy_received_wh),
        phases_lifetime_wh=_combine_phases(phases.delivered_wh, phases.received_wh, -1.0),
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
        return _delivered_flow(ct, layout)
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


def _combine(a: float | None, b: float | None, sign: float) -> float | None:
    """``a + sign * b``, rounded to the gateway's mW / mWh resolution (round3): no float noise."""
    return None if a is None or b is None else round3(a + sign * b)


def _combine_phases(a: Phases, b: Phases, sign: float) -> Phases:
    """``_combine`` phase by phase, as far as the shorter of the two goes."""
    pairs = zip(a, b, strict=False)
    return tuple([None if x is None or y is None else round3(x + sign * y) for x, y in pairs])


def _combine_flows(a: EnergyFlow, b: EnergyFlow, sign: float) -> _Flow:
    if a.power_w is None or b.power_w is None:
        return _NO_FLOW
    return _Flow(
        _combine(a.power_w, b.power_w, sign),
        _combine_phases(a.phases_w, b.phases_w, sign),
        _combine(a.lifetime_wh, b.lifetime_wh, sign),
        _combine_phases(a.phases_lifetime_wh, b.phases_lifetime_wh, sign),
    )


def _energy_flow(flow: _Flow) -> EnergyFlow:
    return EnergyFlow(
        power_w=flow.power_w,
        phases_w=flow.phases_w,
        lifetime_wh=flow.lifetime_wh,
        phases_lifetime_wh=flow.phases_lifetime_wh,
    )


def _import_w(net_w: float | None) -> float | None:
    return None if net_w is None else max(0.0, net_w)  # 0.0 first: never -0.0


def _export_w(net_w: float | None) -> float | None:
    return None if net_w is None else max(0.0, -net_w)


def _grid(net: EnergyFlow, net_ct: _Ct | None, net_phases: _CtPhases | None) -> Grid:
    counters = net_ct.reading.total if net_ct is not None else None
    count = len(net.phases_w)
    imports = net_phases.delivered_wh if net_phases is not None else (None,) * count
    exports = net_phases.received_wh if net_phases is not None else (None,) * count
    return Grid(
        import_w=_import_w(net.power_w),
        export_w=_export_w(net.power_w),
        phases=tuple(
            [
                PhaseBalance(_import_w(p), _export_w(p), None, None, imported, exported)
                for p, imported, exported in zip(net.phases_w, imports, exports, strict=True)
            ]
        ),
        import_lifetime_wh=counters.energy_delivered_wh if counters else None,
        export_lifetime_wh=counters.energy_received_wh if counters else None,
        estimated=net.power_w is not None and counters is None,
    )


@last_call  # the inverters are read every few minutes, merged every second
def _inverters(reports: InverterReports | None) -> tuple[InverterState, ...]:
    if reports is None:
        return ()
    return tuple(
        InverterState(
            serial=r.serial,
            power_w=r.power_w,
            max_power_w=r.max_power_w,
            last_report=r.last_report,
            today_wh=r.today_wh,
            lifetime_wh=r.lifetime_wh,
            dc_voltage_v=r.dc_voltage_v,
            dc_current_a=r.dc_current_a,
            ac_voltage_v=r.ac_voltage_v,
            ac_frequency_hz=r.ac_frequency_hz,
            temperature_c=r.temperature_c,
        )
        for r in reports.inverters
    )


def _meter(ct: _Ct, *, broken: bool) -> MeterState:
    power_w, delivered_wh, received_wh, voltage_v, current_a, power_factor, frequency_hz = ct.reading.total
    channels = ct.reading.channels
    return MeterState(  # positional, in the order of the fields: a third cheaper than by keyword
        ct.config.eid,
        ct.config.measurement_type,
        None if broken else power_w,
        tuple([channels[i][0] for i in ct.phase_indexes]),  # each wired channel's power_w
        None if broken else delivered_wh,
        None if broken else received_wh,
        voltage_v,
        current_a,
        power_factor,
        frequency_hz,
    )
