"""A live scenario as a DocumentSource: clock + stepped model + rendered documents + control routes.

``load_scenario_source("three-phase-battery", speed=3600)`` gives what ``simulate --scenario`` serves.
Control routes (not real gateway paths): ``GET /simulator/truth``, ``GET /simulator/loads``,
``POST /simulator/loads/{name}`` with ``{"on": bool}`` (or ``/on`` / ``/off`` with an empty body),
``GET /simulator/clock``, ``POST /simulator/clock`` with any of ``{"pause", "advance_s", "speed"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from aiohttp import web

from ..errors import ConfigError
from .clock import SimClock
from .dimmer import Dimmers
from .documents import GatewayRenderer
from .model import SiteModel
from .scenario import Scenario, builtin_names, load_scenario
from .source import Document
from .truth import truth_document

BUILTIN_SCENARIOS: list[str] = builtin_names()
_STEP_CHOICES_S = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0)
WALL_STEPS_PER_SECOND = 60  # at most this many model steps per wall second (keeps speed 3600 cheap)


def step_for_speed(speed: float) -> float:
    """The fixed model step: 1 s up to speed 60, coarser above (60 s at speed 3600)."""
    fitting = [step for step in _STEP_CHOICES_S if step <= speed / WALL_STEPS_PER_SECOND]
    return fitting[-1] if fitting else _STEP_CHOICES_S[0]


def load_scenario_source(
    name_or_path: str,
    *,
    speed: float = 1.0,
    seed: int | None = None,
    start: datetime | None = None,
    step_s: float | None = None,
    paused: bool = False,
) -> LiveSource:
    """A live source for a built-in scenario name or a TOML scenario file (ConfigError if invalid)."""
    scenario = load_scenario(name_or_path)
    return LiveSource(scenario, speed=speed, seed=seed, start=start, step_s=step_s, paused=paused)


class LiveSource:
    def __init__(
        self,
        scenario: Scenario,
        *,
        speed: float = 1.0,
        seed: int | None = None,
        start: datetime | None = None,
        step_s: float | None = None,
        paused: bool = False,
    ) -> None:
        if start is not None and start.tzinfo is None:
            raise ConfigError("simulator start time must carry a time zone")
        start_ts = (start or scenario.start).timestamp()
        self.scenario = scenario
        self.clock = SimClock(start_ts, speed=speed, paused=paused)
        self.model = SiteModel(
            scenario,
            seed=scenario.seed if seed is None else seed,
            start_ts=start_ts,
            step_s=step_s if step_s is not None else step_for_speed(speed),
        )
        self.renderer = GatewayRenderer(self.model)
        self.dimmers = Dimmers(self.model.phase_count, self._apply_dimmers, self.now)
        self._cache: dict[tuple[str, str], Document | None] = {}
        self._cache_version = -1

    @property
    def serial(self) -> str:
        return self.scenario.gateway.serial

    def sync(self) -> None:
        """Bring the model up to the clock's time."""
        self.model.advance_to(self.clock.now_ts())

    def now(self) -> datetime:
        self.sync()
        return self.model.local_time()

    def document(self, path: str, query: Mapping[str, str]) -> Document | None:
        self.sync()
        if self._cache_version != self.model.version:
            self._cache.clear()
            self._cache_version = self.model.version
        key = (path, query.get("details", ""))
        if key not in self._cache:
            self._cache[key] = self.renderer.render(path, query)
        return self._cache[key]

    def truth(self) -> dict[str, Any]:
        self.sync()
        return truth_document(self.model, self.renderer.battery_serials())

    def loads(self) -> dict[str, bool]:
        return dict(self.model.load_on)

    def set_load(self, name: str, on: bool) -> None:
        """Switch a load at the current instant (KeyError for an unknown name)."""
        self.sync()
        self.model.set_load(name, on)

    def _apply_dimmers(self, per_phase_w: list[float]) -> None:
        self.sync()
        self.model.set_extra_load(per_phase_w)

    def clock_state(self) -> dict[str, Any]:
        return {
            "time": self.now().isoformat(),
            "timestamp": self.model.t,
            "speed": self.clock.speed,
            "paused": self.clock.paused,
            "step_s": self.model.step_s,
        }

    def control_clock(
        self, *, pause: bool | None = None, advance_s: float = 0.0, speed: float | None = None
    ) -> None:
        self.sync()
        if pause is not None:
            self.clock.set_paused(pause)
        if speed is not None:
            self.clock.set_speed(speed)
        if advance_s:
            self.clock.advance(advance_s)
        self.sync()

    def control_routes(self) -> Sequence[web.RouteDef]:
        return [
            web.get("/simulator/truth", self._get_truth),
            web.get("/simulator/loads", self._get_loads),
            web.post("/simulator/loads/{name}", self._post_load),
            web.post("/simulator/loads/{name}/{state:on|off}", self._post_load),
            web.get("/simulator/clock", self._get_clock),
            web.post("/simulator/clock", self._post_clock),
            *self.dimmers.routes(),
        ]

    async def _get_truth(self, _request: web.Request) -> web.Response:
        return web.json_response(self.truth())

    async def _get_loads(self, _request: web.Request) -> web.Response:
        return web.json_response(self.loads())

    async def _post_load(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        state = request.match_info.get("state")
        if state is None:
            body = await _json_body(request)
            on = body.get("on")
            if not isinstance(on, bool):
                raise web.HTTPBadRequest(text='body must be JSON {"on": true|false}')
        else:
            on = state == "on"
        try:
            self.set_load(name, on)
        except KeyError:
            raise web.HTTPNotFound(text=f"no switchable load named {name!r}") from None
        return web.json_response(self.loads())

    async def _get_clock(self, _request: web.Request) -> web.Response:
        return web.json_response(self.clock_state())

    async def _post_clock(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        unknown = sorted(set(body) - {"pause", "advance_s", "speed"})
        if unknown:
            raise web.HTTPBadRequest(text=f"unknown clock field {unknown[0]!r}")
        pause, advance_s, speed = body.get("pause"), body.get("advance_s", 0.0), body.get("speed")
        if pause is not None and not isinstance(pause, bool):
            raise web.HTTPBadRequest(text="pause must be true or false")
        if not _is_number(advance_s) or (speed is not None and not _is_number(speed)):
            raise web.HTTPBadRequest(text="advance_s and speed must be numbers")
        try:
            self.control_clock(
                pause=pause, advance_s=float(advance_s), speed=None if speed is None else float(speed)
            )
        except ConfigError as err:
            raise web.HTTPBadRequest(text=str(err)) from err
        return web.json_response(self.clock_state())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except json.JSONDecodeError as err:
        raise web.HTTPBadRequest(text=f"invalid JSON body: {err}") from err
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body
