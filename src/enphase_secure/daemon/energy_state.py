"""The day counters' saved state: restored at start, written with every history batch and at stop.

A restart, a crash or an outage loses no energy; a state that cannot be read starts the days afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..energy.site import SiteEnergy
from ..errors import EnphaseSecureError
from .storage_guard import StorageGuard

SITE_STATE_KEY = "site_energy"


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

    def keep(self, current: Callable[[], Mapping[str, Any]]) -> None:
        """``current()`` goes into every history batch's transaction (about once a minute) and at close."""
        self._storage.keep_state(SITE_STATE_KEY, current)
