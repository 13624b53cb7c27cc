"""The wall-clock guard: a forward glitch is ignored (history and day figures intact), a lasting step
is trusted after CONFIRM_S, a step back at once. Pure table, then the running daemon."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.daemon.clock_guard import CONFIRM_S, ClockTrust, Verdict, judge
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator

T0 = datetime(2026, 12, 1, 20, tzinfo=UTC)
DAY_S = 86_400.0


def verdicts(wall_offsets_s: list[tuple[float, float]]) -> list[Verdict]:
    """(monotonic s, wall-clock step in force) per reading, one a second from T0."""
    trust, seen = ClockTrust(), []
    for mono_s, step_s in wall_offsets_s:
        trust, verdict = judge(trust, T0 + timedelta(seconds=mono_s + step_s), mono_s)
        seen.append(verdict)
    return seen


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        pytest.param([(t, 0.0) for t in range(5)], ["trusted"] * 5, id="a steady clock"),
        pytest.param(
            [(0, 0.0), (1, 8 * DAY_S), *((t, 8 * DAY_S) for t in range(2, 11)), (11, 0.0), (12, 0.0)],
            ["trusted", "jumped", *["ignored"] * 9, "trusted", "trusted"],
            id="+8 days for 10 s: ignored, then trusted again",
        ),
        pytest.param(
            [(0, 0.0), (1, 3600.0), (30, 3600.0), (1 + CONFIRM_S, 3600.0), (62, 3600.0)],
            ["trusted", "jumped", "ignored", "accepted", "trusted"],
            id="a lasting step forward (NTP after boot) trusted after CONFIRM_S",
        ),
        pytest.param(
            [(0, 0.0), (1, -3600.0), (2, -3600.0)], ["trusted"] * 3, id="a step back is trusted at once"
        ),
        pytest.param(
            [(0, 0.0), (1, 0.5), (2, 90.0), (3, 100.0)], ["trusted"] * 4, id="drift and small steps"
        ),
        pytest.param(
            [(0, 0.0), (1, DAY_S), (2, 9 * DAY_S), (3, 9 * DAY_S)],
            ["trusted", "jumped", "jumped", "ignored"],
            id="a jump to another time restarts the confirmation",
        ),
    ],
)
def test_judge(readings: list[tuple[float, float]], expected: list[Verdict]) -> None:
    assert verdicts(readings) == expected


async def test_a_forward_glitch_keeps_history_and_day_figures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    step = [timedelta(0)]

    def wall() -> datetime:
        return datetime.now(UTC) + step[0]

    source = load_scenario_source("single-phase", speed=1)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        with caplog.at_level(logging.WARNING):
            async with running(config, clock=wall, monotonic=time.monotonic) as daemon:
                started = wall()
                await wait_until(lambda: daemon.latest_snapshot() is not None, timeout=20)
                await asyncio.sleep(3)
                before = daemon.latest_snapshot()
                assert before is not None
                assert before.production.today_wh is not None
                raw_before = await daemon.history(
                    ["production_w"], started - timedelta(minutes=1), wall(), "raw"
                )

                step[0] = timedelta(days=8)
                glitch_end = time.monotonic() + 10
                await wait_until(lambda: time.monotonic() > glitch_end, timeout=20)
                step[0] = timedelta(0)
                reads = daemon.status()["loops"]["fast"]["reads"]
                await wait_until(lambda: daemon.status()["loops"]["fast"]["reads"] >= reads + 2, timeout=20)
                await asyncio.sleep(1.5)

                after = daemon.latest_snapshot()
                raw_after = await daemon.history(
                    ["production_w"], started - timedelta(minutes=1), wall(), "raw"
                )
                future = await daemon.history(
                    ["production_w"], wall() + timedelta(hours=1), wall() + timedelta(days=9), "raw"
                )
    assert after is not None
    assert after.time < datetime.now(UTC) + timedelta(minutes=1)
    assert after.production.today_wh is not None
    assert after.production.today_wh >= before.production.today_wh  # type: ignore[operator]
    kept = {p.time for p in raw_before.points}
    assert len(kept) >= 3
    assert kept <= {p.time for p in raw_after.points}  # nothing pruned by the glitch
    assert len(raw_after.points) > len(raw_before.points)  # and readings resumed after it
    assert future.points == ()
    jumps = [r for r in caplog.records if "wall clock jumped" in r.getMessage()]
    assert len(jumps) == 1
