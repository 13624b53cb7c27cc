"""The gateway's probe remembered in the state dir: a restart polls without the full probe first,
re-checks it in the background, and notices a firmware change, a gateway that answers otherwise and
an unreadable file, which start as the first start does (the quick probe, test_daemon_first_start.py)
(issue 13: start-up at a real gateway's latencies)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon_helpers import daemon_config, fast_reads, get_json, running, wait_until
from enphase_secure.daemon.probe_memory import FILE_NAME
from enphase_secure.gateway import ensemble, meters
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.latency import latency_profile
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator

SLOW_PATHS = ("/production.json", ensemble.POWER_PATH, ensemble.INVENTORY_PATH)


def _meter_configs_before_slow_reads(sim: Simulator) -> int:
    """2: the remembered or quick probe's CT configuration, polling, then the background probe's
    before the slow reads (1 would be a full probe first)."""
    paths = [record.path for record in sim.requests.records()]
    first_slow = min(paths.index(path) for path in SLOW_PATHS)
    return paths[:first_slow].count(meters.METERS_PATH)


async def _start_twice(
    tmp_path: Path, edit: Callable[[dict[str, Any]], str] | None = None, *, latency: str = "none"
) -> tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A first start, ``edit`` of the remembered file (its new text), a restart: how the restart
    probed (_meter_configs_before_slow_reads), its first snapshot, its snapshot and status once every loop
    has read, and the remembered probe then."""
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source, latency=latency_profile(latency)) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 2)
        remembered = tmp_path / FILE_NAME
        if edit is not None:
            remembered.write_text(edit(json.loads(remembered.read_text())))
        sim.requests.clear()
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 1)
            _, first = await get_json(f"{daemon.web_url}/api/snapshot")
            # every test here ends with the battery read: by the background probe (its time, at real
            # latencies, depends on the machine's load), or the polling it restarted
            await wait_until(
                lambda: (
                    "storage" in daemon.status()["loops"]
                    and fast_reads(daemon) >= 4
                    and (s := daemon.latest_snapshot()) is not None
                    and s.storage is not None
                    and s.storage.soc_pct is not None
                ),
                timeout=30,
            )
            _, later = await get_json(f"{daemon.web_url}/api/snapshot")
            status = daemon.status()
        probes = _meter_configs_before_slow_reads(sim)
    return probes, first, later, {"status": status, "remembered": json.loads(remembered.read_text())}


async def test_a_restart_polls_from_the_remembered_probe_then_rechecks_it(tmp_path: Path) -> None:
    # At a real gateway's latencies /production.json alone takes 1 s: the first snapshot comes before.
    probes, first, later, seen = await _start_twice(tmp_path, latency="real")
    assert probes == 2
    assert first["production"]["power_w"] is not None  # the fast endpoint's figures at once
    assert first["storage"] is None or first["storage"]["soc_pct"] is None  # the slow ones null
    assert later["storage"]["soc_pct"] is not None  # the background probe's, soon after
    assert seen["remembered"]["iq_battery_count"] > 0


async def test_a_firmware_change_is_probed_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    def older_firmware(remembered: dict[str, Any]) -> str:
        assert remembered["firmware"] != "D7.0.1"
        return json.dumps({**remembered, "firmware": "D7.0.1"})

    probes, first, later, seen = await _start_twice(tmp_path, older_firmware)
    assert probes == 2  # the quick probe, polling, the full probe behind
    assert first["storage"] is None or first["storage"]["soc_pct"] is None
    assert later["storage"]["soc_pct"] is not None
    assert seen["remembered"]["firmware"] != "D7.0.1"  # remembered anew
    assert any("remembered" in r.getMessage() and "D7.0.1" in r.getMessage() for r in caplog.records)


async def test_a_gateway_answering_otherwise_than_remembered_is_polled_as_it_does_now(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def no_battery(remembered: dict[str, Any]) -> str:
        endpoints = [
            {**e, "available": False} if e["path"].startswith("/ivp/ensemble") else e
            for e in remembered["endpoints"]
        ]
        return json.dumps({**remembered, "iq_battery_count": 0, "endpoints": endpoints})

    probes, _, later, seen = await _start_twice(tmp_path, no_battery)
    assert probes == 2  # the remembered probe was used...
    # ...and the background probe found the battery: polled since ("storage" loop), remembered.
    assert "storage" in seen["status"]["loops"]
    assert later["storage"]["soc_pct"] is not None
    assert seen["remembered"]["iq_battery_count"] > 0
    assert any("no longer answers as at the last start" in r.getMessage() for r in caplog.records)


async def test_an_unreadable_remembered_probe_is_said_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    probes, _, later, seen = await _start_twice(tmp_path, lambda _: '{"version": 1, "host": ')
    assert probes == 2
    assert later["storage"]["soc_pct"] is not None
    assert seen["remembered"]["version"] == 1
    (line,) = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert str(tmp_path / FILE_NAME) in line
    assert "probing the gateway" in line


async def test_a_failing_background_probe_is_said_and_polling_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 2)
        # /production.json drops the connection: the background probe fails, the fast loop is fine
        sim.faults.add(Fault(FaultKind.RESET, paths=("/production.json",)))
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: any("background probe" in r.getMessage() for r in caplog.records))
            reads = fast_reads(daemon)
            await wait_until(lambda: fast_reads(daemon) >= reads + 2)
    assert not any("unexpected error" in r.getMessage() for r in caplog.records)
