"""Pure: the batteries of a site -> its Storage figures (DESIGN.md §3, house consumption on battery sites).

Power, best first: a storage CT (read every second with the net CT, per phase in its channels, with
lifetime counters: delivered = discharged, received = charged), else the IQ Batteries' ensemble power
plus the ACBs' ``wNow`` from /production.json. The battery's phase comes from the storage CT's wired
channels, or from the inventory's ``phase`` of every IQ Battery; otherwise it is unknown on a
multi-phase site and the per-phase figures stay null rather than a wrong split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..gateway.ensemble import BatteryUnit, EnsembleInventory, EnsemblePower, EnsembleStatus
from ..gateway.production import AcbStorage, ProductionReport
from .frozen import set_directly
from .memo import last_call
from .snapshot import BatteryUnitState, Storage

Phases = tuple[float | None, ...]


@set_directly  # every second
@dataclass(frozen=True, slots=True)
class StorageCtReading:
    """A storage CT's figures, per wired phase as the site's layout counts them."""

    power_w: float
    phases_w: Phases
    discharged_lifetime_wh: float
    charged_lifetime_wh: float
    phases_discharged_lifetime_wh: Phases
    phases_charged_lifetime_wh: Phases


def storage_state(
    *,
    inventory: EnsembleInventory | None,
    power: EnsemblePower | None,
    status: EnsembleStatus | None,
    report: ProductionReport | None,
    storage_ct: StorageCtReading | None,
    phase_count: int | None,
) -> Storage | None:
    batteries = inventory.batteries if inventory else ()
    acb = report.acb if report else None
    if not batteries and not _has_acb(acb) and storage_ct is None:
        return None
    if storage_ct is None:
        return _estimated(inventory, power, status, report, phase_count)
    state = _charge_state(inventory, power, status, report)
    return Storage(
        power_w=storage_ct.power_w,
        soc_pct=state.soc_pct,
        available_wh=state.available_wh,
        capacity_wh=state.capacity_wh,
        phases_w=storage_ct.phases_w,
        charged_lifetime_wh=storage_ct.charged_lifetime_wh,
        discharged_lifetime_wh=storage_ct.discharged_lifetime_wh,
        phases_charged_lifetime_wh=storage_ct.phases_charged_lifetime_wh,
        phases_discharged_lifetime_wh=storage_ct.phases_discharged_lifetime_wh,
        units=state.units,
    )


def _has_acb(acb: AcbStorage | None) -> bool:
    return acb is not None and acb.active_count > 0 and acb.soc_pct is not None


class _ChargeState(NamedTuple):
    soc_pct: float | None
    available_wh: float | None
    capacity_wh: float | None
    units: tuple[BatteryUnitState, ...]


# The ensemble and /production.json are read every few seconds to minutes, the storage CT every second:
# what comes from the former alone is worked out once per read.
@last_call
def _charge_state(
    inventory: EnsembleInventory | None,
    power: EnsemblePower | None,
    status: EnsembleStatus | None,
    report: ProductionReport | None,
) -> _ChargeState:
    batteries = inventory.batteries if inventory else ()
    acb = report.acb if report else None
    has_acb = _has_acb(acb)
    if batteries and has_acb:
        soc = status.soc_pct if status else None
        available = _sum_known([status.iq_available_wh, status.acb_available_wh]) if status else None
    elif batteries:
        soc = status.iq_soc_pct if status else _weighted_soc(batteries)
        available = status.iq_available_wh if status else None
    elif acb is not None and has_acb:
        soc, available = acb.soc_pct, acb.stored_wh
    else:
        soc = status.soc_pct if status else None
        available = None
    capacity = status.capacity_wh if status else None
    if capacity is None and batteries and not has_acb:
        capacity = _sum_known([b.capacity_wh for b in batteries])
    return _ChargeState(soc, available, capacity, _units(batteries, power))


@last_call
def _estimated(
    inventory: EnsembleInventory | None,
    power: EnsemblePower | None,
    status: EnsembleStatus | None,
    report: ProductionReport | None,
    phase_count: int | None,
) -> Storage:
    """Without a storage CT: the power of the IQ Batteries and ACBs, energies integrated from it."""
    batteries = inventory.batteries if inventory else ()
    acb = report.acb if report else None
    has_acb = _has_acb(acb)
    power_parts: list[float | None] = []
    if batteries:
        power_parts.append(power.power_w if power else None)
    if acb is not None and has_acb:
        power_parts.append(acb.power_w)
    total = _sum_known(power_parts)
    state = _charge_state(inventory, power, status, report)
    return Storage(
        power_w=total,
        soc_pct=state.soc_pct,
        available_wh=state.available_wh,
        capacity_wh=state.capacity_wh,
        phases_w=_phases(total, state.units, phase_count, has_acb=has_acb),
        energy_estimated=True,
        units=state.units,
    )


def _units(batteries: Sequence[BatteryUnit], power: EnsemblePower | None) -> tuple[BatteryUnitState, ...]:
    powers = {unit.serial: unit.power_w for unit in power.units} if power else {}
    return tuple(
        BatteryUnitState(
            serial=b.serial,
            soc_pct=b.soc_pct,
            temperature_c=b.temperature_c,
            power_w=powers.get(b.serial),
            phase=b.phase,
        )
        for b in batteries
    )


def _phases(
    total: float | None, units: Sequence[BatteryUnitState], phase_count: int | None, *, has_acb: bool
) -> Phases:
    """The battery power per phase, or nulls where no phase is known (never a guessed split)."""
    if phase_count is None:
        return ()
    if phase_count == 1:
        return (total,)
    unknown: Phases = (None,) * phase_count
    if total is None or has_acb or not units:
        return unknown
    if any(u.phase is None or u.power_w is None or u.phase > phase_count for u in units):
        return unknown
    return tuple(
        sum((u.power_w or 0.0) for u in units if u.phase == phase + 1) for phase in range(phase_count)
    )


def _sum_known(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _weighted_soc(batteries: Sequence[BatteryUnit]) -> float | None:
    """Units' charge weighted by capacity (a plain mean when a capacity is unknown)."""
    capacities = [b.capacity_wh for b in batteries]
    if all(c for c in capacities):
        total = sum(c for c in capacities if c)
        return sum(b.soc_pct * (b.capacity_wh or 0.0) for b in batteries) / total
    return sum(b.soc_pct for b in batteries) / len(batteries)
