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
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

from .day_figures import DayMemo, consumption_derived, day_figures, phase_keys
from .daycounters import DayCounters
from .integrate import GridIntegrator, GridTick, integrate
from .inverter_estimate import InverterEstimates, InverterReport
from .snapshot import Snapshot
from .state_json import JsonObject

Metering = Literal["gateway", "balanced"]


@dataclass(frozen=True, slots=True)
class SiteEnergy:
    """Everything the day figures depend on; persisted so that a restart loses nothing."""

    counters: DayCounters = field(default_factory=DayCounters.empty)
    grid: GridIntegrator = field(default_factory=GridIntegrator)
    inverters: InverterEstimates = field(default_factory=InverterEstimates.empty)
    memo: DayMemo | None = field(default=None, compare=False, repr=False)
    """The last tick's, for the next (day_figures.py); never persisted."""

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


def _put_phases(readings: dict[str, float], prefix: str, values: Sequence[float | None]) -> None:
    keys = phase_keys(prefix, len(values))
    if None not in values:  # every phase known: nearly every tick
        readings.update(zip(keys, values, strict=True))  # type: ignore[arg-type]  # no None in them
        return
    for key, value in zip(keys, values, strict=True):
        if value is not None:
            readings[key] = value


def lifetime_readings(snapshot: Snapshot, grid: GridIntegrator) -> dict[str, float]:
    """The counter values of this snapshot, by day-counter key."""
    readings: dict[str, float] = {}
    g = snapshot.grid
    flows = [("production", snapshot.production)]
    if not consumption_derived(snapshot):
        flows.append(("consumption", snapshot.consumption))
    for name, flow in flows:
        if flow.lifetime_wh is not None:
            readings[name] = flow.lifetime_wh
        _put_phases(readings, name, flow.phases_lifetime_wh)
    if g.import_lifetime_wh is not None and g.export_lifetime_wh is not None:
        readings["gateway.import"] = g.import_lifetime_wh
        readings["gateway.export"] = g.export_lifetime_wh
        _put_phases(readings, "gateway.import", [p.import_lifetime_wh for p in g.phases])
        _put_phases(readings, "gateway.export", [p.export_lifetime_wh for p in g.phases])
    storage = snapshot.storage
    if storage is not None and storage.discharged_lifetime_wh is not None:
        readings["storage.discharge"] = storage.discharged_lifetime_wh
        _put_phases(readings, "storage.discharge", storage.phases_discharged_lifetime_wh)
    if storage is not None and storage.charged_lifetime_wh is not None:
        readings["storage.charge"] = storage.charged_lifetime_wh
        _put_phases(readings, "storage.charge", storage.phases_charged_lifetime_wh)
    if storage is not None and storage.energy_estimated and grid.last is not None:
        readings["battery.discharge"] = grid.battery.import_wh
        readings["battery.charge"] = grid.battery.export_wh
    if grid.last is not None:
        readings["balanced.import"] = grid.balanced.import_wh
        readings["balanced.export"] = grid.balanced.export_wh
        imported = [p.import_wh for p in grid.phases]
        exported = [p.export_wh for p in grid.phases]
        readings["phases.import"] = sum(imported)
        readings["phases.export"] = sum(exported)
        _put_phases(readings, "phases.import", imported)
        _put_phases(readings, "phases.export", exported)
    return readings


def _grid_tick(snapshot: Snapshot) -> GridTick | None:
    net = snapshot.net_consumption
    if net.power_w is None:
        return None
    phases = net.phases_w if net.phases_w and None not in net.phases_w else ()
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
        phases_w=phases,  # type: ignore[arg-type]  # no None in them
        net_lifetime_wh=net_lifetime,
        phases_net_lifetime_wh=tuple(phase_lifetimes) if len(phase_lifetimes) == len(phases) else (),
        polled_at=snapshot.time,
        battery_w=storage.power_w if storage is not None and storage.energy_estimated else None,
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
    inverters = state.inverters
    if state.memo is None or not state.memo.holds_reports(snapshot.inverters, inverters):
        inverters = inverters.update(
            (
                InverterReport(inv.serial, inv.last_report, inv.power_w)
                for inv in snapshot.inverters
                if inv.last_report is not None
                and inv.power_w is not None
                and not inverters.has_seen(inv.serial, inv.last_report)
            ),
            tz,
        )
    enriched, memo = day_figures(
        snapshot,
        counters=counters,
        grid_state=grid_state,
        inverters=inverters,
        tz=tz,
        metering=metering,
        memo=state.memo,
    )
    return enriched, SiteEnergy(counters=counters, grid=grid_state, inverters=inverters, memo=memo)
