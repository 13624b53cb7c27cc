from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from enphase_secure.energy.snapshot import EnergyFlow, GatewayIdentity, Grid, Snapshot, Staleness
from enphase_secure.web.api import create_app


class _View:
    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot

    def latest_snapshot(self) -> Snapshot | None:
        return self.snapshot

    def status(self) -> dict[str, Any]:
        return {"gateway": {"serial": "1"}, "last_poll": None}


def _snapshot(stale: bool) -> Snapshot:
    return Snapshot(
        time=datetime(2026, 6, 1, 12, tzinfo=UTC),
        gateway=GatewayIdentity(serial="122212345678", firmware="8.2.4382", part_number="800-00654-r08"),
        phase_mode="single",
        phase_count=1,
        production=EnergyFlow(power_w=None if stale else 1200.0),
        consumption=EnergyFlow(),
        net_consumption=EnergyFlow(),
        grid=Grid(),
        storage=None,
        staleness=Staleness(stale=stale, age_s=42.0 if stale else 0.0, reason="timeout" if stale else None),
    )


async def test_snapshot_and_status_served() -> None:
    view = _View(None)
    async with TestClient(TestServer(create_app(view), host="127.0.0.1")) as client:
        resp = await client.get("/api/snapshot")
        assert resp.status == 503
        view.snapshot = _snapshot(stale=False)
        body = await (await client.get("/api/snapshot")).json()
        assert body["production"]["power_w"] == 1200.0
        assert body["gateway"]["serial"] == "122212345678"
        assert body["stale"] is False
        view.snapshot = _snapshot(stale=True)
        body = await (await client.get("/api/snapshot")).json()
        assert body["production"]["power_w"] is None
        assert (body["stale"], body["age_s"]) == (True, 42.0)
        status = await (await client.get("/api/status")).json()
        assert status["gateway"]["serial"] == "1"
