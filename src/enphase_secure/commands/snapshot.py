"""`enphase-secure snapshot (-c FILE | --host H (--token T | --token-file F)) [--json]`: one reading.

``--token`` puts the token in the process list, where other local users can see it: prefer
``--token-file`` (or a config file) on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from ..config import GatewayConfig, load_config
from ..energy.merge import PhaseSetting, merge_snapshot
from ..energy.snapshot import EnergyFlow, Snapshot
from ..errors import ConfigError
from ..gateway.connect import manual_tokens_from_text, open_gateway
from ..gateway.probe import probe
from ..gateway.redact import install_redaction
from ..gateway.session import GatewaySession
from ..gateway.transport import Transport

T = TypeVar("T")
NOT_FOUND = 404


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("-c", "--config", metavar="FILE", help="config file (TOML)")
    source.add_argument("--host", metavar="HOST[:PORT]", help="the gateway, with a manual token")
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token", metavar="JWT", help="the token (visible in the process list: prefer --token-file)"
    )
    token.add_argument("--token-file", metavar="FILE", type=Path, help="a file holding the token")
    parser.add_argument("--json", action="store_true", help="print the Snapshot JSON")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request (default 10)")


async def read_snapshot(gateway: Transport, *, phases: PhaseSetting = "auto") -> Snapshot:
    """Read every endpoint family once, one after the other (never in parallel), and merge them."""
    capabilities = await probe(gateway)
    return merge_snapshot(capabilities.readings, time=datetime.now(UTC), phases=phases)


def _session(args: argparse.Namespace) -> tuple[GatewaySession, PhaseSetting]:
    if args.config:
        if args.token or args.token_file:
            raise ConfigError("--token / --token-file go with --host, not with -c")
        config = load_config(args.config)
        return open_gateway(config.gateway, state_dir=config.storage.state_dir), config.site.phases
    if args.token_file:
        source = f"--token-file {str(args.token_file)!r}"
        try:
            text = args.token_file.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"{source}: cannot read: {err.strerror}") from err
    elif args.token:
        source, text = "--token", args.token
    else:
        raise ConfigError("--host needs --token-file (or --token)")
    host = GatewayConfig(host=args.host, token_mode="manual", token=text).host
    tokens = manual_tokens_from_text(text, source=source, host=host)
    return GatewaySession(host=host, tokens=tokens, timeout_s=args.timeout), "auto"


def _whole(value: float) -> str:
    """Rounded to a whole number; never "-0" (-0.4 W is 0 W)."""
    text = f"{value:,.0f}"
    return "0" if text == "-0" else text


def _number(value: float | None, unit: str) -> str:
    return "unknown" if value is None else f"{_whole(value)} {unit}"


def _row(label: str, value: str, detail: str = "") -> str:
    return f"{label:<16}{value:>12}  {detail}".rstrip()


def _flow_row(label: str, flow: EnergyFlow) -> str:
    phases = " / ".join(_number(p, "W") for p in flow.phases_w)
    per_phase = f"  (phases {phases})" if len(flow.phases_w) > 1 else ""
    return _row(label, _number(flow.power_w, "W"), f"lifetime {_number(flow.lifetime_wh, 'Wh')}{per_phase}")


def human_table(snapshot: Snapshot) -> str:
    ident = snapshot.gateway
    grid = snapshot.grid
    lines = [
        f"gateway {ident.serial or '?'}, firmware {ident.firmware or '?'}, part {ident.part_number or '?'}",
        f"time {snapshot.time.isoformat(timespec='seconds')}, "
        f"phases {snapshot.phase_count or '?'} ({snapshot.phase_mode or 'unknown'})",
        _flow_row("production", snapshot.production),
        _flow_row("consumption", snapshot.consumption),
        _flow_row("net consumption", snapshot.net_consumption),
        _row(
            "grid import", _number(grid.import_w, "W"), f"lifetime {_number(grid.import_lifetime_wh, 'Wh')}"
        ),
        _row(
            "grid export", _number(grid.export_w, "W"), f"lifetime {_number(grid.export_lifetime_wh, 'Wh')}"
        ),
    ]
    if snapshot.storage is not None:
        storage = snapshot.storage
        soc = "unknown" if storage.soc_pct is None else f"{_whole(storage.soc_pct)} %"
        energy = f"{_number(storage.available_wh, 'Wh')} of {_number(storage.capacity_wh, 'Wh')}"
        lines.append(_row("storage", _number(storage.power_w, "W"), f"charge {soc}, {energy}"))
    if snapshot.inverters:
        total = sum(i.power_w for i in snapshot.inverters if i.power_w is not None)
        lines.append(_row("inverters", str(len(snapshot.inverters)), f"reporting {_whole(total)} W in all"))
    lines.extend(_row(f"meter {m.eid}", _number(m.power_w, "W"), m.type) for m in snapshot.meters)
    return "\n".join(lines)


async def _read(args: argparse.Namespace) -> Snapshot:
    session, phases = _session(args)
    async with session as gateway:
        return await read_snapshot(gateway, phases=phases)


def run(args: argparse.Namespace) -> int:
    install_redaction()
    snapshot = asyncio.run(_read(args))
    print(json.dumps(snapshot.to_json(), indent=2) if args.json else human_table(snapshot))
    return 0
