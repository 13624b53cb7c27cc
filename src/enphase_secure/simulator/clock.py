"""Simulated time: start + elapsed wall time x speed, which tests can pause and advance by hand."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import ConfigError


class SimClock:
    def __init__(
        self,
        start_ts: float,
        *,
        speed: float = 1.0,
        paused: bool = False,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_speed(speed)
        self._wall = wall
        self._speed = speed
        self._paused = paused
        self._base_ts = start_ts
        self._base_wall = wall()

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def now_ts(self) -> float:
        if self._paused:
            return self._base_ts
        return self._base_ts + (self._wall() - self._base_wall) * self._speed

    def _rebase(self) -> None:
        self._base_ts = self.now_ts()
        self._base_wall = self._wall()

    def set_paused(self, paused: bool) -> None:
        self._rebase()
        self._paused = paused

    def set_speed(self, speed: float) -> None:
        _check_speed(speed)
        self._rebase()
        self._speed = speed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ConfigError(f"clock advance_s must be >= 0 (time never goes back), got {seconds}")
        self._rebase()
        self._base_ts += seconds


def _check_speed(speed: float) -> None:
    if not 0 < speed <= 1_000_000:
        raise ConfigError(f"simulator speed must be > 0 and <= 1000000, got {speed}")
