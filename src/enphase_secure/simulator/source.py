"""What the simulated gateway serves: the contract between the HTTP server and a data source.

Two sources implement it: ``replay`` (a folder of real captures) and ``live`` (a scenario model).
The server (``server.py``) owns TLS, auth, cookies, faults and the request log; a source only says
what a path answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Document:
    """One answer of the gateway: status, body bytes and the headers that matter."""

    status: int
    body: bytes
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


class DocumentSource(Protocol):
    @property
    def serial(self) -> str:
        """The gateway serial (tokens are issued for it)."""
        ...

    def now(self) -> datetime:
        """The gateway's current local time (tz-aware); simulated time for live scenarios."""
        ...

    def document(self, path: str, query: Mapping[str, str]) -> Document | None:
        """The answer to an authenticated GET of ``path`` (no query string), or None for 404."""
        ...

    def control_routes(self) -> Sequence[web.RouteDef]:
        """Extra ``/simulator/...`` routes (truth, loads, clock); empty for replay."""
        ...
