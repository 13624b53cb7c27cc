"""Side by side against a gateway with real latencies: pyenphase 4.2 polled back to back (what Home
Assistant does) and `enphase-secure run` at 1 s polling, in one run, one after the other.

    .venv/bin/python benchmarks/side_by_side.py [--seconds 120] [--scenario three-phase-battery]

The simulator serves in real time with `--latency real` (per-path service times of a real gateway,
one request at a time). Each client gets the gateway alone for `seconds`, in its own process:
- fresh figures per minute: pyenphase updates, daemon fast reads (each carries a new meter reading);
- age of the served figures, p50/p95: at every 10 ms of the window, the time since the start of the
  /ivp/meters/readings request behind the latest figure the client had finished building;
- gateway busy time per figure: the profile's service time of every request, over the figures;
- client CPU per figure (user + system, the polling window only), RSS at the end, and for the
  daemon disk writes per day (/proc/<pid>/io write_bytes) and the start-up time to its first snapshot.
Then the ratios. Everything listens on 127.0.0.1; every process is stopped.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from daemon_bench import (
    DAY_S,
    READINGS,
    after_fast_read,
    client_context,
    daemon_running,
    fast_reads,
    get_json,
    proc_fields,
    run_bench,
    sample_process,
    simulator_running,
    write_config,
)

from enphase_secure.simulator.latency import latency_profile

AGE_STEP_S = 0.01
CPU_TARGET_RATIO = 4.0  # the daemon's CPU per figure should be at most a quarter of pyenphase's


@dataclass(frozen=True, slots=True)
class ClientRun:
    figures: int
    window_s: float
    ages_s: list[float]
    busy_s: float
    cpu_s: float
    rss_mib: float

    def per_minute(self) -> float:
        return 60 * self.figures / self.window_s

    def age_percentile(self, fraction: float) -> float:
        ordered = sorted(self.ages_s)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figure_ages(
    ready_at_s: Sequence[float], read_at_s: Sequence[float], start: float, end: float
) -> list[float]:
    """At each AGE_STEP_S in [start, end): now minus ``read_at_s`` of the latest figure ready by then."""
    ages = []
    now = start
    while now < end:
        latest = bisect.bisect_right(ready_at_s, now) - 1
        if latest >= 0:
            ages.append(now - read_at_s[latest])
        now += AGE_STEP_S
    return ages


def gateway_busy_s(requests: Sequence[dict[str, Any]]) -> float:
    profile = latency_profile("real")
    return sum(profile.service_time_s(r["path"]) for r in requests)


def readings_starts(requests: Sequence[dict[str, Any]]) -> list[float]:
    return [r["started_at_s"] for r in requests if r["path"] == READINGS]


async def requests_between(http: aiohttp.ClientSession, gateway: str, start: float, end: float) -> list[Any]:
    log = await get_json(http, f"{gateway}/simulator/requests")
    return [r for r in log["requests"] if start <= r["started_at_s"] < end]


# --- pyenphase, in its own process ----------------------------------------------------------------
async def poll_with_pyenphase(host: str, token: str, seconds: float) -> dict[str, Any]:
    """Child process: pyenphase back to back for ``seconds``; each update's (start, end), CPU, RSS."""
    from pyenphase import Envoy  # noqa: PLC0415 (only the child process needs it)

    envoy = Envoy(host)
    try:
        await envoy.setup()
        await envoy.authenticate(token=token)
        await envoy.probe()
        await envoy.update()
        updates: list[tuple[float, float]] = []
        cpu_before, started = time.process_time(), time.time()
        while time.time() < started + seconds:
            begin = time.time()
            await envoy.update()
            updates.append((begin, time.time()))
        cpu_s = time.process_time() - cpu_before
    finally:
        await envoy.close()
    rss_kib = int(proc_fields(Path("/proc/self/status"))["VmRSS"].split()[0])
    return {"updates": updates, "cpu_s": cpu_s, "rss_kib": rss_kib, "start": started, "end": time.time()}


async def run_pyenphase(http: aiohttp.ClientSession, gateway: str, token: str, seconds: float) -> ClientRun:
    host = gateway.removeprefix("https://")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--pyenphase-child",
        host,
        token,
        str(seconds),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the pyenphase client failed (exit {child.returncode})")
    result = json.loads(out)
    start, end = result["start"], result["end"]
    requests = await requests_between(http, gateway, start, end)
    starts = readings_starts(requests)
    ready, read = [], []
    for begin, finish in result["updates"]:
        within = [s for s in starts if begin <= s <= finish]
        if within:
            ready.append(finish)
            read.append(within[-1])
    return ClientRun(
        figures=len(result["updates"]),
        window_s=end - start,
        ages_s=figure_ages(ready, read, start, end),
        busy_s=gateway_busy_s(requests),
        cpu_s=result["cpu_s"],
        rss_mib=result["rss_kib"] / 1024,
    )


