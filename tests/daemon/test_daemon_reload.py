"""Hot reload of a running daemon: the gateway section reconnects, the rest applies live, a bad file is
rejected and the old config stays in force."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from daemon_helpers import get_json, running, wait_until
from enphase_secure.config import load_config
from enphase_secure.daemon.reload import ConfigWatcher
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


def _config_text(host: str, token: str, state_dir: Path, *, metering: str = "gateway") -> str:
    return (
        f'[gateway]\nhost = "{host}"\ntoken_mode = "manual"\ntoken = "{token}"\n'
        f'[site]\ntimezone = "Europe/Paris"\ngrid_metering = "{metering}"\n'
        f'[storage]\nstate_dir = "{state_dir}"\n[web]\nlisten = "127.0.0.1:0"\n'
    )


async def test_reload_switches_gateway_and_metering_and_rejects_bad_file(tmp_path: Path) -> None:
    first = load_scenario_source("single-phase", speed=30)
    second = load_scenario_source("three-phase-battery", speed=30)
    async with run_simulator(first) as sim_a, run_simulator(second) as sim_b:
        file = tmp_path / "config.toml"
        _write(file, _config_text(sim_a.host, sim_a.issue_token(), tmp_path / "state"))
        config = load_config(file)
        async with running(config, clock=first.now) as daemon:
            watcher = ConfigWatcher(path=file, current=config, apply=daemon.apply_config, poll_s=0.1)
            task = asyncio.create_task(watcher.run())
            try:
                await wait_until(
                    lambda: (s := daemon.latest_snapshot()) is not None and not s.staleness.stale
                )
                assert daemon.latest_snapshot().gateway.serial == sim_a.serial  # type: ignore[union-attr]

                # live setting: metering changes without reconnecting
                _write(
                    file,
                    _config_text(sim_a.host, sim_a.issue_token(), tmp_path / "state", metering="balanced"),
                )
                await wait_until(lambda: daemon.status()["grid_metering"] == "balanced")
                await wait_until(lambda: daemon.latest_snapshot().grid.metering == "balanced")  # type: ignore[union-attr]

                # an invalid file: rejected, the old config stays, the daemon keeps polling
                _write(file, "[gateway]\nhost = 'x'\n[polling]\ninterval_s = 0\n")
                await wait_until(lambda: watcher.last_error is not None)
                assert "polling.interval_s" in (watcher.last_error or "")
                reads = daemon.status()["loops"]["fast"]["reads"]
                await wait_until(lambda: daemon.status()["loops"]["fast"]["reads"] > reads + 1)

                # the gateway section: reconnects to the other gateway
                _write(file, _config_text(sim_b.host, sim_b.issue_token(), tmp_path / "state"))
                await wait_until(
                    lambda: (s := daemon.latest_snapshot()) is not None and s.gateway.serial == sim_b.serial
                )
                assert daemon.web_url is not None
                _, status = await get_json(f"{daemon.web_url}/api/status")
                assert status["gateway"]["host"] == sim_b.host
                await wait_until(lambda: daemon.status()["gateway"]["phase_count"] == 3)  # the full probe
                # the other gateway's counters do not continue the first one's days
                production_today = daemon.latest_snapshot().production.today_wh  # type: ignore[union-attr]
                assert production_today is not None
                assert production_today < 1000  # a few simulated minutes, not the lifetime jump
                assert set(daemon.site_energy.counters.counters) >= {"gateway.import.phase3"}
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
