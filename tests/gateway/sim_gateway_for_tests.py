"""Helpers shared by the session, token lifecycle and command tests: a simulator and configs for it."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from enphase_secure.config import GatewayConfig
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator

OWNER = "owner@example.com"
OWNER_PASSWORD = "owner-password"


@asynccontextmanager
async def simulator(*, paused: bool = False, **options: Any) -> AsyncIterator[Simulator]:
    """``paused``: the scenario's clock stands still, every read of a path gives the same bytes."""
    async with run_simulator(load_scenario_source("single-phase", seed=7, paused=paused), **options) as sim:
        yield sim


def established_client_connections(port: int) -> int:
    """Our sockets connected to ``port`` (client side), from the kernel's table."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":
                count += 1
    return count


def port(sim: Simulator) -> int:
    return int(sim.host.rsplit(":", 1)[1])


async def certificate_sha256(sim: Simulator) -> str:
    # In a thread: the simulator serves from this event loop.
    pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", port(sim)))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


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
