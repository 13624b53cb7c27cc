"""Typed access to a decoded JSON answer: every missing or mistyped field is a GatewayResponseError
that names the endpoint and the field's path (e.g. ``[1].channels[2].voltage``)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from ..errors import GatewayResponseError

_FLOAT = frozenset({float})


def decode_json(endpoint: str, body: bytes) -> Any:
    """The JSON value of ``body``; an ``{"error": ...}`` answer is an error, not data."""
    try:
        value = orjson.loads(body)  # several times faster than json.loads on the 1 s readings
    except orjson.JSONDecodeError:
        # orjson reads strict RFC 8259 only: json.loads also reads NaN, Infinity, a BOM or UTF-16, which
        # then fail on the field that holds them (or pass) as they always did.
        try:
            value = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise GatewayResponseError(endpoint, f"not JSON: {err}") from err
    if isinstance(value, dict) and "error" in value:
        raise GatewayResponseError(
            endpoint, f"the gateway answered an error: {value['error']!r}", field="error"
        )
    return value


class JsonNode:
    """One JSON value inside an endpoint's answer, with the path that leads to it."""

    __slots__ = ("endpoint", "path", "value")

    def __init__(self, endpoint: str, value: Any, path: str = "") -> None:
        self.endpoint = endpoint
        self.value = value
        self.path = path

    def _error(self, key: str | None, problem: str) -> GatewayResponseError:
        return GatewayResponseError(self.endpoint, problem, field=self._child_path(key) or "<root>")

    def _child_path(self, key: str | None) -> str:
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def _object(self) -> dict[str, Any]:
        if type(self.value) is dict:  # what JSON decoders make: the common case, checked first
            return self.value
        if not isinstance(self.value, dict):
            raise self._error(None, f"expected an object, got {type(self.value).__name__}")
        return self.value

    def has(self, key: str) -> bool:
        return key in self._object()

    def child(self, key: str) -> JsonNode:
        obj = self._object()
        if key not in obj:
            raise self._error(key, "missing")
        return JsonNode(self.endpoint, obj[key], self._child_path(key))

    def opt_child(self, key: str) -> JsonNode | None:
        obj = self._object()
        if obj.get(key) is None:
            return None
        return JsonNode(self.endpoint, obj[key], self._child_path(key))

    def entries(self) -> Iterator[tuple[str, JsonNode]]:
        """The members of this node, which must be an object."""
        for key, value in self._object().items():
            yield key, JsonNode(self.endpoint, value, self._child_path(key))

    def items(self) -> Iterator[JsonNode]:
        """The elements of this node, which must be a list."""
        if not isinstance(self.value, list):
            raise self._error(None, f"expected a list, got {type(self.value).__name__}")
        for index, element in enumerate(self.value):
            yield JsonNode(self.endpoint, element, f"{self.path}[{index}]")

    def item(self, index: int) -> JsonNode:
        """Element ``index`` of this node, which must be a list that long."""
        elements = list(self.items())
        if index >= len(elements):
            raise self._error(None, f"expected at least {index + 1} element(s), got {len(elements)}")
        return elements[index]

    def as_number(self) -> float:
        return self._finite(None, self.value)

    def _finite(self, key: str | None, value: Any) -> float:
        if type(value) is float and math.isfinite(value):  # the common case, checked first
            return value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self._error(key, f"expected a number, got {value!r}")
        return float(value)

    # number/opt_number read the object directly (no child node), a decoded float checked
    # inline: the 1 s readings have ~150 of them.
    def number(self, key: str) -> float:
        obj = self.value if type(self.value) is dict else self._object()
        if key not in obj:
            raise self._error(key, "missing")
        value = obj[key]
        return value if type(value) is float and math.isfinite(value) else self._finite(key, value)

    def opt_number(self, key: str) -> float | None:
        obj = self.value if type(self.value) is dict else self._object()
        value = obj.get(key)
        if value is None or (type(value) is float and math.isfinite(value)):
            return value
        return self._finite(key, value)

    def integer(self, key: str) -> int:
        node = self.child(key)
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self._error(key, f"expected an integer, got {node.value!r}")
        return node.value

    def opt_integer(self, key: str) -> int | None:
        return None if self.opt_child(key) is None else self.integer(key)

    def string(self, key: str) -> str:
        node = self.child(key)
        if not isinstance(node.value, str):
            raise self._error(key, f"expected a string, got {node.value!r}")
        return node.value

    def opt_string(self, key: str) -> str | None:
        return None if self.opt_child(key) is None else self.string(key)

    def opt_bool(self, key: str) -> bool | None:
        node = self.opt_child(key)
        if node is None:
            return None
        if not isinstance(node.value, bool):
            raise self._error(key, f"expected true or false, got {node.value!r}")
        return node.value

    def strings(self, key: str) -> tuple[str, ...]:
        """A list of strings; absent means empty."""
        node = self.opt_child(key)
        if node is None:
            return ()
        result = []
        for element in node.items():
            if not isinstance(element.value, str):
                raise element._error(None, f"expected a string, got {element.value!r}")
            result.append(element.value)
        return tuple(result)


def finite_floats(values: Sequence[Any]) -> bool:
    """True when every value is a finite float, what JSON numbers with a fraction decode to: then the
    values need no check one by one (a sum of floats is finite only when each of them is)."""
    return _FLOAT.issuperset(map(type, values)) and math.isfinite(sum(values))


def parse_json(endpoint: str, body: bytes) -> JsonNode:
    return JsonNode(endpoint, decode_json(endpoint, body))
