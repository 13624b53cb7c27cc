"""`enphase-secure check -c FILE`: validate the config, reach the gateway, validate the token, and say
what the gateway has and therefore which figures will be available.

Exit 0 when all is well, 1 on a runtime failure (gateway, token), 2 on a bad config (reason on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from ..config import Config, load_config
from ..gateway.connect import open_gateway
from ..gateway.info import read_info
from ..gateway.probe import GatewayCapabilities, probe
from ..gateway.redact import install_redaction
from .token import token_lines


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", required=True, help="config file (TOML)")


def _config_lines(config: Config) -> list[str]:
    gateway = config.gateway
    lines = [f"gateway        {gateway.host} (token mode {gateway.token_mode})"]
    state_dir = config.storage.state_dir
    if gateway.token_mode == "auto":
        parent = next((p for p in (state_dir, *state_dir.parents) if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK):
            lines.append(
                f"warning        storage.state_dir {str(state_dir)!r} is not writable: the token will not "
                "be cached and a new one is asked for at every start"
            )
    if gateway.cert_fingerprint is None:
        lines.append("note           gateway.cert_fingerprint is not set: any certificate is accepted")
    return lines


async def _gateway_lines(config: Config) -> list[str]:
    async with open_gateway(config.gateway, state_dir=config.storage.state_dir) as gateway:
        info = await read_info(gateway)
        lines = [
            f"reached        {gateway.base_url}: serial {info.serial}, firmware {info.firmware}, "
            f"part {info.part_number or 'unknown'}"
        ]
        version = info.firmware_version
        if version is not None and version[0] < 7:
            lines.append(
                "warning        firmware older than 7: out of scope (no token needed, not supported)"
            )
        token = await gateway.check_token()
        lines.append("token          accepted by the gateway")
        lines.extend(token_lines(token, warning_days=config.gateway.expiry_warning_days))
        lines.extend(capability_lines(await probe(gateway)))
        return lines


def capability_lines(caps: GatewayCapabilities) -> list[str]:
    """What the gateway has, and which figures that makes available."""
    lines = [f"phases         {caps.phase_count or '?'} ({caps.phase_mode or 'unknown'})"]
    lines.extend(
        f"CT             {ct.measurement_type} (eid {ct.eid}, {ct.state}, {ct.phase_count} phase(s))"
        for ct in caps.cts
    )
    if not caps.cts:
        lines.append("CT             none")
    lines.append(f"batteries      {caps.iq_battery_count} IQ Battery, {caps.acb_count} ACB")
    inverters = "unknown (endpoint did not answer)" if caps.inverter_count is None else caps.inverter_count
    lines.append(f"inverters      {inverters}")
    lines.extend(
        f"endpoint       {e.path}: {'yes' if e.available else 'no'}{f' ({e.problem})' if e.problem else ''}"
        for e in caps.endpoints
    )
    consumption = caps.has_ct("net-consumption") or caps.has_ct("total-consumption")
    figures = [
        ("live power per CT and per phase", bool(caps.enabled_cts)),
        ("consumption and grid import/export", consumption),
        ("exact import/export counters", caps.has_ct("net-consumption")),
        ("battery state of charge", caps.iq_battery_count + caps.acb_count > 0),
        ("per-inverter power", bool(caps.inverter_count)),
    ]
    lines.extend(f"figure         {name}: {'available' if ok else 'not available'}" for name, ok in figures)
    return lines


def run(args: argparse.Namespace) -> int:
    install_redaction()
    config = load_config(args.config)
    # Secret files are read now, so that an unreadable one is a config error (exit 2), not a runtime one.
    config.gateway.password_value()
    config.gateway.token_value()
    print(f"config OK      {args.config}")
    print("\n".join(_config_lines(config)), flush=True)
    print("\n".join(asyncio.run(_gateway_lines(config))))
    return 0
