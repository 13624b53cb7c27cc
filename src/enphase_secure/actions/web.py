"""The HTTP plumbing shared by the http, jeedom and homeassistant actions.

Redirects: followed by hand, and only within the same origin (scheme, host, port), so that headers,
query and body (API keys, tokens) never reach another server; a redirect elsewhere is a failure
naming its target. ``follow_redirects = False`` makes every redirect a failure.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError, ConfigError

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


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
    follow_redirects: bool = True,
) -> tuple[int, bytes]:
    """One request; the status and body, or ActionError naming the URL (never its secrets)."""
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(MAX_REDIRECTS + 1):
                async with session.request(
                    method,
                    url,
                    headers=headers,
                    data=data,
                    json=json,
                    ssl=tls.for_aiohttp(),
                    allow_redirects=False,
                ) as resp:
                    if resp.status not in REDIRECT_STATUSES:
                        return resp.status, await resp.read()
                    status, target = resp.status, urljoin(url, resp.headers.get("Location", ""))
                _refuse_redirect(method, url, status, target, follow=follow_redirects)
                if status == 303 or (status in (301, 302) and method not in ("GET", "HEAD")):
                    method, data, json = "GET", None, None
                url = target
    except aiohttp.ClientError as err:
        raise ActionError(f"{method} {public_url(url)}: {type(err).__name__}") from err
    raise ActionError(f"{method} {public_url(url)}: more than {MAX_REDIRECTS} redirects")


def _refuse_redirect(method: str, url: str, status: int, target: str, *, follow: bool) -> None:
    where = f"{method} {public_url(url)}: HTTP {status} redirect to {public_url(target)}"
    if not follow:
        raise ActionError(f"{where}: not followed; put the URL it redirects to in the configuration")
    if _origin(target) != _origin(url):
        raise ActionError(
            f"{where}: another server, not followed (the credentials must not go there); "
            "put the URL it redirects to in the configuration"
        )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def expect_success(method: str, url: str, status: int) -> None:
    if status >= 400:
        raise ActionError(f"{method} {public_url(url)}: HTTP {status}")
