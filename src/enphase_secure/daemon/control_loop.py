"""The controller wired to the daemon: a tick per poll interval, persisted state, actions, API view.

It ticks on its own schedule (not on snapshots) so that the fail-safe still fires when no reading
arrives at all; ``latest`` gives the fresh snapshot, or None when there is none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..actions.base import ActionOutcome
from ..actions.registry import StageActions
from ..actions.runner import ActionRunner
from ..control.controller import Command, step
from ..control.settings import ControlSettings
from ..control.state import MODES, ControllerState, Mode
from ..energy.snapshot import Snapshot
from ..errors import EnphaseSecureError, StorageError
from ..storage import Event, History
from .schedule import ticks

STATE_KEY = "controller"


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
    ) -> None:
        self.settings = settings
        self._actions = actions
        self._history = history
        self._latest = latest
        self._interval_s = interval_s
        self._clock = clock
        self._log = logger
        self.state = ControllerState()
        self._decisions: dict[str, dict[str, Any]] = {}
        self._runner = ActionRunner(actions, on_outcome=self._on_outcome, clock=clock)
        self._pending: set[asyncio.Task[None]] = set()

    async def restore(self) -> None:
        if self._history is None:
            return
        saved = await self._history.get_state(STATE_KEY)
        if saved is None:
            return
        try:
            self.state = ControllerState.from_json(saved)
        except EnphaseSecureError as err:
            self._log.error("saved controller state unreadable, every stage starts off: %s", err)

    async def _save(self) -> None:
        if self._history is None:
            return
        try:
            await self._history.put_state(STATE_KEY, self.state.to_json())
        except StorageError as err:
            self._log.error("could not save the controller state: %s", err)

    async def tick(self) -> tuple[Command, ...]:
        now = self._clock()
        before = self.state
        snapshot = self._latest()
        self.state, commands = step(self.settings, self.state, snapshot, now)
        for command in commands:
            self._log.info(
                "control: %s %s%s: %s",
                command.stage,
                command.action,
                " (dry run: not sent)" if command.dry_run else "",
                command.reason,
            )
            self._decisions[command.stage] = {
                "time": now.isoformat(),
                "action": command.action,
                "reason": command.reason,
                "dry_run": command.dry_run,
            }
            self._runner.submit(command, snapshot)
        if self.state != before:
            await self._save()
        return commands

    async def run(self) -> None:
        try:
            async for _ in ticks(self._interval_s):
                await self.tick()
        finally:
            await self._runner.aclose()
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def set_mode(self, stage: str, mode: str) -> None:
        """Manual override; KeyError for an unknown stage, ValueError for an unknown mode."""
        self.settings.stage(stage)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        chosen: Mode = next(m for m in MODES if m == mode)
        self.state = self.state.with_mode(stage, chosen)
        self._log.info("control: %s set to %s by the API", stage, mode)
        await self._save()
        await self.tick()

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
        task = asyncio.create_task(self._record(event))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, event: Event) -> None:
        assert self._history is not None
        try:
            await self._history.record_event(event)
        except StorageError as err:
            self._log.error("could not store an action outcome: %s", err)

    def view(self) -> dict[str, Any]:
        """GET /api/control: stages, their state and timers, last decisions and action outcomes."""
        outcomes = self._runner.last_outcomes
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
                    "state": self.state.stage(stage.name).to_json(),
                    "last_decision": self._decisions.get(stage.name),
                    "last_outcomes": [o.to_json() for o in outcomes.get(stage.name, ())],
                    "in_flight": self._runner.in_flight(stage.name),
                }
                for stage in self.settings.stages
            ],
        }
