"""The day counters' saved state: restored at start, saved every ``SAVE_EVERY_S`` and at stop.

A restart, a crash or an outage loses no energy; a state that cannot be read starts the days afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..energy.site import SiteEnergy
from ..errors import EnphaseSecureError
from .storage_guard import StorageGuard

SITE_STATE_KEY = "site_energy"
SAVE_EVERY_S = 30.0


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
        self._last_saved: datetime | None = None

    async def restore(self) -> tuple[SiteEnergy, str | None] | None:
        """The saved counters and the serial of the gateway they follow; None: start afresh."""
        if self._storage.history is None:
            return None  # already reported by the storage guard
        try:
            saved = await self._storage.read(lambda history: history.get_state(SITE_STATE_KEY))
            if saved is None:
                return None
            serial = saved.get("serial")
            return SiteEnergy.from_json(saved.get("energy")), serial if isinstance(serial, str) else None
        except EnphaseSecureError as err:
            self._log.error("saved energy state unreadable, day counters start afresh: %s", err)
            return None

    async def save(self, site: SiteEnergy, serial: str | None, *, force: bool = False) -> None:
        now = self._clock()
        if not force and self._last_saved and (now - self._last_saved).total_seconds() < SAVE_EVERY_S:
            return
        state = {"serial": serial, "energy": site.to_json()}
        if await self._storage.write("saving the energy state", lambda h: h.put_state(SITE_STATE_KEY, state)):
            self._last_saved = now
