"""Pure: a snapshot without what is no longer known, and the closing of a day missed by an outage.

A gateway unreachable across local midnight leaves two things wrong unless handled: the stale snapshot
published after midnight would still carry yesterday's totals as "today", and the history's row for
yesterday would keep its last value from before the outage. After midnight the day figures are
unknown (null) until the first reading of the new day; with that reading the day counters split the
outage's energy between the two days (linearly, flagged estimated: daycounters.py) and
``closing_snapshot`` gives yesterday's final figures, timed at the last instant of yesterday, for the
history to close the day with.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .day_figures import day_figures
from .daycounters import CounterState, DayCounters
from .local_days import day_start, local_day
from .site import Metering, SiteEnergy
from .snapshot import EnergyFlow, Grid, Snapshot, Staleness, Storage

DAY_END_MARGIN = timedelta(milliseconds=1)


def _flow_now_unknown(flow: EnergyFlow) -> EnergyFlow:
    return replace(flow, power_w=None, phases_w=tuple(None for _ in flow.phases_w))


def _storage_now_unknown(storage: Storage | None) -> Storage | None:
    if storage is None:
        return None
    return replace(
        storage,
        power_w=None,
        soc_pct=None,
        available_wh=None,
        phases_w=tuple(None for _ in storage.phases_w),
        units=tuple(replace(u, power_w=None, soc_pct=None, temperature_c=None) for u in storage.units),
    )


def without_instant_figures(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with every instant figure (powers, charge, meter readings) null; energies kept."""
    grid = snapshot.grid
    return replace(
        snapshot,
        production=_flow_now_unknown(snapshot.production),
        consumption=_flow_now_unknown(snapshot.consumption),
        net_consumption=_flow_now_unknown(snapshot.net_consumption),
        gateway_consumption=replace(
            snapshot.gateway_consumption,
            power_w=None,
            phases_w=tuple(None for _ in snapshot.gateway_consumption.phases_w),
        ),
        grid=replace(
            grid,
            import_w=None,
            export_w=None,
            phases=tuple(replace(p, import_w=None, export_w=None) for p in grid.phases),
            alternative=replace(grid.alternative, import_w=None, export_w=None) if grid.alternative else None,
        ),
        storage=_storage_now_unknown(snapshot.storage),
        inverters=tuple(replace(i, power_w=None) for i in snapshot.inverters),
        meters=tuple(
            replace(
                m,
                power_w=None,
                phases_w=tuple(None for _ in m.phases_w),
                voltage_v=None,
                current_a=None,
                power_factor=None,
                frequency_hz=None,
            )
            for m in snapshot.meters
        ),
    )


def _flow_day_unknown(flow: EnergyFlow) -> EnergyFlow:
    return replace(
        flow, today_wh=None, last_7_days_wh=None, phases_today_wh=tuple(None for _ in flow.phases_today_wh)
    )


def _grid_day_unknown(grid: Grid) -> Grid:
    alternative = grid.alternative
    return replace(
        grid,
        import_today_wh=None,
        export_today_wh=None,
        import_last_7_days_wh=None,
        export_last_7_days_wh=None,
        phases=tuple(replace(p, import_today_wh=None, export_today_wh=None) for p in grid.phases),
        alternative=replace(
            alternative,
            import_today_wh=None,
            export_today_wh=None,
            import_last_7_days_wh=None,
            export_last_7_days_wh=None,
        )
        if alternative
        else None,
    )


def without_day_figures(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` with today's and the 7-day figures null (a new day without a reading yet)."""
    storage = snapshot.storage
    return replace(
        snapshot,
        production=_flow_day_unknown(snapshot.production),
        consumption=_flow_day_unknown(snapshot.consumption),
        net_consumption=_flow_day_unknown(snapshot.net_consumption),
        gateway_consumption=replace(snapshot.gateway_consumption, today_wh=None),
        grid=_grid_day_unknown(snapshot.grid),
        storage=replace(storage, charged_today_wh=None, discharged_today_wh=None) if storage else None,
        inverters=tuple(replace(i, today_wh=None) for i in snapshot.inverters),
    )


def _as_of(state: CounterState, day: datetime, tz: ZoneInfo) -> CounterState | None:
    """The counter as it stood at the end of ``day``'s local day: that day's total as "today"."""
    wanted = local_day(day, tz)
    if state.day == wanted:
        return state
    total = next((d for d in state.history if d.day == wanted), None)
    if total is None:
        return None
    return CounterState(
        kind=state.kind,
        day=wanted,
        last_time=day,
        last_wh=total.wh,
        baseline_wh=0.0,
        closed_wh=0.0,
        estimated=total.estimated,
        complete=total.complete,
        history=tuple(d for d in state.history if d.day < wanted),
    )


def closing_snapshot(
    previous: Snapshot,
    state: SiteEnergy,
    *,
    last_ok: datetime,
    now: datetime,
    tz: ZoneInfo,
    metering: Metering,
    max_gap_s: float,
) -> Snapshot | None:
    """Yesterday's final figures when the reading at ``now`` is the first since an outage that spanned
    local midnight (``last_ok``: the last good reading before it; ``state``: after accounting ``now``).

    None when no midnight was missed: readings a poll apart already closed the day themselves.
    """
    if local_day(now, tz) == local_day(last_ok, tz) or (now - last_ok).total_seconds() <= max_gap_s:
        return None
    end = day_start(local_day(last_ok, tz) + timedelta(days=1), tz) - DAY_END_MARGIN
    counters = {
        key: rewound
        for key, counter in state.counters.counters.items()
        if (rewound := _as_of(counter, end, tz)) is not None
    }
    closing = replace(
        without_instant_figures(previous), time=end, staleness=Staleness(), inverters=(), reading_time=None
    )
    figures, _ = day_figures(
        closing,
        counters=DayCounters(counters),
        grid_state=state.grid,
        inverters=state.inverters,
        tz=tz,
        metering=metering,
    )
    return figures
