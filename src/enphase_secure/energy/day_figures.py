"""Pure: a snapshot + the day counters -> the snapshot with its today / 7-day figures (DESIGN.md §3).

Every tick fills in the same ~60 figures, most of them unchanged since the tick before (a counter that
did not move, a sum of two figures that did not). ``DayMemo`` carries from one tick to the next what
only a new day or a counter's new segment changes (the counters counting today, the finished days of
each 7-day window) and the figures rounded at the tick before, so that a tick redoes only what moved.
It is derived data, never persisted: without it (``memo=None``) the same figures are computed in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from .daycounters import CounterState, DayCounters, query_day, window_base_wh
from .decimals import round3
from .integrate import GridIntegrator, gap_today
from .inverter_estimate import InverterEstimates
from .snapshot import (
    EnergyFlow,
    GatewayConsumption,
    Grid,
    GridEnergy,
    InverterState,
    PhaseBalance,
    Snapshot,
    Storage,
)

# Inverters report every 5-15 min: a report older than 3 of the longest periods no longer stands for
# the inverter's power now (stopped, removed, or the night).
INVERTER_SILENT_AFTER_S = 45 * 60.0
_SILENT = timedelta(seconds=INVERTER_SILENT_AFTER_S)  # a reporting flag flips no sooner


class InverterDays(NamedTuple):
    """One tick's inverters: as merged, and as published (with their day figures and flags)."""

    merged: tuple[InverterState, ...]
    estimates: InverterEstimates
    """Holds every report of ``merged``."""
    today_wh: tuple[float | None, ...]
    """Today of each of ``merged`` on the memo's day, from ``estimates`` where it has none of its own."""
    published: tuple[InverterState, ...]
    since: datetime
    until: datetime | None
    """``published`` stands from ``since`` until a reporting flag flips (None: none is reporting)."""


class DayMemo(NamedTuple):
    """What one tick's figures leave for the next (see the module's docstring); a tuple, built every
    tick at a fifth of a frozen dataclass's cost, never persisted."""

    base: Mapping[str, CounterState]
    """``DayCounters.base`` the rest was taken from: another one (a new segment, a new day) renews it."""
    day: date
    counting: Mapping[str, CounterState]
    """The counters of ``base`` counting ``day``."""
    weeks: Mapping[str, float]
    """Per counter of ``counting``: the energy of the finished days of its 7-day window."""
    rounded: Mapping[float, float]
    """Each value rounded at the tick before, by value."""
    inverters: InverterDays | None = None

    def holds_reports(self, inverters: tuple[InverterState, ...], estimates: InverterEstimates) -> bool:
        """``estimates`` has seen every report of ``inverters``: estimating them again changes nothing."""
        kept = self.inverters
        return kept is not None and kept.merged is inverters and kept.estimates is estimates


def _renewed(memo: DayMemo | None, counters: DayCounters, day: date) -> DayMemo:
    base = counters.base
    if memo is not None and memo.base is base and memo.day == day:
        return memo
    counting = {key: state for key, state in base.items() if state.day == day}
    weeks = {key: window_base_wh(state, day) for key, state in counting.items()}
    return DayMemo(base, day, counting, weeks, memo.rounded if memo is not None else {})


def _inverter_days(
    snapshot: Snapshot, estimates: InverterEstimates, day: _Day, memo: DayMemo | None
) -> InverterDays:
    """The inverters of ``snapshot`` published; the last tick's very tuple while nothing in it moved
    (the same reports and estimates, the same day, no reporting flag flipped)."""
    merged, now, on = snapshot.inverters, snapshot.time, day.day
    kept = memo.inverters if memo is not None and memo.day == on else None
    if kept is not None and kept.merged is merged and kept.estimates is estimates:
        if kept.since <= now and (kept.until is None or now < kept.until):
            return kept
        today_wh = kept.today_wh
    else:
        today_wh = tuple(
            inv.today_wh if inv.today_wh is not None else day.round(estimates.today_wh_on(inv.serial, on))
            for inv in merged
        )
    published = tuple(_with_estimate(inv, today, now) for inv, today in zip(merged, today_wh, strict=True))
    flips = [inv.last_report + _SILENT for inv in published if inv.reporting and inv.last_report is not None]
    return InverterDays(merged, estimates, today_wh, published, now, min(flips, default=None))


@cache
def phase_keys(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}.phase{i + 1}" for i in range(count))


@cache
def sides(prefix: str, first: str, second: str, suffix: str = "") -> tuple[str, str]:
    """The counter keys of the two sides of a flow (import / export, discharge / charge)."""
    return f"{prefix}.{first}{suffix}", f"{prefix}.{second}{suffix}"


