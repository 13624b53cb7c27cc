"""What every action shares: the attempt policy, the outcome, and running with timeout and retries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError

OutcomeStatus = Literal["ok", "failed", "skipped"]
MAX_RETRY_DELAY_S = 30.0


@dataclass(frozen=True, slots=True)
class Attempts:
    """``timeout_s`` per attempt, ``retries`` after the first, ``retry_delay_s`` doubling between them."""

    timeout_s: float = 10.0
    retries: int = 2
    retry_delay_s: float = 1.0

    @classmethod
    def from_fields(cls, f: Fields) -> Attempts:
        return cls(
            timeout_s=f.number("timeout_s", 10.0, minimum=0.1, maximum=300),
            retries=f.integer("retries", 2, minimum=0, maximum=10),
            retry_delay_s=f.number("retry_delay_s", 1.0, minimum=0, maximum=MAX_RETRY_DELAY_S),
        )

    def delay_before_retry_s(self, retry: int) -> float:
        return min(self.retry_delay_s * 2.0**retry, MAX_RETRY_DELAY_S)


class Action(Protocol):
    """One configured action. ``run_once`` raises ActionError (without secrets) on failure."""

    @property
    def kind(self) -> str: ...

    @property
    def target(self) -> str:
        """What it talks to, for logs: a URL without credentials or query, a topic, a program."""
        ...

    @property
    def attempts(self) -> Attempts: ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in an outcome (tokens, API keys, header values)."""
        ...

    async def run_once(self, values: Mapping[str, str]) -> None: ...


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    stage: str
    action: str
    kind: str
    target: str
    status: OutcomeStatus
    attempts: int
    duration_s: float
    finished_at: datetime
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "action": self.action,
            "kind": self.kind,
            "target": self.target,
            "status": self.status,
            "attempts": self.attempts,
            "duration_s": round(self.duration_s, 3),
            "finished_at": self.finished_at.isoformat(),
            "error": self.error,
        }


async def run_with_retries(action: Action, values: Mapping[str, str]) -> tuple[int, str | None]:
    """Run ``action`` until it succeeds or its attempts are spent: (attempts made, last error or None)."""
    policy = action.attempts
    error: str | None = None
    for attempt in range(policy.retries + 1):
        if attempt:
            await asyncio.sleep(policy.delay_before_retry_s(attempt - 1))
        try:
            async with asyncio.timeout(policy.timeout_s):
                await action.run_once(values)
        except TimeoutError:
            error = f"{action.target}: no answer within timeout_s {policy.timeout_s:g}"
        except ActionError as err:
            error = str(err)
        except Exception as err:  # a bug in one action must not kill the stage's task silently
            error = f"{action.target}: unexpected {type(err).__name__}"
        else:
            return attempt + 1, None
    return policy.retries + 1, redact(error or "failed", action.secrets)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
