"""Build the gateway session and its token provider from the configuration."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from ..config import GatewayConfig
from ..errors import ConfigError, TokenError
from .cloud_client import EnlightenClient
from .info import read_info
from .redact import register_secret
from .session import GatewaySession, gateway_logger
from .token import Token, decode_token
from .token_manager import AutoTokens, Clock, ManualTokens, TokenProvider, utc_now
from .tokenstore import TokenStore, token_cache_path
from .transport import Transport


async def serial_from_info(gateway: Transport) -> str:
    return (await read_info(gateway)).serial


def _required(value: SecretStr | None, key: str) -> str:
    if value is None:
        raise ConfigError(f"{key} is missing")
    secret = value.get_secret_value()
    register_secret(secret)
    return secret


def manual_tokens_from_text(
    text: str,
    *,
    source: str,
    warning_days: float = 30.0,
    clock: Clock = utc_now,
    host: str | None = None,
    reload: Callable[[], Token | None] | None = None,
) -> ManualTokens:
    """Manual mode from a token's text; ConfigError (naming ``source``) if it is not a token."""
    register_secret(text.strip())
    try:
        token = decode_token(text, source=source)
    except TokenError as err:
        raise ConfigError(str(err)) from err
    return ManualTokens(
        token=token,
        warning_days=warning_days,
        clock=clock,
        logger=gateway_logger(host) if host else None,
        reload=reload,
    )


def token_file_watcher(path: Path) -> Callable[[], Token | None]:
    """Reads ``path`` again when it changed since the last look (time or size); None when it did not.

    TokenError when the changed file is not a token (or cannot be read).
    """
    path = path.expanduser()
    seen: list[tuple[int, int] | None] = [_stamp(path)]

    def reload() -> Token | None:
        stamp = _stamp(path)
        if stamp == seen[0]:
            return None
        seen[0] = stamp
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise TokenError(f"cannot read gateway.token_file {str(path)!r}: {err.strerror}") from None
        register_secret(text.strip())
        return decode_token(text, source="gateway.token_file")

    return reload


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def token_provider(gateway: GatewayConfig, *, state_dir: Path, clock: Clock = utc_now) -> TokenProvider:
    if gateway.token_mode == "manual":
        source = "gateway.token_file" if gateway.token_file is not None else "gateway.token"
        text = _required(gateway.token_value(), source)
        return manual_tokens_from_text(
            text,
            source=source,
            warning_days=gateway.expiry_warning_days,
            clock=clock,
            host=gateway.host,
            reload=token_file_watcher(gateway.token_file) if gateway.token_file is not None else None,
        )
    if not gateway.username:
        raise ConfigError("gateway.username is missing")
    password = _required(gateway.password_value(), "gateway.password")
    cloud = EnlightenClient(
        enlighten_url=gateway.enlighten_url,
        entrez_url=gateway.entrez_url,
        username=gateway.username,
        password=SecretStr(password),
    )
    return AutoTokens(
        cloud=cloud,
        store=TokenStore(path=token_cache_path(state_dir, gateway.host)),
        username=gateway.username,
        serial=gateway.serial,
        serial_lookup=serial_from_info,
        renew_margin_days=gateway.renew_margin_days,
        warning_days=gateway.expiry_warning_days,
        clock=clock,
        logger=gateway_logger(gateway.host),
    )


def open_gateway(
    gateway: GatewayConfig,
    *,
    state_dir: Path,
    clock: Clock = utc_now,
    tokens: TokenProvider | None = None,
) -> GatewaySession:
    """The session to the configured gateway; use it as ``async with open_gateway(...) as session:``.

    Pass ``tokens`` to keep one token provider (its cache and cloud backoff) across reconnections.
    """
    return GatewaySession(
        host=gateway.host,
        tokens=tokens or token_provider(gateway, state_dir=state_dir, clock=clock),
        timeout_s=gateway.timeout_s,
        cert_fingerprint=gateway.cert_fingerprint,
    )
