from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from enphase_secure.config import Config, load_config
from enphase_secure.daemon import reload
from enphase_secure.daemon.reload import ConfigWatcher

BASE = """
[gateway]
host = "127.0.0.1:1"
token_mode = "manual"
token = "a.b.c"
[polling]
interval_s = {interval}
"""


def _write(path: Path, interval: object) -> None:
    path.write_text(BASE.format(interval=interval))
    # make sure the mtime moves even on coarse file systems
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


async def _wait_for(predicate: object, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_file_change_applies_and_bad_config_keeps_old(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "c.toml"
    _write(file, 1)
    applied: list[Config] = []

    async def apply(config: Config) -> None:
        applied.append(config)

    watcher = ConfigWatcher(path=file, current=load_config(file), apply=apply, poll_s=0.05)
    task = asyncio.create_task(watcher.run())
    try:
        _write(file, 5)
        await _wait_for(lambda: len(applied) == 1)
        assert applied[0].polling.interval_s == 5
        with caplog.at_level(logging.ERROR):
            _write(file, 0.2)  # invalid: below 1 s
            await _wait_for(lambda: watcher.last_error is not None)
        assert "polling.interval_s" in caplog.text
        assert "previous one stays in force" in caplog.text
        assert watcher.current.polling.interval_s == 5
        assert len(applied) == 1
    finally:
        task.cancel()


async def test_sighup_reloads(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    _write(file, 1)
    applied: list[float] = []

    async def apply(config: Config) -> None:
        applied.append(config.polling.interval_s)

    watcher = ConfigWatcher(path=file, current=load_config(file), apply=apply, poll_s=3600)
    watcher.install_sighup()
    task = asyncio.create_task(watcher.run())
    try:
        file.write_text(BASE.format(interval=7))
        os.kill(os.getpid(), signal.SIGHUP)
        await _wait_for(lambda: applied == [7.0])
    finally:
        task.cancel()
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)


async def test_looks_on_the_callers_wake_ups_and_by_itself_once_they_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "c.toml"
    _write(file, 1)
    applied: list[float] = []

    async def apply(config: Config) -> None:
        applied.append(config.polling.interval_s)

    timer_looks: list[bool] = []  # per look at the file: by the watcher's timer (no task), or not
    seen = reload._fingerprint

    def looked(path: Path) -> tuple[int, int] | None:
        timer_looks.append(asyncio.current_task() is None)
        return seen(path)

    monkeypatch.setattr(reload, "_fingerprint", looked)
    watcher = ConfigWatcher(path=file, current=load_config(file), apply=apply, poll_s=0.5)
    task = asyncio.create_task(watcher.run())
    try:
        for tick in range(60):  # 3 s of a caller awake every 0.05 s, like the daemon's fast ticks
            await asyncio.sleep(0.05)
            watcher.poll()
            if tick == 20:
                _write(file, 5)
        assert applied == [5.0]
        assert len(timer_looks) >= 6
        assert not any(timer_looks)  # the watcher's own timer never fired
        _write(file, 7)
        await _wait_for(lambda: applied == [5.0, 7.0])  # no caller: the timer looks
        assert any(timer_looks)
    finally:
        task.cancel()
