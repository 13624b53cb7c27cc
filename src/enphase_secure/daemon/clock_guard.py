"""Whether to trust the wall clock of a reading: a forward jump counts only once it has lasted.

A reading's wall time that runs far ahead of the monotonic time elapsed since the last trusted one
(``MAX_AHEAD_S``) is a jump. A glitch (+8 days for 10 s) must not stamp readings, prune the raw
history by it or roll the day over; a real step (NTP setting the clock of a Raspberry Pi without a
real-time clock after boot) stays. So readings are ignored while the jump is younger than
``CONFIRM_S`` of monotonic time, then the new wall time is trusted. A step back is trusted at once
(nothing is deleted or rolled over by it). ``judge`` is pure; ``WallClockCheck`` keeps its state for
the daemon and logs each jump once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

MAX_AHEAD_S = 120.0
CONFIRM_S = 60.0

Verdict = Literal["trusted", "jumped", "ignored", "accepted"]


@dataclass(frozen=True, slots=True)
class ClockTrust:
    """``offset_s``: wall − monotonic of the last trusted reading; a jump's own offset and start."""

    offset_s: float | None = None
    jump_offset_s: float | None = None
    jump_since_s: float | None = None


def judge(trust: ClockTrust, wall: datetime, mono_s: float) -> tuple[ClockTrust, Verdict]:
    """``jumped`` (first reading of a jump) and ``ignored``: do not use this reading's wall time."""
    offset = wall.timestamp() - mono_s
    if trust.offset_s is None or offset - trust.offset_s <= MAX_AHEAD_S:
        return ClockTrust(offset_s=offset), "trusted"
    if (
        trust.jump_offset_s is None
        or trust.jump_since_s is None
        or abs(offset - trust.jump_offset_s) > MAX_AHEAD_S
    ):
        return ClockTrust(trust.offset_s, jump_offset_s=offset, jump_since_s=mono_s), "jumped"
    if mono_s - trust.jump_since_s >= CONFIRM_S:
        return ClockTrust(offset_s=offset), "accepted"
    return trust, "ignored"


class WallClockCheck:
    def __init__(self, logger: logging.Logger, monotonic: Callable[[], float]) -> None:
        self._log = logger
        self._monotonic = monotonic
        self._trust = ClockTrust()

    def trusted(self, wall: datetime) -> bool:
        previous, mono_s = self._trust.offset_s, self._monotonic()
        self._trust, verdict = judge(self._trust, wall, mono_s)
        if verdict == "jumped" and previous is not None:
            ahead_s = wall.timestamp() - mono_s - previous
            self._log.warning(
                "the wall clock jumped %.0f s ahead of the time elapsed (now %s): readings ignored "
                "unless it holds for %.0f s",
                ahead_s,
                wall.isoformat(),
                CONFIRM_S,
            )
        elif verdict == "accepted":
            self._log.warning("the wall clock jump held for %.0f s: trusted from now on", CONFIRM_S)
        return verdict in ("trusted", "accepted")
