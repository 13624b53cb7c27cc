"""``enphase-secure simulate``: a fake IQ Gateway (HTTPS) and Enlighten/Entrez cloud (HTTP) on loopback.

Prints one line when ready: ``gateway https://HOST:PORT cloud http://HOST:PORT serial NNN``.
Without ``--replay`` or ``--scenario`` it serves the built-in live scenario ``single-phase``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ConfigError
from .faults import parse_fault_spec
from .latency import PROFILES, latency_profile
from .replay import ReplaySource
from .server import run_simulator
from .source import DocumentSource
from .tls import server_ssl_context

DEFAULT_SCENARIO = "single-phase"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="gateway (HTTPS); port 0 = any"
    )
    parser.add_argument(
        "--cloud-listen", default="127.0.0.1:0", metavar="HOST:PORT", help="fake cloud (HTTP)"
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--replay", type=Path, metavar="DIR", help="serve a folder of gateway captures")
    what.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help=f"live scenario: built-in name or TOML file (default {DEFAULT_SCENARIO})",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="live scenario time acceleration")
    parser.add_argument("--seed", type=int, default=None, help="live scenario random seed")
    parser.add_argument(
        "--start",
        default="scenario",
        metavar="scenario|now|ISO",
        help="live scenario clock start: the scenario's own (default), now (for a daemon on the real "
        "clock: reports are then recent), or an ISO 8601 time with its offset",
    )
    parser.add_argument("--token-file", type=Path, metavar="FILE", help="write a valid owner token here")
    parser.add_argument(
        "--token-lifetime", type=int, metavar="S", help="lifetime of issued tokens (default: owner 1 year)"
    )
    parser.add_argument(
        "--cert", type=Path, metavar="FILE", help="TLS certificate (PEM); default self-signed"
    )
    parser.add_argument("--key", type=Path, metavar="FILE", help="TLS private key (PEM) for --cert")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="kind[:key=value]...; kinds latency, timeout, status, reset, truncated_json, invalid_json; "
        "keys paths (comma-separated prefixes), count, delay_s, status. E.g. status:status=503:count=3",
    )
    parser.add_argument(
        "--latency",
        choices=PROFILES,
        default="none",
        help="per-path service times: real = a real gateway's (readings 0.1 s, production.json 1 s, "
        "ensemble 0.3 s), one request at a time like its single worker",
    )
    parser.add_argument(
        "--nightly-gap",
        action="store_true",
        help="stop answering 22:57-23:10 gateway local time, like real ones",
    )


def build_source(args: argparse.Namespace) -> DocumentSource:
    if args.speed <= 0:
        raise ConfigError(f"--speed {args.speed}: must be > 0")
    if args.replay is not None:
        return ReplaySource(args.replay)
    try:
        from .live import load_scenario_source  # noqa: PLC0415  (the live model is only loaded when used)
    except ImportError as err:
        raise ConfigError("scenario support not available") from err
    start = scenario_start(args.start)
    return load_scenario_source(
        args.scenario or DEFAULT_SCENARIO, speed=args.speed, seed=args.seed, start=start
    )


def scenario_start(text: str) -> datetime | None:
    """``--start``: None for the scenario's own start, else an aware time."""
    if text == "scenario":
        return None
    if text == "now":
        return datetime.now(UTC)
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--start {text!r}: give scenario, now or an ISO 8601 time") from None
    if start.tzinfo is None:
        raise ConfigError(f"--start {text!r}: give the time's offset (e.g. +02:00 or Z)")
    return start


def write_token(path: Path, token: str) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(token + "\n")
    except OSError as err:
        raise ConfigError(f"--token-file {path}: cannot write: {err.strerror or err}") from err


async def serve(args: argparse.Namespace) -> None:
    if args.token_lifetime is not None and args.token_lifetime < 1:
        raise ConfigError(f"--token-lifetime {args.token_lifetime}: must be >= 1 second")
    faults = [parse_fault_spec(spec) for spec in args.fault]
    source = build_source(args)
    host = args.listen.rpartition(":")[0] or "127.0.0.1"
    context = server_ssl_context(common_name=host, cert_file=args.cert, key_file=args.key)
    async with run_simulator(
        source,
        listen=args.listen,
        cloud_listen=args.cloud_listen,
        ssl_context=context,
        token_lifetime_s=args.token_lifetime,
        faults=faults,
        nightly_gap=args.nightly_gap,
        latency=latency_profile(args.latency),
    ) as sim:
        if args.token_file is not None:
            write_token(args.token_file, sim.issue_token())
        print(f"gateway {sim.gateway_url} cloud {sim.cloud_url} serial {sim.serial}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def run(args: argparse.Namespace) -> int:
    asyncio.run(serve(args))
    return 0
