"""GET /api/stream: each update once as an SSE event, latest first, latest-only for a slow client,
stale figures flagged, a bounded number of clients, streams ended by the server's shutdown."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from test_api import _snapshot, _View

from enphase_secure.energy.snapshot import EnergyFlow
from enphase_secure.outputs.bus import Health, Update
from enphase_secure.web.api import create_app
from enphase_secure.web.stream import EventStream


def _update(production_w: float | None, *, seconds: int = 0, stale: bool = False) -> Update:
    base = _snapshot(stale=stale)
    snapshot = replace(
        base, time=base.time + timedelta(seconds=seconds), production=EnergyFlow(power_w=production_w)
    )
    return Update(snapshot, Health(gateway_online=not stale, firmware="8.2.4382"), {"stages": []})


async def _next_event(response: ClientResponse) -> dict[str, Any]:
    """The next SSE event's fields (keep-alive comments and the retry line skipped)."""
    fields: dict[str, Any] = {}
    while True:
        line = (await asyncio.wait_for(response.content.readline(), 10)).decode().rstrip("\n")
        if not line:
            if "data" in fields:
                fields["data"] = json.loads(fields["data"])
                return fields
            continue
        if line.startswith(":") or line.startswith("retry:"):
            continue
        name, _, value = line.partition(": ")
        fields[name] = value


async def test_latest_first_then_each_update_once() -> None:
    stream = EventStream()
    await stream.publish(_update(100.0))
    async with TestClient(TestServer(create_app(_View(None), stream=stream), host="127.0.0.1")) as client:
        response = await client.get("/api/stream")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        assert (await response.content.readline()) == b"retry: 1000\n"
        first = await _next_event(response)
        assert first["event"] == "update"
        assert first["data"]["production"]["power_w"] == 100.0
        assert first["data"]["health"]["firmware"] == "8.2.4382"
        assert stream.status()["clients"] == 1
        for seconds, watts in ((1, 200.0), (2, 300.0)):
            await stream.publish(_update(watts, seconds=seconds))
            event = await _next_event(response)
            assert event["data"]["production"]["power_w"] == watts
            assert event["id"] == event["data"]["time"]
        response.close()
    assert stream.status()["events_sent"] == 3 - 1  # the first came from the latest, not a publish


async def test_stale_update_is_flagged_with_its_figures_unknown() -> None:
    stream = EventStream()
    async with TestClient(TestServer(create_app(_View(None), stream=stream), host="127.0.0.1")) as client:
        response = await client.get("/api/stream")
        await asyncio.sleep(0.1)
        await stream.publish(_update(None, stale=True))
        data = (await _next_event(response))["data"]
        assert (data["stale"], data["age_s"], data["stale_reason"]) == (True, 42.0, "timeout")
        assert data["production"]["power_w"] is None
        assert data["health"]["gateway_online"] is False
        response.close()


async def test_a_slow_client_gets_the_latest_update_not_a_queue() -> None:
    stream = EventStream()
    with stream.client() as slow:
        for watts in (1.0, 2.0, 3.0):
            await stream.publish(_update(watts, seconds=int(watts)))
        event = await slow.next(1.0)
        assert event is not None
        assert b'"power_w":3.0' in event
        assert await slow.next(0.05) is None  # nothing queued behind it


async def test_clients_are_bounded_and_shutdown_ends_the_streams() -> None:
    stream = EventStream(max_clients=2)
    await stream.publish(_update(100.0))
    server = TestServer(create_app(_View(None), stream=stream), host="127.0.0.1")
    async with TestClient(server) as client:
        open_streams = [await client.get("/api/stream") for _ in range(2)]
        for response in open_streams:
            await _next_event(response)
        refused = await client.get("/api/stream")
        assert refused.status == 503
        assert "at most 2" in (await refused.json())["error"]
        assert stream.status()["clients"] == 2
        await asyncio.wait_for(server.close(), 20)  # does not hang on the open streams
        for response in open_streams:
            assert await asyncio.wait_for(response.content.read(), 10) == b""
    assert stream.status()["clients"] == 0


async def test_updates_without_a_client_are_kept_not_encoded_until_one_connects() -> None:
    stream = EventStream()
    unwatched = [_update(float(watts), seconds=watts) for watts in (100, 200, 300)]
    for update in unwatched:
        await stream.publish(update)
    assert all("document" not in vars(update) for update in unwatched)  # no JSON built for nobody
    async with TestClient(TestServer(create_app(_View(None), stream=stream), host="127.0.0.1")) as client:
        response = await client.get("/api/stream")
        assert (await response.content.readline()) == b"retry: 1000\n"
        first = await _next_event(response)
        assert first["data"]["production"]["power_w"] == 300.0
        assert first["id"] == unwatched[-1].snapshot.time.isoformat()
        assert "document" not in vars(unwatched[0])
        assert "document" in vars(unwatched[-1])
        await stream.publish(_update(400.0, seconds=4))
        assert (await _next_event(response))["data"]["production"]["power_w"] == 400.0
        assert stream.status()["events_sent"] == 1
        response.close()
