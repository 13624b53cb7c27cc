"""Snapshots built for the storage tests: only the fields under test vary."""

from __future__ import annotations

from datetime import datetime

from enphase_secure.energy.snapshot import (
    EnergyFlow,
    GatewayIdentity,
    Grid,
    InverterState,
    Snapshot,
    Staleness,
    Storage,
)


def make_snapshot(
    time: datetime,
    *,
    production_w: float | None = None,
    net_w: float | None = None,
    phases_w: tuple[float | None, ...] = (),
    production_lifetime_wh: float | None = None,
    soc_pct: float | None = None,
    inverters: tuple[InverterState, ...] = (),
    stale: bool = False,
) -> Snapshot:
    net_import = None if net_w is None else max(net_w, 0.0)
    net_export = None if net_w is None else max(-net_w, 0.0)
    return Snapshot(
        time=time,
        gateway=GatewayIdentity("122212345678", "8.2.127", "800-00654-r08"),
        phase_mode="three" if phases_w else "single",
        phase_count=len(phases_w) or 1,
        production=EnergyFlow(power_w=production_w, phases_w=phases_w, lifetime_wh=production_lifetime_wh),
        consumption=EnergyFlow(),
        net_consumption=EnergyFlow(power_w=net_w),
        grid=Grid(import_w=net_import, export_w=net_export),
        storage=None
        if soc_pct is None
        else Storage(power_w=0.0, soc_pct=soc_pct, available_wh=None, capacity_wh=None),
        inverters=inverters,
        staleness=Staleness(stale=stale, age_s=5.0 if stale else None),
    )
