"""Pure: a merged Snapshot + the site's energy state -> the Snapshot with today / 7-day figures.

Counter keys fed to the day counters (each a monotonic lifetime value in Wh):
- ``production`` and its ``.phaseN``: the gateway's lifetime counters; ``consumption`` too where a
  total-consumption CT measures it;
- ``gateway.import`` / ``gateway.export`` (and ``.phaseN``): the net CT's counters, each phase counted on
  its own (DESIGN.md §3);
- ``balanced.import`` / ``balanced.export``: the top-level net power integrated tick by tick;
- ``phases.import`` / ``phases.export``: each phase's net power integrated on its own, used as the
  "gateway" figures when no counter splits import from export (production + total-consumption CTs),
  flagged estimated;
- ``storage.discharge`` / ``storage.charge`` (and ``.phaseN``): a storage CT's counters (exact);
  ``battery.discharge`` / ``battery.charge``: the battery's power integrated where no storage CT
  counts it (estimated).
Net consumption today is import today - export today, never a day counter of the net lifetime value
(which goes down while exporting). Likewise where consumption is production + net + storage (a net CT),
its day figures are the sum of its parts' day figures: the derived lifetime value is not monotonic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .daycounters import CounterState, DayCounters, counting, last_days_on, query_day
from .integrate import GridIntegrator, GridTick, ImportExport, gap_today, integrate
from .inverter_estimate import InverterEstimates, InverterReport
from .snapshot import (
    EnergyFlow,
    GatewayConsumption,
    GridEnergy,
    InverterState,
    PhaseBalance,
    Snapshot,
    Storage,
)
from .state_json import JsonObject

Metering = Literal["gateway", "balanced"]
DECIMALS = 3


@dataclass(frozen=True, slots=True)
class SiteEnergy:
    """Everything the day figures depend on; persisted so that a restart loses nothing."""

    counters: DayCounters = field(default_factory=DayCounters.empty)
    grid: GridIntegrator = field(default_factory=GridIntegrator)
    inverters: InverterEstimates = field(default_factory=InverterEstimates.empty)

    def to_json(self) -> dict[str, Any]:
        return {
            "counters": self.counters.to_json(),
            "grid": self.grid.to_json(),
            "inverters": self.inverters.to_json(),
        }

    @classmethod
    def from_json(cls, value: object) -> SiteEnergy:
        obj = JsonObject.of(value, "site_energy")
        return cls(
            counters=DayCounters.from_json(obj.child("counters").data),
            grid=GridIntegrator.from_json(obj.child("grid").data),
            inverters=InverterEstimates.from_json(obj.child("inverters").data),
        )


def _phase_keys(prefix: str, values: Sequence[float | None]) -> dict[str, float]:
    return {f"{prefix}.phase{i + 1}": v for i, v in enumerate(values) if v is not None}


def lifetime_readings(snapshot: Snapshot, grid: GridIntegrator) -> dict[str, float]:
    """The counter values of this snapshot, by day-counter key."""
    readings: dict[str, float] = {}
    g = snapshot.grid
    flows = [("production", snapshot.production)]
    if not _consumption_derived(snapshot):
        flows.append(("consumption", snapshot.consumption))
    for name, flow in flows:
        if flow.lifetime_wh is not None:
            readings[name] = flow.lifetime_wh
        readings.update(_phase_keys(name, flow.phases_lifetime_wh))
    if g.import_lifetime_wh is not None and g.export_lifetime_wh is not None:
        readings["gateway.import"] = g.import_lifetime_wh
        readings["gateway.export"] = g.export_lifetime_wh
        readings.update(_phase_keys("gateway.import", [p.import_lifetime_wh for p in g.phases]))
        readings.update(_phase_keys("gateway.export", [p.export_lifetime_wh for p in g.phases]))
    storage = snapshot.storage
    if storage is not None and storage.discharged_lifetime_wh is not None:
        readings["storage.discharge"] = storage.discharged_lifetime_wh
        readings.update(_phase_keys("storage.discharge", storage.phases_discharged_lifetime_wh))
    if storage is not None and storage.charged_lifetime_wh is not None:
        readings["storage.charge"] = storage.charged_lifetime_wh
        readings.update(_phase_keys("storage.charge", storage.phases_charged_lifetime_wh))
    if storage is not None and storage.energy_estimated and grid.last is not None:
        readings["battery.discharge"] = grid.battery.import_wh
        readings["battery.charge"] = grid.battery.export_wh
    if grid.last is not None:
        readings["balanced.import"] = grid.balanced.import_wh
        readings["balanced.export"] = grid.balanced.export_wh
        phases = ImportExport(sum(p.import_wh for p in grid.phases), sum(p.export_wh for p in grid.phases))
        readings["phases.import"] = phases.import_wh
        readings["phases.export"] = phases.export_wh
        readings.update(_phase_keys("phases.import", [p.import_wh for p in grid.phases]))
        readings.update(_phase_keys("phases.export", [p.export_wh for p in grid.phases]))
    return readings


def _consumption_derived(snapshot: Snapshot) -> bool:
    """Consumption is production + net: the site has a net-consumption CT (its counters split the grid)."""
    return snapshot.grid.import_lifetime_wh is not None and snapshot.grid.export_lifetime_wh is not None


def _grid_tick(snapshot: Snapshot) -> GridTick | None:
    net = snapshot.net_consumption
    if net.power_w is None:
        return None
    phases = net.phases_w if net.phases_w and all(p is not None for p in net.phases_w) else ()
    g = snapshot.grid
    net_lifetime = (
        g.import_lifetime_wh - g.export_lifetime_wh
        if g.import_lifetime_wh is not None and g.export_lifetime_wh is not None
        else None
    )
    phase_lifetimes = [
        p.import_lifetime_wh - p.export_lifetime_wh
        for p in g.phases
        if p.import_lifetime_wh is not None and p.export_lifetime_wh is not None
    ]
    storage = snapshot.storage
    return GridTick(
        at=snapshot.reading_time or snapshot.time,
        net_w=net.power_w,
        phases_w=tuple(p for p in phases if p is not None),
        net_lifetime_wh=net_lifetime,
        phases_net_lifetime_wh=tuple(phase_lifetimes) if len(phase_lifetimes) == len(phases) else (),
        polled_at=snapshot.time,
        battery_w=storage.power_w if storage is not None and storage.energy_estimated else None,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


class _Day:
    """Reads today / 7-day figures of one snapshot's instant."""

    def __init__(self, counters: DayCounters, now: datetime, tz: ZoneInfo) -> None:
        self._counters, self._day = counters.counters, query_day(now, tz)
        self._current: dict[str, CounterState | None] = {}

    def _counting(self, key: str) -> CounterState | None:
        if key not in self._current:
            self._current[key] = counting(self._counters.get(key), self._day)
        return self._current[key]

    @property
    def day(self) -> date:
        return self._day

    def today(self, key: str) -> float | None:
        state = self._counting(key)
        return None if state is None else _round(state.today_wh)

    def estimated(self, key: str) -> bool:
        state = self._counting(key)
        return state is not None and state.estimated

    def week(self, key: str) -> float | None:
        state = self._counters.get(key)
        window = None if state is None else last_days_on(state, self._day)
        return None if window is None else _round(window.wh)

    def phases(self, prefix: str, count: int) -> tuple[float | None, ...]:
        return tuple(self.today(f"{prefix}.phase{i + 1}") for i in range(count))

    def flow(self, flow: EnergyFlow, key: str) -> EnergyFlow:
        return replace(
            flow,
            today_wh=self.today(key),
            last_7_days_wh=self.week(key),
            phases_today_wh=self.phases(key, len(flow.phases_lifetime_wh)),
            today_estimated=self.estimated(key),
        )

    def grid_energy(
        self, metering: str, prefix: str, *, estimated: bool, import_w: float | None, export_w: float | None
    ) -> GridEnergy:
        return GridEnergy(
            metering=metering,
            import_today_wh=self.today(f"{prefix}.import"),
            export_today_wh=self.today(f"{prefix}.export"),
            import_last_7_days_wh=self.week(f"{prefix}.import"),
            export_last_7_days_wh=self.week(f"{prefix}.export"),
            estimated=estimated or self.estimated(f"{prefix}.import"),
            import_w=import_w,
            export_w=export_w,
        )


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else _round(a - b)


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else _round(a + b)


