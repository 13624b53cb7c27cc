"""The daemon against the simulator over HTTPS: polling, API, stale data, requests per tick."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon_helpers import daemon_config, get_json, running, wait_until
from enphase_secure.daemon import service
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


async def test_polls_serves_api_and_goes_stale_never_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "REBOOT_CHECK_AFTER_S", 1.0)  # not the 5 s of the daemon
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            # the first snapshots come before the full probe (issue 13): the battery once it landed
            await wait_until(
                lambda: (
                    (s := daemon.latest_snapshot()) is not None
                    and not s.staleness.stale
                    and s.storage is not None
                    and s.storage.soc_pct is not None
                )
            )
            assert daemon.web_url is not None
            status, body = await get_json(f"{daemon.web_url}/api/snapshot")
            assert status == 200
            assert body["gateway"]["serial"] == sim.serial
            assert body["phase_count"] == 3
            assert body["production"]["power_w"] is not None
            assert len(body["grid"]["phases"]) == 3
            assert body["storage"]["soc_pct"] is not None
            assert body["stale"] is False
            # one request per fast tick: only /ivp/meters/readings in steady state
            sim.requests.clear()
            await wait_until(lambda: daemon.status()["loops"]["fast"]["reads"] >= 4, timeout=10)
            reads_before = daemon.status()["loops"]["fast"]["reads"]
            sim.requests.clear()
            await wait_until(lambda: daemon.status()["loops"]["fast"]["reads"] >= reads_before + 3)
            per_path = sim.requests.per_path()
            readings = per_path.get("/ivp/meters/readings", 0)
            ticks = daemon.status()["loops"]["fast"]["reads"] - reads_before
            assert readings in (ticks, ticks + 1)  # a read may be in flight at either end
            assert set(per_path) <= {
                "/ivp/meters/readings",
                "/ivp/ensemble/power",
                "/ivp/ensemble/secctrl",
                "/ivp/ensemble/inventory",
                "/production.json",
            }

            # the history API: the ticks just polled, and mistakes named
            status, series = await get_json(
                f"{daemon.web_url}/api/history?fields=production_w,grid_import_today_wh&resolution=raw"
            )
            assert status == 200
            assert series["resolution"] == "raw"
            assert len(series["points"]) >= 4
            assert all(p["production_w"]["value"] is not None for p in series["points"])
            status, error = await get_json(f"{daemon.web_url}/api/history?fields=nope_w")
            assert status == 400
            assert "nope_w" in error["error"]
            status, error = await get_json(
                f"{daemon.web_url}/api/history?fields=production_w&start=yesterday"
            )
            assert (status, error["error"]) == (400, "start: 'yesterday' is not an ISO 8601 time")

            # the gateway stops answering: powers go null and stale, energies stay, never 0
            sim.faults.add(Fault(kind=FaultKind.STATUS, status=503))
            await wait_until(lambda: (s := daemon.latest_snapshot()) is not None and s.staleness.stale)
            status, body = await get_json(f"{daemon.web_url}/api/snapshot")
            assert body["stale"] is True
            assert body["stale_reason"]
            assert body["production"]["power_w"] is None
            assert body["grid"]["import_w"] is None
            assert all(p is None for p in body["net_consumption"]["phases_w"])
            assert body["production"]["lifetime_wh"] is not None
            assert all(m["voltage_v"] is None and m["power_w"] is None for m in body["meters"])
            assert body["storage"]["soc_pct"] is None
            _, status_body = await get_json(f"{daemon.web_url}/api/status")
            assert status_body["stale"] is True
            assert status_body["loops"]["fast"]["failures"] >= 1
            assert "503" in status_body["loops"]["fast"]["error"]

            await asyncio.sleep(service.REBOOT_CHECK_AFTER_S)  # long enough to have been a reboot
            sim.requests.clear()
            sim.faults.clear()
            await wait_until(
                lambda: (s := daemon.latest_snapshot()) is not None and not s.staleness.stale, timeout=20
            )
            assert daemon.latest_snapshot().production.power_w is not None  # type: ignore[union-attr]
            # an outage that long may have been a reboot into new firmware: /info is read again
            await wait_until(lambda: sim.requests.per_path().get("/info", 0) >= 1, timeout=5)
