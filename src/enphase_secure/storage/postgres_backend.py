"""PostgreSQL through one async psycopg 3 connection; one operation at a time.

A connection lost (server restart, network) fails the operation in flight; the next one reconnects.
The server's durability settings are left as its administrator chose (synchronous_commit on by
default): the history commits once per batch (about once a minute), so a commit's flush costs nothing
worth trading durability for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg

from ..errors import StorageError
from .backend import Param, Statement, redact_url
from .dialect import POSTGRES, Dialect


class PostgresBackend:
    def __init__(self, *, connection: psycopg.AsyncConnection[Any], url: str) -> None:
        self._connection = connection
        self._url = url
        self._display_url = redact_url(url)
        self._password = urlsplit(url).password
        self._lock = asyncio.Lock()

    @property
    def dialect(self) -> Dialect:
        return POSTGRES

    @property
    def display_url(self) -> str:
        return self._display_url

    @classmethod
    async def open(cls, url: str) -> PostgresBackend:
        return cls(connection=await _connect(url), url=url)

    async def _connected(self) -> psycopg.AsyncConnection[Any]:
        if self._connection.closed or self._connection.broken:
            self._connection = await _connect(self._url)
        return self._connection

    def _error(self, what: str, err: psycopg.Error) -> StorageError:
        return StorageError(_scrub(f"{self._display_url}: {what} failed: {err}", self._password))

    async def query(self, sql: str, params: Sequence[Param] = ()) -> list[tuple[Any, ...]]:
        async with self._lock:
            try:
                connection = await self._connected()
                cursor = await connection.execute(_placeholders(sql), params)
                return await cursor.fetchall()
            except psycopg.Error as err:
                raise self._error("query", err) from err

    async def write(self, statements: Sequence[Statement]) -> None:
        async with self._lock:
            try:
                connection = await self._connected()
                async with connection.transaction():
                    for sql, params in statements:
                        await connection.execute(_placeholders(sql), params)
            except psycopg.Error as err:
                raise self._error("write", err) from err

    async def close(self) -> None:
        async with self._lock:
            await self._connection.close()


async def _connect(url: str) -> psycopg.AsyncConnection[Any]:
    try:
        return await psycopg.AsyncConnection.connect(url, autocommit=True)
    except psycopg.Error as err:
        message = f"storage.url {redact_url(url)}: cannot connect: {err}"
        raise StorageError(_scrub(message, urlsplit(url).password)) from err


def _placeholders(sql: str) -> str:
    """The history's ``?`` placeholders as psycopg's ``%s`` (its SQL has no literal ``?`` nor ``%``)."""
    return sql.replace("?", "%s")


def _scrub(message: str, password: str | None) -> str:
    """Drivers may quote the connection string in errors: never let its password through."""
    return message.replace(password, "***") if password else message