def _at_least_zero(value: float | None) -> float | None:
    return None if value is None else max(0.0, value)


@dataclass(frozen=True, slots=True)
class _BatteryDays:
    """The battery's energy as the day counters count it: net (discharged - charged) per window."""

    prefix: str | None  # "storage" (a storage CT), "battery" (integrated) or None (no battery)
    phase: int | None  # 0-based phase carrying all of the battery's energy, where known
    per_phase_counters: bool
    estimated: bool

    def net_today(self, day: _Day, suffix: str = "") -> float | None:
        if self.prefix is None:
            return 0.0
        return _difference(
            day.today(f"{self.prefix}.discharge{suffix}"), day.today(f"{self.prefix}.charge{suffix}")
        )

    def net_week(self, day: _Day) -> float | None:
        if self.prefix is None:
            return 0.0
        return _difference(day.week(f"{self.prefix}.discharge"), day.week(f"{self.prefix}.charge"))

    def net_phase_today(self, day: _Day, index: int) -> float | None:
        if self.prefix is None:
            return 0.0
        if self.per_phase_counters:
            return self.net_today(day, f".phase{index + 1}")
        if self.phase is None:
            return None
        return self.net_today(day) if index == self.phase else 0.0


def _battery_days(storage: Storage | None, counters: DayCounters, phase_count: int) -> _BatteryDays:
    if storage is None:
        return _BatteryDays(None, None, per_phase_counters=False, estimated=False)
    if "storage.discharge" in counters.counters:
        return _BatteryDays(
            "storage",
            None,
            per_phase_counters="storage.discharge.phase1" in counters.counters,
            estimated=False,
        )
    phases = {unit.phase for unit in storage.units}
    if phase_count == 1:
        phase: int | None = 0
    elif len(phases) == 1 and None not in phases and not any(p is None for p in storage.phases_w):
        (only,) = phases
        phase = None if only is None else only - 1
    else:
        phase = None
    return _BatteryDays("battery", phase, per_phase_counters=False, estimated=True)


