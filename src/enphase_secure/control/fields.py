"""Reading typed values out of a config mapping, with errors that name the key path.

Used by the controller's and the actions' ``from_mapping`` constructors: unknown keys are errors,
every message names the full key (``control.stages[1].start_delay_s``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from enphase_secure.errors import ConfigError


class Fields:
    """One config table being read; ``done()`` rejects the keys nobody asked for."""

    def __init__(self, mapping: object, path: str) -> None:
        if not isinstance(mapping, Mapping):
            raise ConfigError(f"{path}: expected a table, got {type(mapping).__name__}")
        self._mapping: Mapping[str, Any] = mapping
        self.path = path
        self._seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._mapping)

    def has(self, name: str) -> bool:
        return name in self._mapping

    def raw(self, name: str) -> object:
        self._seen.add(name)
        return self._mapping.get(name)

    def required_str(self, name: str) -> str:
        value = self.optional_str(name)
        if value is None or not value:
            raise ConfigError(f"{self.key(name)}: required (a non-empty string)")
        return value

    def optional_str(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ConfigError(f"{self.key(name)}: expected a string, got {type(value).__name__}")
        return value

    def choice(self, name: str, choices: Collection[str], default: str) -> str:
        value = self.optional_str(name)
        if value is None:
            return default
        if value not in choices:
            raise ConfigError(f"{self.key(name)}: {value!r} is not one of {sorted(choices)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(name)}: expected true or false, got {value!r}")
        return value

    def optional_number(
        self, name: str, *, minimum: float | None = None, maximum: float | None = None
    ) -> float | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.key(name)}: expected a number, got {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self.key(name)}: {value} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{self.key(name)}: {value} is above the maximum {maximum}")
        return float(value)

    def number(
        self, name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        value = self.optional_number(name, minimum=minimum, maximum=maximum)
        return default if value is None else value

    def required_number(self, name: str) -> float:
        value = self.optional_number(name)
        if value is None:
            raise ConfigError(f"{self.key(name)}: required (a number)")
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.key(name)}: expected an integer, got {value!r}")
        if not minimum <= value <= maximum:
            raise ConfigError(f"{self.key(name)}: {value} is not between {minimum} and {maximum}")
        return value

    def str_list(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.key(name)}: expected a list of strings, got {value!r}")
        return tuple(value)

    def str_table(self, name: str) -> dict[str, str]:
        value = self.raw(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError(f"{self.key(name)}: expected a table of strings")
        return dict(value)

    def done(self, *, also_allowed: Collection[str] = ()) -> None:
        unknown = sorted(set(self._mapping) - self._seen - set(also_allowed))
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key")
