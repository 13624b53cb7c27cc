"""The controller loop of the daemon: state kept across a restart (no re-fire), dry run, outcomes stored."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from daemon_helpers import wait_until
from enphase_secure.config import control_plan, parse_config
from enphase_secure.daemon.control_loop import ControlLoop
from enphase_secure.energy.snapshot import EnergyFlow, GatewayIdentity, Grid, PhaseBalance, Snapshot
from enphase_secure.storage import History, open_history

START = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _config(action: dict[str, object], **stage: object) -> object:
    """One stage, ``heater``, running ``action`` for both on and off."""
    heater = {"name": "heater", "start_above_w": 1000, "stop_below_w": 100, "start_delay_s": 30}
    return parse_config(
        {
            "gateway": {"host": "127.0.0.1", "token_mode": "manual", "token": "a.b.c"},
            "control": {"stages": [{**heater, "on": action, "off": action, **stage}]},
        }
    )


def _marker_config(marker: Path) -> object:
    write = f"open({str(marker)!r}, 'a').write('$action\\n')"
    return _config({"command": {"argv": [sys.executable, "-c", write]}})


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
    config = _marker_config(marker)
    clock = _Clock()
    latest: list[Snapshot] = []
    async with await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history:
        loop = _loop(config, history, clock, latest)
        for _ in range(40):  # 2 kW of export for 40 s: on after the 30 s delay
            latest.append(_export(2000, clock.now))
            await loop.tick()
            clock.advance()
        await loop._runner.wait_idle()
        await asyncio.gather(*loop._pending)  # the confirmed delivery saved before the restart reads it
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
        loop = _loop(_marker_config(marker), history, clock, latest, dry_run=True)
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


class _Relay:
    """A loopback relay: answers the queued statuses first, then 200; records (monotonic s, turn)."""

    def __init__(self, clock: _Clock, statuses: list[int]) -> None:
        self.clock, self.statuses = clock, statuses
        self.got: list[tuple[float, str]] = []
        self.url = ""
        self.stalled = False  # hold the requests until the client gives up

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((self.clock.mono_s, request.query["turn"]))
        if self.stalled:
            await asyncio.Event().wait()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@contextlib.asynccontextmanager
async def _relay(clock: _Clock, statuses: list[int]) -> AsyncIterator[_Relay]:
    relay = _Relay(clock, statuses)
    app = web.Application()
    app.router.add_get("/relay", relay.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    relay.url = f"http://127.0.0.1:{server.port}/relay"
    try:
        yield relay
    finally:
        await server.close()


def _relay_config(relay: _Relay, **stage: object) -> object:
    action = {"http": {"url": f"{relay.url}?turn=$action", "method": "GET", "retries": 0}}
    return _config(action, **{"start_delay_s": 0, "stop_delay_s": 30, **stage})


async def _ticks(
    loop: ControlLoop, clock: _Clock, latest: list[Snapshot], seconds: int, export_w: float
) -> None:
    for _ in range(seconds):
        latest.append(_export(export_w, clock.now))
        await loop.tick()
        await loop._runner.wait_idle()
        clock.advance()


def _heater(loop: ControlLoop) -> dict[str, Any]:
    stage: dict[str, Any] = loop.view()["stages"][0]
    return stage


async def test_a_failed_switching_is_retried_with_backoff_until_confirmed(tmp_path: Path) -> None:
    clock, latest = _Clock(), []
    async with (
        _relay(clock, [503, 503]) as relay,
        await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history,
    ):
        loop = _loop(_relay_config(relay), history, clock, latest)
        await _ticks(loop, clock, latest, 1, 2000)
        heater = _heater(loop)
        assert (heater["state"]["on"], heater["state"]["delivery"], heater["running"]) == (
            True,
            "failed",
            False,
        )
        assert "HTTP 503" in heater["state"]["last_error"]
        assert heater["state"]["next_retry_at"] == (START + timedelta(seconds=5)).isoformat()
        await _ticks(loop, clock, latest, 30, 2000)
        heater = _heater(loop)
        assert (heater["state"]["delivery"], heater["state"]["confirmed_on"], heater["running"]) == (
            "confirmed",
            True,
            True,
        )
        assert relay.got == [(0.0, "on"), (5.0, "on"), (15.0, "on")]  # 5 s, then 10 s later
        events = await history.events(START, clock.now)
        assert [e.ok for e in events] == [False, False, True]


async def test_a_newer_intent_supersedes_a_failing_one(tmp_path: Path) -> None:
    clock, latest = _Clock(), []
    async with (
        _relay(clock, [503] * 100) as relay,
        await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history,
    ):
        loop = _loop(_relay_config(relay, stop_delay_s=0), history, clock, latest)
        await _ticks(loop, clock, latest, 3, 2000)
        relay.statuses.clear()
        await _ticks(loop, clock, latest, 30, 0)  # no surplus any more: off, and no more "on"
        assert [turn for _, turn in relay.got] == ["on", "off"]
        assert _heater(loop)["state"]["delivery"] == "confirmed"
        assert _heater(loop)["state"]["confirmed_on"] is False


async def test_an_intent_not_confirmed_before_a_crash_is_sent_at_the_next_start(tmp_path: Path) -> None:
    clock, latest = _Clock(), []
    async with (
        _relay(clock, [503]) as relay,
        await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history,
    ):
        config = _relay_config(relay)
        crashed = _loop(config, history, clock, latest)
        await _ticks(crashed, clock, latest, 1, 2000)  # on: 503, next try in 5 s... never: the daemon dies
        await asyncio.gather(*crashed._pending)
        clock.advance(1)
        restarted = _loop(config, history, clock, latest)
        await restarted.restore()
        assert _heater(restarted)["state"]["delivery"] == "failed"
        await _ticks(restarted, clock, latest, 1, 2000)
        assert relay.got == [(0.0, "on"), (2.0, "on")]
        assert _heater(restarted)["state"]["delivery"] == "confirmed"


async def test_a_reload_during_an_action_sends_it_again(tmp_path: Path) -> None:
    clock, latest = _Clock(), []
    async with (
        _relay(clock, []) as relay,
        await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history,
    ):
        config = _relay_config(relay)
        relay.stalled = True
        old = _loop(config, history, clock, latest)
        latest.append(_export(2000, clock.now))
        await old.tick()
        await wait_until(lambda: len(relay.got) == 1)
        await old._runner.aclose()  # what a reload does to the loop it replaces
        relay.stalled = False
        clock.advance()
        new = _loop(config, history, clock, latest)
        new.take_over(old.state)
        await _ticks(new, clock, latest, 1, 2000)
        assert relay.got == [(0.0, "on"), (1.0, "on")]
        assert _heater(new)["state"]["delivery"] == "confirmed"


@pytest.mark.parametrize(("on_shutdown", "sent"), [("off", ["on", "off"]), ("leave", ["on"])])
async def test_on_shutdown(tmp_path: Path, on_shutdown: str, sent: list[str]) -> None:
    clock, latest = _Clock(), []
    async with (
        _relay(clock, []) as relay,
        await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history,
    ):
        config = _relay_config(relay, on_shutdown=on_shutdown)
        loop = _loop(config, history, clock, latest)
        await _ticks(loop, clock, latest, 2, 2000)
        await loop.shutdown()
        assert [turn for _, turn in relay.got] == sent
        restarted = _loop(config, history, clock, latest)
        await restarted.restore()
        assert restarted.state.stage("heater").on is (on_shutdown == "leave")
        assert restarted.state.stage("heater").delivery == "confirmed"


@pytest.mark.parametrize(("restart", "off_at_s"), [(False, 32.0), (True, 42.0)])
async def test_a_wall_clock_step_back_does_not_hold_a_stop(
    tmp_path: Path, restart: bool, off_at_s: float
) -> None:
    """Without a restart the stop timer is untouched; a restart across the step restarts it (its 10 s
    so far are lost, the saved wall times being in the future), never an hour."""
    clock, latest = _Clock(), []
    async with (
        _relay(clock, []) as relay,
        await open_history(f"sqlite:///{tmp_path / 'h.db'}", clock=clock) as history,
    ):
        config = _relay_config(relay)
        loop = _loop(config, history, clock, latest)
        await _ticks(loop, clock, latest, 2, 2000)
        await _ticks(loop, clock, latest, 10, 0)  # the stop timer runs (stop_delay_s 30)
        clock.now -= timedelta(hours=1)
        if restart:
            loop = _loop(config, history, clock, latest)
            await loop.restore()
        await _ticks(loop, clock, latest, 40, 0)
        assert relay.got == [(0.0, "on"), (off_at_s, "off")]