def _derived_consumption(
    consumption: EnergyFlow,
    production: EnergyFlow,
    gateway: GridEnergy,
    *,
    phases: Sequence[PhaseBalance],
    battery: _BatteryDays,
    day: _Day,
) -> EnergyFlow:
    """Consumption = production + net + storage, day by day, from the counters of each part."""
    return replace(
        consumption,
        today_wh=_at_least_zero(
            _sum(
                _sum(production.today_wh, _difference(gateway.import_today_wh, gateway.export_today_wh)),
                battery.net_today(day),
            )
        ),
        last_7_days_wh=_at_least_zero(
            _sum(
                _sum(
                    production.last_7_days_wh,
                    _difference(gateway.import_last_7_days_wh, gateway.export_last_7_days_wh),
                ),
                battery.net_week(day),
            )
        ),
        phases_today_wh=tuple(
            _at_least_zero(
                _sum(
                    _sum(made, _difference(p.import_today_wh, p.export_today_wh)),
                    battery.net_phase_today(day, i),
                )
            )
            for i, (made, p) in enumerate(zip(production.phases_today_wh, phases, strict=False))
        ),
        today_estimated=production.today_estimated or gateway.estimated or battery.estimated,
    )


def _gateway_consumption(
    snapshot: Snapshot, production: EnergyFlow, gateway: GridEnergy, consumption: EnergyFlow
) -> GatewayConsumption:
    """The gateway's own production + net, today from the counters of both parts."""
    figure = snapshot.gateway_consumption
    if not _consumption_derived(snapshot):
        return replace(figure, today_wh=consumption.today_wh)
    return replace(
        figure,
        today_wh=_sum(production.today_wh, _difference(gateway.import_today_wh, gateway.export_today_wh)),
    )


def _storage_days(storage: Storage | None, day: _Day, grid: GridIntegrator) -> Storage | None:
    if storage is None:
        return None
    if not storage.energy_estimated:
        return replace(
            storage,
            charged_today_wh=day.today("storage.charge"),
            discharged_today_wh=day.today("storage.discharge"),
        )
    return replace(
        storage,
        charged_today_wh=day.today("battery.charge"),
        discharged_today_wh=day.today("battery.discharge"),
        charged_lifetime_wh=_round(grid.battery.export_wh) if grid.last else None,
        discharged_lifetime_wh=_round(grid.battery.import_wh) if grid.last else None,
    )


def _net_flow(net: EnergyFlow, in_force: GridEnergy, phases: Sequence[PhaseBalance]) -> EnergyFlow:
    return replace(
        net,
        today_wh=_difference(in_force.import_today_wh, in_force.export_today_wh),
        last_7_days_wh=_difference(in_force.import_last_7_days_wh, in_force.export_last_7_days_wh),
        phases_today_wh=tuple(_difference(p.import_today_wh, p.export_today_wh) for p in phases),
        today_estimated=in_force.estimated,
    )


def account(
    state: SiteEnergy,
    snapshot: Snapshot,
    *,
    tz: ZoneInfo,
    metering: Metering,
    max_gap_s: float,
) -> tuple[Snapshot, SiteEnergy]:
    """Advance the site's energy state with ``snapshot`` and fill in its day figures.

    ``max_gap_s`` (a few poll intervals) is the longest gap between readings that is integrated or
    split across midnight as if nothing was missed; a longer one makes the days it touches estimated.
    """
    grid_state = state.grid
    tick = _grid_tick(snapshot)
    if tick is not None:
        grid_state = integrate(grid_state, tick, max_gap_s=max_gap_s)
    counters = state.counters.update(
        lifetime_readings(snapshot, grid_state), snapshot.time, tz, estimate_gap_s=max_gap_s
    )
    inverters = state.inverters.update(
        (
            InverterReport(inv.serial, inv.last_report, inv.power_w)
            for inv in snapshot.inverters
            if inv.last_report is not None
            and inv.power_w is not None
            and not state.inverters.has_seen(inv.serial, inv.last_report)
        ),
        tz,
    )
    enriched = day_figures(
        snapshot, counters=counters, grid_state=grid_state, inverters=inverters, tz=tz, metering=metering
    )
    return enriched, SiteEnergy(counters=counters, grid=grid_state, inverters=inverters)


