"""The simulated gateway's record of the requests it answered, so tests can count requests per poll."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    started_at_s: float
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Gateway requests in arrival order (``/simulator/*`` control calls are not recorded)."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []

    def add(self, record: RequestRecord) -> None:
        self._records.append(record)

    def records(self) -> list[RequestRecord]:
        return list(self._records)

    def count(self, path: str | None = None) -> int:
        if path is None:
            return len(self._records)
        return sum(1 for record in self._records if record.path == path)

    def per_path(self) -> Counter[str]:
        return Counter(record.path for record in self._records)

    def clear(self) -> None:
        self._records.clear()
