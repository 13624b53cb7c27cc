"""The daemon when its storage fails: corrupt history.db, read-only state dir, full disk (issue 10).

The read-only and full-disk cases mount a tiny tmpfs, which needs root (the test machine and
scripts/test run as root).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon_helpers import daemon_config, fast_reads, get_json, running, wait_until
from enphase_secure.daemon import storage_guard
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@contextlib.contextmanager
def tmpfs(path: Path, *, size: str, read_only: bool = False) -> Iterator[Path]:
    path.mkdir()
    options = f"size={size},mode=0700" + (",ro" if read_only else "")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def _fill(path: Path) -> Path:
    filler = path / "filler"
    with filler.open("wb", buffering=0) as file:  # unbuffered: nothing left to fail at close
        try:
            while True:
                file.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def _storage_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "history" in r.getMessage()
    ]


async def test_corrupt_history_is_moved_aside_and_a_new_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = b"this is not a SQLite database " * 200
    (tmp_path / "history.db").write_bytes(garbage)
    source = load_scenario_source("single-phase", speed=10)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 3)
            _, status = await get_json(f"{daemon.web_url}/api/status")
            _, snapshot = await get_json(f"{daemon.web_url}/api/snapshot")
            # a time without an offset is read in the site's zone (Paris is 1 or 2 h from UTC)
            local = source.now().astimezone(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
            window = f"start={local - timedelta(minutes=30)}&end={local + timedelta(minutes=30)}".replace(
                " ", "T"
            )
            code, series = await get_json(
                f"{daemon.web_url}/api/history?fields=production_w&resolution=raw&{window}"
            )
    assert snapshot["stale"] is False
    history = status["history"]
    assert (history["ok"], history["error"]) == (True, None)
    aside = Path(history["moved_aside"])
    assert aside.parent == tmp_path
    assert aside.name.startswith("history.db.corrupt-")
    assert aside.read_bytes() == garbage  # kept as it was, never deleted
    assert code == 200
    assert len(series["points"]) >= 1  # the new history receives the ticks
    assert all(p["time"].endswith(("+01:00", "+02:00")) for p in series["points"])  # in the site's zone
    assert any("kept as" in r.getMessage() for r in caplog.records)


@needs_root
async def test_read_only_state_dir_polls_serves_and_reopens_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_guard, "REOPEN_EVERY_S", 1.0)
    source = load_scenario_source("single-phase", speed=10)
    with tmpfs(tmp_path / "state", size="4m", read_only=True) as state:
        async with run_simulator(source) as sim:
            config = daemon_config(sim, state, timezone="Europe/Paris")
            async with running(config, clock=source.now) as daemon:
                await wait_until(lambda: fast_reads(daemon) >= 3)
                _, status = await get_json(f"{daemon.web_url}/api/status")
                _, snapshot = await get_json(f"{daemon.web_url}/api/snapshot")
                assert snapshot["stale"] is False
                assert status["history"]["ok"] is False
                assert "history unavailable" in status["history"]["error"]
                await asyncio.sleep(3)  # several reopen attempts: still one log line
                assert len(_storage_errors(caplog)) == 1
                subprocess.run(["mount", "-o", "remount,rw", str(state)], check=True)
                await wait_until(lambda: daemon.status()["history"]["ok"], timeout=20)
                assert (state / "history.db").exists()


@needs_root
async def test_full_disk_logs_once_keeps_polling_and_resumes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = load_scenario_source("single-phase", speed=10)
    with tmpfs(tmp_path / "state", size="2m") as state:
        async with run_simulator(source) as sim:
            config = daemon_config(sim, state, timezone="Europe/Paris")
            async with running(config, clock=source.now) as daemon:
                url = f"{daemon.web_url}/api/history?fields=production_w&resolution=raw"
                await wait_until(lambda: fast_reads(daemon) >= 3)
                _, before = await get_json(url)
                stored = [p["time"] for p in before["points"]]
                assert stored
                filler = _fill(state)
                await wait_until(lambda: daemon.status()["history"]["error"] is not None, timeout=30)
                reads = daemon.status()["loops"]["fast"]["reads"]
                await asyncio.sleep(4)
                status = daemon.status()
                assert status["loops"]["fast"]["reads"] >= reads + 2  # polling goes on
                assert status["history"]["failed_writes"] >= 2
                assert "full" in status["history"]["error"]
                _, snapshot = await get_json(f"{daemon.web_url}/api/snapshot")
                assert snapshot["stale"] is False
                assert len(_storage_errors(caplog)) == 1  # one line per state change, not per tick
                filler.unlink()
                await wait_until(lambda: daemon.status()["history"]["error"] is None, timeout=30)
                _, after = await get_json(url)
    times = [p["time"] for p in after["points"]]
    assert set(stored) <= set(times)  # nothing already stored was lost
    assert max(times) > max(stored)  # and writing resumed
    assert any("works again" in r.getMessage() for r in caplog.records)
