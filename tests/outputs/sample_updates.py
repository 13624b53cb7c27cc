"""Updates of a few kinds of sites, built from Snapshot models, for the outputs' pure tests."""

from __future__ import annotations

from datetime import UTC, datetime

from enphase_secure.energy.snapshot import (
    EnergyFlow,
    GatewayIdentity,
    Grid,
    InverterState,
    MeterState,
    PhaseBalance,
    Snapshot,
    Staleness,
    Storage,
)
from enphase_secure.outputs.bus import Health, Update
from enphase_secure.outputs.mqtt_layout import Topics

T0 = datetime(2026, 6, 21, 12, tzinfo=UTC)


def site(*, phases: int, battery: bool, ct: bool, stale: bool = False) -> Update:
    per_phase = tuple(float(100 * (i + 1)) for i in range(phases)) if phases > 1 else ()
    flow = EnergyFlow(
        power_w=None if stale else 600.0,
        phases_w=per_phase,
        today_wh=1000.0,
        last_7_days_wh=7000.0,
        lifetime_wh=1e6,
        phases_today_wh=per_phase,
        phases_lifetime_wh=per_phase,
    )
    meters = [MeterState(1, "production", 600.0, per_phase, 1e6, 0.0, 231.0, 2.6, 1.0, 50.0)]
    if ct:
        meters.append(MeterState(2, "net-consumption", -200.0, per_phase, 5e5, 3e5, 230.0, 1.0, 0.9, 50.0))
    snapshot = Snapshot(
        time=T0,
        gateway=GatewayIdentity("122212345678", "8.2.4345", "800-00654-r08"),
        phase_mode="three" if phases == 3 else "single",
        phase_count=phases,
        production=flow,
        consumption=flow if ct else EnergyFlow(),
        net_consumption=flow if ct else EnergyFlow(),
        grid=Grid(
            import_w=0.0,
            export_w=200.0,
            phases=tuple(
                PhaseBalance(0.0, 70.0, 1.0, 2.0, 3.0, 4.0) for _ in range(phases if phases > 1 else 0)
            ),
            import_today_wh=100.0,
            export_today_wh=900.0,
            import_lifetime_wh=5e5,
            export_lifetime_wh=3e5,
        )
        if ct
        else Grid(),
        storage=Storage(-500.0, 55.0, 2750.0, 5000.0) if battery else None,
        inverters=(InverterState("482212345678", 250.0, 290.0, T0, 800.0),),
        meters=tuple(meters),
        staleness=Staleness(stale=stale, age_s=30.0 if stale else None),
    )
    control = {
        "stages": [{"name": "Water heater", "state": {"on": True, "mode": "auto", "reason": "surplus"}}]
    }
    health = Health(gateway_online=not stale, firmware="8.2.4345", token_expires_at=T0, last_poll=T0)
    return Update(snapshot, health, control)


TOPICS = Topics("enphase_secure", "122212345678")
SITES = {
    "1 phase, production CT only": site(phases=1, battery=False, ct=False),
    "1 phase, net CT, battery": site(phases=1, battery=True, ct=True),
    "3 phases, net CT, battery": site(phases=3, battery=True, ct=True),
}


def production_only(power_w: float, *, token_expires_at: datetime | None = None) -> Update:
    """A single-phase update with only a production power: for the outputs' plumbing tests."""
    snapshot = Snapshot(
        time=T0,
        gateway=GatewayIdentity("1234", "8.2.4345", None),
        phase_mode="single",
        phase_count=1,
        production=EnergyFlow(power_w=power_w),
        consumption=EnergyFlow(),
        net_consumption=EnergyFlow(),
        grid=Grid(),
        storage=None,
    )
    return Update(snapshot, Health(gateway_online=True, token_expires_at=token_expires_at))
