"""`enphase-secure demo`: a simulated gateway (live scenario) and the daemon reading it, no config needed.

State lives in a temporary directory removed at exit; the API listens on 127.0.0.1:8080 (on a free port,
said so, when that one is taken), or on ``--listen`` (exit 2 when that one is taken). The URL is
printed once ready.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import tempfile
from pathlib import Path

from ..config import parse_config
from ..daemon.service import Daemon
from ..errors import ConfigError
from ..gateway.redact import install_redaction
from ..simulator.live import BUILTIN_SCENARIOS, load_scenario_source
from ..simulator.server import run_simulator

DEFAULT_LISTEN = "127.0.0.1:8080"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario", default="single-phase", help=f"built-in ({', '.join(BUILTIN_SCENARIOS)}) or FILE"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument(
        "--listen", default=None, metavar="HOST:PORT", help=f"the daemon's API (default {DEFAULT_LISTEN})"
    )


def _port_free(listen: str) -> bool:
    host, _, port = listen.rpartition(":")
    with socket.socket() as probe:
        try:
            probe.bind((host, int(port)))
        except OSError:
            return False
    return True


async def _demo(args: argparse.Namespace, state_dir: Path) -> None:
    source = load_scenario_source(args.scenario, speed=args.speed)
    listen = args.listen or DEFAULT_LISTEN
    if not _port_free(listen):
        if args.listen is not None:
            raise ConfigError(f"demo --listen {listen!r}: that port is in use (or not allowed): give another")
        print(f"demo: {DEFAULT_LISTEN} is in use, the API takes a free port instead", file=sys.stderr)
        listen = "127.0.0.1:0"
    async with run_simulator(source) as sim:
        config = parse_config(
            {
                "gateway": {"host": sim.host, "token_mode": "manual", "token": sim.issue_token()},
                "site": {"timezone": str(source.now().tzinfo)},
                "storage": {"state_dir": str(state_dir)},
                "web": {"listen": listen},
            },
            source="demo",
        )
        daemon = Daemon(config, clock=source.now)
        task = asyncio.create_task(daemon.run())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await daemon.ready.wait()
        print(
            f"demo ready: dashboard {daemon.web_url}/ , API {daemon.web_url}/api/snapshot "
            f"and every route on {daemon.web_url}/api/docs "
            f"(simulated gateway {sim.gateway_url}, scenario {args.scenario}); Ctrl-C to stop",
            flush=True,
        )
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        waiter.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)


def run(args: argparse.Namespace) -> int:
    install_redaction()
    with tempfile.TemporaryDirectory(prefix="enphase-secure-demo-") as state_dir:
        asyncio.run(_demo(args, Path(state_dir)))
    print("demo stopped", file=sys.stderr)
    return 0