def day_figures(
    snapshot: Snapshot,
    *,
    counters: DayCounters,
    grid_state: GridIntegrator,
    inverters: InverterEstimates,
    tz: ZoneInfo,
    metering: Metering,
) -> Snapshot:
    """``snapshot`` with its day figures (as of its own time) and the metering in force."""
    day = _Day(counters, snapshot.time, tz)
    g = snapshot.grid
    has_counters = "gateway.import" in counters.counters
    gap = gap_today(grid_state, snapshot.time, tz)
    phase_prefix = "gateway" if has_counters else "phases"
    gateway = day.grid_energy(
        "gateway",
        phase_prefix,
        estimated=not has_counters,
        import_w=_phase_sum([p.import_w for p in g.phases], g.import_w),
        export_w=_phase_sum([p.export_w for p in g.phases], g.export_w),
    )
    balanced = day.grid_energy(
        "balanced", "balanced", estimated=gap, import_w=g.import_w, export_w=g.export_w
    )
    phases = tuple(
        replace(
            p,
            import_today_wh=day.today(f"{phase_prefix}.import.phase{i + 1}"),
            export_today_wh=day.today(f"{phase_prefix}.export.phase{i + 1}"),
        )
        for i, p in enumerate(g.phases)
    )
    in_force, other = (balanced, gateway) if metering == "balanced" else (gateway, balanced)
    grid = replace(
        g,
        import_w=in_force.import_w,
        export_w=in_force.export_w,
        phases=phases,
        import_today_wh=in_force.import_today_wh,
        export_today_wh=in_force.export_today_wh,
        import_last_7_days_wh=in_force.import_last_7_days_wh,
        export_last_7_days_wh=in_force.export_last_7_days_wh,
        metering=metering,
        estimated=in_force.estimated and not has_counters if metering == "gateway" else False,
        today_estimated=in_force.estimated,
        alternative=other,
    )
    production = day.flow(snapshot.production, "production")
    battery = _battery_days(snapshot.storage, counters, len(production.phases_today_wh))
    consumption = (
        _derived_consumption(
            snapshot.consumption, production, gateway, phases=phases, battery=battery, day=day
        )
        if _consumption_derived(snapshot)
        else day.flow(snapshot.consumption, "consumption")
    )
    return replace(
        snapshot,
        production=production,
        consumption=consumption,
        gateway_consumption=_gateway_consumption(snapshot, production, gateway, consumption),
        net_consumption=_net_flow(snapshot.net_consumption, in_force, phases),
        grid=grid,
        storage=_storage_days(snapshot.storage, day, grid_state),
        inverters=tuple(_with_estimate(inv, inverters, snapshot.time, day.day) for inv in snapshot.inverters),
    )


def _phase_sum(values: Sequence[float | None], total: float | None) -> float | None:
    """Each phase counted on its own ("gateway" metering): the sum of the phases' figures."""
    if len(values) < 2:
        return total
    return None if any(v is None for v in values) else _round(sum(v for v in values if v is not None))


# Inverters report every 5-15 min: a report older than 3 of the longest periods no longer stands for
# the inverter's power now (stopped, removed, or the night).
INVERTER_SILENT_AFTER_S = 45 * 60.0


def _with_estimate(
    inverter: InverterState, estimates: InverterEstimates, now: datetime, today: date
) -> InverterState:
    """Today: the inverter's own figure where the gateway gives one, else the estimate (flagged);
    the last report's age, and no power once the inverter has stopped reporting."""
    if inverter.last_report is not None:
        age_s: float | None = round(max(0.0, (now - inverter.last_report).total_seconds()), 1)
    else:
        age_s = None
    reporting = age_s is not None and age_s <= INVERTER_SILENT_AFTER_S
    own = inverter.today_wh is not None
    return inverter.aged(
        power_w=inverter.power_w if reporting else None,
        today_wh=inverter.today_wh if own else _round(estimates.today_wh_on(inverter.serial, today)),
        today_estimated=inverter.today_estimated if own else True,
        report_age_s=age_s,
        reporting=reporting,
    )
