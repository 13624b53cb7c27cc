"""The minimum daily runtime end to end: the daemon against the simulator at high speed, the water
heater (2 kW, 3 h a day, off-peak 22:00-06:00) switched over the simulator's HTTP loads route.

A sunny day gives it its 3 h from solar alone and no catch-up runs; on a grey day the sun never
starts it and the catch-up gives it the 3 h, late in the window, finished by 06:00, and no more.
The simulator runs fast (a daemon tick of 1 s is half an hour by day, an hour at night), and on the
grey day slowly where the catch-up starts and stops, so that the ticks are a minute there."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from daemon_helpers import daemon_config, running
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.scenario import BUILTIN_DIR
from enphase_secure.simulator.server import Simulator, run_simulator
from enphase_secure.storage import Event, open_history

PARIS = ZoneInfo("Europe/Paris")
SLOW = ((time(2, 45), time(3, 5)), (time(5, 45), time(6, 5)))  # around the catch-up's start and end


def _speed_for(now: datetime, slow: bool) -> float:
    local = now.astimezone(PARIS).time()
    if slow and any(start <= local < end for start, end in SLOW):
        return 60.0
    return 1800.0 if time(8) <= local < time(22, 30) else 3600.0


def _heater(sim: Simulator) -> dict[str, Any]:
    def switch(action: str) -> dict[str, Any]:
        return {
            "http": {"url": f"{sim.gateway_url}/simulator/loads/water-heater/{action}", "verify_tls": False}
        }

    return {
        "name": "water-heater",
        "load_w": 2000,
        "start_above_w": 2200,
        "stop_below_w": 300,
        "start_delay_s": 300,
        "stop_delay_s": 300,
        "min_daily_runtime_h": 3,
        "catch_up_windows": ["22:00-06:00"],
        "day_starts_at": "07:00",
        "on": switch("on"),
        "off": switch("off"),
    }


@dataclass
class Day:
    samples: list[tuple[datetime, bool]]  # simulated time, heater load on
    control: dict[str, Any]  # GET /api/control at the end
    events: list[Event]  # from the history, once the daemon stopped

    def switchings(self) -> list[tuple[datetime, bool]]:
        return [(t, on) for (_, was), (t, on) in itertools.pairwise(self.samples) if on != was]

    def switching_gaps_h(self) -> float:
        """How late the samples can have seen the switchings: the sample gaps that end at them."""
        return sum(
            (b - a).total_seconds() / 3600
            for (a, was), (b, on) in itertools.pairwise(self.samples)
            if on != was
        )

    def on_hours(self, start: datetime, end: datetime) -> float:
        return sum(
            (b - a).total_seconds() / 3600
            for (a, on), (b, _) in itertools.pairwise(self.samples)
            if on and start <= a < end
        )


async def _live_day(tmp_path: Path, inverters: int, start: datetime, end: datetime, *, slow: bool) -> Day:
    scenario = tmp_path / "house.toml"
    scenario.write_text(
        resources.files("enphase_secure.simulator")
        .joinpath(BUILTIN_DIR, "single-phase.toml")
        .read_text("utf-8")
        .replace("count = 10", f"count = {inverters}")
        .replace("clouds = 0.3", "clouds = 0.0")
    )
    source = load_scenario_source(str(scenario), speed=_speed_for(start, slow), start=start)
    samples: list[tuple[datetime, bool]] = []
    async with run_simulator(source) as sim:
        config = daemon_config(sim, tmp_path, timezone="Europe/Paris", control={"stages": [_heater(sim)]})
        async with running(config, clock=source.now) as daemon, aiohttp.ClientSession() as http:
            while source.now() < end:
                source.control_clock(speed=_speed_for(source.now(), slow))
                samples.append((source.now(), source.loads()["water-heater"]))
                await asyncio.sleep(0.1)
            control = await (await http.get(f"{daemon.web_url}/api/control")).json()
    async with await open_history(config.storage.history_url) as history:
        events = await history.events(start, end + timedelta(days=1), stage="water-heater")
    return Day(samples, control, events)


def _heater_view(day: Day) -> dict[str, Any]:
    stage: dict[str, Any] = day.control["stages"][0]
    return stage


async def test_a_sunny_day_gives_the_3_hours_from_solar_alone(tmp_path: Path) -> None:
    start = datetime(2024, 6, 21, 8, tzinfo=PARIS)
    day = await _live_day(tmp_path, 10, start, datetime(2024, 6, 22, 8, 30, tzinfo=PARIS), slow=False)
    off_peak = datetime(2024, 6, 21, 22, tzinfo=PARIS)
    solar_h = day.on_hours(start, off_peak)
    next_day = datetime(2024, 6, 22, 7, tzinfo=PARIS)  # the runtime day's end
    night_h = day.on_hours(off_peak, next_day)
    print(f"\nsunny day: heater on {solar_h:.2f} h from solar, {night_h:.2f} h off-peak")
    assert solar_h >= 3.0
    assert night_h == 0.0  # no catch-up: the sun gave the minimum
    assert all(t < off_peak for t, _ in day.switchings() if t < next_day)
    # the runtime day (07:00-07:00) of the 21st ended: its runtime and energy are in the history
    (ended,) = [e for e in day.events if e.action.startswith("runtime ")]
    assert ended.action.startswith("runtime 2024-06-21: ")
    assert ended.duration_s is not None
    assert abs(ended.duration_s / 3600 - solar_h) < 0.2  # confirmed-on time, as the loads saw it
    print(f"history: {ended.action}")
    heater = _heater_view(day)
    assert heater["runtime_today_h"] == 0.0  # the 22nd's runtime day began at 07:00
    assert "catch-up" not in heater["state"]["reason"]


async def test_a_grey_day_is_caught_up_off_peak_and_no_more(tmp_path: Path) -> None:
    start = datetime(2024, 6, 21, 8, tzinfo=PARIS)
    window_end = datetime(2024, 6, 22, 6, tzinfo=PARIS)
    day = await _live_day(tmp_path, 6, start, window_end + timedelta(minutes=10), slow=True)
    window_start = datetime(2024, 6, 21, 22, tzinfo=PARIS)
    solar_h = day.on_hours(start, window_start)
    switchings = day.switchings()
    (on_at, _), (off_at, _) = switchings  # one run, the catch-up's
    catch_up_h = day.on_hours(window_start, window_end + timedelta(minutes=10))
    print(
        f"\ngrey day: heater on {solar_h:.2f} h from solar; catch-up {on_at:%H:%M}-{off_at:%H:%M}, "
        f"{catch_up_h:.2f} h, runtime {_heater_view(day)['runtime_today_h']:.2f} h"
    )
    assert solar_h == 0.0  # six panels never leave 2.2 kW over
    # late in the window: 3 h missing, so not before 02:55 minus a tick, and done by 06:00
    assert datetime(2024, 6, 22, 2, 53, tzinfo=PARIS) <= on_at <= datetime(2024, 6, 22, 2, 58, tzinfo=PARIS)
    assert off_at <= window_end
    # the missing time, and no more (as sampled: each switching seen up to one sample late under load)
    assert 3.0 - day.switching_gaps_h() <= catch_up_h <= 3.0 + 3 / 60
    heater = _heater_view(day)
    assert 3.0 <= heater["runtime_today_h"] <= 3.05
    assert abs(heater["energy_today_wh"] - 2000 * heater["runtime_today_h"]) <= 1.0
    assert heater["last_decision"]["action"] == "off"
    assert heater["last_decision"]["reason"] == "catch-up done: 3 h of 3 h today"
