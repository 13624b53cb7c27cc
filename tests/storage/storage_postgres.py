"""The throwaway PostgreSQL server of the storage tests (started by conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostgresServer:
    port: int
    password: str

    def url(self, database: str, *, password: str | None = None) -> str:
        return f"postgresql://postgres:{password or self.password}@127.0.0.1:{self.port}/{database}"
