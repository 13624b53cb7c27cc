"""The controller on a monotonic clock (wall-clock steps), intents and their delivery, state versions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from test_controller import T0, at, run_rows, settings, snap, stage

from enphase_secure.control.controller import Command, shutdown, step
from enphase_secure.control.delivery import MAX_RETRY_S, delivered, due, resend, resume, retry_delay_s
from enphase_secure.control.settings import TimeWindow
from enphase_secure.control.state import ControllerState, Instant, StageState
from enphase_secure.errors import StorageError

HOUR_S = 3600.0


def first_stop_after(config_stage: dict[str, float], *, wall_follows_step: bool) -> float:
    """Seconds from the start of the low surplus to the ``off`` command, the wall clock set back 1 h at
    t = 20 s. ``wall_follows_step``: the timers read the wall clock (what the controller did before)."""
    config = settings(stage(**config_stage))
    state, _ = run_rows(config, [(0, snap(2000), True)])
    for t in range(1, 3 * 3600):
        offset = -HOUR_S if t >= 20 else 0.0
        now = at(t, wall_offset_s=offset)
        if wall_follows_step:
            now = Instant(now.wall, t + offset)
        state, commands = step(config, state, snap(0), now)
        if commands:
            assert [c.action for c in commands] == ["off"]
            return float(t - 1)
    raise AssertionError("never stopped")


def test_a_wall_clock_step_back_does_not_hold_a_stop() -> None:
    timing = {"stop_delay_s": 30.0, "min_on_s": 0.0}
    before = first_stop_after(timing, wall_follows_step=True)
    after = first_stop_after(timing, wall_follows_step=False)
    print(f"stop after a -1 h step: {before:.0f} s on the wall clock, {after:.0f} s on the monotonic one")
    assert before >= HOUR_S
    assert after == 30.0


def test_a_wall_clock_step_back_does_not_hold_min_on() -> None:
    after = first_stop_after({"stop_delay_s": 0.0, "min_on_s": 300.0}, wall_follows_step=False)
    assert after == 299.0  # on at t=0, off at t=300


def test_the_failsafe_fires_on_time_across_a_step_back() -> None:
    config = settings(stage(), failsafe_after_s=120)
    state, _ = run_rows(config, [(0, snap(2000), True)])
    fired = None
    for t in range(1, 600):
        state, commands = step(config, state, None, at(t, wall_offset_s=-HOUR_S if t > 10 else 0.0))
        if commands:
            fired = t
            break
    assert fired == 121
    assert state.stage("heater").failsafe


def test_time_windows_follow_the_wall_clock() -> None:
    config = settings(stage(windows=(TimeWindow.parse("10:00-11:00", "windows[0]"),)))
    state, _ = run_rows(config, [(0, snap(2000), True)])
    state, commands = step(config, state, snap(2000), at(1, wall_offset_s=HOUR_S))  # 11:00:01
    assert [c.action for c in commands] == ["off"]
    assert "outside the time windows" in state.stage("heater").reason


def test_a_stage_whose_switching_failed_does_not_count_its_load() -> None:
    config = settings(stage(load_w=2000, stop_delay_s=0))
    state, commands = run_rows(config, [(0, snap(2500), True)])
    # the heater's relay did not switch: the meter still shows all 2.5 kW of export... then a cloud
    on = commands[0]
    for error, expected_on in ((None, True), ("HTTP 503", False)):
        outcome = delivered(state, on, error=error, now=at(1))
        new, _ = step(config, outcome, snap(100), at(2))
        # confirmed: solar covers 2.1 kW of the running 2 kW heater; failed: 100 W < stop_below_w
        assert new.stage("heater").on is expected_on, new.stage("heater").reason


def test_delivery_confirms_fails_and_backs_off_with_a_cap() -> None:
    config = settings(stage())
    state, commands = run_rows(config, [(0, snap(2000), True)])
    heater = state.stage("heater")
    assert (heater.delivery, heater.intent, heater.confirmed_on) == ("pending", 1, None)
    assert not due(state, at(0))

    delays = []
    for attempt in range(1, 10):
        state = delivered(state, commands[0], error="HTTP 503", now=at(attempt * 1000))
        heater = state.stage("heater")
        assert (heater.delivery, heater.attempts, heater.last_error) == ("failed", attempt, "HTTP 503")
        assert heater.retry_at_s is not None
        delays.append(heater.retry_at_s - attempt * 1000)
        assert not heater.running
        assert due(state, at(heater.retry_at_s)) == (heater,)
        assert not due(state, at(heater.retry_at_s - 0.5))
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert retry_delay_s(100) == MAX_RETRY_S

    updated, command = resend(heater, dry_run=False)
    assert command == Command("heater", "on", "retry 9: HTTP 503", False, 1)
    assert updated.retry_at_s is None
    state = delivered(state.replaced(updated), command, error=None, now=at(20000))
    heater = state.stage("heater")
    assert (heater.delivery, heater.confirmed_on, heater.retry_at_s, heater.running) == (
        "confirmed",
        True,
        None,
        True,
    )


def test_a_newer_intent_supersedes_the_result_of_an_older_one() -> None:
    config = settings(stage())
    state, first = run_rows(config, [(0, snap(2000), True)])
    state, second = run_rows(config, [(1, snap(0), False)], state=state)
    assert (first[0].intent, second[0].intent) == (1, 2)
    late = delivered(state, first[0], error="HTTP 503", now=at(2))
    assert late == state
    assert late.stage("heater").delivery == "pending"


def test_shutdown_switches_off_only_the_stages_that_ask_for_it() -> None:
    config = settings(stage("heater", on_shutdown="off"), stage("pump"), stage("idle", on_shutdown="off"))
    state, _ = run_rows(config, [(0, snap(9000), True)])
    state = state.replaced(StageState("idle", on=False, confirmed_on=False))
    state, commands = shutdown(config, state, at(5))
    assert [(c.stage, c.action, c.intent) for c in commands] == [("heater", "off", 2)]
    assert state.stage("heater").delivery == "pending"
    assert state.stage("pump").on


def test_version_1_state_migrates_keeping_each_stage() -> None:
    v1 = {
        "version": 1,
        "stages": [
            {
                "name": "heater",
                "on": True,
                "switched_at": (T0 - timedelta(seconds=100)).isoformat(),
                "start_timer_since": None,
                "stop_timer_since": (T0 - timedelta(seconds=10)).isoformat(),
                "unknown_since": None,
                "mode": "auto",
                "disabled": False,
                "failsafe": False,
                "reason": "on: surplus 2500 W",
            }
        ],
    }
    state = ControllerState.from_json(v1, Instant(T0, 5000.0))
    heater = state.stage("heater")
    assert (heater.on, heater.confirmed_on, heater.delivery, heater.intent) == (True, True, "confirmed", 0)
    assert (heater.switched_at_s, heater.stop_timer_since_s) == (4900.0, 4990.0)
    assert due(state, Instant(T0, 5000.0)) == ()
    assert state.to_json(Instant(T0, 5000.0))["version"] == 3


def test_an_unconfirmed_intent_is_due_at_once_when_taken_over() -> None:
    config = settings(stage(stop_delay_s=0))
    state, _ = run_rows(config, [(0, snap(2000), True), (10, snap(0), False)])
    saved = json.loads(json.dumps(state.to_json(at(10))))
    assert saved["stages"][0]["delivery"] == "pending"
    later = Instant(T0 + timedelta(hours=1), 50.0)
    restored = ControllerState.from_json(saved, later)
    assert due(restored, later) == ()
    (heater,) = due(resume(restored, later), later)
    assert (heater.on, heater.intent) == (False, 2)
    assert resend(heater, dry_run=False)[1].reason == "re-sent after a restart"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("delivery", "maybe", "'delivery'"),
        ("intent", -1, "'intent'"),
        ("confirmed_on", "yes", "'confirmed_on'"),
    ],
)
def test_bad_version_2_fields_are_named(field: str, value: object, message: str) -> None:
    doc = {"version": 2, "stages": [{"name": "heater", field: value}]}
    with pytest.raises(StorageError, match=message):
        ControllerState.from_json(doc, at(0))


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(StorageError, match="version"):
        ControllerState.from_json({"version": 4, "stages": []}, at(0))
