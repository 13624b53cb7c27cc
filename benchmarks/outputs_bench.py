"""Outputs benchmark: what MQTT (with Home Assistant discovery) adds to `enphase-secure run` at 1 s polling.

    .venv/bin/python benchmarks/outputs_bench.py [--seconds 60] [--scenario three-phase-battery]

The simulator and Mosquitto run in their own processes; the daemon runs twice for the same window, first
without outputs, then with ``[publish.mqtt]`` (discovery on) to that broker. Only the daemon's process is
measured (CPU from /proc, per fast tick); a subscriber to ``#`` counts what reaches the broker (messages
and bytes of topic + payload). One ``GET /metrics`` scrape is timed at the end. Everything listens on
127.0.0.1; every process is always stopped. Target: the outputs add less than 25 % to the CPU per tick.

The /proc figures count 10 ms clock ticks on a shared machine; a second, repeatable figure follows: the
MQTT output's own CPU per update (process time), with 60 updates of a daemon run in this process replayed
through it to the same broker, one simulated second apart (so republishing every publish_interval_s is
counted), per layout and discovery mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import aiomqtt
from daemon_bench import (
    INTERVAL_S,
    WARM_UP_READS,
    after_fast_read,
    client_context,
    daemon_running,
    fast_reads,
    get_json,
    run_bench,
    sample_process,
    simulator_running,
    write_config,
)

from enphase_secure.config import parse_config
from enphase_secure.daemon.service import Daemon
from enphase_secure.outputs.bus import Update
from enphase_secure.outputs.mqtt import MqttOutput, MqttSettings
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator

TARGET_ADDED = 0.25
REPLAYED_UPDATES = 60
REPLAY_ROUNDS = 5


@dataclass
class Counted:
    messages: int = 0
    bytes: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    ticks: int
    cpu_s: float
    window_s: float
    seen: Counted
    output: dict[str, object]
    scrape_ms: float

    @property
    def cpu_ms_per_tick(self) -> float:
        return 1000 * self.cpu_s / self.ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mosquitto(work: Path) -> Iterator[int]:
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    config = work / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    with (work / "mosquitto.log").open("wb") as log:
        process = subprocess.Popen([executable, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mosquitto did not start: {(work / 'mosquitto.log').read_text()}"
                    ) from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.asynccontextmanager
async def counting(port: int) -> AsyncIterator[Counted]:
    counted = Counted()
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client("127.0.0.1", port) as client:
            await client.subscribe("#")
            ready.set()
            async for message in client.messages:
                payload = message.payload
                size = len(payload) if isinstance(payload, bytes | bytearray) else len(str(payload or ""))
                counted.messages += 1
                counted.bytes += len(str(message.topic).encode()) + size

    task = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    try:
        yield counted
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_daemon(
    http: aiohttp.ClientSession,
    work: Path,
    gateway_url: str,
    seconds: float,
    mqtt_port: int | None,
    *,
    figure_topics: bool = False,
) -> Run:
    name = ("with-mqtt-figures" if figure_topics else "with-mqtt") if mqtt_port else "no-outputs"
    state_dir, config = work / f"state-{name}", work / f"{name}.toml"
    write_config(config, gateway_url=gateway_url, token_file=work / "token", state_dir=state_dir)
    if mqtt_port is not None:
        with config.open("a") as file:
            file.write(f'[publish.mqtt]\nhost = "127.0.0.1"\nport = {mqtt_port}\n')
            file.write(f"figure_topics = {'true' if figure_topics else 'false'}\n")
    async with contextlib.AsyncExitStack() as stack:
        seen = await stack.enter_async_context(counting(mqtt_port)) if mqtt_port else Counted()
        log = work / f"daemon-{name}.log"
        daemon, api = await stack.enter_async_context(daemon_running(log, config))
        status_url = f"{api}/api/status"
        before_status = await after_fast_read(http, status_url, WARM_UP_READS + 2)
        before_status = await after_fast_read(http, status_url, fast_reads(before_status) + 1)
        before, started = sample_process(daemon.pid), time.monotonic()
        seen_before = Counted(seen.messages, seen.bytes)
        await asyncio.sleep(seconds)
        latest = await get_json(http, status_url)
        after_status = await after_fast_read(http, status_url, fast_reads(latest) + 1)
        after, window_s = sample_process(daemon.pid), time.monotonic() - started
        window_seen = Counted(seen.messages - seen_before.messages, seen.bytes - seen_before.bytes)
        scrape_started = time.monotonic()
        async with http.get(f"{api}/metrics") as response:
            await response.read()
        scrape_ms = 1000 * (time.monotonic() - scrape_started)
    return Run(
        ticks=fast_reads(after_status) - fast_reads(before_status),
        cpu_s=after.cpu_s - before.cpu_s,
        window_s=window_s,
        seen=window_seen,
        output=after_status["outputs"].get("mqtt", {}),
        scrape_ms=scrape_ms,
    )


async def bench(seconds: float, scenario: str, work: Path) -> None:
    speed = 2 * 3600.0 / seconds
    with mosquitto(work) as mqtt_port:
        async with (
            simulator_running(work, scenario, "--speed", f"{speed:g}") as gateway_url,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_context())) as http,
        ):
            base = await run_daemon(http, work, gateway_url, seconds, None)
            mqtt = await run_daemon(http, work, gateway_url, seconds, mqtt_port)
            figures_on = await run_daemon(http, work, gateway_url, seconds, mqtt_port, figure_topics=True)
        updates = await capture_updates(scenario, work)
        replayed = [
            (
                f"{layout}, discovery {mode}",
                await replay(updates, mqtt_port, layout=layout, discovery_mode=mode),
            )
            for layout, mode in (("single", "device"), ("split", "device"), ("single", "component"))
        ]
    figures = [
        f"outputs benchmark: scenario {scenario}, polling.interval_s {INTERVAL_S:g}, three windows of "
        f"{seconds:g} s (simulator speed {speed:g})",
        f"without outputs: {base.ticks} fast ticks, CPU {base.cpu_s:.2f} s = "
        f"{base.cpu_ms_per_tick:.2f} ms per tick",
        *describe("MQTT + discovery (default)", mqtt, base),
        *describe("MQTT + discovery + figure_topics", figures_on, base),
        f"one GET /metrics scrape: {mqtt.scrape_ms:.1f} ms (wall, loaded machine)",
        f"the MQTT output's own CPU per update, {REPLAYED_UPDATES} updates replayed {REPLAY_ROUNDS} times:",
        *(
            f"  {label}: {ms:.3f} ms per update, {rate:.2f} messages per update"
            for label, (ms, rate) in replayed
        ),
    ]
    print("\n".join(figures))


async def capture_updates(scenario: str, work: Path) -> list[Update]:
    """Consecutive updates of a daemon run in this process against an in-process simulator, 1 s apart."""
    source = load_scenario_source(scenario, speed=120)
    async with run_simulator(source) as sim:
        config = parse_config(
            {
                "gateway": {"host": sim.host, "token_mode": "manual", "token": sim.issue_token()},
                "storage": {"state_dir": str(work / "state-replay")},
                "web": {"listen": "127.0.0.1:0"},
            }
        )
        daemon = Daemon(config, clock=source.now)
        task = asyncio.create_task(daemon.run())
        try:
            await asyncio.wait_for(daemon.ready.wait(), 30)
            await asyncio.sleep(WARM_UP_READS * INTERVAL_S)
            updates = []
            while len(updates) < REPLAYED_UPDATES:
                await asyncio.sleep(INTERVAL_S)
                if (update := daemon.latest_update()) is not None:
                    updates.append(update)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return updates


async def replay(updates: list[Update], port: int, **settings: str) -> tuple[float, float]:
    """The MQTT output's process time per update and its messages per update; each update's document
    is made beforehand (the dashboard's stream makes it for every update anyway)."""
    clock = [0.0]
    output = MqttOutput(
        MqttSettings("127.0.0.1", port, **settings),  # type: ignore[arg-type]
        control=None,
        logger=logging.getLogger("outputs-bench"),
        clock_s=lambda: clock[0],
    )
    await output.start()
    try:
        await output.publish(updates[0])
        for _ in range(200):
            if output.status()["connected"]:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the MQTT output did not connect in 10 s")
        sent = -1
        while sent != output.messages_sent:  # the first connection's discovery is not what a tick costs
            sent = output.messages_sent
            await asyncio.sleep(0.5)
        sent, cpu_s = output.messages_sent, 0.0
        for _ in range(REPLAY_ROUNDS):
            for update in updates:
                fresh = Update(update.snapshot, update.health, update.control)
                _ = fresh.document
                clock[0] += INTERVAL_S
                started = time.process_time()
                await output.publish(fresh)
                cpu_s += time.process_time() - started
    finally:
        await output.stop()
    count = REPLAY_ROUNDS * len(updates)
    return 1000 * cpu_s / count, (output.messages_sent - sent) / count


def describe(label: str, run: Run, base: Run) -> list[str]:
    added = run.cpu_ms_per_tick / base.cpu_ms_per_tick - 1
    verdict = "met" if added < TARGET_ADDED else "MISSED"
    rate, kib_s = run.seen.messages / run.window_s, run.seen.bytes / run.window_s / 1024
    out = run.output
    return [
        f"{label}: {run.ticks} fast ticks, CPU {run.cpu_s:.2f} s = {run.cpu_ms_per_tick:.2f} ms per tick, "
        f"added {run.cpu_ms_per_tick - base.cpu_ms_per_tick:+.2f} ms = {100 * added:+.1f} % "
        f"(target < {100 * TARGET_ADDED:.0f} %): {verdict}",
        f"  broker traffic seen by a subscriber: {run.seen.messages} messages = {rate:.1f} messages/s, "
        f"{kib_s:.2f} KiB/s ({run.seen.bytes / max(run.ticks, 1):.0f} bytes per tick)",
        f"  output status: sent {out.get('messages_sent')} messages, {out.get('bytes_sent')} bytes since "
        f"start, published {out.get('published')}, dropped_busy {out.get('dropped_busy')}, "
        f"failures {out.get('failures')}",
    ]


def main() -> None:
    run_bench(__doc__.splitlines()[0], "each measured window (real seconds)", bench, default_s=60.0)


if __name__ == "__main__":
    main()
