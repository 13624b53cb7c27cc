"""Pure: what is published when the gateway stops answering (never a fake 0).

Instant figures (powers, per phase, grid balance, storage power and charge, meter readings) become
null; energy figures already counted (today, 7 days, lifetime) stay as they were, since they are still
true as of the last reading; the snapshot says it is stale, since when and why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..energy.snapshot import EnergyFlow, Grid, Snapshot, Staleness


def _flow(flow: EnergyFlow) -> EnergyFlow:
    return replace(flow, power_w=None, phases_w=tuple(None for _ in flow.phases_w))


def _grid(grid: Grid) -> Grid:
    return replace(
        grid,
        import_w=None,
        export_w=None,
        phases=tuple(replace(p, import_w=None, export_w=None) for p in grid.phases),
    )


def stale_snapshot(last: Snapshot, *, now: datetime, last_ok: datetime, reason: str) -> Snapshot:
    """``last`` with every instant figure null, marked stale since ``last_ok``."""
    return replace(
        last,
        time=now,
        production=_flow(last.production),
        consumption=_flow(last.consumption),
        net_consumption=_flow(last.net_consumption),
        grid=_grid(last.grid),
        storage=replace(last.storage, power_w=None, soc_pct=None, available_wh=None)
        if last.storage
        else None,
        inverters=tuple(replace(i, power_w=None) for i in last.inverters),
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
            for m in last.meters
        ),
        staleness=Staleness(stale=True, age_s=round((now - last_ok).total_seconds(), 1), reason=reason),
    )
