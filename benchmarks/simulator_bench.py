"""Simulator benchmark: keep-alive throughput of one gateway, latency of 100 gateways polled at 1 req/s.

    .venv/bin/python benchmarks/simulator_bench.py [--seconds 20] [--gateways 100] [--folder DIR]

Clients and simulators share one process and event loop, so the figures include the client's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import aiohttp

from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.replay import ReplaySource
from enphase_secure.simulator.server import Simulator, run_simulator
from enphase_secure.simulator.source import DocumentSource
from enphase_secure.simulator.tls import server_ssl_context

READINGS = "/ivp/meters/readings"
DEFAULT_FOLDER = (
    Path(__file__).resolve().parents[2] / "shared/fixtures/gateways/8.2.127_with_3cts_and_battery_split"
)


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def throughput(source: DocumentSource, seconds: float, *, use_cookie: bool) -> float:
    async with (
        run_simulator(source) as sim,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=client_context(), limit=1), cookie_jar=aiohttp.DummyCookieJar()
        ) as http,
    ):
        headers = {"Authorization": f"Bearer {sim.issue_token()}"}
        cookies: dict[str, str] = {}
        if use_cookie:
            async with http.get(f"{sim.gateway_url}/auth/check_jwt", headers=headers) as response:
                cookies = {"sessionId": response.cookies["sessionId"].value}
            headers = {}
        count, deadline = 0, time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            async with http.get(sim.gateway_url + READINGS, headers=headers, cookies=cookies) as response:
                await response.read()
                assert response.status == 200, response.status
            count += 1
        return count / (time.perf_counter() - started)


async def poll_one(
    sim: Simulator, http: aiohttp.ClientSession, seconds: float, latencies: list[float]
) -> int:
    headers = {"Authorization": f"Bearer {sim.issue_token()}"}
    failures = 0
    next_at = time.perf_counter()
    deadline = next_at + seconds
    while next_at < deadline:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        started = time.perf_counter()
        async with http.get(sim.gateway_url + READINGS, headers=headers) as response:
            await response.read()
            failures += response.status != 200
        latencies.append(time.perf_counter() - started)
        next_at += 1.0
    return failures


async def many_gateways(make_source: Callable[[], DocumentSource], gateways: int, seconds: float) -> str:
    context = server_ssl_context(common_name="127.0.0.1")
    latencies: list[float] = []
    async with AsyncExitStack() as stack:
        sims = [
            await stack.enter_async_context(run_simulator(make_source(), ssl_context=context))
            for _ in range(gateways)
        ]
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context(), limit=0))
        )
        await asyncio.sleep(0)
        offsets = [i / gateways for i in range(gateways)]

        async def staggered(sim: Simulator, offset: float) -> int:
            await asyncio.sleep(offset)
            return await poll_one(sim, http, seconds, latencies)

        failures = sum(await asyncio.gather(*(staggered(s, o) for s, o in zip(sims, offsets, strict=True))))
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (
        f"{gateways} gateways x 1 req/s for {seconds:.0f} s: {len(latencies)} requests, {failures} failed, "
        f"latency p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms"
    )


def live_factory(name: str) -> Callable[[], DocumentSource]:
    return lambda: load_scenario_source(name, speed=1.0)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--gateways", type=int, default=100)
    fixtures = os.environ.get("ENPHASE_FIXTURES_DIR")
    default_folder = Path(fixtures) / DEFAULT_FOLDER.name if fixtures else DEFAULT_FOLDER
    parser.add_argument("--folder", type=Path, default=default_folder)
    parser.add_argument("--scenario", default="single-phase")
    args = parser.parse_args()

    source = ReplaySource(args.folder)
    print(f"replay {args.folder.name}")
    for use_cookie in (False, True):
        rate = await throughput(source, min(args.seconds, 5.0), use_cookie=use_cookie)
        auth = "sessionId cookie" if use_cookie else "bearer token"
        print(f"  keep-alive, one client, sequential {READINGS} ({auth}): {rate:.0f} requests/s")
    print("  " + await many_gateways(lambda: ReplaySource(args.folder), args.gateways, args.seconds))
    factory = live_factory(args.scenario)
    print(f"live scenario {args.scenario}")
    rate = await throughput(factory(), min(args.seconds, 5.0), use_cookie=False)
    print(f"  keep-alive, one client, sequential {READINGS} (bearer token): {rate:.0f} requests/s")
    print("  " + await many_gateways(factory, args.gateways, args.seconds))


if __name__ == "__main__":
    asyncio.run(main())
