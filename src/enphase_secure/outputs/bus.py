"""The outputs bus: the daemon offers each update once; every output gets the latest one.

An output is a small adapter (``start``, ``stop``, ``publish``, ``status``). Each runs in its own task
behind a one-item slot: while it is busy, a newer update replaces the waiting one (counted as
dropped), so a slow or dead target never queues, never slows the fast loop and never stops the
daemon. Failures are logged once per change of state ("failing: X", "recovered"), not per update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from ..energy.snapshot import Snapshot
from .figures import SiteShape, voltage_v

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Health:
    """The service's own figures that outputs publish next to the snapshot's."""

    gateway_online: bool
    firmware: str | None = None
    token_expires_at: datetime | None = None
    last_poll: datetime | None = None

    def token_days_left(self, now: datetime) -> float | None:
        if self.token_expires_at is None:
            return None
        return round((self.token_expires_at - now).total_seconds() / 86400, 1)

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "gateway_online": self.gateway_online,
            "firmware": self.firmware,
            "token_expires_at": self.token_expires_at.isoformat() if self.token_expires_at else None,
            "token_days_left": self.token_days_left(now),
            "token_validity_s": (
                (self.token_expires_at - now).total_seconds() if self.token_expires_at else None
            ),
            "last_poll": self.last_poll.isoformat() if self.last_poll else None,
        }


@dataclass(frozen=True)
class Update:
    """What every output receives: a snapshot, the service's health and the controller's view."""

    snapshot: Snapshot
    health: Health
    control: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def document(self) -> dict[str, Any]:
        """The snapshot JSON (DESIGN §4) plus ``health``, ``control`` and the site ``voltage_v``: what
        figure paths point into."""
        data = self.snapshot.to_json()
        return {
            **data,
            "voltage_v": voltage_v(data["meters"]) if not self.snapshot.staleness.stale else None,
            "health": self.health.to_json(self.snapshot.time),
            "control": dict(self.control),
        }

    @cached_property
    def shape(self) -> SiteShape:
        """Which figures the site has (every output asks, at every update)."""
        return SiteShape.of(self.document)


class Output(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, update: Update) -> None:
        """Send one update; raise on failure (the bus logs it and offers the next one)."""
        ...

    def status(self) -> dict[str, Any]:
        """The adapter's own state for /api/status (connected, target...); no secret."""
        ...


@dataclass(slots=True)
class _Slot:
    output: Output
    pending: Update | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    published: int = 0
    dropped: int = 0
    failures: int = 0
    error: str | None = None
    last_publish: datetime | None = None
    last_duration_s: float | None = None


class OutputBus:
    def __init__(self, outputs: Sequence[Output], *, clock: Clock, logger: logging.Logger) -> None:
        self._slots = [_Slot(output) for output in outputs]
        self._clock = clock
        self._log = logger
        self._stopping = False

    @property
    def outputs(self) -> tuple[Output, ...]:
        return tuple(slot.output for slot in self._slots)

    async def start(self) -> None:
        for slot in self._slots:
            try:
                await slot.output.start()
            except Exception as err:  # an output that cannot start must not stop the daemon
                self._failed(slot, err)
            slot.task = asyncio.create_task(self._run(slot), name=f"output-{slot.output.name}")

    async def stop(self) -> None:
        self._stopping = True
        for slot in self._slots:
            if slot.task is not None:
                slot.task.cancel()
                slot.wake.set()  # a publish can lose the cancellation (3.11's wait_for): the loop ends anyway
                await asyncio.wait({slot.task})
                slot.task = None
            try:
                await slot.output.stop()
            except Exception as err:
                self._log.warning("output %s did not stop cleanly: %s", slot.output.name, err)

    def offer(self, update: Update) -> None:
        """Never blocks: each output's waiting update is replaced by this one."""
        for slot in self._slots:
            if slot.pending is not None:
                slot.dropped += 1
            slot.pending = update
            slot.wake.set()

    def status(self) -> dict[str, Any]:
        return {
            slot.output.name: {
                **slot.output.status(),
                "state": "failing" if slot.error else "ok",
                "error": slot.error,
                "published": slot.published,
                "dropped_busy": slot.dropped,
                "failures": slot.failures,
                "last_publish": slot.last_publish.isoformat() if slot.last_publish else None,
                "last_duration_ms": round(1000 * slot.last_duration_s, 1)
                if slot.last_duration_s is not None
                else None,
            }
            for slot in self._slots
        }

    async def _run(self, slot: _Slot) -> None:
        while not self._stopping:
            await slot.wake.wait()
            slot.wake.clear()
            update, slot.pending = slot.pending, None
            if update is None or self._stopping:
                continue
            started = time.monotonic()
            try:
                await slot.output.publish(update)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._failed(slot, err)
            else:
                slot.published += 1
                slot.last_publish = self._clock()
                if slot.error is not None:
                    self._log.info("output %s recovered", slot.output.name)
                    slot.error = None
            finally:
                slot.last_duration_s = time.monotonic() - started

    def _failed(self, slot: _Slot, err: Exception) -> None:
        slot.failures += 1
        message = str(err) or err.__class__.__name__
        if message != slot.error:
            self._log.warning(
                "output %s failing (latest values kept, retrying): %s", slot.output.name, message
            )
        slot.error = message
