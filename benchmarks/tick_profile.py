"""The fast tick's own work, stage by stage: parse the readings -> merge -> account -> history append.

    .venv/bin/python benchmarks/tick_profile.py [--ticks 600] [--scenario three-phase-battery]
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python benchmarks/tick_profile.py --ticks 300 --stages merge

The simulator's documents are rendered in-process for ``ticks`` 1 s steps (crossing a local midnight in
Europe/Paris half way) before anything is measured; then each tick runs the daemon's code path on them:
``MeterReadings.from_json`` of the readings body, ``merge_snapshot``, ``account`` and ``History.append``
(SQLite in a temporary folder, batched as the daemon does). The inverters and the ensemble are read
again every 15 ticks, like slow loops. Prints microseconds per tick per stage (best of 3 rounds).
``--stages`` stops after the named stage: under callgrind, the instructions of a stage per tick are the
difference between two runs (``--stages none`` renders only) divided by ``ticks``, repeatable to a few
parts per thousand even on a loaded machine.

``--stages daemon`` runs, after the parse, the daemon's own fast-tick handler instead (``Daemon`` with
the default configuration, its state in a temporary folder, no web server nor gateway loop): merge,
account, then everything after accounting (history append with the kept energy state, the outputs bus
and what the configuration runs on it). Its instructions minus those of ``--stages account`` are the
side after accounting; ``--outputs`` adds a Jeedom output (no server behind it) and ``--control`` a
controller stage, to see what they cost per tick.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from enphase_secure.config import parse_config
from enphase_secure.control.state import ControllerState
from enphase_secure.daemon.service import Daemon
from enphase_secure.energy.merge import GatewayReadings, merge_snapshot
from enphase_secure.energy.site import SiteEnergy, account
from enphase_secure.energy.snapshot import Snapshot
from enphase_secure.errors import GatewayStatusError
from enphase_secure.gateway.ensemble import read_ensemble_power
from enphase_secure.gateway.inverters import DEVICE_DATA_PATH, read_inverter_device_data, read_inverters
from enphase_secure.gateway.meters import READINGS_PATH, MeterReadings
from enphase_secure.gateway.probe import probe
from enphase_secure.simulator.live import LiveSource, load_scenario_source
from enphase_secure.storage import HistorySettings, open_history

STAGES = ("none", "parse", "merge", "account", "append", "daemon")
ZONE = "Europe/Paris"
SLOW_EVERY = 15
MAX_GAP_S = 5.0
ROUNDS = 3


def _body(source: LiveSource, path: str) -> bytes:
    bare, _, query = path.partition("?")
    params = dict(item.split("=", 1) for item in query.split("&") if "=" in item)
    document = source.document(bare, params)
    if document is None or document.status != 200:
        raise GatewayStatusError(path, 404 if document is None else document.status)
    return document.body


async def _slow_reads(source: LiveSource, readings: GatewayReadings, detailed: bool) -> GatewayReadings:
    """The inverters and the ensemble as the slow loops read them (outside the measured stages)."""
    live = _LiveTransport(source)
    reader = read_inverter_device_data if detailed else read_inverters
    power = await read_ensemble_power(live) if readings.ensemble_power else None
    return replace(readings, inverters=await reader(live), ensemble_power=power)


async def prepare(
    scenario: str, ticks: int
) -> tuple[GatewayReadings, list[tuple[datetime, bytes, GatewayReadings | None]]]:
    zone = ZoneInfo(ZONE)
    local_midnight = datetime(2026, 6, 21, tzinfo=zone)
    start = (local_midnight - timedelta(seconds=ticks // 2)).astimezone(UTC)
    source = load_scenario_source(scenario, start=start, paused=True, step_s=1.0)
    caps = await probe(_LiveTransport(source))
    readings = caps.readings
    detailed = caps.answers(DEVICE_DATA_PATH)
    steps: list[tuple[datetime, bytes, GatewayReadings | None]] = []
    for n in range(ticks):
        source.control_clock(advance_s=1.0)
        slow = await _slow_reads(source, readings, detailed) if n % SLOW_EVERY == 0 else None
        steps.append((source.now().astimezone(UTC), _body(source, READINGS_PATH), slow))  # as the daemon
    return readings, steps


class _LiveTransport:
    def __init__(self, source: LiveSource) -> None:
        self.source = source

    async def get(self, path: str) -> bytes:
        return _body(self.source, path)


async def run(
    first: GatewayReadings,
    steps: list[tuple[datetime, bytes, GatewayReadings | None]],
    last_stage: str,
    folder: Path,
    timer: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, int]:
    """Each stage's total nanoseconds over ``steps``, up to ``last_stage``."""
    upto = STAGES.index(last_stage)
    zone = ZoneInfo(ZONE)
    spent = dict.fromkeys(STAGES[1 : STAGES.index("append") + 1], 0)
    site = SiteEnergy()
    readings = first
    settings = HistorySettings(timezone=ZONE)
    history = await open_history(f"sqlite:///{folder / 'history.db'}", settings=settings)
    async with history:
        for now, body, slow in steps:
            if slow is not None:
                readings = replace(readings, inverters=slow.inverters, ensemble_power=slow.ensemble_power)
            if upto < 1:
                continue
            t0 = timer()
            readings = replace(readings, meter_readings=MeterReadings.from_json(body))
            t1 = timer()
            spent["parse"] += t1 - t0
            if upto < 2:
                continue
            merged = merge_snapshot(readings, time=now, phases="auto")
            t2 = timer()
            spent["merge"] += t2 - t1
            if upto < 3:
                continue
            snapshot: Snapshot
            snapshot, site = account(site, merged, tz=zone, metering="gateway", max_gap_s=MAX_GAP_S)
            t3 = timer()
            spent["account"] += t3 - t2
            if upto < 4:
                continue
            await history.append(snapshot)
            spent["append"] += timer() - t3
    return spent


