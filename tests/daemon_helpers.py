"""Running the daemon in-process against the simulator, for every end-to-end test that starts one."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from enphase_secure.config import Config, parse_config
from enphase_secure.daemon.service import Daemon
from enphase_secure.simulator.server import Simulator


def daemon_config(sim: Simulator, state_dir: Path, *, timezone: str, **sections: dict[str, Any]) -> Config:
    data: dict[str, Any] = {
        "gateway": {"host": sim.host, "token_mode": "manual", "token": sim.issue_token()},
        "site": {"timezone": timezone},
        "storage": {"state_dir": str(state_dir)},
        "web": {"listen": "127.0.0.1:0"},
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    return parse_config(data)


@contextlib.asynccontextmanager
async def running(
    config: Config, *, clock: Callable[[], Any], monotonic: Callable[[], float] | None = None
) -> AsyncIterator[Daemon]:
    daemon = Daemon(config, clock=clock, monotonic=monotonic)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 30)
        yield daemon
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def fast_reads(daemon: Daemon) -> int:
    """The daemon's good fast reads so far (0 before its fast loop exists)."""
    reads: int = daemon.status()["loops"].get("fast", {}).get("reads", 0)
    return reads


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()
