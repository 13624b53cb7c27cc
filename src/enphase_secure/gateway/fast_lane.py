"""The fast loop's own connection to the gateway: one keep-alive HTTP/1.1 over TLS, parsed by httptools.

aiohttp's client costs about 0.55 ms of CPU per request, a fifth of a fast tick (issue 13, measured on
one keep-alive TLS connection on uvloop: 1.05 ms per GET against 0.5 ms with httptools' parser in an
``asyncio.Protocol``; in instructions 0.43 M against 0.18 M per 1 s read, its timer included). The lane
carries the fast reader's GETs only; ``GatewaySession`` keeps the rest (check_jwt, the slow loops) on
aiohttp, gives the lane its TLS context, pin and headers, and does the authentication: a 401 comes back
to it as a status.

A keep-alive connection the gateway closed while idle is noticed (``connection_lost``) and replaced. One
it closed as the request left, before any byte of the answer, is replaced and the GET sent once more (a
GET is idempotent), as aiohttp does; a fresh connection is not retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import cast
from urllib.parse import urlsplit

import httptools

from ..errors import GatewayUnreachableError
from ..messages import explain, say
from .tls import certificate_mismatch


class _Closed(Exception):
    """The connection closed before the answer was complete; ``started``: some of it had come."""

    def __init__(self, *, started: bool) -> None:
        super().__init__()
        self.started = started


class _Exchange(asyncio.Protocol):
    """One TLS connection: one GET at a time, its answer (status, body) handed to the waiting caller."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self._started = False
        self.open = False

    def send(self, message: bytes) -> asyncio.Future[tuple[int, bytes]]:
        if self._transport is None or not self.open:
            raise _Closed(started=False)
        self._answer = asyncio.get_running_loop().create_future()
        self._body = []
        self._started = False
        self._transport.write(message)
        return self._answer

    def close(self) -> None:
        self.open = False
        if self._transport is not None:
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self.open = True

    def data_received(self, data: bytes) -> None:
        answer = self._answer
        if answer is None or answer.done():  # bytes nobody asked for: the connection is out of step
            self.close()
            return
        self._started = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as err:
            self.close()
            if not answer.done():
                answer.set_exception(err)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_exception(_Closed(started=self._started))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if not self._parser.should_keep_alive():  # Connection: close, or HTTP/1.0
            self.close()
        answer = self._answer
        if answer is not None and not answer.done():
            answer.set_result((self._parser.get_status_code(), b"".join(self._body)))


class FastLane:
    """GETs over one keep-alive connection to ``base_url``, opened on the first and after it closed."""

    def __init__(
        self, *, host: str, base_url: str, ssl_context: ssl.SSLContext, pinned: bytes | None
    ) -> None:
        url = urlsplit(base_url)
        self._address = (url.hostname or host, url.port or 443)
        self._host = host
        self._base_url = base_url
        self._where = f"'{base_url}'"  # as messages.explain quotes it
        self._ssl = ssl_context
        self._pinned = pinned
        self._exchange: _Exchange | None = None
        self._lock = asyncio.Lock()

    async def request(self, path: str, headers: dict[str, str] | None) -> tuple[int, bytes, None]:
        """Status and body of ``GET path`` (no cookie: the session takes it from check_jwt only)."""
        lines = [f"GET {path} HTTP/1.1", f"Host: {self._host}", "Accept: */*"]
        if headers:
            lines.extend(f"{name}: {value}" for name, value in headers.items())
        message = ("\r\n".join(lines) + "\r\n\r\n").encode()
        async with self._lock:
            exchange = self._exchange
            reused = exchange is not None and exchange.open
            try:
                if exchange is None or not reused:
                    exchange = await self._connect(path)
                try:
                    return await self._send(exchange, message, path)
                except _Closed as closed:
                    if closed.started or not reused:
                        raise
                # closed as the request left (a keep-alive connection the gateway ended): once more
                return await self._send(await self._connect(path), message, path)
            except _Closed as closed:
                raise self._closed_error(path, closed) from None

    def close(self) -> None:
        if self._exchange is not None:
            self._exchange.close()
            self._exchange = None

    async def _send(self, exchange: _Exchange, message: bytes, path: str) -> tuple[int, bytes, None]:
        try:
            status, body = await exchange.send(message)
        except httptools.HttpParserError as err:
            raise GatewayUnreachableError(f"{path}: {explain(err, self._base_url)}") from err
        except BaseException:  # cancelled (the caller's timeout) or closed: a late answer must not be read
            exchange.close()
            raise
        return status, body, None

    async def _connect(self, path: str) -> _Exchange:
        self.close()
        loop = asyncio.get_running_loop()
        try:
            transport, exchange = await loop.create_connection(_Exchange, *self._address, ssl=self._ssl)
        except OSError as err:
            raise GatewayUnreachableError(f"{path}: {explain(err, self._base_url)}") from err
        if self._pinned is not None:
            der = transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
            got = hashlib.sha256(der).digest()
            if got != self._pinned:
                transport.abort()
                raise certificate_mismatch(self._base_url, got)
        self._exchange = exchange
        return exchange

    def _closed_error(self, path: str, closed: _Closed) -> GatewayUnreachableError:
        if closed.started:
            reason = "the connection closed in the middle of the answer"
            return GatewayUnreachableError(f"{path}: {say('unreachable', where=self._where, reason=reason)}")
        return GatewayUnreachableError(f"{path}: {say('disconnected', where=self._where)}")
