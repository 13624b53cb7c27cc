"""Reading persisted energy state back from JSON, naming the field at fault when it is malformed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from enphase_secure.errors import EnergyStateError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JsonObject:
    """One JSON object of a persisted state, with its path for error messages."""

    data: Mapping[str, Any]
    where: str

    @classmethod
    def of(cls, value: object, where: str) -> JsonObject:
        if not isinstance(value, Mapping):
            raise EnergyStateError(where, f"expected an object, got {type(value).__name__}")
        return cls(value, where)

    def path(self, key: str) -> str:
        """The dotted path of ``key`` in this object, as error messages name it."""
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise EnergyStateError(self.path(key), "missing")
        return self.data[key]

    def number(self, key: str) -> float:
        return _number(self._get(key), self.path(key))

    def optional_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def numbers(self, key: str) -> tuple[float, ...]:
        return tuple(self.items(key, _number))

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            raise EnergyStateError(self.path(key), f"expected true or false, got {value!r}")
        return value

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise EnergyStateError(self.path(key), f"expected a string, got {value!r}")
        return value

    def instant(self, key: str) -> datetime:
        try:
            value = datetime.fromisoformat(self.text(key))
        except ValueError as err:
            raise EnergyStateError(self.path(key), "not an ISO 8601 time") from err
        if value.tzinfo is None:
            raise EnergyStateError(self.path(key), "time without a time zone")
        return value.astimezone(UTC)

    def optional_instant(self, key: str) -> datetime | None:
        return None if self.data.get(key) is None else self.instant(key)

    def day(self, key: str) -> date:
        try:
            return date.fromisoformat(self.text(key))
        except ValueError as err:
            raise EnergyStateError(self.path(key), "not an ISO 8601 date") from err

    def child(self, key: str) -> JsonObject:
        return JsonObject.of(self._get(key), self.path(key))

    def entries(self, key: str) -> dict[str, JsonObject]:
        parent = self.child(key)
        return {name: parent.child(name) for name in parent.data}

    def items(self, key: str, read: Callable[[object, str], T]) -> list[T]:
        value = self._get(key)
        if not isinstance(value, list):
            raise EnergyStateError(self.path(key), f"expected a list, got {type(value).__name__}")
        return [read(item, f"{self.path(key)}[{index}]") for index, item in enumerate(value)]


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EnergyStateError(where, f"expected a number, got {value!r}")
    return float(value)
