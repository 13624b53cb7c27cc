"""Faults the simulated gateway can be told to show: set by ``simulate`` flags or ``/simulator/faults``.

Per-request faults (latency, timeout, status, reset, truncated or invalid JSON; and how the answer is
delivered: chunked, cut, or followed by the end of the connection) target path prefixes and fire a number
of times (or until cleared). A reboot makes the gateway unreachable for a while and
drops its sessions. The nightly gap (22:57-23:10 gateway local time, when real gateways stop
answering) is off unless asked for, so that tests and demos run at any hour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any

from ..errors import ConfigError

NIGHTLY_GAP_START = time(22, 57)
NIGHTLY_GAP_END = time(23, 10)
FAULT_STATUSES = (401, 403, 404, 500, 502, 503, 504)


class FaultKind(StrEnum):
    LATENCY = "latency"
    TIMEOUT = "timeout"
    STATUS = "status"
    RESET = "reset"
    TRUNCATED_JSON = "truncated_json"
    INVALID_JSON = "invalid_json"
    CHUNKED = "chunked"
    """The answer in chunked transfer encoding, as real gateways send /production.json."""
    CLOSE = "close"
    """The answer with ``Connection: close``, then the connection closed (firmware 5 answers so)."""
    IDLE_CLOSE = "idle_close"
    """The answer, then the connection closed unannounced, as a server ends an idle keep-alive one."""
    CUT = "cut"
    """Half the answer's body (its Content-Length says all of it), then the connection closed."""


class ActionKind(StrEnum):
    """One-off events the control API accepts beside per-request faults."""

    REBOOT = "reboot"
    REVOKE = "revoke"
    NIGHTLY_GAP = "nightly_gap"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    paths: tuple[str, ...] = ()
    count: int | None = None
    delay_s: float = 0.0
    status: int = 503

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(path.startswith(prefix) for prefix in self.paths)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "paths": list(self.paths),
            "count": self.count,
            "delay_s": self.delay_s,
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, where: str) -> Fault:
        """A fault from its JSON form; ConfigError naming ``where`` and the field otherwise."""
        unknown = set(data) - {"kind", "paths", "count", "delay_s", "status"}
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            kind = FaultKind(str(data.get("kind")))
        except ValueError as err:
            choices = [str(k) for k in FaultKind]
            raise ConfigError(f"{where} field 'kind': {data.get('kind')!r} is not one of {choices}") from err
        paths = data.get("paths", ())
        if isinstance(paths, str):
            paths = (paths,)
        if not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise ConfigError(f"{where} field 'paths': every path must start with '/'")
        count = _number(data, "count", int, where) if data.get("count") is not None else None
        if count is not None and count < 1:
            raise ConfigError(f"{where} field 'count': must be >= 1")
        delay_s = _number(data, "delay_s", float, where) if "delay_s" in data else 0.0
        if delay_s < 0:
            raise ConfigError(f"{where} field 'delay_s': must be >= 0")
        status = _number(data, "status", int, where) if "status" in data else 503
        if status not in FAULT_STATUSES:
            raise ConfigError(f"{where} field 'status': must be one of {FAULT_STATUSES}")
        if kind is FaultKind.LATENCY and delay_s <= 0:
            raise ConfigError(f"{where} field 'delay_s': a latency fault needs delay_s > 0")
        return cls(kind=kind, paths=tuple(paths), count=count, delay_s=delay_s, status=status)


def _number(data: Mapping[str, Any], key: str, kind: type[int] | type[float], where: str) -> Any:
    value = data[key]
    try:
        if isinstance(value, bool):
            raise TypeError(key)
        return kind(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where} field {key!r}: {value!r} is not a number") from err


def parse_fault_spec(spec: str) -> Fault:
    """``kind[:key=value]...`` as given to ``--fault``, e.g. ``status:status=503:count=2:paths=/a,/b``."""
    kind, *pairs = spec.split(":")
    data: dict[str, Any] = {"kind": kind}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"--fault {spec!r}: {pair!r} is not key=value")
        data[key] = value.split(",") if key == "paths" else value
    return Fault.from_json(data, where=f"--fault {spec!r}")


def in_nightly_gap(local: datetime) -> bool:
    return NIGHTLY_GAP_START <= local.time() < NIGHTLY_GAP_END


@dataclass(slots=True)
class _Armed:
    fault: Fault
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the faults decide for one request: an added delay, then maybe one failure."""

    delay_s: float = 0.0
    failure: Fault | None = None


@dataclass(slots=True)
class FaultSet:
    """The armed faults, the reboot window and the nightly-gap switch of one simulated gateway."""

    nightly_gap: bool = False
    _armed: list[_Armed] = field(default_factory=list)
    _unreachable_until_s: float = 0.0

    def add(self, fault: Fault) -> None:
        self._armed.append(_Armed(fault, fault.count))

    def extend(self, faults: Sequence[Fault]) -> None:
        for fault in faults:
            self.add(fault)

    def clear(self) -> None:
        self._armed.clear()
        self._unreachable_until_s = 0.0

    def active(self) -> list[Fault]:
        return [armed.fault for armed in self._armed]

    def start_reboot(self, *, now_s: float, duration_s: float) -> None:
        self._unreachable_until_s = now_s + duration_s

    def rebooting_for_s(self, now_s: float) -> float:
        return max(0.0, self._unreachable_until_s - now_s)

    def decide(self, path: str) -> Outcome:
        """Consume the faults that apply to ``path``: latencies add up, the first failure wins."""
        delay_s = 0.0
        failure: Fault | None = None
        for armed in self._armed:
            fault = armed.fault
            if not fault.applies_to(path):
                continue
            if fault.kind is FaultKind.LATENCY:
                delay_s += fault.delay_s
            elif failure is None:
                failure = fault
            else:
                continue
            if armed.remaining is not None:
                armed.remaining -= 1
        self._armed = [a for a in self._armed if a.remaining is None or a.remaining > 0]
        return Outcome(delay_s=delay_s, failure=failure)

    def to_json(self, now_s: float) -> dict[str, Any]:
        return {
            "faults": [{**armed.fault.to_json(), "remaining": armed.remaining} for armed in self._armed],
            "rebooting_for_s": round(self.rebooting_for_s(now_s), 3),
            "nightly_gap": self.nightly_gap,
        }
