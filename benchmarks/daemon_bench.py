"""Daemon benchmark: CPU time, RSS, requests per tick and tick drift of `enphase-secure run` at 1 s polling.

    .venv/bin/python benchmarks/daemon_bench.py [--seconds 120] [--scenario three-phase-battery]

The simulator runs in its own process, fast enough (speed = 3600 / seconds) that the measured window
covers one simulated hour of the scenario; the daemon, in another process, polls in real time, so the
window holds about `seconds` fast ticks and the slow loops at their default intervals. Only the daemon's
process is measured, from /proc. Everything listens on 127.0.0.1; both processes are always stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import re
import signal
import sqlite3
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

READINGS = "/ivp/meters/readings"
SIMULATED_WINDOW_S = 3600.0
INTERVAL_S = 1.0
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
WARM_UP_READS = 3
STATUS_POLL_S = 0.05  # window edges fall this close after a fast tick, far from the next one
DAY_S = 86400.0
HISTORY_FILES = ("history.db", "history.db-wal", "history.db-shm")


@dataclass(frozen=True, slots=True)
class ProcessSample:
    cpu_s: float
    rss_kib: int
    peak_rss_kib: int
    disk_write_bytes: int


def proc_fields(path: Path) -> dict[str, str]:
    """A /proc ``key: value`` file as a dict."""
    return dict(line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)


def sample_process(pid: int) -> ProcessSample:
    """CPU time (user + system), current and peak resident memory and disk writes of one process."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    status = proc_fields(Path(f"/proc/{pid}/status"))
    return ProcessSample(
        cpu_s=ticks / os.sysconf("SC_CLK_TCK"),
        rss_kib=int(status["VmRSS"].split()[0]),
        peak_rss_kib=int(status["VmHWM"].split()[0]),
        disk_write_bytes=int(proc_fields(Path(f"/proc/{pid}/io"))["write_bytes"]),
    )


@dataclass(frozen=True, slots=True)
class TickTiming:
    requests: int
    expected: int
    interval_mean_ms: float
    interval_max_ms: float
    jitter_ms: float
    drift_ms_per_hour: float


def tick_timing(started_at_s: Sequence[float], interval_s: float) -> TickTiming:
    """Timing of the fast reads as the gateway saw them arrive.

    Each arrival is placed on the grid ``first + k * interval``; its offset from its grid point shows
    jitter (spread) and drift (the slope of the offsets over time, which a fixed schedule keeps at 0).
    """
    first = started_at_s[0]
    elapsed = [t - first for t in started_at_s]
    offsets = [e - round(e / interval_s) * interval_s for e in elapsed]
    gaps = [b - a for a, b in itertools.pairwise(started_at_s)]
    slope = statistics.linear_regression(elapsed, offsets).slope
    return TickTiming(
        requests=len(started_at_s),
        expected=round(elapsed[-1] / interval_s) + 1,
        interval_mean_ms=1000 * statistics.fmean(gaps),
        interval_max_ms=1000 * max(gaps),
        jitter_ms=1000 * (max(offsets) - min(offsets)),
        drift_ms_per_hour=1000 * slope * 3600,
    )


