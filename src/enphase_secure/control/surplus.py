"""What a stage measures in a Snapshot: the grid surplus on its phase (or the total), its battery SoC."""

from __future__ import annotations

from enphase_secure.control.settings import Phase
from enphase_secure.energy.snapshot import Snapshot


def measured_surplus_w(reading: Snapshot | None, phase: Phase, *, include_battery: bool) -> float | None:
    """Export minus import on ``phase`` (negative when importing); None when unknown or stale.

    A discharging battery's power is taken off: what it gives feeds the house (a load left on at
    night would otherwise see the grid held at 0 by the battery as room for itself). Its phase is not
    always known, so a phase's surplus loses the whole discharge. With ``include_battery`` the
    battery's charging power is added: a load switched on would first take it from the battery's
    charge before drawing from the grid. Unknown battery power changes nothing.
    """
    if reading is None or reading.staleness.stale:
        return None
    if phase == "total":
        export_w, import_w = reading.grid.export_w, reading.grid.import_w
    elif phase <= len(reading.grid.phases):
        balance = reading.grid.phases[phase - 1]
        export_w, import_w = balance.export_w, balance.import_w
    else:
        return None
    if export_w is None or import_w is None:
        return None
    surplus = export_w - import_w
    battery_w = reading.storage.power_w if reading.storage is not None else None  # > 0 discharging
    if battery_w is not None and (battery_w > 0 or include_battery):
        surplus -= battery_w
    return surplus


def battery_soc_pct(reading: Snapshot | None) -> float | None:
    if reading is None or reading.staleness.stale or reading.storage is None:
        return None
    return reading.storage.soc_pct
