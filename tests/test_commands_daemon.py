"""`enphase-secure demo` and `enphase-secure run` as a user starts them: real subprocesses."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


async def _cli(*args: str) -> asyncio.subprocess.Process:
    """``enphase-secure ARGS`` as a user runs it, with both outputs captured."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "enphase_secure.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _read_line(proc: asyncio.subprocess.Process, pattern: str, timeout: float = 20.0) -> re.Match[str]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
        if match := re.search(pattern, line.decode()):
            return match
    raise AssertionError(f"no line matching {pattern!r}")


async def _snapshot_when_ready(url: str, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(url) as resp:
                if resp.status == 200:
                    body: dict[str, object] = await resp.json()
                    return body
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never answered 200")


async def test_demo_serves_snapshots_and_stops_cleanly() -> None:
    proc = await _cli("demo", "--listen", "127.0.0.1:0", "--speed", "60")
    try:
        match = await _read_line(proc, r"API (http://127\.0\.0\.1:\d+)/api/snapshot")
        body = await _snapshot_when_ready(f"{match.group(1)}/api/snapshot")
        assert body["phase_count"] == 1
        assert isinstance(body["production"], dict)
        assert body["production"]["power_w"] is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0


async def test_run_with_config_file_and_bad_config_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[gateway]\nhost = "127.0.0.1"\ntoken_mode = "manual"\n[polling]\ninterval_s = 0.5\n')
    proc = await _cli("run", "-c", str(bad))
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert b"polling.interval_s" in err
    assert b"needs token or token_file" in err

    source = load_scenario_source("single-phase", speed=30)
    async with run_simulator(source) as sim:
        token_file = tmp_path / "token"
        token_file.write_text(sim.issue_token())
        config = tmp_path / "config.toml"
        config.write_text(
            f'[gateway]\nhost = "{sim.host}"\ntoken_mode = "manual"\ntoken_file = "{token_file}"\n'
            f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[web]\nlisten = "127.0.0.1:0"\n'
            '[log]\nlevel = "DEBUG"\n'
        )
        proc = await _cli("run", "-c", str(config))
        assert proc.stderr is not None
        try:
            url = None
            deadline = time.monotonic() + 20
            lines: list[str] = []
            while url is None and time.monotonic() < deadline:
                line = (await asyncio.wait_for(proc.stderr.readline(), 20)).decode()
                lines.append(line)
                if found := re.search(r"API on (http://127\.0\.0\.1:\d+)", line):
                    url = found.group(1)
            assert url is not None, lines
            body = await _snapshot_when_ready(f"{url}/api/snapshot")
            gateway = body["gateway"]
            assert isinstance(gateway, dict)
            assert gateway["serial"] == sim.serial
            assert gateway["firmware"]
        finally:
            proc.send_signal(signal.SIGTERM)
            rest = await asyncio.wait_for(proc.stderr.read(), 20)
            await asyncio.wait_for(proc.wait(), 20)
        assert proc.returncode == 0
        log = "".join(lines) + rest.decode()
        assert token_file.read_text() not in log  # the token never reaches the log, even at DEBUG
        assert re.search(r"event loop: (uvloop|asyncio)\n", log)
        assert "state" in {p.name for p in tmp_path.iterdir()}
        assert (tmp_path / "state" / "history.db").exists()


async def test_run_with_a_taken_port_says_so_and_exits_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "config.toml"
        config.write_text(
            '[gateway]\nhost = "127.0.0.1:1"\ntoken_mode = "manual"\ntoken = "a.b.c"\n'
            f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[web]\nlisten = "127.0.0.1:{port}"\n'
        )
        proc = await _cli("run", "-c", str(config))
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert f"web.listen '127.0.0.1:{port}': cannot listen there" in err.decode()
    assert "Traceback" not in err.decode()
