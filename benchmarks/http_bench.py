"""The networking side of the fast tick: the daemon's pollers reading the gateway through a GatewaySession.

    .venv/bin/python benchmarks/http_bench.py [--ticks 120] [--interval 1] [--profile FILE]
    valgrind --tool=callgrind --callgrind-out-file=/tmp/http.cg \
        .venv/bin/python benchmarks/http_bench.py --ticks 120 --callgrind
    grep summary: /tmp/http.cg.1        (instructions of the measured ticks: divide by --ticks)

The simulator runs in its own process with real-gateway latencies (``--latency real``); this process runs
what the daemon runs for its reads and nothing else (no parsing): a fast ``Poller`` reading
``/ivp/meters/readings`` every ``interval`` s, and slow pollers on the daemon's default schedule (the
IQ Battery ensemble every 15 intervals, ``/production.json`` every 60), sharing one lock as the daemon's
do, all through one ``GatewaySession`` with a manual ``token_file``. After a few warm-up reads ``ticks``
fast reads are measured: CPU per tick, event-loop iterations per tick, TLS handshakes (``--profile``: a
cProfile of those ticks). ``--callgrind`` zeroes callgrind's counts when they start and dumps them when
they end (``callgrind_control``), so start-up and warm-up stay out of the figure."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from daemon_bench import simulator_running

from enphase_secure.config import GatewayConfig
from enphase_secure.daemon.poller import Poller
from enphase_secure.gateway.connect import open_gateway
from enphase_secure.gateway.ensemble import INVENTORY_PATH, POWER_PATH, SECCTRL_PATH
from enphase_secure.gateway.meters import READINGS_PATH
from enphase_secure.gateway.production import PRODUCTION_JSON_PATH
from enphase_secure.gateway.session import GatewaySession

WARM_UP_READS = 5
SLOW_LOOPS = (
    ("storage", 15, (POWER_PATH, SECCTRL_PATH, INVENTORY_PATH)),
    ("production", 60, (PRODUCTION_JSON_PATH,)),
)
"""The daemon's slow loops on a battery site, by name: every so many fast intervals, these paths."""


class _Counters:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.iterations = 0
        self.handshakes = 0
        run_once: Callable[[], None] = loop._run_once  # type: ignore[attr-defined]

        def counted() -> None:
            self.iterations += 1
            run_once()

        loop._run_once = counted  # type: ignore[attr-defined]
        start_handshake = asyncio.sslproto.SSLProtocol._start_handshake

        def handshake(protocol: asyncio.sslproto.SSLProtocol) -> None:
            self.handshakes += 1
            start_handshake(protocol)

        asyncio.sslproto.SSLProtocol._start_handshake = handshake  # type: ignore[method-assign]


def _slow_read(
    gw: GatewaySession, lock: asyncio.Lock, paths: tuple[str, ...]
) -> Callable[[], Awaitable[None]]:
    async def read() -> None:
        async with lock:
            for path in paths:
                await gw.get(path)

    return read


async def _callgrind(command: str) -> None:
    """``callgrind_control <command>`` on this process: ``-z`` zeroes its counts, ``-d`` dumps them."""
    control = await asyncio.create_subprocess_exec(
        "callgrind_control", command, str(os.getpid()), stdout=asyncio.subprocess.DEVNULL
    )
    await control.wait()


async def bench(
    ticks: int, interval_s: float, scenario: str, work: Path, profile: Path | None, callgrind: bool
) -> None:
    async with simulator_running(work, scenario, "--latency", "real") as gateway_url:
        config = GatewayConfig(
            host=gateway_url.removeprefix("https://"), token_mode="manual", token_file=work / "token"
        )
        counters = _Counters(asyncio.get_running_loop())
        log = logging.getLogger("http_bench")
        wanted = WARM_UP_READS + ticks
        done = asyncio.Event()
        marks: dict[str, Any] = {}
        profiler = cProfile.Profile()

        async with open_gateway(config, state_dir=work) as gw:

            async def read_fast() -> bytes:
                return await gw.get(READINGS_PATH, timeout_s=0.9 * interval_s)

            async def on_value(_body: bytes) -> None:
                reads = fast.state.reads
                if reads == WARM_UP_READS:
                    marks.update(cpu=time.process_time(), iterations=counters.iterations,
                                 handshakes=counters.handshakes, wall=time.monotonic())  # fmt: skip
                    if profile is not None:
                        profiler.enable()
                    if callgrind:
                        await _callgrind("-z")
                if reads >= wanted:
                    done.set()

            fast: Poller[bytes] = Poller(
                name="fast", interval_s=interval_s, read=read_fast, on_value=on_value,
                timeout_s=interval_s, logger=log,
            )  # fmt: skip
            lock = asyncio.Lock()
            slow = [
                Poller(name=name, interval_s=every * interval_s, read=_slow_read(gw, lock, paths),
                       timeout_s=10.0, logger=log)
                for name, every, paths in SLOW_LOOPS
            ]  # fmt: skip

            async def run_slow(poller: Poller[None]) -> None:
                await asyncio.sleep(poller.interval_s)  # the first slow reads come from the probe
                await poller.run()

            tasks = [asyncio.create_task(fast.run())] + [asyncio.create_task(run_slow(p)) for p in slow]
            await done.wait()
            if callgrind:
                await _callgrind("-d")
            cpu, now = time.process_time(), time.monotonic()
            if profile is not None:
                profiler.disable()
                profiler.dump_stats(profile)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        failures = fast.state.failures_total + sum(p.state.failures_total for p in slow)
        slow_reads = sum(p.state.reads for p in slow)
        if ticks:
            print(f"{ticks} fast ticks every {interval_s:g} s in {now - marks['wall']:.1f} s, "
                  f"{slow_reads} slow reads, {failures} failed reads")  # fmt: skip
            print(f"CPU per tick: {1000 * (cpu - marks['cpu']) / ticks:.3f} ms")
            print(
                f"event-loop iterations per tick: {(counters.iterations - marks['iterations']) / ticks:.1f}"
            )
            print(f"TLS handshakes while measuring: {counters.handshakes - marks['handshakes']}")
        else:
            print(f"warm-up only: {WARM_UP_READS} fast reads, {failures} failed reads")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--ticks", type=int, default=120, help="measured fast ticks (0: start-up and warm-up only)"
    )
    parser.add_argument("--interval", type=float, default=1.0, help="fast poll interval, s (the daemon's: 1)")
    parser.add_argument("--scenario", default="three-phase-battery")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the measured ticks to this file")
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="under callgrind: zero the counts when the measured ticks start, dump them when they end",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        asyncio.run(bench(args.ticks, args.interval, args.scenario, Path(work), args.profile, args.callgrind))


if __name__ == "__main__":
    main()
