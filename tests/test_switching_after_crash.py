"""kill -9 during an ``off`` action's retry, then restart: the relay still gets ``off``; SIGTERM with
``on_shutdown = "off"``: the relay gets ``off`` before the daemon exits.

Real subprocesses of ``enphase-secure run`` against the simulator, and a loopback relay that answers
the first ``off`` with 503.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator
from test_commands_daemon import _cli

NOON = datetime(2024, 6, 21, 12, tzinfo=ZoneInfo("Europe/Paris"))


class Relay:
    def __init__(self) -> None:
        self.got: list[str] = []
        self.offs_refused = 1

    async def handle(self, request: web.Request) -> web.Response:
        turn = request.query["turn"]
        self.got.append(turn)
        if turn == "off" and self.offs_refused:
            self.offs_refused -= 1
            return web.Response(status=503, text="busy")
        return web.Response(text="ok")


@pytest.fixture
async def relay() -> AsyncIterator[tuple[Relay, str]]:
    relay = Relay()
    app = web.Application()
    app.router.add_get("/relay", relay.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield relay, f"http://127.0.0.1:{server.port}/relay"
    finally:
        await server.close()


def _config(
    sim: Simulator,
    state_dir: Path,
    token_file: Path,
    relay_url: str,
    *,
    enabled: bool,
    on_shutdown: str = "leave",
) -> str:
    return f"""
[gateway]
host = "{sim.host}"
token_mode = "manual"
token_file = "{token_file}"
[site]
timezone = "Europe/Paris"
[storage]
state_dir = "{state_dir}"
[web]
listen = "127.0.0.1:0"
[[control.stages]]
name = "heater"
enabled = {str(enabled).lower()}
on_shutdown = "{on_shutdown}"
start_above_w = 50
stop_below_w = -100000
start_delay_s = 0
on = {{ http = {{ url = "{relay_url}?turn=on", method = "GET", retries = 0 }} }}
off = {{ http = {{ url = "{relay_url}?turn=off", method = "GET", retries = 1, retry_delay_s = 20 }} }}
"""


class Run:
    """``enphase-secure run -c CONFIG``, its log read as it comes (the pipe never fills up)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.log: list[str] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, config: Path) -> Run:
        return cls(await _cli("run", "-c", str(config)))

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.log.append(line.decode())

    async def api_url(self) -> str:
        def found() -> re.Match[str] | None:
            return next((m for line in self.log if (m := re.search(r"API on (http://[\d.:]+)", line))), None)

        await _until(lambda: found() is not None, what=self)
        match = found()
        assert match is not None
        return match.group(1)

    async def stop(self, signum: signal.Signals) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signum)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await self._reader
        return code


async def _until(condition: Callable[[], bool], *, what: Run, timeout: float = 30.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time; the daemon said:\n" + "".join(what.log))
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_kill_9_during_an_off_retry_then_restart_sends_off(
    tmp_path: Path, relay: tuple[Relay, str]
) -> None:
    recorder, relay_url = relay
    source = load_scenario_source("single-phase", speed=1, start=NOON)
    async with run_simulator(source) as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token())
        config = tmp_path / "config.toml"
        state_dir = tmp_path / "state"
        config.write_text(_config(sim, state_dir, token_file, relay_url, enabled=True))

        first = await Run.start(config)
        try:
            await first.api_url()
            await _until(lambda: recorder.got == ["on"], what=first)
            config.write_text(_config(sim, state_dir, token_file, relay_url, enabled=False))
            first.proc.send_signal(signal.SIGHUP)
            await _until(lambda: recorder.got == ["on", "off"], what=first)  # 503: its retry waits 20 s
            await asyncio.sleep(0.5)
        finally:
            killed = await first.stop(signal.SIGKILL)
        assert killed == -signal.SIGKILL

        second = await Run.start(config)
        try:
            url = await second.api_url()
            resent_after_s = await _until(lambda: recorder.got == ["on", "off", "off"], what=second)
            async with aiohttp.ClientSession() as http, http.get(f"{url}/api/control") as resp:
                (heater,) = (await resp.json())["stages"]
        finally:
            stopped = await second.stop(signal.SIGTERM)
    print(f"off re-sent {resent_after_s:.1f} s after the API of the restarted daemon answered")
    assert stopped == 0
    assert any("re-sent after a restart" in line for line in second.log)
    state = heater["state"]
    assert (state["on"], state["delivery"], state["confirmed_on"]) == (False, "confirmed", False)
    assert heater["running"] is False
    assert resent_after_s < 10


async def test_sigterm_applies_on_shutdown_off(tmp_path: Path, relay: tuple[Relay, str]) -> None:
    recorder, relay_url = relay
    recorder.offs_refused = 0
    source = load_scenario_source("single-phase", speed=1, start=NOON)
    async with run_simulator(source) as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token())
        config = tmp_path / "config.toml"
        config.write_text(
            _config(sim, tmp_path / "state", token_file, relay_url, enabled=True, on_shutdown="off")
        )
        daemon = await Run.start(config)
        try:
            await daemon.api_url()
            await _until(lambda: recorder.got == ["on"], what=daemon)
        finally:
            stopped = await daemon.stop(signal.SIGTERM)
    assert stopped == 0
    assert recorder.got == ["on", "off"]
    assert any('on_shutdown = "off"' in line for line in daemon.log)
