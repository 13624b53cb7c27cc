"""The day counters' saved state: restored at start, kept in step with the history's batches.

A restart, a crash or an outage loses no energy; a state that cannot be read starts the days afresh.
Two rows keep the disk writes small (an SD card wears out): the whole state (~8 KB: every counter's
baseline and last days) goes at once when a baseline, a day, a reset or an inverter report changes it,
else every few minutes; the grid integrator (~0.6 KB, energy integrated from power, which no restart
could redo) goes with every batch. Between two writes of the whole state only the counters' last
readings age, and a restart redoes them from the lifetime counters: today = lifetime - baseline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..energy.daycounters import CounterState, DayCounters
from ..energy.inverter_estimate import InverterEstimates
from ..energy.memo import last_call
from ..energy.site import SiteEnergy
from ..errors import EnphaseSecureError
from .storage_guard import StorageGuard

SITE_STATE_KEY = "site_energy"
GRID_STATE_KEY = "site_energy_grid"

SiteState = tuple[str | None, SiteEnergy]  # the serial of the gateway it follows, the energy


def counters_marker(counters: DayCounters) -> tuple[object, ...]:
    """What changes only when a restart could not redo it: everything but each counter's last reading."""
    return base_marker(counters.base)  # the base: what moving a counter on leaves as it was


def base_marker(base: Mapping[str, CounterState]) -> tuple[object, ...]:
    return tuple(
        (key, s.kind, s.day, s.baseline_wh, s.closed_wh, s.estimated, s.complete) for key, s in base.items()
    )


def reports_marker(inverters: InverterEstimates) -> tuple[object, ...]:
    return tuple((inverter, d.day, d.last_report_at) for inverter, d in inverters.inverters.items())


class EnergyStateStore:
    def __init__(
        self,
        storage: StorageGuard,
        *,
        clock: Callable[[], datetime],
        logger: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._log = logger

    async def restore(self) -> tuple[SiteEnergy, str | None] | None:
        """The saved counters and the serial of the gateway they follow; None: start afresh."""
        if self._storage.history is None:
            return None  # already reported by the storage guard
        try:
            saved = await self._storage.read(lambda history: history.get_state(SITE_STATE_KEY))
            if saved is None:
                return None
            grid = await self._storage.read(lambda history: history.get_state(GRID_STATE_KEY))
            serial = saved.get("serial")
            energy = saved.get("energy")
            if grid is not None and grid.get("serial") == serial and isinstance(energy, dict):
                energy = {**energy, "grid": grid.get("grid")}  # written with every batch: the newest
            return SiteEnergy.from_json(energy), serial if isinstance(serial, str) else None
        except EnphaseSecureError as err:
            self._log.error("saved energy state unreadable, day counters start afresh: %s", err)
            return None

    def keep(self, current: Callable[[], SiteState]) -> None:
        """``current()`` goes into the history's batches (see the module's docstring) and at close."""

        def whole() -> dict[str, Any]:
            serial, site = current()
            return {"serial": serial, "energy": site.to_json()}

        def grid() -> dict[str, Any]:
            serial, site = current()
            return {"serial": serial, "grid": site.grid.to_json()}

        # DayCounters.update keeps its base while the readings only move the counters on, and the
        # inverter estimates are a new object only once a report came: most ticks, both are as before.
        bases = last_call(base_marker)
        reports = last_call(reports_marker)

        def marker() -> tuple[object, ...]:
            serial, site = current()
            return serial, bases(site.counters.base), reports(site.inverters)

        self._storage.keep_state(SITE_STATE_KEY, whole, marker=marker)
        self._storage.keep_state(GRID_STATE_KEY, grid)
