"""The very first start (no remembered probe): the quick probe (/info, the token, /ivp/meters) starts
the 1 s loop, the first snapshot has the slow figures null, and the full probe behind it brings them
and the slow loops (issue 13: start-up at a real gateway's latencies)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from daemon_helpers import daemon_config, fast_reads, running, wait_until
from enphase_secure.daemon.probe_memory import FILE_NAME
from enphase_secure.daemon.service import Daemon
from enphase_secure.gateway import meters, production
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.latency import latency_profile
from enphase_secure.simulator.live import LiveSource, load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator

QUICK_PROBE = ["/auth/check_jwt", "/info", meters.METERS_PATH]
SLOW_LOOPS = frozenset({"info", "inverters", "storage", "production"})


class WallAt:
    """The daemon's clock (the simulator's time), noting the wall time of each reading of it: the
    simulator logs its requests in wall time, so this tells which ones came before a snapshot."""

    def __init__(self, source: LiveSource) -> None:
        self._source = source
        self._wall: dict[datetime, float] = {}

    def __call__(self) -> datetime:
        now = self._source.now()
        self._wall[now] = time.time()
        return now

    def requests_before(self, sim: Simulator, snapshot: dict[str, Any]) -> list[str]:
        made = self._wall[datetime.fromisoformat(snapshot["time"])]
        return [record.path for record in sim.requests.records() if record.started_at_s < made]


@dataclass(frozen=True, slots=True)
class FirstStart:
    before: list[str]  # the requests before the first snapshot
    first: dict[str, Any]  # the first snapshot
    later: dict[str, Any]  # a snapshot after the full probe
    status: dict[str, Any]  # /api/status then
    fast_reads: list[int]  # counted along the way
    requests: list[tuple[str, int]]  # every request: path, status (0: connection dropped)


async def _first_start(
    source: LiveSource,
    tmp_path: Path,
    *,
    latency: str = "none",
    faults: tuple[Fault, ...] = (),
    slow_loops: frozenset[str] = SLOW_LOOPS,
) -> FirstStart:
    """A first start until ``slow_loops`` run."""
    clock = WallAt(source)
    async with run_simulator(source, latency=latency_profile(latency)) as sim:
        sim.faults.extend(faults)
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=clock) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 1, timeout=30)
            first = _latest(daemon)
            assert fast_reads(daemon) == 1  # the first snapshot, not a later one
            counts: list[int] = []

            def slow_loops_run() -> bool:
                counts.append(fast_reads(daemon))
                return slow_loops <= set(daemon.status()["loops"])

            await wait_until(slow_loops_run, timeout=30)
            probed = fast_reads(daemon)
            await wait_until(lambda: fast_reads(daemon) >= probed + 1)  # a snapshot after the probe
            later, status = _latest(daemon), daemon.status()
        before = clock.requests_before(sim, first)
        requests = [(record.path, record.status) for record in sim.requests.records()]
    return FirstStart(before, first, later, status, counts, requests)


def _latest(daemon: Daemon) -> dict[str, Any]:
    snapshot = daemon.latest_snapshot()
    assert snapshot is not None
    return snapshot.to_json()


def _soc(snapshot: dict[str, Any]) -> Any:
    return (snapshot["storage"] or {}).get("soc_pct")


def _remembered(tmp_path: Path) -> dict[str, Any]:
    remembered: dict[str, Any] = json.loads((tmp_path / FILE_NAME).read_text())
    return remembered


async def test_a_first_start_polls_before_the_full_probe_then_applies_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    source = load_scenario_source("three-phase-battery", speed=60)
    start = await _first_start(source, tmp_path, latency="real")
    assert start.before == [*QUICK_PROBE, meters.READINGS_PATH]  # nothing slow before the first snapshot
    first = start.first
    assert first["production"]["power_w"] is not None
    assert first["net_consumption"]["power_w"] is not None
    assert _soc(first) is None  # the ensemble not read yet: unknown, not 0
    assert first["phase_count"] == 3  # from the CTs' readings
    assert _soc(start.later) is not None
    assert start.status["gateway"]["phase_count"] == 3  # the full probe's capabilities, in place
    # the fast loop kept running: not restarted by the full probe
    assert start.fast_reads == sorted(start.fast_reads)
    assert not any("afresh" in r.getMessage() for r in caplog.records)
    remembered = _remembered(tmp_path)
    assert remembered["iq_battery_count"] > 0
    assert [production.PRODUCTION_JSON_PATH, True] in [
        [e["path"], e["available"]] for e in remembered["endpoints"]
    ]


async def test_a_gateway_without_cts_starts_with_nulls(tmp_path: Path) -> None:
    source = load_scenario_source("no-ct", speed=60)
    start = await _first_start(source, tmp_path, slow_loops=frozenset({"info", "inverters", "production"}))
    # /ivp/meters lists no CT: the readings (an empty list) are not polled, /api/v1/production is
    api_v1 = production.API_V1_PRODUCTION_PATH
    assert start.before == [*QUICK_PROBE, api_v1, api_v1]
    assert start.status["gateway"]["cts"] == []
    assert start.first["production"]["power_w"] is not None  # from the first fast read
    assert start.first["production"]["lifetime_wh"] is not None
    assert start.first["net_consumption"]["power_w"] is None  # nothing says it: null, never 0
    assert start.later["production"]["power_w"] is not None
    assert _remembered(tmp_path)["inverter_count"] == 13


async def test_firmware_older_than_7_starts_the_same_way(tmp_path: Path) -> None:
    builtin = resources.files("enphase_secure.simulator").joinpath("scenarios", "three-phase-battery.toml")
    text = builtin.read_text("utf-8")
    assert 'firmware = "8.2.127"' in text
    scenario = tmp_path / "old-firmware.toml"
    scenario.write_text(text.replace('firmware = "8.2.127"', 'firmware = "5.0.62"'))
    start = await _first_start(load_scenario_source(str(scenario), speed=60), tmp_path / "state")
    assert start.before == [*QUICK_PROBE, meters.READINGS_PATH]
    assert start.first["gateway"]["firmware"] == "D5.0.62"
    assert _soc(start.later) is not None
    remembered = _remembered(tmp_path / "state")
    assert (remembered["firmware"], remembered["firmware_supported"]) == ("D5.0.62", False)


async def test_a_failing_background_probe_is_said_once_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # /production.json drops the connection 4 times (aiohttp tries a dropped GET twice): two full
    # probes fail, the third lands
    reset = Fault(FaultKind.RESET, paths=("/production.json",), count=4)
    source = load_scenario_source("three-phase-battery", speed=60)
    start = await _first_start(source, tmp_path, faults=(reset,))
    assert start.before == [*QUICK_PROBE, meters.READINGS_PATH]
    assert [status for path, status in start.requests if path == "/production.json"][:5] == [0, 0, 0, 0, 200]
    assert _soc(start.first) is None
    assert _soc(start.later) is not None
    assert start.fast_reads == sorted(start.fast_reads)
    assert start.fast_reads[-1] >= 2  # polled while the probe failed
    said = [r.getMessage() for r in caplog.records if "background probe" in r.getMessage()]
    assert len(said) == 1, said
    assert "/production.json" in said[0]
    assert not any("unexpected error" in r.getMessage() for r in caplog.records)


async def test_a_wrong_guess_of_the_quick_probe_is_polled_as_the_full_probe_says(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # CTs listed, but their readings refused (404): the quick probe took them to answer
    missing = Fault(FaultKind.STATUS, paths=(meters.READINGS_PATH,), status=404)
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source) as sim:
        sim.faults.add(missing)
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris")
        async with running(config, clock=source.now) as daemon:
            await wait_until(lambda: fast_reads(daemon) >= 2, timeout=30)
            snapshot = _latest(daemon)
            loops = set(daemon.status()["loops"])
        polled = [r.path for r in sim.requests.records()]
    assert any(f"poll {production.API_V1_PRODUCTION_PATH}" in r.getMessage() for r in caplog.records)
    assert polled.count(production.API_V1_PRODUCTION_PATH) >= 3  # the probe's, then two fast reads
    assert snapshot["production"]["power_w"] is not None
    assert loops >= SLOW_LOOPS
