"""Days of simulated time through the running daemon: DST day, a restart mid-day and an outage across
midnight; each day's figures per phase against the simulator's truth.

The simulator runs fast by day and slowly around midnight, so that the daemon's 1 s ticks are a few
simulated seconds apart when the day changes, as they are for real.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.simulator.live import LiveSource, load_scenario_source
from enphase_secure.simulator.server import run_simulator

PARIS = ZoneInfo("Europe/Paris")
DST_DAY = date(2025, 3, 30)  # 23 h long in Paris


def _speed_for(now: datetime) -> float:
    local = now.astimezone(PARIS)
    since = (local - datetime.combine(local.date(), time(0), PARIS)).total_seconds()
    until = (datetime.combine(local.date() + timedelta(days=1), time(0), PARIS) - local).total_seconds()
    if until <= 100 or since <= 60:
        return 20.0
    if until <= 3600:
        return 1800.0
    return 7200.0


async def _drive(source: LiveSource) -> None:
    while True:
        source.control_clock(speed=_speed_for(source.now()))
        await asyncio.sleep(0.02)


def _truth_day(truth: dict[str, Any], day: date) -> dict[str, Any]:
    return next(d for d in truth["days"] if d["date"] == day.isoformat())


async def test_days_per_phase_match_truth(tmp_path: Path) -> None:
    start = datetime(2025, 3, 29, 23, 30, tzinfo=PARIS)
    source = load_scenario_source("three-phase-battery", speed=20, start=start)
    driver = asyncio.create_task(_drive(source))
    try:
        async with run_simulator(source) as sim:
            config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
            async with running(config, clock=source.now):
                await wait_until(lambda: source.now() >= datetime(2025, 3, 30, 12, tzinfo=PARIS), timeout=60)
            # restarted mid-day (and down for a while): the new daemon picks up the saved state
            async with running(config, clock=source.now) as daemon:
                outage_at = datetime.combine(DST_DAY, time(23, 58, 30), PARIS)
                await wait_until(lambda: source.now() >= outage_at, timeout=60)
                sim.reboot(5.0)  # about 100 simulated seconds across midnight
                end = datetime(2025, 3, 31, 0, 20, tzinfo=PARIS)
                await wait_until(lambda: source.now() >= end, timeout=60)
                fresh = lambda: (s := daemon.latest_snapshot()) is not None and not s.staleness.stale  # noqa: E731
                await wait_until(fresh)
                site = daemon.site_energy
            truth = _truth_day(source.truth(), DST_DAY)
    finally:
        driver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await driver

    def ours(key: str) -> float:
        if key.startswith("consumption"):  # production + net on a net-CT site
            suffix = key.removeprefix("consumption")
            return (
                ours(f"production{suffix}")
                + ours(f"gateway.import{suffix}")
                - ours(f"gateway.export{suffix}")
            )
        return next(d.wh for d in site.counters.counters[key].history if d.day == DST_DAY)

    assert ours("production") == pytest.approx(truth["production"]["total"], rel=1e-3)
    gateway_consumption = (
        truth["consumption"]["total"] + truth["battery_charge"]["total"] - truth["battery_discharge"]["total"]
    )
    assert ours("consumption") == pytest.approx(gateway_consumption, rel=1e-3)
    for i in range(3):
        assert ours(f"production.phase{i + 1}") == pytest.approx(truth["production"]["phases"][i], rel=1e-3)
        consumption = (
            truth["consumption"]["phases"][i]
            + truth["battery_charge"]["phases"][i]
            - truth["battery_discharge"]["phases"][i]
        )
        assert ours(f"consumption.phase{i + 1}") == pytest.approx(consumption, rel=1e-3)
        for quantity in ("import", "export"):
            expected = truth[quantity]["phases"][i]
            assert ours(f"gateway.{quantity}.phase{i + 1}") == pytest.approx(expected, rel=1e-3, abs=1.0)
    assert ours("gateway.import") == pytest.approx(truth["import"]["total"], rel=1e-3)
    assert ours("gateway.export") == pytest.approx(truth["export"]["total"], rel=1e-3)
    for counter in site.counters.counters.values():
        assert all(d.wh >= 0 for d in counter.history)
