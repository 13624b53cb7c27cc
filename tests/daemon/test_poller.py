from __future__ import annotations

import asyncio
import logging

import pytest

from enphase_secure.daemon.poller import LATENCY_BUCKETS_S, LatencyHistogram, Poller, backoff_s
from enphase_secure.errors import GatewayUnreachableError


@pytest.mark.parametrize(
    ("failures", "interval", "cap", "expected"),
    [
        (0, 1, 60, 0),
        (1, 1, 60, 1),
        (2, 1, 60, 2),
        (5, 1, 60, 16),
        (7, 1, 60, 60),
        (30, 1, 60, 60),
        (2, 15, 60, 30),
    ],
)
def test_backoff_table(failures: int, interval: float, cap: float, expected: float) -> None:
    assert backoff_s(failures, interval, cap) == expected


async def test_failures_logged_once_then_recovery(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[object] = [GatewayUnreachableError("connect refused")] * 4 + [7, 8]
    received: list[int] = []

    async def read() -> int:
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, int)
        return item

    async def on_value(value: int) -> None:
        received.append(value)

    now = [0.0]
    poller: Poller[int] = Poller(
        name="readings",
        interval_s=1.0,
        read=read,
        on_value=on_value,
        logger=logging.getLogger("test.poller"),
        clock=lambda: now[0],
    )
    with caplog.at_level(logging.INFO, logger="test.poller"):
        for _ in range(4):
            assert not await poller.poll_once()
        assert poller.state.failures == 4
        assert poller.state.retry_at == pytest.approx(8.0)  # 1, 2, 4, 8 s backoff
        assert await poller.poll_once()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "recovered after 4 failed reads" in caplog.text
    assert received == [7]
    assert poller.state.value == 7
    assert poller.state.error is None


async def test_slow_read_times_out_as_failure() -> None:
    async def read() -> int:
        await asyncio.sleep(5)
        return 1

    poller: Poller[int] = Poller(
        name="slow", interval_s=1.0, read=read, timeout_s=0.05, logger=logging.getLogger("test.slow")
    )
    assert not await poller.poll_once()
    assert poller.state.error is not None
    assert "no answer within 0.05 s" in poller.state.error


async def test_without_timeout_the_read_bounds_its_own_time() -> None:
    outcomes: list[BaseException | None] = [None, TimeoutError()]

    async def read() -> int:
        await asyncio.sleep(0.2)  # longer than the interval: no timer of the poller's cuts it
        if (outcome := outcomes.pop(0)) is not None:
            raise outcome
        return 1

    poller: Poller[int] = Poller(name="fast", interval_s=0.1, read=read, logger=logging.getLogger("t.fast"))
    assert await poller.poll_once()
    assert not await poller.poll_once()
    assert poller.state.error == "no answer in time"


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(0.0, 0), (0.025, 0), (0.0251, 1), (1.0, 5), (1.01, 6), (10.0, 8), (10.01, None)],
)
def test_latency_lands_in_the_first_bucket_that_holds_it(seconds: float, bucket: int | None) -> None:
    histogram = LatencyHistogram()
    histogram.observe(seconds)
    assert histogram.counts == [int(index == bucket) for index in range(len(LATENCY_BUCKETS_S))]
    assert (histogram.count, histogram.sum_s) == (1, seconds)
