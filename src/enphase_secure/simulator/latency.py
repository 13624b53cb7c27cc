"""Latency profiles of the simulated gateway (``simulate --latency``): how long each path takes.

``real`` gives each path the service time of a real IQ Gateway (DESIGN.md §2: ``/ivp/meters/readings``
0.03-0.3 s, ``/production.json`` 0.3-1.4 s, the ensemble endpoints about 0.3 s; the others are
estimates) and serialises requests like the gateway's single worker: a request arriving while another
is served waits for it. ``none`` (the default) answers at once, as tests want.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ..errors import ConfigError


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    name: str
    service_s: tuple[tuple[str, float], ...] = ()  # (path prefix, seconds); the longest prefix wins
    serialised: bool = False
    _worker: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)

    def service_time_s(self, path: str) -> float:
        matches = [(len(prefix), seconds) for prefix, seconds in self.service_s if path.startswith(prefix)]
        return max(matches)[1] if matches else 0.0

    async def serve(self, path: str) -> None:
        """Spend ``path``'s service time, after the request in progress when serialised."""
        seconds = self.service_time_s(path)
        if seconds <= 0:
            return
        if not self.serialised:
            await asyncio.sleep(seconds)
            return
        async with self._worker:
            await asyncio.sleep(seconds)


REAL_SERVICE_S = (
    ("/ivp/meters/readings", 0.1),
    ("/production.json", 1.0),
    ("/ivp/ensemble/", 0.3),
    ("/ivp/meters", 0.1),
    ("/api/v1/production/inverters", 0.3),
    ("/api/v1/production", 0.3),
    ("/info", 0.05),
    ("/auth/check_jwt", 0.05),
)
PROFILES = ("none", "real")


def latency_profile(name: str) -> LatencyProfile:
    """The profile called ``name``; ConfigError naming ``--latency`` otherwise."""
    if name == "none":
        return LatencyProfile("none")
    if name == "real":
        return LatencyProfile("real", REAL_SERVICE_S, serialised=True)
    raise ConfigError(f"--latency {name!r}: one of {', '.join(PROFILES)}")
