"""The whole energy pipeline (readers -> merge -> site accounting) over simulated days against the truth."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from site_run import Run

from enphase_secure.energy.site import SiteEnergy

PARIS = ZoneInfo("Europe/Paris")


def _day_totals(state: SiteEnergy, key: str) -> dict[date, float]:
    counters = state.counters.counters
    if key not in counters and key.startswith("consumption"):  # production + net on a net-CT site
        suffix = key.removeprefix("consumption")
        made, imported, exported = (
            _day_totals(state, f"{name}{suffix}")
            for name in ("production", "gateway.import", "gateway.export")
        )
        return {day: made[day] + imported[day] - exported[day] for day in made}
    return {d.day: d.wh for d in counters[key].history}


def _truth_day(truth: Mapping[str, Any], day: date) -> Mapping[str, Any]:
    return next(d for d in truth["days"] if d["date"] == day.isoformat())


def _total(block: Mapping[str, Any], quantity: str) -> float:
    """A truth quantity as the gateway defines it: its total consumption is production + net, so a
    battery behind the net CT counts in it (charging adds, discharging subtracts)."""
    if quantity == "consumption":
        return float(
            block["consumption"]["total"]
            + block["battery_charge"]["total"]
            - block["battery_discharge"]["total"]
        )
    return float(block[quantity]["total"])


@pytest.mark.parametrize(
    ("scenario", "zone", "dst_day"),
    [
        ("three-phase-battery", "Europe/Paris", date(2025, 3, 30)),
        ("single-phase", "Europe/Paris", date(2025, 10, 26)),  # fall back: a 25 h day
        ("split-phase-total", "America/Los_Angeles", date(2025, 3, 9)),
    ],
)
async def test_days_match_truth_across_dst_outage_and_restart(
    scenario: str, zone: str, dst_day: date
) -> None:
    tz = ZoneInfo(zone)
    day_after = dst_day + timedelta(days=1)
    run = Run(scenario, datetime.combine(dst_day - timedelta(days=1), time(12), tz), tz)
    await run.start()
    await run.run_for(14 * 3600)  # to 2025-03-30 02:00 local (past the DST jump)
    # restart: state through JSON, readings read again
    run.state = SiteEnergy.from_json(run.state.to_json())
    await run.run_for(20 * 3600)
    # an outage across the next midnight (23:30 to 00:45)
    outage = (datetime.combine(dst_day, time(23, 30), tz), datetime.combine(day_after, time(0, 45), tz))
    has_grid_counters = scenario != "split-phase-total"
    # no counter can bridge an outage where import/export are only integrated: no outage there
    await run.run_for(30 * 3600, outage=outage if has_grid_counters else None)
    truth = run.source.truth()
    phases = truth["phase_count"]
    assert has_grid_counters == ("gateway.import" in run.state.counters.counters)
    grid_prefix = "gateway" if has_grid_counters else "phases"

    checks = {
        "production": "production",
        "consumption": "consumption",
        f"{grid_prefix}.import": "import",
        f"{grid_prefix}.export": "export",
    }
    for key, quantity in checks.items():
        ours = _day_totals(run.state, key)
        # DST day + the day after, across the outage: conserved in sum (interpolated split)
        both = ours[dst_day] + ours[day_after]
        true_both = _total(_truth_day(truth, dst_day), quantity) + _total(
            _truth_day(truth, day_after), quantity
        )
        assert both == pytest.approx(true_both, rel=1e-3, abs=1.0), key
    # per phase, over the same two days
    for i in range(phases):
        for quantity in ("import", "export"):
            key = f"{grid_prefix}.{quantity}.phase{i + 1}"
            ours = _day_totals(run.state, key)
            true_sum = sum(_truth_day(truth, d)[quantity]["phases"][i] for d in (dst_day, day_after))
            assert ours[dst_day] + ours[day_after] == pytest.approx(true_sum, rel=1e-3, abs=1.0)
    assert run.snapshot is not None
    # the day after the outage is flagged estimated, never negative
    for counter in run.state.counters.counters.values():
        assert all(d.wh >= 0 for d in counter.history)
    closed = {d.day: d for d in run.state.counters.counters["production"].history}
    assert closed[day_after].estimated == has_grid_counters  # only the outage makes a day estimated
    assert not closed[dst_day - timedelta(days=1)].complete  # counting started at noon


async def test_today_exact_per_phase_and_balanced_differs_on_three_phase() -> None:
    run = Run("three-phase-battery", datetime(2024, 5, 15, 0, 0, 30, tzinfo=PARIS), PARIS)
    await run.start()
    await run.run_for(23.9 * 3600)
    truth = run.source.truth()["today"]
    snap = run.snapshot
    assert snap is not None
    # today started with the first reading 30 s after midnight: the first minute is missing
    assert snap.production.today_wh == pytest.approx(truth["production"]["total"], rel=1e-3, abs=1.0)
    assert snap.grid.import_today_wh == pytest.approx(truth["import"]["total"], rel=1e-3, abs=5.0)
    assert snap.grid.export_today_wh == pytest.approx(truth["export"]["total"], rel=1e-3, abs=5.0)
    for i, phase in enumerate(snap.grid.phases):
        assert phase.import_today_wh == pytest.approx(truth["import"]["phases"][i], rel=1e-3, abs=5.0)
        assert phase.export_today_wh == pytest.approx(truth["export"]["phases"][i], rel=1e-3, abs=5.0)
    # consumption is the house's load; the gateway's own figure counts the battery behind the net CT
    assert snap.consumption.today_wh == pytest.approx(truth["consumption"]["total"], rel=1e-3, abs=5.0)
    assert snap.gateway_consumption.today_wh == pytest.approx(_total(truth, "consumption"), rel=1e-3, abs=5.0)
    for i, today_wh in enumerate(snap.consumption.phases_today_wh):
        expected = truth["consumption"]["phases"][i]
        assert today_wh == pytest.approx(expected, rel=1e-3, abs=15.0)  # the first minute is missing
    assert snap.grid.metering == "gateway"
    balanced = snap.grid.alternative
    assert balanced is not None
    assert balanced.metering == "balanced"
    assert balanced.import_today_wh is not None
    assert balanced.export_today_wh is not None
    # balanced nets the phases: less of both than per-phase counting, same net
    assert balanced.import_today_wh < snap.grid.import_today_wh
    assert balanced.export_today_wh < snap.grid.export_today_wh
    net_per_phase = snap.grid.import_today_wh - snap.grid.export_today_wh
    assert balanced.import_today_wh - balanced.export_today_wh == pytest.approx(net_per_phase, rel=2e-2)
    assert snap.net_consumption.today_wh == pytest.approx(net_per_phase, abs=0.01)
    # inverter estimates exist and are close to the truth of the day's production
    inverters_today = sum(inv.today_wh or 0.0 for inv in snap.inverters)
    assert inverters_today == pytest.approx(truth["production"]["total"], rel=0.05)