def rss_trend_mib_per_hour(samples: Sequence[tuple[float, int]]) -> float:
    """Slope of RSS over the second half of the samples: start-up growth is over, a leak would remain."""
    half = samples[len(samples) // 2 :]
    times, rss = [t for t, _ in half], [kib for _, kib in half]
    return statistics.linear_regression(times, rss).slope * 3600 / 1024


def history_file_sizes(state_dir: Path) -> dict[str, int]:
    return {name: (state_dir / name).stat().st_size for name in HISTORY_FILES if (state_dir / name).exists()}


def stored_ticks(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        count: int = connection.execute("SELECT count(*) FROM tick").fetchone()[0]
    return count


def growing_bytes(database: Path) -> int:
    """Bytes of the pages that grow with the ticks (raw ticks, minute rows): each is copied once from
    the WAL into the database by a checkpoint, which a window without one does not show."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        size: int = connection.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name IN ('tick', 'agg_1min')"
        ).fetchone()[0]
    return size


def write_config(path: Path, *, gateway_url: str, token_file: Path, state_dir: Path) -> None:
    host = gateway_url.removeprefix("https://")
    path.write_text(
        f'[gateway]\nhost = "{host}"\ntoken_mode = "manual"\ntoken_file = "{token_file}"\n'
        f"[polling]\ninterval_s = {INTERVAL_S}\n"
        f'[storage]\nstate_dir = "{state_dir}"\n'
        '[web]\nlisten = "127.0.0.1:0"\n'
    )


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_for_line(log: Path, pattern: str, proc: asyncio.subprocess.Process) -> re.Match[str]:
    """The first line of ``log`` matching ``pattern``; fails if the process exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if match := re.search(pattern, read_log(log)):
            return match
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{log.name}: no line matching {pattern!r}; it says:\n{read_log(log)[-2000:]}")


@contextlib.asynccontextmanager
async def subprocess_logged(
    log: Path, *args: str, launcher: Sequence[str] = ()
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`enphase-secure ARGS` (behind ``launcher``, e.g. valgrind) with stdout+stderr to ``log``;
    SIGTERM at exit, SIGKILL if it lingers."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *launcher, sys.executable, "-m", "enphase_secure.cli", *args, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@contextlib.asynccontextmanager
async def simulator_running(work: Path, scenario: str, *options: str) -> AsyncIterator[str]:
    """`enphase-secure simulate` (its token in ``work``/token, its log in ``work``): the gateway's URL."""
    simulate = (
        "simulate", "--scenario", scenario, *options, "--token-file", str(work / "token"),
        "--listen", "127.0.0.1:0", "--cloud-listen", "127.0.0.1:0",
    )  # fmt: skip
    log = work / "simulator.log"
    async with subprocess_logged(log, *simulate) as simulator:
        yield (await wait_for_line(log, r"gateway (https://127\.0\.0\.1:\d+) ", simulator))[1]


@contextlib.asynccontextmanager
async def daemon_running(
    log: Path, config: Path, launcher: Sequence[str] = ()
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """`enphase-secure run -c CONFIG` logging to ``log``: the process and its API's URL."""
    async with subprocess_logged(log, "run", "-c", str(config), launcher=launcher) as daemon:
        yield daemon, (await wait_for_line(log, r"API on (http://127\.0\.0\.1:\d+)", daemon))[1]


async def get_json(http: aiohttp.ClientSession, url: str, method: str = "GET") -> Any:
    async with http.request(method, url) as response:
        response.raise_for_status()
        return await response.json()


async def after_fast_read(http: aiohttp.ClientSession, status_url: str, reads: int) -> dict[str, Any]:
    """The daemon's status as soon as it has made ``reads`` good fast reads (just after that tick)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        status: dict[str, Any] = await get_json(http, status_url)
        if fast_reads(status) >= reads:
            return status
        await asyncio.sleep(STATUS_POLL_S)
    raise RuntimeError(f"{status_url}: the daemon made fewer than {reads} fast reads in {READY_TIMEOUT_S} s")


def fast_reads(status: dict[str, Any]) -> int:
    reads: int = status["loops"].get("fast", {}).get("reads", 0)
    return reads


def loop_reads(status: dict[str, Any]) -> dict[str, int]:
    return {name: loop["reads"] + loop["failures"] for name, loop in status["loops"].items()}


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the simulator's self-signed certificate, on loopback
    return context


async def bench(seconds: float, scenario: str, work: Path) -> None:
    speed = SIMULATED_WINDOW_S / seconds
    token_file, state_dir, config = work / "token", work / "state", work / "config.toml"
    async with (
        simulator_running(work, scenario, "--speed", f"{speed:g}") as gateway_url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context())) as http,
    ):
        write_config(config, gateway_url=gateway_url, token_file=token_file, state_dir=state_dir)
        launched = time.monotonic()
        async with daemon_running(work / "daemon.log", config) as (daemon, api):
            status_url = f"{api}/api/status"
            await after_fast_read(http, status_url, 1)
            start_up_s = time.monotonic() - launched
            before_status = await after_fast_read(http, status_url, WARM_UP_READS)
            before_status = await after_fast_read(http, status_url, fast_reads(before_status) + 1)
            await get_json(http, f"{gateway_url}/simulator/requests", method="DELETE")
            before = sample_process(daemon.pid)
            started = time.monotonic()
            rss_kib = [(0.0, before.rss_kib)]
            while (left := started + seconds - time.monotonic()) > 0:
                await asyncio.sleep(min(left, 1.0))
                rss_kib.append((time.monotonic() - started, sample_process(daemon.pid).rss_kib))
            latest = await get_json(http, status_url)
            after_status = await after_fast_read(http, status_url, fast_reads(latest) + 1)
            log = await get_json(http, f"{gateway_url}/simulator/requests")
            after, files_running = sample_process(daemon.pid), history_file_sizes(state_dir)
            window_s = time.monotonic() - started
            stop_started = time.monotonic()
        stop_s, exit_code = time.monotonic() - stop_started, daemon.returncode

    reads = {
        name: count - loop_reads(before_status).get(name, 0)
        for name, count in loop_reads(after_status).items()
    }
    fast_ticks = reads["fast"]
    cpu_s = after.cpu_s - before.cpu_s
    timing = tick_timing([r["started_at_s"] for r in log["requests"] if r["path"] == READINGS], INTERVAL_S)
    loops = after_status["loops"]
    requests = sum(log["per_path"].values())
    database = state_dir / HISTORY_FILES[0]
    database_bytes, ticks_stored = database.stat().st_size, stored_ticks(database)
    written = after.disk_write_bytes - before.disk_write_bytes
    written_per_day = written / window_s * DAY_S
    checkpoints_per_day = growing_bytes(database) / ticks_stored * DAY_S / INTERVAL_S
    total_per_day = written_per_day + checkpoints_per_day
    figures = [
        f"daemon benchmark: scenario {scenario}, simulator speed {speed:g} (1 simulated hour), "
        f"polling.interval_s {INTERVAL_S:g}, window {window_s:.1f} s after {WARM_UP_READS} warm-up reads",
        f"start-up CPU (imports, probe, first reads): {before.cpu_s:.2f} s",
        f"start-up to the first snapshot (wall, 50 ms resolution): {start_up_s:.2f} s",
        f"window CPU (user+sys): {cpu_s:.2f} s = {100 * cpu_s / window_s:.2f} % of one core",
        f"CPU per fast tick (all loops included): {1000 * cpu_s / fast_ticks:.2f} ms",
        f"CPU per day, projected: {cpu_s / window_s * DAY_S:.0f} s ({cpu_s / window_s * DAY_S / 60:.1f} min)",
        f"RSS at window start: {before.rss_kib / 1024:.1f} MiB",
        f"RSS at window end (final): {after.rss_kib / 1024:.1f} MiB",
        f"RSS peak in window (1 s samples): {max(rss for _, rss in rss_kib) / 1024:.1f} MiB",
        f"RSS trend over the second half of the window: {rss_trend_mib_per_hour(rss_kib):+.2f} MiB per hour",
        f"RSS peak since start (VmHWM): {after.peak_rss_kib / 1024:.1f} MiB",
        f"loop reads in window: {per_loop(reads)}",
        f"gateway requests in window: {requests} for {fast_ticks} fast reads",
        *(
            f"requests per fast tick, {path}: {count / fast_ticks:.4f} ({count})"
            for path, count in sorted(log["per_path"].items(), key=lambda item: -item[1])
        ),
        f"requests per fast tick, all paths: {requests / fast_ticks:.4f}",
        f"fast reads seen by the gateway: {timing.requests} of {timing.expected} grid ticks",
        f"fast read interval: mean {timing.interval_mean_ms:.2f} ms, max {timing.interval_max_ms:.1f} ms",
        f"fast read jitter around the grid: {timing.jitter_ms:.1f} ms (max - min offset)",
        f"fast read drift (slope of the offsets): {timing.drift_ms_per_hour * window_s / 3600:+.2f} ms over "
        f"the window = {timing.drift_ms_per_hour:+.1f} ms per hour",
        f"tick lateness since start (daemon): mean {loops['fast']['tick_lateness_mean_ms']} ms, "
        f"max {loops['fast']['tick_lateness_max_ms']} ms",
        f"skipped ticks since start (daemon): {per_loop(loop_field(loops, 'skipped_ticks'))}",
        f"failed reads since start (daemon): {per_loop(loop_field(loops, 'failures'))}",
        "history files while running: "
        + ", ".join(f"{name} {size / 1024:.0f} KiB" for name, size in files_running.items()),
        f"history.db after stop (WAL checkpointed): {database_bytes / 1024:.0f} KiB for {ticks_stored} "
        f"stored ticks = {database_bytes / ticks_stored:.0f} bytes per tick (with schema and aggregates)",
        f"disk writes by the daemon in window (/proc io write_bytes): {written / 2**20:.2f} MiB "
        f"= {written / fast_ticks / 1024:.1f} KiB per fast tick, "
        f"{written_per_day / 2**20:.1f} MiB per day projected",
        f"WAL checkpoints (the growing pages copied into history.db once): {checkpoints_per_day / 2**20:.1f} "
        f"MiB per day projected; with the window's writes {total_per_day / 2**20:.1f} MiB "
        f"= {total_per_day / 1e6:.1f} MB per day",
        f"daemon stop on SIGTERM: exit {exit_code} after {stop_s:.2f} s",
    ]
    print("\n".join(figures))


def loop_field(loops: dict[str, dict[str, Any]], key: str) -> dict[str, int]:
    return {name: loop[key] for name, loop in loops.items()}


def per_loop(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def run_bench(
    description: str,
    seconds_help: str,
    bench: Callable[[float, str, Path], Awaitable[None]],
    *,
    default_s: float = 120.0,
) -> None:
    """Parse ``--seconds`` and ``--scenario``, then run ``bench`` in a throwaway folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seconds", type=float, default=default_s, help=seconds_help)
    parser.add_argument("--scenario", default="three-phase-battery", help="simulator live scenario")
    args = parser.parse_args()
    if args.seconds < 10:
        parser.error("--seconds: at least 10")
    with tempfile.TemporaryDirectory(prefix="enphase-secure-bench-") as work:
        asyncio.run(bench(args.seconds, args.scenario, Path(work)))


def main() -> None:
    run_bench(__doc__.splitlines()[0], "measured window (real seconds)", bench)


if __name__ == "__main__":
    main()
