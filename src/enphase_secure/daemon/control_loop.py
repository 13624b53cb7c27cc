"""The controller wired to the daemon: a tick per poll interval, persisted state, actions, API view.

It ticks on its own schedule (not on snapshots) so that the fail-safe still fires when no reading
arrives at all; ``latest`` gives the fresh snapshot, or None when there is none.

Each switching is an intent, saved before its actions run; the runner's result confirms it or
schedules another try (``control.delivery``), a restart re-sends what was not confirmed, and
``shutdown`` (SIGTERM) applies each stage's ``on_shutdown``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from ..actions.base import ActionOutcome
from ..actions.registry import StageActions
from ..actions.runner import ActionRunner
from ..control import runtime
from ..control.controller import Command, shutdown, step
from ..control.delivery import delivered, due, resend, resume
from ..control.settings import ControlSettings, StageSettings
from ..control.state import MODES, ControllerState, Instant, Mode
from ..energy.snapshot import Snapshot
from ..errors import EnphaseSecureError, StorageError
from ..storage import Event, History
from .schedule import ticks

STATE_KEY = "controller"
SHUTDOWN_TIMEOUT_S = 20.0  # on SIGTERM, how long the on_shutdown actions may take


class ControlLoop:
    def __init__(
        self,
        *,
        settings: ControlSettings,
        actions: Mapping[str, StageActions],
        history: History | None,
        latest: Callable[[], Snapshot | None],
        interval_s: float,
        clock: Callable[[], datetime],
        logger: logging.Logger,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._actions = actions
        self._history = history
        self._latest = latest
        self._interval_s = interval_s
        self._clock = clock
        self._monotonic = monotonic
        self._log = logger
        self.state = ControllerState()
        self._decisions: dict[str, dict[str, Any]] = {}
        self._runner = ActionRunner(actions, on_outcome=self._on_outcome, on_done=self._on_done, clock=clock)
        self._pending: set[asyncio.Task[None]] = set()

    def _now(self) -> Instant:
        return Instant(self._clock(), self._monotonic())

    async def restore(self) -> None:
        if self._history is None:
            return
        saved = await self._history.get_state(STATE_KEY)
        if saved is None:
            return
        try:
            self.take_over(ControllerState.from_json(saved, self._now()))
        except EnphaseSecureError as err:
            self._log.error("saved controller state unreadable, every stage starts off: %s", err)

    def take_over(self, state: ControllerState) -> None:
        """Continue from ``state`` (saved, or the previous loop's): unconfirmed intents due now."""
        self.state = resume(state, self._now())

    async def _save(self) -> None:
        if self._history is None:
            return
        try:
            await self._history.put_state(STATE_KEY, self.state.to_json(self._now()))
        except StorageError as err:
            self._log.error("could not save the controller state: %s", err)

    async def tick(self) -> tuple[Command, ...]:
        """Decide, save the intents, then send the new commands and the retries that are due."""
        now = self._now()
        before = self.state
        snapshot = self._latest()
        self.state, commands = step(self.settings, self.state, snapshot, now)
        self._record_days_ended(before, now)
        switched = {c.stage for c in commands}
        retries = []
        for stage in due(self.state, now):
            if stage.name not in switched and not self._runner.in_flight(stage.name):
                updated, command = resend(stage, dry_run=self.settings.dry_run)
                self.state = self.state.replaced(updated)
                retries.append(command)
        if self.state != before:
            await self._save()
        for command in commands:
            self._log.info(
                "control: %s %s%s: %s",
                command.stage,
                command.action,
                " (dry run: not sent)" if command.dry_run else "",
                command.reason,
            )
            self._decisions[command.stage] = {
                "time": now.wall.isoformat(),
                "action": command.action,
                "reason": command.reason,
                "dry_run": command.dry_run,
            }
            self._runner.submit(command, snapshot)
        for command in retries:
            self._log.info("control: %s %s again (%s)", command.stage, command.action, command.reason)
            self._runner.submit(command, snapshot)
        return commands

    async def shutdown(self) -> None:
        """SIGTERM, after ``run`` stopped: each stage to its ``on_shutdown``, within SHUTDOWN_TIMEOUT_S."""
        self.state, commands = shutdown(self.settings, self.state, self._now())
        if not commands:
            return
        await self._save()
        for command in commands:
            self._log.info("control: %s %s: %s", command.stage, command.action, command.reason)
            self._runner.submit(command, self._latest())
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
                await self._runner.wait_idle()
        except TimeoutError:
            self._log.warning(
                "control: on_shutdown actions still running after %g s: re-sent at the next start",
                SHUTDOWN_TIMEOUT_S,
            )
        await self._runner.aclose()
        await asyncio.gather(*self._pending, return_exceptions=True)
        await self._save()

    async def run(self) -> None:
        try:
            async for _ in ticks(self._interval_s):
                await self.tick()
        finally:
            await self._runner.aclose()
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def set_mode(self, stage: str, mode: str, *, by: str = "the API") -> None:
        """Manual override; KeyError for an unknown stage, ValueError for an unknown mode."""
        self.settings.stage(stage)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        chosen: Mode = next(m for m in MODES if m == mode)
        self.state = self.state.with_mode(stage, chosen)
        self._log.info("control: %s set to %s by %s", stage, mode, by)
        await self._save()
        await self.tick()

    def _on_done(self, command: Command, outcomes: tuple[ActionOutcome, ...]) -> None:
        errors = [f"{o.kind}: {o.error}" for o in outcomes if not o.ok]
        error = "; ".join(errors) if errors else None
        before = self.state.stage(command.stage)
        self.state = delivered(self.state, command, error=error, now=self._now())
        after = self.state.stage(command.stage)
        if after == before:
            return
        if after.delivery == "failed" and after.retry_at_s is not None:
            self._log.warning(
                "control: %s %s not confirmed (%d failed tries), next try in %.0f s: %s",
                command.stage,
                command.action,
                after.attempts,
                after.retry_at_s - self._monotonic(),
                error,
            )
        elif before.attempts:
            self._log.info(
                "control: %s %s confirmed after %d failed tries",
                command.stage,
                command.action,
                before.attempts,
            )
        self._spawn(self._save())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _on_outcome(self, outcome: ActionOutcome) -> None:
        if self._history is None:
            return
        event = Event(
            time=outcome.finished_at,
            stage=outcome.stage,
            action=f"{outcome.action} {outcome.kind} {outcome.target}",
            ok=outcome.ok,
            duration_s=outcome.duration_s,
            error=outcome.error,
        )
        self._spawn(self._record(event))

    def _record_days_ended(self, before: ControllerState, now: Instant) -> None:
        """A stage's runtime day ended: its runtime and energy go to the history as an event."""
        if self._history is None:
            return
        for stage in self.settings.stages:
            ended = before.stage(stage.name)
            if ended.runtime_day is None or ended.runtime_day == self.state.stage(stage.name).runtime_day:
                continue
            energy_kwh = ended.energy_wh / 1000
            action = (
                f"runtime {ended.runtime_day.isoformat()}: {runtime.duration(ended.runtime_s)}, "
                f"{energy_kwh:.2f} kWh"
            )
            event = Event(time=now.wall, stage=stage.name, action=action, ok=True, duration_s=ended.runtime_s)
            self._spawn(self._record(event))

    async def _record(self, event: Event) -> None:
        assert self._history is not None
        try:
            await self._history.record_event(event)
        except StorageError as err:
            self._log.error("could not store an action outcome: %s", err)

    def _runtime_view(self, stage: StageSettings, now: Instant) -> dict[str, Any]:
        today_s, energy_wh = runtime.today(stage, self.state.stage(stage.name), now, self.settings.timezone)
        return {
            "kind": "switch" if stage.proportional is None else "proportional",
            "min_daily_runtime_h": stage.min_daily_runtime_h,
            "max_daily_runtime_h": stage.max_daily_runtime_h,
            "catch_up_windows": [str(w) for w in stage.catch_up_windows],
            "day_starts_at": f"{stage.day_starts_at:%H:%M}",
            "runtime_today_h": round(today_s / 3600, 3),
            "energy_today_wh": round(energy_wh, 1),
        }

    def view(self) -> dict[str, Any]:
        """GET /api/control: stages, their state and timers, last decisions and action outcomes."""
        outcomes = self._runner.last_outcomes
        now = self._now()
        return {
            "enabled": self.settings.enabled,
            "dry_run": self.settings.dry_run,
            "failsafe_after_s": self.settings.failsafe_after_s,
            "stages": [
                {
                    "name": stage.name,
                    "priority": stage.priority,
                    "phase": stage.phase,
                    "enabled": stage.enabled,
                    "start_above_w": stage.start_above_w,
                    "stop_below_w": stage.stop_below_w,
                    "start_delay_s": stage.start_delay_s,
                    "stop_delay_s": stage.stop_delay_s,
                    "min_on_s": stage.min_on_s,
                    "min_off_s": stage.min_off_s,
                    "load_w": stage.load_w,
                    "on_shutdown": stage.on_shutdown,
                    **self._runtime_view(stage, now),
                    "state": self.state.stage(stage.name).to_json(now),
                    "running": self.state.stage(stage.name).running,
                    "last_decision": self._decisions.get(stage.name),
                    "last_outcomes": [o.to_json() for o in outcomes.get(stage.name, ())],
                    "in_flight": self._runner.in_flight(stage.name),
                }
                for stage in self.settings.stages
            ],
        }
