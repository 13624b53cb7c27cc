"""The outputs bus: latest update wins while an output is busy, failures isolated and logged once."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import sample_updates
from sample_updates import T0

from enphase_secure.outputs.bus import OutputBus, Update

TOKEN_EXPIRES = datetime(2026, 6, 23, 12, tzinfo=UTC)


def production_only(power_w: float) -> Update:
    return sample_updates.production_only(power_w, token_expires_at=TOKEN_EXPIRES)


class Recording:
    def __init__(self, name: str, *, delay_s: float = 0.0, fail: bool = False) -> None:
        self.name = name
        self.delay_s = delay_s
        self.fail = fail
        self.seen: list[float | None] = []
        self.started = self.stopped = False
        self.release = asyncio.Event()
        self.release.set()

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def publish(self, item: Update) -> None:
        await self.release.wait()
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise ConnectionError(f"{self.name} target down")
        self.seen.append(item.snapshot.production.power_w)

    def status(self) -> dict[str, Any]:
        return {"target": self.name}


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.01)


async def test_a_busy_output_gets_only_the_latest_and_others_everything() -> None:
    slow, fast = Recording("slow"), Recording("fast")
    slow.release.clear()
    bus = OutputBus([slow, fast], clock=lambda: T0, logger=logging.getLogger("test"))
    await bus.start()
    try:
        for power in range(5):
            bus.offer(production_only(float(power)))
            await settle()
        assert fast.seen == [0.0, 1.0, 2.0, 3.0, 4.0]
        slow.release.set()
        await settle()
        # the first update was being sent when the others came: only the last of them waited
        assert slow.seen == [0.0, 4.0]
        status = bus.status()
        assert status["slow"]["dropped_busy"] == 3
        assert status["slow"]["published"] == 2
        assert status["fast"]["dropped_busy"] == 0
        assert status["slow"]["target"] == "slow"
        assert status["slow"]["last_publish"] == T0.isoformat()
    finally:
        await bus.stop()
    assert slow.started
    assert slow.stopped


async def test_a_failing_output_is_logged_once_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    broken, healthy = Recording("broken", fail=True), Recording("healthy")
    bus = OutputBus([broken, healthy], clock=lambda: T0, logger=logging.getLogger("test.bus"))
    await bus.start()
    try:
        with caplog.at_level(logging.INFO, logger="test.bus"):
            for power in range(4):
                bus.offer(production_only(float(power)))
                await settle()
            assert healthy.seen == [0.0, 1.0, 2.0, 3.0]
            assert bus.status()["broken"]["state"] == "failing"
            assert bus.status()["broken"]["failures"] == 4
            assert bus.status()["broken"]["error"] == "broken target down"
            broken.fail = False
            bus.offer(production_only(9.0))
            await settle()
        failing = [r for r in caplog.records if "failing" in r.getMessage()]
        recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
        assert len(failing) == 1
        assert len(recovered) == 1
        assert broken.seen == [9.0]
        assert bus.status()["broken"]["state"] == "ok"
    finally:
        await bus.stop()


async def test_offer_never_waits_for_outputs() -> None:
    stuck = Recording("stuck")
    stuck.release.clear()
    bus = OutputBus([stuck], clock=lambda: T0, logger=logging.getLogger("test"))
    await bus.start()
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for power in range(1000):
            bus.offer(production_only(float(power)))
        assert loop.time() - started < 0.5
        assert bus.status()["stuck"]["dropped_busy"] == 999
    finally:
        await bus.stop()


def test_health_and_document() -> None:
    item = production_only(1500.0)
    document = item.document
    assert document["production"]["power_w"] == 1500.0
    assert document["health"]["token_days_left"] == 2.0
    assert document["health"]["gateway_online"] is True
    assert document["voltage_v"] is None


class SwallowsCancellation(Recording):
    """A publish that loses the cancellation it gets, as Python 3.11's asyncio.wait_for can when the
    awaited publish confirmation arrives in the same loop turn (aiomqtt waits with it)."""

    def __init__(self) -> None:
        super().__init__("swallows")
        self.in_publish = asyncio.Event()

    async def publish(self, item: Update) -> None:
        self.in_publish.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.seen.append(item.snapshot.production.power_w)


async def test_stop_ends_an_output_whose_publish_lost_the_cancellation() -> None:
    output = SwallowsCancellation()
    bus = OutputBus([output], clock=lambda: T0, logger=logging.getLogger("test"))
    await bus.start()
    bus.offer(production_only(1.0))
    await asyncio.wait_for(output.in_publish.wait(), 5)
    stopping = asyncio.create_task(bus.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5)
    assert stopping in done  # before: stop waited for an update that never came
    assert output.seen == [1.0]
    assert output.stopped
