"""The HTTP plumbing shared by the http, jeedom and homeassistant actions."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError, ConfigError
from enphase_secure.messages import explain


@dataclass(frozen=True, slots=True)
class Tls:
    """``verify_tls`` (default true) and an optional ``ca_file`` for a private CA / self-signed server."""

    verify: bool = True
    ca_file: Path | None = None

    @classmethod
    def from_fields(cls, f: Fields) -> Tls:
        verify = f.boolean("verify_tls", True)
        ca_file = f.optional_str("ca_file")
        if ca_file is None:
            return cls(verify=verify)
        if not verify:
            raise ConfigError(f"{f.key('ca_file')}: useless with verify_tls = false")
        if not Path(ca_file).is_file():
            raise ConfigError(f"{f.key('ca_file')}: no such file {ca_file!r}")
        return cls(verify=True, ca_file=Path(ca_file))

    def for_aiohttp(self) -> ssl.SSLContext | bool:
        if not self.verify:
            return False
        if self.ca_file is not None:
            return ssl.create_default_context(cafile=str(self.ca_file))
        return True


def checked_url(text: str, key: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key}: {public_url(text)!r} is not an http(s) URL")
    return text


def public_url(url: str) -> str:
    """The URL without user info, query or fragment (where API keys and passwords hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def send(
    method: str,
    url: str,
    *,
    tls: Tls,
    headers: dict[str, str] | None = None,
    data: Any = None,
    json: Any = None,
) -> tuple[int, bytes]:
    """One request; the status and body, or ActionError naming the URL (never its secrets)."""
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, url, headers=headers, data=data, json=json, ssl=tls.for_aiohttp()
            ) as resp,
        ):
            return resp.status, await resp.read()
    except aiohttp.ClientError as err:
        raise ActionError(f"{method}: {explain(err, public_url(url))}") from err


def expect_success(method: str, url: str, status: int) -> None:
    if status >= 400:
        raise ActionError(f"{method} {public_url(url)}: HTTP {status}")
