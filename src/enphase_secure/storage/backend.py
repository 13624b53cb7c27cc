"""What the history needs from a database.

Every write is a list of statements run in one transaction, so a crash loses at most the write in
flight. SQL is written with ``?`` placeholders; the PostgreSQL backend translates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .dialect import Dialect

Param = int | float | str | None
Statement = tuple[str, Sequence[Param]]


class Backend(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def display_url(self) -> str:
        """The storage URL without its password, for messages."""
        ...

    async def query(self, sql: str, params: Sequence[Param] = ()) -> list[tuple[Any, ...]]: ...

    async def write(self, statements: Sequence[Statement]) -> None:
        """Run ``statements`` in one transaction: all of them or none."""
        ...

    async def close(self) -> None: ...


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))
