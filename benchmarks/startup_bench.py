"""Start-up benchmark: `enphase-secure run` to its first snapshot at a real gateway's latencies.

    .venv/bin/python benchmarks/startup_bench.py --seconds 10 [--scenario three-phase-battery]

The simulator serves with `--latency real` (per-path service times, one request at a time). The daemon
starts twice on the same state dir: a first start (no remembered probe: the quick probe, /info and
/ivp/meters, starts the polling, the full probe runs behind it) and a restart (the probe remembered in
gateway_probe.json, re-checked in the background). For each: the wall time from launch to the first
snapshot (a fast read seen in /api/status, 50 ms resolution) and the daemon's CPU time by then (less
sensitive than the wall time to a loaded machine), which figures the first snapshot has (the slow
endpoints' are null until they answered), and whether they are all there `seconds` later. Everything
listens on 127.0.0.1; every process is stopped.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
from daemon_bench import (
    after_fast_read,
    client_context,
    get_json,
    run_bench,
    sample_process,
    subprocess_logged,
    wait_for_line,
    write_config,
)

SLOW_FIGURES = ("production.lifetime_wh", "storage.soc_pct")  # from /production.json and the ensemble


def figure(snapshot: dict[str, Any], dotted: str) -> Any:
    value: Any = snapshot
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


async def one_start(
    http: aiohttp.ClientSession, work: Path, config: Path, name: str, seconds: float
) -> list[str]:
    launched, log = time.monotonic(), work / f"daemon-{name.split(maxsplit=1)[0]}.log"
    async with subprocess_logged(log, "run", "-c", str(config)) as daemon:
        api = (await wait_for_line(log, r"API on (http://127\.0\.0\.1:\d+)", daemon))[1]
        await after_fast_read(http, f"{api}/api/status", 1)
        start_up_s = time.monotonic() - launched
        cpu_s = sample_process(daemon.pid).cpu_s
        first = await get_json(http, f"{api}/api/snapshot")
        await asyncio.sleep(seconds)
        later = await get_json(http, f"{api}/api/snapshot")
    present = {f: figure(first, f) is not None for f in SLOW_FIGURES}
    return [
        f"{name}: start-up to the first snapshot {start_up_s:.2f} s (wall, 50 ms resolution), "
        f"{cpu_s:.2f} s of CPU",
        f"{name}: first snapshot production_w {figure(first, 'production.power_w')}, "
        + ", ".join(f"{f} {'present' if ok else 'null'}" for f, ok in present.items()),
        f"{name}: {seconds:g} s later " + ", ".join(f"{f} {figure(later, f)}" for f in SLOW_FIGURES),
    ]


async def bench(seconds: float, scenario: str, work: Path) -> None:
    token_file, state_dir, config = work / "token", work / "state", work / "config.toml"
    simulate = (
        "simulate", "--scenario", scenario, "--latency", "real", "--token-file", str(token_file),
        "--listen", "127.0.0.1:0", "--cloud-listen", "127.0.0.1:0",
    )  # fmt: skip
    async with (
        subprocess_logged(work / "simulator.log", *simulate) as simulator,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context())) as http,
    ):
        ready = await wait_for_line(work / "simulator.log", r"gateway (https://127\.0\.0\.1:\d+) ", simulator)
        write_config(config, gateway_url=ready.group(1), token_file=token_file, state_dir=state_dir)
        lines = [f"start-up: scenario {scenario}, simulator --latency real"]
        lines += await one_start(http, work, config, "first start (no remembered probe)", seconds)
        lines += await one_start(http, work, config, "restart (remembered probe)", seconds)
    print("\n".join(lines))


def main() -> None:
    run_bench(__doc__.splitlines()[0], "time each daemon runs after its first snapshot", bench)


if __name__ == "__main__":
    main()