# --- the daemon -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DaemonRun:
    client: ClientRun
    start_up_s: float
    writes_per_day_mib: float


async def run_daemon(
    http: aiohttp.ClientSession, gateway: str, token_file: Path, work: Path, seconds: float
) -> DaemonRun:
    config, state_dir = work / "config.toml", work / "state"
    write_config(config, gateway_url=gateway, token_file=token_file, state_dir=state_dir)
    launched = time.time()
    async with daemon_running(work / "daemon.log", config) as (daemon, api):
        await after_fast_read(http, f"{api}/api/status", 1)
        start_up_s = time.time() - launched
        await asyncio.sleep(5)  # past the first slow reads of the probe
        before, start = sample_process(daemon.pid), time.time()
        reads_before = fast_reads(await get_json(http, f"{api}/api/status"))
        await asyncio.sleep(seconds)
        after, end = sample_process(daemon.pid), time.time()
        reads = fast_reads(await get_json(http, f"{api}/api/status")) - reads_before
    requests = await requests_between(http, gateway, start, end)
    starts = readings_starts(requests)
    done = [r["started_at_s"] + r["duration_s"] for r in requests if r["path"] == READINGS]
    client = ClientRun(
        figures=reads,
        window_s=end - start,
        ages_s=figure_ages(done, starts, start, end),
        busy_s=gateway_busy_s(requests),
        cpu_s=after.cpu_s - before.cpu_s,
        rss_mib=after.rss_kib / 1024,
    )
    written = after.disk_write_bytes - before.disk_write_bytes
    return DaemonRun(client, start_up_s, written / (end - start) * DAY_S / 2**20)


# --- the run ------------------------------------------------------------------------------------------
def describe(name: str, run: ClientRun) -> list[str]:
    return [
        f"{name}: {run.figures} figures in {run.window_s:.1f} s = "
        f"{run.per_minute():.1f} fresh figures per minute",
        f"{name}: age of the served figures p50 {run.age_percentile(0.5):.2f} s, "
        f"p95 {run.age_percentile(0.95):.2f} s",
        f"{name}: gateway busy time per figure {1000 * run.busy_s / run.figures:.0f} ms "
        f"({100 * run.busy_s / run.window_s:.0f} % of the gateway's time)",
        f"{name}: client CPU per figure {1000 * run.cpu_s / run.figures:.2f} ms "
        f"({100 * run.cpu_s / run.window_s:.2f} % of one core), RSS {run.rss_mib:.1f} MiB",
    ]


async def bench(seconds: float, scenario: str, work: Path) -> None:
    token_file = work / "token"
    async with (
        simulator_running(work, scenario, "--latency", "real") as gateway,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context())) as http,
    ):
        theirs = await run_pyenphase(http, gateway, token_file.read_text().strip(), seconds)
        ours = await run_daemon(http, gateway, token_file, work, seconds)
    mine = ours.client
    cpu_ratio = (theirs.cpu_s / theirs.figures) / (mine.cpu_s / mine.figures)
    lines = [
        f"side by side: scenario {scenario}, simulator --latency real, {seconds:g} s per client",
        *describe("pyenphase", theirs),
        *describe("enphase-secure", mine),
        f"enphase-secure: disk writes {ours.writes_per_day_mib:.1f} MiB per day projected (write_bytes), "
        f"start-up to the first snapshot (probe at real latencies included) {ours.start_up_s:.2f} s",
        f"ratio fresh figures per minute (ours / pyenphase): {mine.per_minute() / theirs.per_minute():.2f}",
        "ratio figure age p50 (pyenphase / ours): "
        f"{theirs.age_percentile(0.5) / mine.age_percentile(0.5):.2f}",
        "ratio gateway busy time per figure (pyenphase / ours): "
        f"{(theirs.busy_s / theirs.figures) / (mine.busy_s / mine.figures):.2f}",
        f"ratio client CPU per figure (pyenphase / ours): {cpu_ratio:.2f} "
        f"(target >= {CPU_TARGET_RATIO:g}: {'met' if cpu_ratio >= CPU_TARGET_RATIO else 'NOT met'})",
    ]
    print("\n".join(lines))


def main() -> None:
    if sys.argv[1:2] == ["--pyenphase-child"]:
        host, token, seconds = sys.argv[2], sys.argv[3], float(sys.argv[4])
        print(json.dumps(asyncio.run(poll_with_pyenphase(host, token, seconds))))
        return
    run_bench(__doc__.splitlines()[0], "measured window per client (real seconds)", bench)


if __name__ == "__main__":
    main()
