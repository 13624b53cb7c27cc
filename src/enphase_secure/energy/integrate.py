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

Time is the gateway's (DESIGN.md §3): ``at`` is the reading's own ``timestamp``, so a reading whose
timestamp did not move adds nothing and the interval held is the gateway's, whatever the network or a
sped-up simulator does. Whether two readings are consecutive (no poll missed in between) is judged on
``polled_at``, the daemon's clock, against ``max_gap_s``.

The battery's power (no storage CT to count its energy) is integrated the same way, into energy
discharged and charged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from enphase_secure.energy.frozen import set_directly
from enphase_secure.energy.local_days import local_day, require_aware
from enphase_secure.energy.state_json import JsonObject

SECONDS_PER_HOUR = 3600.0


@set_directly
@dataclass(frozen=True, slots=True)
class GridTick:
    """One reading of the grid: net power > 0 means importing."""

    at: datetime
    """The gateway's time of the reading (its ``timestamp``), else the daemon's."""
    net_w: float
    """Top-level net power: the sum of the wired phases (total consumption - production on total-CT sites)."""
    phases_w: tuple[float, ...] = ()
    """Net power per wired phase (phantom channels left out)."""
    net_lifetime_wh: float | None = None
    """Gateway lifetime import - export over the wired phases, when a counter gives it (bridges gaps)."""
    phases_net_lifetime_wh: tuple[float, ...] = ()
    polled_at: datetime | None = None
    """The daemon's time of the poll (None: ``at``)."""
    battery_w: float | None = None
    """The battery's power (> 0 discharging) where no storage CT counts its energy."""

    @property
    def polled(self) -> datetime:
        return self.polled_at or self.at

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "net_w": self.net_w,
            "phases_w": list(self.phases_w),
            "net_lifetime_wh": self.net_lifetime_wh,
            "phases_net_lifetime_wh": list(self.phases_net_lifetime_wh),
            "polled_at": self.polled_at.isoformat() if self.polled_at else None,
            "battery_w": self.battery_w,
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
            polled_at=obj.optional_instant("polled_at"),
            battery_w=obj.optional_number("battery_w"),
        )


@set_directly
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


@set_directly
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
    battery: ImportExport = ImportExport()
    """The battery's integrated power: ``import_wh`` discharged (into the house), ``export_wh`` charged."""

    def to_json(self) -> dict[str, Any]:
        return {
            "battery": self.battery.to_json(),
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
            battery=ImportExport.from_json(obj.data["battery"], obj.path("battery"))
            if "battery" in obj.data
            else ImportExport(),
        )


def integrate(state: GridIntegrator, tick: GridTick, *, max_gap_s: float) -> GridIntegrator:
    """The integrator after ``tick``; a tick not newer than the previous one is ignored.

    ``max_gap_s`` is the longest interval integrated by holding the previous power (e.g. 5 x the poll
    interval).
    """
    if tick.at.tzinfo is not UTC or (tick.polled_at is not None and tick.polled_at.tzinfo is not UTC):
        tick = replace(
            tick,
            at=require_aware(tick.at, "grid tick time"),
            polled_at=None if tick.polled_at is None else require_aware(tick.polled_at, "grid poll time"),
        )
    previous = state.last
    if previous is None:
        return replace(state, last=tick, phases=_widen(state.phases, len(tick.phases_w)))
    seconds = (tick.at - previous.at).total_seconds()
    if seconds <= 0:
        return state
    phases = _widen(state.phases, len(tick.phases_w))
    if (tick.polled - previous.polled).total_seconds() <= max_gap_s:
        held_wh = [w * seconds / SECONDS_PER_HOUR for w in previous.phases_w]
        battery = state.battery
        if previous.battery_w is not None:
            battery = battery.add_net(previous.battery_w * seconds / SECONDS_PER_HOUR)
        return GridIntegrator(  # replace(state, ...) built directly: every tick
            balanced=state.balanced.add_net(previous.net_w * seconds / SECONDS_PER_HOUR),
            phases=_add_phases(phases, held_wh if len(previous.phases_w) == len(tick.phases_w) else []),
            last=tick,
            integrated_s=state.integrated_s + seconds,
            bridged_s=state.bridged_s,
            skipped_s=state.skipped_s,
            last_gap_at=state.last_gap_at,
            battery=battery,
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
