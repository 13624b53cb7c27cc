"""Helpers shared by the session, token lifecycle and command tests: a simulator and configs for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from enphase_secure.config import GatewayConfig
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator

OWNER = "owner@example.com"
OWNER_PASSWORD = "owner-password"


@asynccontextmanager
async def simulator(**options: Any) -> AsyncIterator[Simulator]:
    async with run_simulator(load_scenario_source("single-phase", seed=7), **options) as sim:
        yield sim


def auto_config(sim: Simulator, **overrides: Any) -> GatewayConfig:
    data: dict[str, Any] = {
        "host": sim.host,
        "token_mode": "auto",
        "username": OWNER,
        "password": OWNER_PASSWORD,
        "enlighten_url": sim.cloud_url,
        "entrez_url": sim.cloud_url,
        "timeout_s": 5,
    }
    data.update(overrides)
    return GatewayConfig.model_validate(data)


def manual_config(sim: Simulator, token: str, **overrides: Any) -> GatewayConfig:
    data: dict[str, Any] = {"host": sim.host, "token_mode": "manual", "token": token, "timeout_s": 5}
    data.update(overrides)
    return GatewayConfig.model_validate(data)
