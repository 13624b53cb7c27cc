"""One polling loop: fixed-schedule reads, capped exponential backoff, logging once per state change.

Sampling is separate from deciding: a read that fails only marks this source failing; what the figures
become (stale, null) is decided by whoever reads ``PollState``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ..errors import EnphaseSecureError
from .schedule import ticks

T = TypeVar("T")


def backoff_s(failures: int, interval_s: float, cap_s: float) -> float:
    """Delay before the next attempt after ``failures`` consecutive failures (0 = healthy)."""
    if failures <= 0:
        return 0.0
    return min(cap_s, interval_s * 2.0 ** (failures - 1))


LATENCY_BUCKETS_S = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(slots=True)
class LatencyHistogram:
    """How long reads took (failed ones included), in fixed buckets: for /metrics."""

    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_S))
    count: int = 0
    sum_s: float = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.sum_s += seconds
        index = bisect_left(LATENCY_BUCKETS_S, seconds)  # the first bound >= seconds
        if index < len(LATENCY_BUCKETS_S):
            self.counts[index] += 1

    def to_json(self) -> dict[str, object]:
        """Cumulative counts per upper bound (Prometheus ``le``), as /api/status shows them."""
        cumulative, running = [], 0
        for bound, count in zip(LATENCY_BUCKETS_S, self.counts, strict=True):
            running += count
            cumulative.append([bound, running])
        return {"buckets": cumulative, "count": self.count, "sum_s": round(self.sum_s, 6)}


@dataclass(slots=True)
class PollState(Generic[T]):
    value: T | None = None
    ok_at: float | None = None  # monotonic time of the last good read
    failures: int = 0
    error: str | None = None
    reads: int = 0
    skipped_ticks: int = 0
    retry_at: float = field(default=0.0)
    ticks: int = 0
    lateness_sum_s: float = 0.0
    lateness_max_s: float = 0.0
    """How late each tick started after its grid point (drift would make this grow)."""
    failures_total: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def age_s(self, now: float) -> float | None:
        return None if self.ok_at is None else now - self.ok_at


class Poller(Generic[T]):
    """Runs ``read`` every ``interval_s`` (grid-aligned), handing good values to ``on_value``."""

    def __init__(
        self,
        *,
        name: str,
        interval_s: float,
        read: Callable[[], Awaitable[T]],
        on_value: Callable[[T], Awaitable[None]] | None = None,
        on_failure: Callable[[str], Awaitable[None]] | None = None,
        timeout_s: float | None = None,
        backoff_cap_s: float = 60.0,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.state: PollState[T] = PollState()
        self._read = read
        self._on_value = on_value
        self._on_failure = on_failure
        self._timeout_s = timeout_s
        """None: ``read`` bounds its own time (a gateway request has its timeout): no timer of ours."""
        self._cap_s = backoff_cap_s
        self._log = logger
        self._clock = clock

    def status(self) -> dict[str, Any]:
        """For /api/status: reads, failures, and how late the ticks start (the 1 s schedule holds?)."""
        state = self.state
        mean_s = state.lateness_sum_s / state.ticks if state.ticks else None
        return {
            "interval_s": self.interval_s,
            "reads": state.reads,
            "failures": state.failures,
            "failures_total": state.failures_total,
            "read_latency": state.latency.to_json(),
            "error": state.error,
            "skipped_ticks": state.skipped_ticks,
            "tick_lateness_mean_ms": None if mean_s is None else round(1000 * mean_s, 3),
            "tick_lateness_max_ms": round(1000 * state.lateness_max_s, 3),
        }

    async def poll_once(self) -> bool:
        """One read now; True when it succeeded."""
        state = self.state
        started = self._clock()
        try:
            async with asyncio.timeout(self._timeout_s):  # unlike wait_for, no task per read
                value = await self._read()
        except (EnphaseSecureError, TimeoutError) as err:
            state.latency.observe(self._clock() - started)
            state.failures_total += 1
            limit = "in time" if self._timeout_s is None else f"within {self._timeout_s:g} s"
            message = str(err) or f"no answer {limit}"
            if state.failures == 0 or message.split(":")[0] != (state.error or "").split(":")[0]:
                self._log.warning("%s: read failed, will retry with backoff: %s", self.name, message)
            state.failures += 1
            state.error = message
            state.retry_at = self._clock() + backoff_s(state.failures, self.interval_s, self._cap_s)
            if self._on_failure is not None:
                await self._on_failure(message)
            return False
        ended = self._clock()
        state.latency.observe(ended - started)
        if state.failures:
            self._log.info("%s: recovered after %d failed reads", self.name, state.failures)
        state.value = value
        state.ok_at = ended
        state.failures = 0
        state.error = None
        state.retry_at = 0.0
        state.reads += 1
        if self._on_value is not None:
            await self._on_value(value)
        return True

    async def run(self) -> None:
        async for tick in ticks(self.interval_s, clock=self._clock):
            state = self.state
            lateness = self._clock() - tick.deadline_s
            state.ticks += 1
            state.lateness_sum_s += lateness
            state.lateness_max_s = max(state.lateness_max_s, lateness)
            state.skipped_ticks += tick.skipped
            if self._clock() < state.retry_at:
                continue
            await self.poll_once()
