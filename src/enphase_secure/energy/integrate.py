"""Grid import/export integrated from the net power of each tick (DESIGN.md §3, "balanced" metering).

No gateway counter nets the phases the way many utility meters do (export on one phase offsets import on
another in the same instant), and a site with only production + total-consumption CTs has no counter
that splits import from export at all. Both are obtained here by integrating power tick by tick:
``balanced`` integrates ``max(±net, 0)`` of the top-level net power (the sum of the phases), ``phases``
integrates each phase on its own (what the gateway's per-phase counters measure). The results are
monotonic synthetic lifetime counters: feed them to the day counters like any gateway counter.

Left rectangle: each reading's power is held until the next reading. A meter reading is an average
over its own short window, so a signal hovering around zero (a battery holding the grid at 0 W) is a
sequence of averages of either sign: holding each gives its true gross import and export, while a
trapezoid with a zero-crossing split would halve both (tests/energy/test_integrate.py shows it). On a
smooth signal both converge, the rectangle's error being half a tick's energy at the ends.

A gap longer than ``max_gap_s`` (gateway unreachable, daemon down) is not integrated with a stale power.
When both ends carry the gateway's lifetime net counter (import - export, summed over the wired phases,
which equals the integral of the net power), the net energy over the gap goes to import or export,
whichever its sign says: a lower bound of both, since flows of both signs may have occurred. Otherwise
the gap is skipped. Either way ``last_gap_at`` records it, so a day with such a gap is shown estimated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from enphase_secure.energy.local_days import local_day, require_aware
from enphase_secure.energy.state_json import JsonObject

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class GridTick:
    """One reading of the grid: net power > 0 means importing."""

    at: datetime
    net_w: float
    """Top-level net power: the sum of the wired phases (total consumption - production on total-CT sites)."""
    phases_w: tuple[float, ...] = ()
    """Net power per wired phase (phantom channels left out)."""
    net_lifetime_wh: float | None = None
    """Gateway lifetime import - export over the wired phases, when a counter gives it (bridges gaps)."""
    phases_net_lifetime_wh: tuple[float, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "net_w": self.net_w,
            "phases_w": list(self.phases_w),
            "net_lifetime_wh": self.net_lifetime_wh,
            "phases_net_lifetime_wh": list(self.phases_net_lifetime_wh),
        }

    @classmethod
    def from_json(cls, value: object, where: str) -> GridTick:
        obj = JsonObject.of(value, where)
        return cls(
            at=obj.instant("at"),
            net_w=obj.number("net_w"),
            phases_w=obj.numbers("phases_w"),
            net_lifetime_wh=obj.optional_number("net_lifetime_wh"),
            phases_net_lifetime_wh=obj.numbers("phases_net_lifetime_wh"),
        )


@dataclass(frozen=True, slots=True)
class ImportExport:
    """Energy drawn from (import) and fed into (export) the grid, both >= 0."""

    import_wh: float = 0.0
    export_wh: float = 0.0

    def add_net(self, net_wh: float) -> ImportExport:
        """Account a net energy (> 0 imported, < 0 exported) to the side its sign says."""
        if net_wh >= 0:
            return ImportExport(self.import_wh + net_wh, self.export_wh)
        return ImportExport(self.import_wh, self.export_wh - net_wh)

    def to_json(self) -> dict[str, Any]:
        return {"import_wh": self.import_wh, "export_wh": self.export_wh}

    @classmethod
    def from_json(cls, value: object, where: str) -> ImportExport:
        obj = JsonObject.of(value, where)
        return cls(obj.number("import_wh"), obj.number("export_wh"))


@dataclass(frozen=True, slots=True)
class GridIntegrator:
    """Integrated import/export since the first tick; a value: ``integrate`` returns a new one."""

    balanced: ImportExport = ImportExport()
    phases: tuple[ImportExport, ...] = ()
    last: GridTick | None = None
    integrated_s: float = 0.0
    bridged_s: float = 0.0
    """Seconds of gaps filled from the gateway's net counter."""
    skipped_s: float = 0.0
    """Seconds of gaps with nothing known."""
    last_gap_at: datetime | None = None
    """The end of the latest gap that was bridged or skipped."""

    def to_json(self) -> dict[str, Any]:
        return {
            "balanced": self.balanced.to_json(),
            "phases": [p.to_json() for p in self.phases],
            "last": self.last.to_json() if self.last else None,
            "integrated_s": self.integrated_s,
            "bridged_s": self.bridged_s,
            "skipped_s": self.skipped_s,
            "last_gap_at": self.last_gap_at.isoformat() if self.last_gap_at else None,
        }

    @classmethod
    def from_json(cls, value: object) -> GridIntegrator:
        obj = JsonObject.of(value, "grid_integrator")
        last = obj.data.get("last")
        return cls(
            balanced=ImportExport.from_json(obj.child("balanced").data, obj.path("balanced")),
            phases=tuple(obj.items("phases", ImportExport.from_json)),
            last=None if last is None else GridTick.from_json(last, obj.path("last")),
            integrated_s=obj.number("integrated_s"),
            bridged_s=obj.number("bridged_s"),
            skipped_s=obj.number("skipped_s"),
            last_gap_at=obj.optional_instant("last_gap_at"),
        )


