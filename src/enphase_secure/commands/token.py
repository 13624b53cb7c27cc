"""`enphase-secure token -c FILE [--print]`: obtain (auto mode) or read (manual mode) the gateway token,
check it with the gateway and show whose it is and until when. The token itself only with ``--print``."""

from __future__ import annotations

import argparse
import asyncio

from ..config import load_config
from ..gateway.connect import open_gateway
from ..gateway.redact import install_redaction
from ..gateway.token import Token
from ..gateway.token_manager import utc_now
from ..gateway.token_policy import TokenHealth, token_health


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", required=True, help="config file (TOML)")
    parser.add_argument(
        "--print",
        dest="print_token",
        action="store_true",
        help="also print the token itself (a secret: anyone holding it can read your gateway)",
    )


def token_lines(token: Token, *, warning_days: float) -> list[str]:
    """What to show about a token, without the token."""
    now = utc_now()
    info = token.info
    lines = [
        f"owner type   {info.user_type or 'unknown'}",
        f"serial       {info.serial or 'unknown'}",
        f"username     {info.username or 'unknown'}",
        f"expires      {info.expires_at:%Y-%m-%d %H:%M} UTC",
        f"days left    {info.days_left(now):.1f}",
    ]
    health = token_health(info, now, warning_days=warning_days)
    if health is TokenHealth.EXPIRING:
        lines.append(f"warning      the token expires in less than {warning_days:g} days")
    elif health is TokenHealth.EXPIRED:
        lines.append("warning      the token has expired")
    return lines


async def _accepted_token(args: argparse.Namespace) -> tuple[Token, float, str]:
    config = load_config(args.config)
    async with open_gateway(config.gateway, state_dir=config.storage.state_dir) as gateway:
        token = await gateway.check_token()
        return token, config.gateway.expiry_warning_days, gateway.base_url


def run(args: argparse.Namespace) -> int:
    install_redaction()
    token, warning_days, url = asyncio.run(_accepted_token(args))
    print("\n".join([*token_lines(token, warning_days=warning_days), f"accepted by  {url}"]))
    if args.print_token:
        print(token.value)
    return 0
