"""Who may use the API: the API token, same-origin writes with a JSON body (issue 10).

Every write needs ``Authorization: Bearer <token>``; reads need it too when the listener is not a
loopback address. A write from a browser page of another site is refused (its ``Origin`` or
``Sec-Fetch-Site`` says so), and so is a write whose body is not ``application/json`` (an HTML form
or a ``text/plain`` fetch cannot send one without a CORS pre-flight, which this API never grants).
The token is compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from pydantic import SecretStr

from ..errors import ConfigError
from .openapi import error_body

API_TOKEN_FILE = "api_token"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# what a browser must load before it can ask for the token: the dashboard's page and files, the API's
# description; they hold no figure of the house
PUBLIC_READS = frozenset({"/", "/api/docs", "/api/openapi.json", "/api/figures"})
PUBLIC_READ_PREFIX = "/static/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``[::1]`` and ``localhost`` are loopback; any other name or address is not."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_or_create_token(path: Path) -> SecretStr:
    """The token kept in ``path``; a new random one written there (mode 0600) when the file is absent.

    ConfigError naming the file when it can neither be read nor created.
    """
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    except OSError as err:
        raise ConfigError(f"API token file {str(path)!r}: {err.strerror}") from None
    if text:
        return SecretStr(text)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(token + "\n")
    except OSError as err:
        raise ConfigError(f"API token file {str(path)!r}: cannot create it: {err.strerror}") from None
    return SecretStr(token)


@dataclass(frozen=True)
class ApiSecurity:
    """``token`` None: no token could be had, every write is refused."""

    token: SecretStr | None = None
    reads_need_token: bool = False

    def _authorized(self, request: web.Request) -> bool:
        if self.token is None:
            return False
        scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        expected = self.token.get_secret_value().encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        write = request.method not in READ_METHODS
        if write:
            refusal = _cross_site(request)
            if refusal is not None:
                return _error(403, refusal)
        public = not write and (request.path in PUBLIC_READS or request.path.startswith(PUBLIC_READ_PREFIX))
        if (write or (self.reads_need_token and not public)) and not self._authorized(request):
            reason = (
                "the API has no token (see the log): writes are refused"
                if self.token is None
                else "send the API token: Authorization: Bearer <token> (see README, API token)"
            )
            return _error(401, reason, headers={hdrs.WWW_AUTHENTICATE: "Bearer"})
        if write and request.content_type != "application/json":
            return _error(415, "send the body as JSON (Content-Type: application/json)", field="body")
        return await handler(request)


def _cross_site(request: web.Request) -> str | None:
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return "cross-site request refused"
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return None
    if origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower():
        return f"request from another origin ({origin}) refused"
    return None


def _error(
    status: int, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=error_body(message, field), content_type="application/json", headers=headers
    )
