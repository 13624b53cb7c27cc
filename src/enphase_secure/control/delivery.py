"""Delivering the controller's intents: confirmed, or failed and retried with capped backoff.

Pure, like the controller: the control loop reports each command's result here and asks which
stages are due for another try. A result for an older intent than the stage's is ignored (the
newer intent superseded it).
"""

from __future__ import annotations

import dataclasses

from enphase_secure.control.controller import Command
from enphase_secure.control.state import ControllerState, Instant, StageState

FIRST_RETRY_S = 5.0
MAX_RETRY_S = 300.0


def retry_delay_s(failures: int) -> float:
    """After the ``failures``-th failed delivery of an intent: 5 s, 10 s, 20 s... at most 5 min."""
    return float(min(FIRST_RETRY_S * 2 ** max(failures - 1, 0), MAX_RETRY_S))


def delivered(
    state: ControllerState, command: Command, *, error: str | None, now: Instant
) -> ControllerState:
    """The state once ``command`` finished: confirmed (``error`` None) or failed, retry scheduled."""
    stage = state.stage(command.stage)
    if command.intent != stage.intent or stage.delivery == "confirmed":
        return state
    if error is None:
        update = dataclasses.replace(
            stage, delivery="confirmed", confirmed_on=stage.on, retry_at_s=None, last_error=None
        )
    else:
        failures = stage.attempts + 1
        update = dataclasses.replace(
            stage,
            delivery="failed",
            attempts=failures,
            retry_at_s=now.mono_s + retry_delay_s(failures),
            last_error=error,
        )
    return state.replaced(update)


def due(state: ControllerState, now: Instant) -> tuple[StageState, ...]:
    """The stages whose intent is unconfirmed and whose next try is due."""
    return tuple(
        s
        for s in state.stages
        if s.delivery != "confirmed" and s.retry_at_s is not None and s.retry_at_s <= now.mono_s
    )


def resume(state: ControllerState, now: Instant) -> ControllerState:
    """Taking over a state (at start, after a reload): every unconfirmed intent is due at once."""
    return ControllerState(
        stages=tuple(
            s if s.delivery == "confirmed" else dataclasses.replace(s, retry_at_s=now.mono_s)
            for s in state.stages
        )
    )


def resend(stage: StageState, *, dry_run: bool) -> tuple[StageState, Command]:
    """Another try of ``stage``'s intent: its command, and the stage no longer due meanwhile."""
    why = f"retry {stage.attempts}: {stage.last_error}" if stage.last_error else "re-sent after a restart"
    command = Command.delivering(stage, why, dry_run=dry_run)
    return dataclasses.replace(stage, retry_at_s=None), command
