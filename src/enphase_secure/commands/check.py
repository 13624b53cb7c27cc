"""`enphase-secure check -c FILE`: validate the config, reach the gateway, validate the token, and say
what the gateway has and therefore which figures will be available.

Exit 0 when all is well, 1 on a runtime failure (gateway, token), 2 on a bad config (reason on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import os

from ..config import Config, control_plan, load_config
from ..errors import ConfigError
from ..gateway.connect import open_gateway
from ..gateway.info import read_info
from ..gateway.probe import GatewayCapabilities, probe
from ..gateway.redact import install_redaction
from ..gateway.session import certificate_fingerprint
from ..messages import set_language
from .token import token_lines


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", required=True, help="config file (TOML)")


def _config_lines(config: Config) -> list[str]:
    """What the config says; ConfigError for what ``run`` would refuse too (exit 2)."""
    gateway = config.gateway
    lines = [
        f"gateway        {gateway.host} (token mode {gateway.token_mode})",
        f"timezone       {config.site.timezone} (day counters start at its midnight)",
        f"API            {config.web.listen}",
    ]
    state_dir = config.storage.state_dir
    parent = next((p for p in (state_dir, *state_dir.parents) if p.exists()), None)
    if not state_dir.exists() and (parent is None or not parent.is_dir() or not os.access(parent, os.W_OK)):
        raise ConfigError(
            f"storage.state_dir {str(state_dir)!r} cannot be created ({parent} is not writable)"
        )
    if not os.access(state_dir if state_dir.exists() else parent or state_dir, os.W_OK):
        lines.append(
            f"warning        storage.state_dir {str(state_dir)!r} is not writable: no history, no saved day "
            "counters, and (auto mode) a new token asked for at every start"
        )
    settings, actions = control_plan(config)
    for stage in settings.stages:
        acts = actions.get(stage.name)
        count = len(acts.on) + len(acts.off) if acts else 0
        lines.append(
            f"stage          {stage.name}: on above {stage.start_above_w:g} W, off below "
            f"{stage.stop_below_w:g} W, phase {stage.phase}, {count} action(s)"
        )
        if count == 0:
            lines.append(f"warning        stage {stage.name} has no on/off action: it will switch nothing")
    return lines


def _site_mistakes(config: Config, caps: GatewayCapabilities) -> list[str]:
    """What the config asks that this gateway cannot give."""
    mistakes = []
    count = caps.phase_count
    if config.site.phases == "single" and count is not None and count > 1:
        mistakes.append(
            f"site.phases = 'single' but the gateway measures {count} phases: use 'auto' or 'three'"
        )
    if config.site.phases == "three" and count == 1:
        mistakes.append("site.phases = 'three' but the gateway measures one phase: use 'auto' or 'single'")
    settings, _ = control_plan(config)
    for i, stage in enumerate(settings.stages):
        if isinstance(stage.phase, int) and count is not None and stage.phase > count:
            mistakes.append(
                f"control.stages[{i}].phase = {stage.phase} but the site has {count} phase(s): "
                "use 'total' or an existing phase"
            )
    return mistakes


async def _gateway_lines(config: Config) -> tuple[list[str], list[str]]:
    """The gateway's lines, and the config's mistakes only the gateway can reveal."""
    fingerprint = await certificate_fingerprint(config.gateway.host, timeout_s=config.gateway.timeout_s)
    pinned = config.gateway.cert_fingerprint
    if pinned is None:
        cert = f"certificate    SHA-256 {fingerprint} (not pinned: set gateway.cert_fingerprint to it)"
    elif pinned == fingerprint:
        cert = f"certificate    SHA-256 {fingerprint} (pinned: matches)"
    else:
        cert = f"certificate    SHA-256 {fingerprint}: NOT the pinned gateway.cert_fingerprint"
    async with open_gateway(config.gateway, state_dir=config.storage.state_dir) as gateway:
        info = await read_info(gateway)
        lines = [
            f"reached        {gateway.base_url}: serial {info.serial}, firmware {info.firmware}, "
            f"part {info.part_number or 'unknown'}",
            cert,
        ]
        version = info.firmware_version
        if version is not None and version[0] < 7:
            lines.append(
                "warning        firmware older than 7: out of scope (no token needed, not supported)"
            )
        token = await gateway.check_token()
        lines.append("token          accepted by the gateway")
        lines.extend(token_lines(token, warning_days=config.gateway.expiry_warning_days))
        caps = await probe(gateway)
        lines.extend(capability_lines(caps))
        return lines, _site_mistakes(config, caps)


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
    set_language(config.log.language)
    # Secret files are read now, so that an unreadable one is a config error (exit 2), not a runtime one.
    config.gateway.password_value()
    config.gateway.token_value()
    print(f"config OK      {args.config}")
    print("\n".join(_config_lines(config)), flush=True)
    lines, mistakes = asyncio.run(_gateway_lines(config))
    print("\n".join(lines))
    if mistakes:
        raise ConfigError("; ".join(mistakes))
    return 0
