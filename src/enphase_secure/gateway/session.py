"""The HTTPS session to one IQ Gateway: keep-alive, self-signed certificate (optionally pinned), token.

The gateway checks a session cookie more cheaply than a JWT (DESIGN.md §2): ``/auth/check_jwt`` is
called once, then every request carries the ``sessionId`` cookie it set, plus the bearer header. On a
401 the token is checked again, and a new token is asked for only when ``check_jwt`` refuses it too.

The gateway is read every second, so the per-request path is kept lean: the cookie is kept here and
sent as a header (one cookie from one host: aiohttp's jar would match domains and paths on every
request), aiohttp's own timeouts are off (each request runs inside ``get``'s ``asyncio.timeout``, which
names the path; aiohttp's 5 min timer per request would also sit in the event loop's timer heap for
5 minutes), and the token is looked at without the lock unless it has to be checked. The fast loop's
GETs (``get(path, fast=True)``) go over the fast lane (``fast_lane.py``, half the CPU per request) when
httptools can be imported; aiohttp then keeps one connection for the rest, two without the lane.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from ..errors import GatewayAuthError, GatewayStatusError, GatewayUnreachableError
from ..messages import explain
from .tls import certificate_mismatch, no_verify_ssl_context, parse_fingerprint
from .token import Token
from .token_manager import TokenProvider, describe, utc_now

if TYPE_CHECKING:
    from .fast_lane import FastLane

CHECK_JWT_PATH = "/auth/check_jwt"
SESSION_COOKIE = "sessionId"
PUBLIC_PATHS = frozenset({"/info"})
"""Answered without a token by every firmware: the serial can be read before a token exists."""
_REFUSED = frozenset({401, 403})
MAX_CONNECTIONS = 2
"""The gateway is a small device: the fast loop and one slow read at most at the same time."""
NO_CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=None)
SLOW_KEEPALIVE_S = 75.0
"""How long aiohttp keeps an idle connection: beyond the slow loops' default intervals (15 s, 60 s).
With the fast lane the slow reads have aiohttp's connection to themselves; at aiohttp's 15 s default it
would close just before each storage read, which would pay a TLS handshake (0.17 M instructions
per fast tick). A connection the gateway closes first is noticed and replaced."""
Request = Callable[[str, dict[str, str] | None], Awaitable[tuple[int, bytes, str | None]]]
"""One GET on a connection: (path, headers) -> status, body and the session cookie it set (if any)."""


def fast_lane_class() -> type[FastLane] | None:
    """The fast lane when httptools can be imported (the speedups extra), else None: aiohttp serves."""
    try:
        from .fast_lane import FastLane  # noqa: PLC0415 (optional: httptools)
    except ImportError:
        return None
    return FastLane


def fast_reads_over() -> str:
    """``httptools`` or ``aiohttp``: what carries the fast loop's reads, for the start-up log."""
    return "aiohttp" if fast_lane_class() is None else "httptools"


def gateway_logger(host: str) -> logging.Logger:
    return logging.getLogger(f"enphase_secure[{host}]")


async def certificate_fingerprint(host: str, *, timeout_s: float) -> str:
    """SHA-256 (hex, as ``gateway.cert_fingerprint`` takes it) of the certificate ``host`` presents."""
    url = urlsplit(f"https://{host}")
    try:
        async with asyncio.timeout(timeout_s):
            _reader, writer = await asyncio.open_connection(
                url.hostname, url.port or 443, ssl=no_verify_ssl_context()
            )
    except (OSError, TimeoutError) as err:
        raise GatewayUnreachableError(f"https://{host}: cannot read its certificate: {err}") from err
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    return hashlib.sha256(der).hexdigest()