def integrate(state: GridIntegrator, tick: GridTick, *, max_gap_s: float) -> GridIntegrator:
    """The integrator after ``tick``; a tick not newer than the previous one is ignored.

    ``max_gap_s`` is the longest interval integrated by holding the previous power (e.g. 5 x the poll
    interval).
    """
    tick = replace(tick, at=require_aware(tick.at, "grid tick time"))
    previous = state.last
    if previous is None:
        return replace(state, last=tick, phases=_widen(state.phases, len(tick.phases_w)))
    seconds = (tick.at - previous.at).total_seconds()
    if seconds <= 0:
        return state
    phases = _widen(state.phases, len(tick.phases_w))
    if seconds <= max_gap_s:
        held_wh = [w * seconds / SECONDS_PER_HOUR for w in previous.phases_w]
        return replace(
            state,
            balanced=state.balanced.add_net(previous.net_w * seconds / SECONDS_PER_HOUR),
            phases=_add_phases(phases, held_wh if len(previous.phases_w) == len(tick.phases_w) else []),
            last=tick,
            integrated_s=state.integrated_s + seconds,
        )
    if previous.net_lifetime_wh is None or tick.net_lifetime_wh is None:
        return replace(
            state, phases=phases, last=tick, skipped_s=state.skipped_s + seconds, last_gap_at=tick.at
        )
    now_wh, then_wh = tick.phases_net_lifetime_wh, previous.phases_net_lifetime_wh
    bridged_wh = (
        [now - then for now, then in zip(now_wh, then_wh, strict=True)] if len(now_wh) == len(then_wh) else []
    )
    return replace(
        state,
        balanced=state.balanced.add_net(tick.net_lifetime_wh - previous.net_lifetime_wh),
        phases=_add_phases(_widen(phases, len(bridged_wh)), bridged_wh),
        last=tick,
        bridged_s=state.bridged_s + seconds,
        last_gap_at=tick.at,
    )


def gap_today(state: GridIntegrator, now: datetime, tz: ZoneInfo) -> bool:
    """Whether today's integrated figures include a gap that was bridged or skipped."""
    return state.last_gap_at is not None and local_day(state.last_gap_at, tz) == local_day(now, tz)


def _widen(phases: tuple[ImportExport, ...], count: int) -> tuple[ImportExport, ...]:
    return phases + (ImportExport(),) * (count - len(phases))


def _add_phases(phases: tuple[ImportExport, ...], phase_wh: list[float]) -> tuple[ImportExport, ...]:
    """Add each phase's net energy; empty when the phase count changed between the two readings."""
    return tuple(
        phase.add_net(phase_wh[index]) if index < len(phase_wh) else phase
        for index, phase in enumerate(phases)
    )
