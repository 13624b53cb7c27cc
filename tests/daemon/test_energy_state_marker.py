"""The saved energy state's change marker: an inverter report changes it, a tick that changes nothing
a restart could not redo does not (energy_state.py keeps the reports' part while their value stays)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from enphase_secure.daemon.energy_state import SITE_STATE_KEY, EnergyStateStore, SiteState
from enphase_secure.energy.daycounters import DayCounters
from enphase_secure.energy.inverter_estimate import InverterDay, InverterEstimates
from enphase_secure.energy.site import SiteEnergy


class _Kept:
    """What the storage guard is handed (its part of the interface)."""

    def __init__(self) -> None:
        self.markers: dict[str, Callable[[], object] | None] = {}

    def keep_state(
        self,
        key: str,
        current: Callable[[], Mapping[str, Any]],
        *,
        marker: Callable[[], object] | None = None,
    ) -> None:
        self.markers[key] = marker


def _report(at: datetime, watts: float) -> InverterEstimates:
    return InverterEstimates({"1221": InverterDay(date(2026, 6, 1), at, watts, 100.0, complete=True)})


def test_the_marker_follows_inverter_reports_and_only_them() -> None:
    kept = _Kept()
    state: list[SiteState] = [
        ("GW1", SiteEnergy(inverters=_report(datetime(2026, 6, 1, 10, tzinfo=UTC), 200)))
    ]
    store = EnergyStateStore(kept, clock=lambda: datetime.now(UTC), logger=logging.getLogger("t"))  # type: ignore[arg-type]
    store.keep(lambda: state[0])
    marker = kept.markers[SITE_STATE_KEY]
    assert marker is not None
    first = marker()
    assert marker() == first
    serial, site = state[0]
    state[0] = serial, replace(site, inverters=_report(datetime(2026, 6, 1, 10, tzinfo=UTC), 200))
    assert marker() == first  # a new value equal to the last one
    state[0] = serial, replace(site, inverters=_report(datetime(2026, 6, 1, 10, 5, tzinfo=UTC), 250))
    second = marker()
    assert second != first  # the next report
    state[0] = "GW2", state[0][1]
    assert marker() != second  # another gateway


def test_the_marker_follows_the_counters_base_not_their_last_readings() -> None:
    kept = _Kept()
    zone = ZoneInfo("Europe/Paris")
    noon = datetime(2026, 6, 1, 10, tzinfo=UTC)
    counters = DayCounters.empty().update({"production": 1000.0}, noon, zone)
    state: list[SiteState] = [("GW1", SiteEnergy(counters=counters))]
    store = EnergyStateStore(kept, clock=lambda: datetime.now(UTC), logger=logging.getLogger("t"))  # type: ignore[arg-type]
    store.keep(lambda: state[0])
    marker = kept.markers[SITE_STATE_KEY]
    assert marker is not None
    first = marker()
    moved = counters.update({"production": 1010.0}, noon + timedelta(seconds=1), zone)
    assert moved.base is counters.base
    state[0] = "GW1", SiteEnergy(counters=moved)
    assert marker() == first  # the last reading moved on: a restart redoes it
    next_day = moved.update({"production": 1500.0}, noon + timedelta(days=1), zone)
    state[0] = "GW1", SiteEnergy(counters=next_day)
    assert marker() != first  # a new day's baseline