class GatewaySession:
    """A ``Transport`` to one gateway. Use as ``async with GatewaySession(...) as gateway:``."""

    def __init__(
        self,
        *,
        host: str,
        tokens: TokenProvider,
        timeout_s: float = 10.0,
        cert_fingerprint: str | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        host = host.strip()
        if not host or "/" in host:
            raise ValueError(f"host must be a host name or address, optionally with :port, not {host!r}")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.host = host
        self.base_url = f"https://{host}"
        self._tokens = tokens
        self._timeout_s = timeout_s
        self._pinned = None if cert_fingerprint is None else parse_fingerprint(cert_fingerprint)
        self._logger = logger or gateway_logger(host)
        self._http: aiohttp.ClientSession | None = None
        self._lane: FastLane | None = None
        self._checked: Token | None = None
        self._headers: dict[str, str] = {}
        """The checked token's bearer header and, once check_jwt set one, its session cookie."""
        self._urls: dict[str, URL] = {}
        self._auth_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        tls: ssl.SSLContext | aiohttp.Fingerprint = (
            no_verify_ssl_context() if self._pinned is None else aiohttp.Fingerprint(self._pinned)
        )
        lane = fast_lane_class()
        if lane is not None:
            self._lane = lane(
                host=self.host,
                base_url=self.base_url,
                ssl_context=no_verify_ssl_context(),
                pinned=self._pinned,
            )
        # with the lane, aiohttp keeps one connection for check_jwt and the slow reads
        connector = aiohttp.TCPConnector(
            ssl=tls, limit=MAX_CONNECTIONS - (self._lane is not None), keepalive_timeout=SLOW_KEEPALIVE_S
        )
        self._http = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=NO_CLIENT_TIMEOUT
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._lane is not None:
            self._lane.close()
            self._lane = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._checked = None
        self._headers = {}

    async def get(self, path: str, *, timeout_s: float | None = None, fast: bool = False) -> bytes:
        """GET ``path``; the body of a 200, within ``timeout_s`` in all (re-authentication included).

        ``fast``: over the fast lane (the fast loop's own connection) when httptools is installed.

        Raises GatewayAuthError on 401/403 that survives re-authentication, GatewayUnreachableError on
        connection problems and timeouts, CertificateMismatchError, GatewayStatusError on other statuses,
        TokenError when no usable token can be had.
        """
        budget_s = self._timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(budget_s):
                return await self._get(path, self._lane.request if fast and self._lane else self._request)
        except TimeoutError as err:
            raise GatewayUnreachableError(f"{self.base_url}{path}: no answer within {budget_s:g} s") from err

    async def check_token(self, *, timeout_s: float | None = None) -> Token:
        """Make sure the gateway accepts a token (obtaining or replacing it as needed) and return it."""
        budget_s = self._timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(budget_s):
                return await self._accepted_token(force_check=True)
        except TimeoutError as err:
            raise GatewayUnreachableError(
                f"{self.base_url}{CHECK_JWT_PATH}: no answer within {budget_s:g} s"
            ) from err

    async def _get(self, path: str, request: Request) -> bytes:
        if path.partition("?")[0] in PUBLIC_PATHS:
            status, body, _cookie = await request(path, None)
            return self._body(path, status, body)
        headers = await self._accepted_headers(force_check=False)
        status, body, _cookie = await request(path, headers)
        if status in _REFUSED:
            self._logger.info("%s answered %d: checking the token again", path, status)
            headers = await self._accepted_headers(force_check=True)
            status, body, _cookie = await request(path, headers)
        return self._body(path, status, body)

    async def _accepted_headers(self, *, force_check: bool) -> dict[str, str]:
        current = None
        if not force_check and not self._auth_lock.locked():
            # nothing being checked: the lock is only needed when the token must be checked
            current = await self._tokens.current(self)
            if current is self._checked:
                return self._headers
        await self._accepted_token(force_check=force_check, current=current)
        return self._headers

    async def _accepted_token(self, *, force_check: bool, current: Token | None = None) -> Token:
        """The checked token; ``current``: what the provider just gave (asked again if None)."""
        async with self._auth_lock:
            token = current if current is not None else await self._tokens.current(self)
            if token is self._checked and not force_check:
                return token
            self._checked, self._headers = None, {}
            if not await self._check_jwt(token):
                token = await self._tokens.replace(token, self)
                if not await self._check_jwt(token):
                    raise GatewayAuthError(
                        f"{self.base_url}{CHECK_JWT_PATH} refuses the {describe(token, utc_now())}"
                    )
            return token

    async def _check_jwt(self, token: Token) -> bool:
        status, _body, cookie = await self._request(CHECK_JWT_PATH, token.bearer_header)
        if status == 200:
            self._logger.debug("%s accepted the token", CHECK_JWT_PATH)
            self._checked = token
            self._headers = token.bearer_header
            if cookie is not None:
                self._headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
            return True
        if status in _REFUSED:
            self._logger.info("%s refused the token (HTTP %d)", CHECK_JWT_PATH, status)
            return False
        raise GatewayStatusError(CHECK_JWT_PATH, status)

    async def _request(self, path: str, headers: dict[str, str] | None) -> tuple[int, bytes, str | None]:
        """Status, body and the session cookie the answer set (if any)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(f"{self.base_url}{path}")
        started = time.monotonic()
        try:
            async with self._session().get(url, headers=headers, allow_redirects=False) as response:
                body = await response.read()
        except aiohttp.ServerFingerprintMismatch as err:
            raise certificate_mismatch(self.base_url, err.got) from err
        except aiohttp.ClientError as err:
            raise GatewayUnreachableError(f"{path}: {explain(err, self.base_url)}") from err
        self._logger.debug(
            "GET %s: HTTP %d in %.0f ms", path, response.status, 1000 * (time.monotonic() - started)
        )
        cookie = None
        if "Set-Cookie" in response.headers:
            morsel = response.cookies.get(SESSION_COOKIE)
            cookie = None if morsel is None else morsel.coded_value  # as the gateway wrote it
        return response.status, body, cookie

    def _body(self, path: str, status: int, body: bytes) -> bytes:
        if status == 200:
            return body
        if status in _REFUSED:
            raise GatewayAuthError(
                f"{self.base_url}{path}: HTTP {status} although {CHECK_JWT_PATH} accepts the token "
                "(an endpoint this token's user type may not read?)"
            )
        raise GatewayStatusError(path, status)

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("GatewaySession is used outside 'async with'")
        return self._http
