"""The action runner: one command in flight per stage, latest intent wins, failures isolated."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from actions_loopback import Recorder
from aiohttp import web

from enphase_secure.actions.base import ActionOutcome
from enphase_secure.actions.registry import ActionContext, StageActions, build_stage_actions
from enphase_secure.actions.runner import ActionRunner
from enphase_secure.control.controller import Command

NOW = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)


def stage_actions(url: str, name: str) -> StageActions:
    stage = {
        "on": {"http": {"url": f"{url}/{name}/on", "retries": 0}},
        "off": {"http": {"url": f"{url}/{name}/off", "retries": 0}},
    }
    return build_stage_actions(stage, "control.stages[0]", ActionContext())


def cmd(stage: str, action: str, *, dry_run: bool = False) -> Command:
    return Command(
        stage=stage, action="on" if action == "on" else "off", reason=f"test {action}", dry_run=dry_run
    )


async def wait_for_requests(recorder: Recorder, count: int) -> None:
    async with asyncio.timeout(5):
        while len(recorder.requests) < count:
            await asyncio.sleep(0.01)


async def test_one_in_flight_per_stage_and_the_latest_intent_wins(http_server: Recorder) -> None:
    gate = asyncio.Event()

    async def slow_for_heater(request: web.Request) -> web.Response:
        if request.path.startswith("/heater/"):
            await gate.wait()
        return web.Response(text="ok")

    http_server.answer = slow_for_heater
    outcomes: list[ActionOutcome] = []
    actions = {
        "heater": stage_actions(http_server.url, "heater"),
        "pump": stage_actions(http_server.url, "pump"),
    }
    async with ActionRunner(actions, on_outcome=outcomes.append, clock=lambda: NOW) as runner:
        runner.submit(cmd("heater", "on"), None)
        await wait_for_requests(http_server, 1)
        for action in ("off", "on", "off"):
            runner.submit(cmd("heater", action), None)
        assert runner.in_flight("heater")
        # another stage is not held up by the blocked one
        runner.submit(cmd("pump", "on"), None)
        await wait_for_requests(http_server, 2)
        assert [r.path for r in http_server.requests] == ["/heater/on", "/pump/on"]
        gate.set()
        await runner.wait_idle()
        assert [r.path for r in http_server.requests] == ["/heater/on", "/pump/on", "/heater/off"]
        assert [(o.stage, o.action, o.status) for o in outcomes] == [
            ("pump", "on", "ok"),
            ("heater", "on", "ok"),
            ("heater", "off", "ok"),
        ]
        (last,) = runner.last_outcomes["heater"]
        assert last.to_json() == {
            "stage": "heater",
            "action": "off",
            "kind": "http",
            "target": f"POST {http_server.url}/heater/off",
            "status": "ok",
            "attempts": 1,
            "duration_s": round(last.duration_s, 3),
            "finished_at": "2026-06-21T12:00:00+00:00",
            "error": None,
        }


async def test_a_failing_action_is_reported_and_blocks_nothing(http_server: Recorder) -> None:
    actions = {
        "broken": stage_actions("http://127.0.0.1:9", "broken"),
        "pump": stage_actions(http_server.url, "pump"),
    }
    outcomes: list[ActionOutcome] = []
    async with ActionRunner(actions, on_outcome=outcomes.append) as runner:
        runner.submit(cmd("broken", "on"), None)
        runner.submit(cmd("pump", "on"), None)
        await runner.wait_idle()
    by_stage = {o.stage: o for o in outcomes}
    assert by_stage["pump"].status == "ok"
    assert by_stage["broken"].status == "failed"
    assert by_stage["broken"].ok is False
    assert by_stage["broken"].error is not None
    assert [r.path for r in http_server.requests] == ["/pump/on"]


async def test_dry_run_runs_nothing(http_server: Recorder) -> None:
    async with ActionRunner({"heater": stage_actions(http_server.url, "heater")}) as runner:
        runner.submit(cmd("heater", "on", dry_run=True), None)
        await runner.wait_idle()
        (outcome,) = runner.last_outcomes["heater"]
    assert (outcome.status, outcome.attempts, outcome.ok) == ("skipped", 0, True)
    assert http_server.requests == []


async def test_close_cancels_what_is_in_flight(http_server: Recorder) -> None:
    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    http_server.answer = hang
    runner = ActionRunner({"heater": stage_actions(http_server.url, "heater")})
    runner.submit(cmd("heater", "on"), None)
    await wait_for_requests(http_server, 1)
    async with asyncio.timeout(2):
        await runner.aclose()
    assert not runner.in_flight("heater")


async def test_a_stage_without_actions_records_an_empty_outcome() -> None:
    async with ActionRunner({}) as runner:
        runner.submit(cmd("ghost", "on"), None)
        await runner.wait_idle()
        assert runner.last_outcomes["ghost"] == ()
