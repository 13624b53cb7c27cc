"""Where the daemon's memory goes as it runs: Python objects, SQLite, the C heap, side by side with RSS.

    .venv/bin/python benchmarks/memory_trace.py [--minutes 10] [--speed 480] [--interval-s 0.2] [--trace]

The simulator runs in its own process ``--speed`` times faster than real time; the daemon runs in this
process (history on, SQLite) polling every ``--interval-s``, below the config's 1 s floor, to pack many
ticks and simulated days into minutes. After ``--warm-up-s``, one line every ``--every-s``: RSS, what
SQLite holds (``sqlite3_memory_used``: its page caches), Python's allocated blocks, glibc's heap in use
and free, and the Python object types whose count grew since the warm-up. With ``--trace``, also the
allocations that grew most since the warm-up, grouped by traceback (tracemalloc's own tables then
inflate RSS). A leak in Python shows as blocks and types that keep growing; a cache filling shows in
``sqlite`` up to its bound (the default ``cache_size`` of 2000 KiB: about 2.2 MiB in all). Python's
blocks saw-tooth with the pending history batch; ``ReferenceType`` with the sqlite3 module's list of
weak references to its cursors, which it prunes every 200 cursors. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import _sqlite3
import argparse
import asyncio
import ctypes
import gc
import linecache
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from daemon_bench import simulator_running, write_config

from enphase_secure.config import load_config
from enphase_secure.daemon.service import Daemon

DAY_S = 86400.0
MALLINFO2_FIELDS = (
    "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
)  # fmt: skip
UNTRACED = (tracemalloc.__file__, linecache.__file__, "<frozen *>")  # this script's own bookkeeping

_SQLITE = ctypes.CDLL(_sqlite3.__file__)  # resolves to the libsqlite3 the sqlite3 module is linked to
_SQLITE.sqlite3_memory_used.restype = ctypes.c_int64
_LIBC = ctypes.CDLL(None)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2_FIELDS]


_LIBC.mallinfo2.restype = _MallInfo2


def rss_kib() -> int:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1])


def malloc_kib() -> tuple[int, int]:
    """glibc's heap over all arenas (mmapped blocks included): KiB in use, KiB free inside it."""
    info = _LIBC.mallinfo2()
    return (info.uordblks + info.hblkhd) // 1024, info.fordblks // 1024


def type_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


def show_growth(first: tracemalloc.Snapshot, now: tracemalloc.Snapshot, top: int, frames: int) -> None:
    keep = [tracemalloc.Filter(False, name) for name in UNTRACED]
    for stat in now.filter_traces(keep).compare_to(first.filter_traces(keep), "traceback")[:top]:
        grown_kib, now_kib = stat.size_diff / 1024, stat.size / 1024
        print(f"  {grown_kib:+8.1f} KiB {stat.count_diff:+7d} blocks, {now_kib:.0f} KiB now")
        for line in stat.traceback.format(limit=frames, most_recent_first=True):
            print(f"      {line}")


def sample_line(minutes: float, days: float, reads: int) -> str:
    in_use, free = malloc_kib()
    return (
        f"after {minutes:5.1f} min, {days:5.2f} simulated days, fast reads {reads:6d}: "
        f"rss {rss_kib() / 1024:.1f} MiB, sqlite {_SQLITE.sqlite3_memory_used() / 1024:.0f} KiB, "
        f"python blocks {sys.getallocatedblocks()}, malloc in use {in_use} KiB free {free} KiB"
    )


async def trace(args: argparse.Namespace, work: Path) -> None:
    token_file, state_dir, config_path = work / "token", work / "state", work / "config.toml"
    async with simulator_running(work, args.scenario, "--speed", f"{args.speed:g}") as gateway_url:
        write_config(config_path, gateway_url=gateway_url, token_file=token_file, state_dir=state_dir)
        config = load_config(config_path)
        polling = config.polling.model_copy(update={"interval_s": args.interval_s})
        daemon = Daemon(config.model_copy(update={"polling": polling}))
        task = asyncio.create_task(daemon.run())
        await asyncio.sleep(args.warm_up_s)
        gc.collect()
        if args.trace:
            tracemalloc.start(args.frames)
        first = tracemalloc.take_snapshot() if args.trace else None
        counts = type_counts()
        started = time.monotonic()
        print(sample_line(0.0, 0.0, daemon.status()["loops"]["fast"]["reads"]), flush=True)
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            await asyncio.sleep(args.every_s)
            elapsed = time.monotonic() - started
            gc.collect()
            reads = daemon.status()["loops"]["fast"]["reads"]
            print(sample_line(elapsed / 60, elapsed * args.speed / DAY_S, reads), flush=True)
            grown = Counter({k: n - counts[k] for k, n in type_counts().items() if n > counts[k]})
            print("  object types grown:", dict(grown.most_common(8)), flush=True)
            if first is not None:
                show_growth(first, tracemalloc.take_snapshot(), args.top, args.frames)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured window (real minutes)")
    parser.add_argument("--speed", type=float, default=480.0, help="simulator speed")
    parser.add_argument("--interval-s", type=float, default=0.2, help="the daemon's fast polling interval")
    parser.add_argument("--every-s", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--warm-up-s", type=float, default=20.0, help="seconds before the first sample")
    parser.add_argument("--trace", action="store_true", help="tracemalloc growth by traceback")
    parser.add_argument("--top", type=int, default=10, help="with --trace: how many tracebacks")
    parser.add_argument("--frames", type=int, default=8, help="with --trace: frames per traceback")
    parser.add_argument("--scenario", default="three-phase-battery", help="simulator live scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="enphase-secure-trace-") as work:
        asyncio.run(trace(args, Path(work)))


if __name__ == "__main__":
    main()
