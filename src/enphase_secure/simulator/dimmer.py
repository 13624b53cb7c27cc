"""Dimmable loads of the simulated house (a water heater behind a Shelly Dimmer or a solar router):
power = level x ``max_w``, on one phase, the level set over HTTP.

``POST /simulator/dimmers/{name}?level_pct=42`` (or a JSON body ``{"level_pct": 42}``) sets it;
``GET /simulator/dimmers`` lists them with their level, power and every level set (simulated time).
Added from Python (``LiveSource.dimmers.add``), not by scenarios.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web


@dataclass(slots=True)
class Dimmer:
    name: str
    max_w: float
    phase: int  # 1-based
    level_pct: float = 0.0
    commands: list[tuple[datetime, float]] = field(default_factory=list)  # (simulated time, level)

    @property
    def power_w(self) -> float:
        return self.max_w * self.level_pct / 100

    def to_json(self) -> dict[str, Any]:
        return {
            "max_w": self.max_w,
            "phase": self.phase,
            "level_pct": self.level_pct,
            "power_w": self.power_w,
            "commands": [{"time": t.isoformat(), "level_pct": level} for t, level in self.commands],
        }


class Dimmers:
    """``apply`` gets the dimmers' power per phase whenever a level changes; ``now`` the simulated time."""

    def __init__(
        self, phase_count: int, apply: Callable[[list[float]], None], now: Callable[[], datetime]
    ) -> None:
        self._phase_count = phase_count
        self._apply = apply
        self._now = now
        self.by_name: dict[str, Dimmer] = {}

    def add(self, name: str, max_w: float, phase: int = 1) -> Dimmer:
        if not 1 <= phase <= self._phase_count:
            raise ValueError(
                f"dimmer {name!r}: phase {phase} is not one of the house's 1..{self._phase_count}"
            )
        if max_w <= 0:
            raise ValueError(f"dimmer {name!r}: max_w must be positive, not {max_w!r}")
        dimmer = self.by_name[name] = Dimmer(name, float(max_w), phase)
        return dimmer

    def set_level(self, name: str, level_pct: float) -> None:
        """KeyError for an unknown dimmer, ValueError for a level outside 0..100."""
        dimmer = self.by_name[name]
        if not math.isfinite(level_pct) or not 0 <= level_pct <= 100:
            raise ValueError(f"level_pct must be between 0 and 100, not {level_pct!r}")
        dimmer.level_pct = level_pct
        dimmer.commands.append((self._now(), level_pct))
        per_phase = [0.0] * self._phase_count
        for each in self.by_name.values():
            per_phase[each.phase - 1] += each.power_w
        self._apply(per_phase)

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.get("/simulator/dimmers", self._get), web.post("/simulator/dimmers/{name}", self._post)]

    async def _get(self, _request: web.Request) -> web.Response:
        return web.json_response({name: d.to_json() for name, d in self.by_name.items()})

    async def _post(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        raw: object = request.query.get("level_pct")
        if raw is None:
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                raise web.HTTPBadRequest(text='body must be JSON {"level_pct": 0..100}') from None
            raw = body.get("level_pct") if isinstance(body, dict) else None
        try:
            level = float(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else None
        except ValueError:
            level = None
        if level is None:
            raise web.HTTPBadRequest(text=f"level_pct {raw!r} is not a number (0..100)")
        try:
            self.set_level(name, level)
        except KeyError:
            raise web.HTTPNotFound(text=f"no dimmer named {name!r}") from None
        except ValueError as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return web.json_response(self.by_name[name].to_json())