class _Day:
    """Reads today / 7-day figures of one snapshot's instant, rounding each value once."""

    def __init__(self, counters: DayCounters, day: date, memo: DayMemo | None) -> None:
        self.memo = _renewed(memo, counters, day)
        self.day = day
        self._counting, self._weeks = self.memo.counting, self.memo.weeks
        self._readings = counters.readings
        self._before = self.memo.rounded
        self.rounded: dict[float, float] = {}

    def round(self, value: float | None) -> float | None:
        if not value:  # None, and 0.0 or -0.0 that round() gives back as they are
            return value
        if value.__class__ is not float:  # an int is rounded to an int: never the same key as a float
            return round3(value)
        rounded = self.rounded.get(value)
        if rounded is None:
            rounded = self._before.get(value)
            if rounded is None:
                rounded = round3(value)
            self.rounded[value] = rounded
        return rounded

    def difference(self, a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else self.round(a - b)

    def sum(self, a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else self.round(a + b)

    def _today_wh(self, key: str) -> float | None:
        state = self._counting.get(key)
        if state is None:
            return None
        value = self._readings.get(key)
        return state.today_wh if value is None else state.closed_wh + value - state.baseline_wh

    def today(self, key: str) -> float | None:
        state = self._counting.get(key)
        if state is None:
            return None
        value = self._readings.get(key)
        return self.round(state.today_wh if value is None else state.closed_wh + value - state.baseline_wh)

    def estimated(self, key: str) -> bool:
        state = self._counting.get(key)
        return state is not None and state.estimated

    def week(self, key: str) -> float | None:
        today = self._today_wh(key)
        return None if today is None else self.round(self._weeks[key] + today)

    def phases(self, prefix: str, count: int) -> tuple[float | None, ...]:
        return tuple([self.today(key) for key in phase_keys(prefix, count)])

    def flow(self, flow: EnergyFlow, key: str) -> EnergyFlow:
        return _flow(
            flow,
            today_wh=self.today(key),
            last_7_days_wh=self.week(key),
            phases_today_wh=self.phases(key, len(flow.phases_lifetime_wh)),
            today_estimated=self.estimated(key),
        )

    def grid_energy(
        self, metering: str, prefix: str, *, estimated: bool, import_w: float | None, export_w: float | None
    ) -> GridEnergy:
        imported, exported = sides(prefix, "import", "export")
        return GridEnergy(  # positional, in the order of the fields: a third cheaper than by keyword
            metering,
            self.today(imported),
            self.today(exported),
            self.week(imported),
            self.week(exported),
            estimated or self.estimated(imported),
            import_w,
            export_w,
        )


def _flow(
    flow: EnergyFlow,
    *,
    today_wh: float | None,
    last_7_days_wh: float | None,
    phases_today_wh: tuple[float | None, ...],
    today_estimated: bool,
) -> EnergyFlow:
    """``replace(flow, ...)`` with its day figures, built directly (three flows a tick)."""
    return EnergyFlow(
        flow.power_w,
        flow.phases_w,
        today_wh,
        last_7_days_wh,
        flow.lifetime_wh,
        phases_today_wh,
        flow.phases_lifetime_wh,
        today_estimated,
    )


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
        discharged, charged = sides(self.prefix, "discharge", "charge", suffix)
        return day.difference(day.today(discharged), day.today(charged))

    def net_week(self, day: _Day) -> float | None:
        if self.prefix is None:
            return 0.0
        discharged, charged = sides(self.prefix, "discharge", "charge")
        return day.difference(day.week(discharged), day.week(charged))

    def net_phase_today(self, day: _Day, index: int) -> float | None:
        if self.prefix is None:
            return 0.0
        if self.per_phase_counters:
            return self.net_today(day, f".phase{index + 1}")
        if self.phase is None:
            return None
        return self.net_today(day) if index == self.phase else 0.0


_NO_BATTERY = _BatteryDays(None, None, per_phase_counters=False, estimated=False)
_STORAGE_CT = _BatteryDays("storage", None, per_phase_counters=False, estimated=False)
_STORAGE_CT_PER_PHASE = _BatteryDays("storage", None, per_phase_counters=True, estimated=False)


def _battery_days(
    storage: Storage | None, counters: Mapping[str, CounterState], phase_count: int
) -> _BatteryDays:
    if storage is None:
        return _NO_BATTERY
    if "storage.discharge" in counters:
        return _STORAGE_CT_PER_PHASE if "storage.discharge.phase1" in counters else _STORAGE_CT
    phases = {unit.phase for unit in storage.units}
    if phase_count == 1:
        phase: int | None = 0
    elif len(phases) == 1 and None not in phases and not any(p is None for p in storage.phases_w):
        (only,) = phases
        phase = None if only is None else only - 1
    else:
        phase = None
    return _BatteryDays("battery", phase, per_phase_counters=False, estimated=True)


def consumption_derived(snapshot: Snapshot) -> bool:
    """Consumption is production + net: the site has a net-consumption CT (its counters split the grid)."""
    return snapshot.grid.import_lifetime_wh is not None and snapshot.grid.export_lifetime_wh is not None


class _NetDays(NamedTuple):
    """Import - export of one metering, per window and per phase: the net consumption's day figures,
    and the grid's part of a consumption worked out as production + net."""

    today_wh: float | None
    last_7_days_wh: float | None
    phases_today_wh: tuple[float | None, ...]


def _net_days(energy: GridEnergy, phases: Sequence[PhaseBalance], day: _Day) -> _NetDays:
    minus = day.difference
    return _NetDays(
        minus(energy.import_today_wh, energy.export_today_wh),
        minus(energy.import_last_7_days_wh, energy.export_last_7_days_wh),
        tuple([minus(p.import_today_wh, p.export_today_wh) for p in phases]),
    )


def _derived_consumption(
    consumption: EnergyFlow,
    production: EnergyFlow,
    net: _NetDays,
    *,
    net_estimated: bool,
    battery: _BatteryDays,
    day: _Day,
) -> EnergyFlow:
    """Consumption = production + net + storage, day by day, from the counters of each part (``net``:
    the "gateway" metering's)."""
    plus = day.sum
    return _flow(
        consumption,
        today_wh=_at_least_zero(plus(plus(production.today_wh, net.today_wh), battery.net_today(day))),
        last_7_days_wh=_at_least_zero(
            plus(plus(production.last_7_days_wh, net.last_7_days_wh), battery.net_week(day))
        ),
        phases_today_wh=tuple(
            [
                _at_least_zero(plus(plus(made, phase_net), battery.net_phase_today(day, i)))
                for i, (made, phase_net) in enumerate(
                    zip(production.phases_today_wh, net.phases_today_wh, strict=False)
                )
            ]
        ),
        today_estimated=production.today_estimated or net_estimated or battery.estimated,
    )


def _gateway_consumption(
    snapshot: Snapshot, production: EnergyFlow, net: _NetDays, consumption: EnergyFlow, day: _Day
) -> GatewayConsumption:
    """The gateway's own production + net, today from the counters of both parts (``net``: the
    "gateway" metering's)."""
    figure = snapshot.gateway_consumption
    if consumption_derived(snapshot):
        today = day.sum(production.today_wh, net.today_wh)
    else:
        today = consumption.today_wh
    return GatewayConsumption(
        power_w=figure.power_w, phases_w=figure.phases_w, today_wh=today, lifetime_wh=figure.lifetime_wh
    )


def _storage_days(storage: Storage | None, day: _Day, grid: GridIntegrator) -> Storage | None:
    if storage is None:
        return None
    if storage.energy_estimated:
        prefix = "battery"
        charged = day.round(grid.battery.export_wh) if grid.last else None
        discharged = day.round(grid.battery.import_wh) if grid.last else None
    else:
        prefix = "storage"
        charged, discharged = storage.charged_lifetime_wh, storage.discharged_lifetime_wh
    return Storage(
        power_w=storage.power_w,
        soc_pct=storage.soc_pct,
        available_wh=storage.available_wh,
        capacity_wh=storage.capacity_wh,
        phases_w=storage.phases_w,
        charged_today_wh=day.today(f"{prefix}.charge"),
        discharged_today_wh=day.today(f"{prefix}.discharge"),
        charged_lifetime_wh=charged,
        discharged_lifetime_wh=discharged,
        phases_charged_lifetime_wh=storage.phases_charged_lifetime_wh,
        phases_discharged_lifetime_wh=storage.phases_discharged_lifetime_wh,
        energy_estimated=storage.energy_estimated,
        units=storage.units,
    )


def _phase_sum(values: Sequence[float | None], total: float | None, day: _Day) -> float | None:
    """Each phase counted on its own ("gateway" metering): the sum of the phases' figures."""
    if len(values) < 2:
        return total
    return None if None in values else day.round(sum(values))  # type: ignore[arg-type]


def _grid(
    g: Grid, day: _Day, *, has_counters: bool, gap: bool, metering: str
) -> tuple[Grid, GridEnergy, GridEnergy, tuple[PhaseBalance, ...]]:
    """The grid with its day figures; the "gateway" metering's figures, the metering in force's and
    the phases too."""
    phase_prefix = "gateway" if has_counters else "phases"
    gateway = day.grid_energy(
        "gateway",
        phase_prefix,
        estimated=not has_counters,
        import_w=_phase_sum([p.import_w for p in g.phases], g.import_w, day),
        export_w=_phase_sum([p.export_w for p in g.phases], g.export_w, day),
    )
    balanced = day.grid_energy(
        "balanced", "balanced", estimated=gap, import_w=g.import_w, export_w=g.export_w
    )
    count = len(g.phases)
    imported, exported = sides(phase_prefix, "import", "export")
    phases = tuple(
        [
            PhaseBalance(  # import_w, export_w, import_today_wh, export_today_wh, lifetime import, export
                p.import_w,
                p.export_w,
                day.today(imported),
                day.today(exported),
                p.import_lifetime_wh,
                p.export_lifetime_wh,
            )
            for p, imported, exported in zip(
                g.phases,
                phase_keys(imported, count),
                phase_keys(exported, count),
                strict=True,
            )
        ]
    )
    in_force, other = (balanced, gateway) if metering == "balanced" else (gateway, balanced)
    grid = Grid(
        import_w=in_force.import_w,
        export_w=in_force.export_w,
        phases=phases,
        import_today_wh=in_force.import_today_wh,
        export_today_wh=in_force.export_today_wh,
        import_lifetime_wh=g.import_lifetime_wh,
        export_lifetime_wh=g.export_lifetime_wh,
        metering=metering,
        estimated=in_force.estimated and not has_counters if metering == "gateway" else False,
        import_last_7_days_wh=in_force.import_last_7_days_wh,
        export_last_7_days_wh=in_force.export_last_7_days_wh,
        today_estimated=in_force.estimated,
        alternative=other,
    )
    return grid, gateway, in_force, phases


def day_figures(
    snapshot: Snapshot,
    *,
    counters: DayCounters,
    grid_state: GridIntegrator,
    inverters: InverterEstimates,
    tz: ZoneInfo,
    metering: str,
    memo: DayMemo | None = None,
) -> tuple[Snapshot, DayMemo]:
    """``snapshot`` with its day figures (as of its own time) and the metering in force; the memo
    for the next tick (``memo``: the last tick's)."""
    day = _Day(counters, query_day(snapshot.time, tz), memo)
    has_counters = "gateway.import" in counters.base
    gap = gap_today(grid_state, snapshot.time, tz)
    grid, gateway, in_force, phases = _grid(
        snapshot.grid, day, has_counters=has_counters, gap=gap, metering=metering
    )
    gateway_net = _net_days(gateway, phases, day)
    in_force_net = gateway_net if in_force is gateway else _net_days(in_force, phases, day)
    production = day.flow(snapshot.production, "production")
    if consumption_derived(snapshot):
        battery = _battery_days(snapshot.storage, counters.base, len(production.phases_today_wh))
        consumption = _derived_consumption(
            snapshot.consumption,
            production,
            gateway_net,
            net_estimated=gateway.estimated,
            battery=battery,
            day=day,
        )
    else:
        consumption = day.flow(snapshot.consumption, "consumption")
    inverter_days = _inverter_days(snapshot, inverters, day, memo)
    enriched = Snapshot(
        time=snapshot.time,
        gateway=snapshot.gateway,
        phase_mode=snapshot.phase_mode,
        phase_count=snapshot.phase_count,
        production=production,
        consumption=consumption,
        net_consumption=_flow(
            snapshot.net_consumption,
            today_wh=in_force_net.today_wh,
            last_7_days_wh=in_force_net.last_7_days_wh,
            phases_today_wh=in_force_net.phases_today_wh,
            today_estimated=in_force.estimated,
        ),
        grid=grid,
        storage=_storage_days(snapshot.storage, day, grid_state),
        inverters=inverter_days.published,
        meters=snapshot.meters,
        staleness=snapshot.staleness,
        gateway_consumption=_gateway_consumption(snapshot, production, gateway_net, consumption, day),
        reading_time=snapshot.reading_time,
    )
    kept = day.memo
    return enriched, DayMemo(kept.base, kept.day, kept.counting, kept.weeks, day.rounded, inverter_days)


def _with_estimate(inverter: InverterState, today_wh: float | None, now: datetime) -> InverterState:
    """Today (``today_wh``): the inverter's own figure where the gateway gives one, else the estimate
    (flagged); no power once the inverter has stopped reporting."""
    age_s = inverter.report_age_s(now)
    reporting = age_s is not None and age_s <= INVERTER_SILENT_AFTER_S
    return inverter.aged(
        power_w=inverter.power_w if reporting else None,
        today_wh=today_wh,
        today_estimated=inverter.today_estimated if inverter.today_wh is not None else True,
        reporting=reporting,
    )
