"""The contract between the readers (one per endpoint family) and the HTTPS session that fetches bytes."""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    async def get(self, path: str) -> bytes:
        """GET ``path`` (may include a query string) on the gateway and return the body of a 200.

        Raises GatewayAuthError on 401/403, GatewayUnreachableError on connection problems and timeouts,
        GatewayResponseError (naming the path) on any other status.
        """
        ...
