"""Runs the controller's commands off the control loop.

Each stage has at most one command in flight, in its own task; a command arriving meanwhile waits,
and only the latest waiting one runs (latest intent wins). A slow or failing action never delays
the loop or another stage. Every action gives an ``ActionOutcome``: logged, kept as the stage's
last outcome, and passed to ``on_outcome`` (history, API); once every action of a command has run,
``on_done`` gets the command and its outcomes (the controller's delivery of its intent).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from enphase_secure.actions.base import Action, ActionOutcome, OutcomeStatus, run_with_retries
from enphase_secure.actions.registry import StageActions
from enphase_secure.actions.templates import template_values
from enphase_secure.control.controller import Command
from enphase_secure.energy.snapshot import Snapshot

LOG = logging.getLogger("enphase_secure.actions")


class ActionRunner:
    def __init__(
        self,
        actions: Mapping[str, StageActions],
        *,
        on_outcome: Callable[[ActionOutcome], None] | None = None,
        on_done: Callable[[Command, tuple[ActionOutcome, ...]], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._actions = dict(actions)
        self._on_outcome = on_outcome
        self._on_done = on_done
        self._clock = clock
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: dict[str, tuple[Command, Snapshot | None]] = {}
        self._last: dict[str, tuple[ActionOutcome, ...]] = {}

    @property
    def last_outcomes(self) -> Mapping[str, tuple[ActionOutcome, ...]]:
        """Per stage, the outcomes of the last command that finished."""
        return dict(self._last)

    def in_flight(self, stage: str) -> bool:
        return stage in self._running

    def submit(self, command: Command, snapshot: Snapshot | None) -> None:
        """Queue ``command``; returns at once. Templates read ``snapshot`` (the one decided on)."""
        if command.stage in self._running:
            self._waiting[command.stage] = (command, snapshot)
            return
        task = asyncio.create_task(self._run_stage(command, snapshot), name=f"actions[{command.stage}]")
        self._running[command.stage] = task

    async def wait_idle(self) -> None:
        """Until no command is running or waiting."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def aclose(self) -> None:
        self._waiting.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()

    async def __aenter__(self) -> ActionRunner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run_stage(self, command: Command, snapshot: Snapshot | None) -> None:
        try:
            next_command: tuple[Command, Snapshot | None] | None = (command, snapshot)
            while next_command is not None:
                outcomes = await self._run_command(*next_command)
                self._last[next_command[0].stage] = outcomes
                if self._on_done is not None:
                    self._on_done(next_command[0], outcomes)
                next_command = self._waiting.pop(command.stage, None)
        finally:
            self._running.pop(command.stage, None)

    async def _run_command(self, command: Command, snapshot: Snapshot | None) -> tuple[ActionOutcome, ...]:
        stage_actions = self._actions.get(command.stage, StageActions())
        actions = stage_actions.on if command.action == "on" else stage_actions.off
        values = template_values(command, snapshot)
        outcomes = []
        for action in actions:
            if command.dry_run:
                outcome = self._outcome(command, action, "skipped", attempts=0, started=time.monotonic())
            else:
                started = time.monotonic()
                attempts, error = await run_with_retries(action, values)
                status: OutcomeStatus = "ok" if error is None else "failed"
                outcome = self._outcome(
                    command, action, status, attempts=attempts, started=started, error=error
                )
            self._report(outcome, command)
            outcomes.append(outcome)
        return tuple(outcomes)

    def _outcome(
        self,
        command: Command,
        action: Action,
        status: OutcomeStatus,
        *,
        attempts: int,
        started: float,
        error: str | None = None,
    ) -> ActionOutcome:
        return ActionOutcome(
            stage=command.stage,
            action=command.action,
            kind=action.kind,
            target=action.target,
            status=status,
            attempts=attempts,
            duration_s=time.monotonic() - started,
            finished_at=self._clock(),
            error=error,
        )

    def _report(self, outcome: ActionOutcome, command: Command) -> None:
        where = f"stage {outcome.stage!r} {outcome.action}: {outcome.kind} {outcome.target}"
        if outcome.status == "skipped":
            LOG.info("dry run: %s not run (%s)", where, command.reason)
        elif outcome.status == "ok":
            LOG.info("%s ok in %.2f s (%s)", where, outcome.duration_s, command.reason)
        else:
            LOG.warning(
                "%s failed after %d attempt(s), %.2f s: %s",
                where,
                outcome.attempts,
                outcome.duration_s,
                outcome.error,
            )
        if self._on_outcome is not None:
            self._on_outcome(outcome)
