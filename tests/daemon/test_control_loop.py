"""The controller loop of the daemon: state kept across a restart (no re-fire), dry run, outcomes stored."""

from __future__ import annotations

import logging
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from enphase_secure.config import control_plan, parse_config
from enphase_secure.daemon.control_loop import ControlLoop
from enphase_secure.energy.snapshot import EnergyFlow, GatewayIdentity, Grid, PhaseBalance, Snapshot
from enphase_secure.storage import History, open_history

START = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _config(marker: Path) -> object:
    write = f"open({str(marker)!r}, 'a').write('$action\\n')"
    return parse_config(
        {
            "gateway": {"host": "127.0.0.1", "token_mode": "manual", "token": "a.b.c"},
            "control": {
                "stages": [
                    {
                        "name": "heater",
                        "start_above_w": 1000,
                        "stop_below_w": 100,
                        "start_delay_s": 30,
                        "on": {"command": {"argv": [sys.executable, "-c", write]}},
                        "off": {"command": {"argv": [sys.executable, "-c", write]}},
                    }
                ]
            },
        }
    )


def _export(watts: float, at: datetime) -> Snapshot:
    return Snapshot(
        time=at,
        gateway=GatewayIdentity("1", None, None),
        phase_mode="single",
        phase_count=1,
        production=EnergyFlow(power_w=watts + 300),
        consumption=EnergyFlow(power_w=300.0),
        net_consumption=EnergyFlow(power_w=-watts),
        storage=None,
        grid=Grid(import_w=0.0, export_w=watts, phases=(PhaseBalance(0.0, watts),)),
    )


class _Clock:
    """The wall clock (``now``, may be stepped) and a monotonic one that only moves with ``advance``."""

    def __init__(self) -> None:
        self.now = START
        self.mono_s = 0.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono_s

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono_s += seconds


def _loop(
    config: object, history: History, clock: _Clock, latest: list[Snapshot], *, dry_run: bool = False
) -> ControlLoop:
    settings, actions = control_plan(config)  # type: ignore[arg-type]
    return ControlLoop(
        settings=replace(settings, dry_run=dry_run),
        actions=actions,
        history=history,
        latest=lambda: latest[-1] if latest else None,
        interval_s=1.0,
        clock=clock,
        monotonic=clock.monotonic,
        logger=logging.getLogger("test.control"),
    )


async def test_restart_neither_refires_nor_forgets(tmp_path: Path) -> None:
    marker = tmp_path / "switched"
    config = _config(marker)
    clock = _Clock()
    latest: list[Snapshot] = []
    async with await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history:
        loop = _loop(config, history, clock, latest)
        for _ in range(40):  # 2 kW of export for 40 s: on after the 30 s delay
            latest.append(_export(2000, clock.now))
            await loop.tick()
            clock.advance()
        await loop._runner.wait_idle()
        assert marker.read_text() == "on\n"
        assert loop.state.stage("heater").on

        restarted = _loop(config, history, clock, latest)
        await restarted.restore()
        assert restarted.state.stage("heater").on
        for _ in range(10):
            latest.append(_export(2000, clock.now))
            assert await restarted.tick() == ()
            clock.advance()
        assert marker.read_text() == "on\n"  # not fired again
        events = await history.events(START, clock.now + timedelta(seconds=1))
        assert [(e.stage, e.ok) for e in events] == [("heater", True)]
        assert events[0].action.startswith("on command")


async def test_dry_run_decides_but_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "switched"
    clock = _Clock()
    latest: list[Snapshot] = []
    async with await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history:
        loop = _loop(_config(marker), history, clock, latest, dry_run=True)
        issued = []
        for _ in range(40):
            latest.append(_export(2000, clock.now))
            issued += await loop.tick()
            clock.advance()
        await loop._runner.wait_idle()
        assert [(c.action, c.dry_run) for c in issued] == [("on", True)]
        assert not marker.exists()
        view = loop.view()
        assert view["dry_run"] is True
        assert view["stages"][0]["last_decision"]["dry_run"] is True
        assert [o["status"] for o in view["stages"][0]["last_outcomes"]] == ["skipped"]