def _daemon(folder: Path, now: list[datetime], *, outputs: bool, control: bool) -> Daemon:
    data: dict[str, Any] = {
        "gateway": {"host": "127.0.0.1:9", "token_mode": "manual", "token": "x"},
        "site": {"timezone": ZONE},
        "storage": {"state_dir": str(folder)},
    }
    if outputs:
        data["publish"] = {"jeedom": {"url": "http://127.0.0.1:9", "apikey": "benchmark"}}
    if control:
        relay = {"command": {"argv": ["true"]}}
        data["control"] = {"stages": [{"name": "heater", "load_w": 2000, "on": relay, "off": relay}]}
    return Daemon(parse_config(data), clock=lambda: now[0])


async def run_daemon(
    first: GatewayReadings,
    steps: list[tuple[datetime, bytes, GatewayReadings | None]],
    folder: Path,
    *,
    outputs: bool,
    control: bool,
    timer: Callable[[], int] = time.perf_counter_ns,
) -> dict[str, int]:
    """The parse and the daemon's fast-tick handler (``_on_fast``), as its gateway loop calls them."""
    now = [steps[0][0]]
    daemon = _daemon(folder, now, outputs=outputs, control=control)
    spent = {"parse": 0, "daemon": 0}
    await daemon._open_history()
    await daemon._restore_state()
    daemon._energy_state.keep(daemon._site_state)
    await daemon._start_outputs()
    if control:
        await daemon._start_control(ControllerState())
    readings = first
    try:
        for at, body, slow in steps:
            if slow is not None:
                readings = replace(readings, inverters=slow.inverters, ensemble_power=slow.ensemble_power)
            now[0] = at
            t0 = timer()
            readings = replace(readings, meter_readings=MeterReadings.from_json(body))
            t1 = timer()
            daemon._gateway.readings = readings
            await daemon._on_fast(None)
            await asyncio.sleep(0)  # the outputs' tasks take the update
            spent["parse"] += t1 - t0
            spent["daemon"] += timer() - t1
    finally:
        await daemon._stop_control()
        await daemon._stop_outputs()
        await daemon._storage.close()
    return spent


async def main_async(args: argparse.Namespace) -> None:
    first, steps = await prepare(args.scenario, args.ticks)
    best: dict[str, int] = {}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as folder:
            if args.stages == "daemon":
                spent = await run_daemon(
                    first, steps, Path(folder), outputs=args.outputs, control=args.control
                )
            else:
                spent = await run(first, steps, args.stages, Path(folder))
        best = spent if not best else {k: min(v, best[k]) for k, v in spent.items()}
    if args.stages == "none":
        return
    shown = list(best) if args.stages == "daemon" else STAGES[1 : STAGES.index(args.stages) + 1]
    print(
        f"tick profile: scenario {args.scenario}, {args.ticks} ticks across a local midnight, "
        f"best of {args.rounds}"
    )
    for stage in shown:
        print(f"  {stage:8s} {best[stage] / 1000 / args.ticks:8.1f} us/tick")
    print(f"  {'total':8s} {sum(best[s] for s in shown) / 1000 / args.ticks:8.1f} us/tick")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=600)
    parser.add_argument("--scenario", default="three-phase-battery")
    parser.add_argument("--stages", choices=STAGES, default="append", help="stop after this stage")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--outputs", action="store_true", help="daemon stage: with a Jeedom output")
    parser.add_argument("--control", action="store_true", help="daemon stage: with a controller stage")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
