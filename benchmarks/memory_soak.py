"""Memory soak: RSS of `enphase-secure run` at 1 s polling over hours, history on.

    .venv/bin/python benchmarks/memory_soak.py [--hours 24] [--speed 24] [--sample-s 60]

The daemon polls the simulator in real time (one fast tick a second), history on; the simulator runs
``--speed`` times faster so that local midnights, bucket closings and daily rows come by (speed 24: a
simulated day per real hour). Prints one line per sample as it goes (RSS, CPU, fast reads, history
size), then RSS after the first hour against the last sample: the goal is within 10 % and <= 80 MB.
Only the daemon's process is measured, from /proc. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
from daemon_bench import (
    after_fast_read,
    client_context,
    daemon_running,
    fast_reads,
    get_json,
    history_file_sizes,
    sample_process,
    simulator_running,
    write_config,
)

HOUR_S = 3600.0


async def soak(hours: float, speed: float, sample_s: float, scenario: str, work: Path) -> None:
    token_file, state_dir, config = work / "token", work / "state", work / "config.toml"
    async with (
        simulator_running(work, scenario, "--speed", f"{speed:g}", "--latency", "real") as gateway_url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context())) as http,
    ):
        write_config(config, gateway_url=gateway_url, token_file=token_file, state_dir=state_dir)
        async with daemon_running(work / "daemon.log", config) as (daemon, api):
            await after_fast_read(http, f"{api}/api/status", 1)
            started = time.monotonic()
            samples: list[tuple[float, int]] = []
            print(f"memory soak: scenario {scenario}, simulator speed {speed:g}, {hours:g} h", flush=True)
            while (elapsed := time.monotonic() - started) <= hours * HOUR_S:
                process = sample_process(daemon.pid)
                status = await get_json(http, f"{api}/api/status")
                history_kib = sum(history_file_sizes(state_dir).values()) / 1024
                samples.append((elapsed, process.rss_kib))
                print(
                    f"t={elapsed / HOUR_S:6.3f} h rss={process.rss_kib / 1024:6.1f} MiB "
                    f"cpu={process.cpu_s:8.1f} s fast_reads={fast_reads(status)} "
                    f"history={history_kib:.0f} KiB",
                    flush=True,
                )
                await asyncio.sleep(sample_s)
    report(samples)


def report(samples: list[tuple[float, int]]) -> None:
    after_hour = next(((t, kib) for t, kib in samples if t >= HOUR_S), None)
    last_t, last_kib = samples[-1]
    peak = max(kib for _, kib in samples)
    print(f"RSS peak over the run: {peak / 1024:.1f} MiB")
    if after_hour is None:
        print(f"run shorter than an hour: RSS {last_kib / 1024:.1f} MiB after {last_t / HOUR_S:.2f} h")
        return
    hour_t, hour_kib = after_hour
    print(
        f"RSS after {hour_t / HOUR_S:.2f} h: {hour_kib / 1024:.1f} MiB; after {last_t / HOUR_S:.2f} h: "
        f"{last_kib / 1024:.1f} MiB ({100 * (last_kib - hour_kib) / hour_kib:+.1f} %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="real hours of the run (default 24)")
    parser.add_argument("--speed", type=float, default=24.0, help="simulator speed (default: a day an hour)")
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--scenario", default="three-phase-battery", help="simulator live scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="enphase-secure-soak-") as work:
        asyncio.run(soak(args.hours, args.speed, args.sample_s, args.scenario, Path(work)))


if __name__ == "__main__":
    main()
