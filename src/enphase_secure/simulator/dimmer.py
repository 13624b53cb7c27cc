"""Dimmable loads of the simulated house (a water heater behind a Shelly Dimmer or a solar router):
power = level x ``max_w``, on one phase, the level set over HTTP or MQTT.

``POST /simulator/dimmers/{name}?level_pct=42`` (or a JSON body ``{"level_pct": 42}``) sets it;
``GET /simulator/dimmers`` lists them with their level, power and every level set (simulated time).
``follow_mqtt`` sets them from ``simulator/dimmers/{name}/set`` messages (``42`` or
``{"level_pct": 42}``). Added from Python (``LiveSource.dimmers.add``), not by scenarios.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiomqtt
from aiohttp import web

MQTT_PREFIX = "simulator/dimmers"
_log = logging.getLogger(__name__)


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

    async def follow_mqtt(self, host: str, port: int, ready: asyncio.Event | None = None) -> None:
        """Until cancelled: each ``simulator/dimmers/{name}/set`` message sets that dimmer's level."""
        async with aiomqtt.Client(host, port) as client:
            await client.subscribe(f"{MQTT_PREFIX}/+/set", qos=1)
            if ready is not None:
                ready.set()
            async for message in client.messages:
                name = str(message.topic).removeprefix(f"{MQTT_PREFIX}/").removesuffix("/set")
                payload = message.payload if isinstance(message.payload, bytes) else b""
                try:
                    self.set_level(name, _level(json.loads(payload or b"null")))
                except (KeyError, ValueError) as err:
                    _log.warning("simulator dimmer %r: MQTT message ignored (%s): %r", name, err, payload)

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
            self.set_level(name, _level(raw))
        except KeyError:
            raise web.HTTPNotFound(text=f"no dimmer named {name!r}") from None
        except ValueError as err:
            raise web.HTTPBadRequest(text=str(err)) from None
        return web.json_response(self.by_name[name].to_json())


def _level(raw: object) -> float:
    """``42``, ``"42.5"`` or ``{"level_pct": 42}`` as a number (ValueError otherwise)."""
    if isinstance(raw, dict):
        raw = raw.get("level_pct")
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"level_pct {raw!r} is not a number (0..100)")
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"level_pct {raw!r} is not a number (0..100)") from None
