"""Jeedom output: the plugin ``enphasesecur``'s callback gets the equipment to create and the values.

What is sent is computed by pure functions from an update (tested on tables):

* ``plan(document, layout)``: the equipment and commands this site has, from the figures table
  (layout ``single``: ``enphasesecur_combine``; ``split``: one equipment per device that has figures),
  one equipment per inverter, the stages' ``autoconsoN`` infos and manual on/off/auto actions.
* ``declaration(plan)``: the ``declare`` message the plugin turns into equipment (by logicalId, ids
  kept) and the other layout's equipment it removes.
* ``changes(plan, document, sent, now)``: only the values that changed since they were last sent,
  plus each value again after ``refresh_s`` so that history graphs are not flat.

The adapter POSTs at most one message per update (the bus gives it the latest one only).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from ..errors import EnphaseSecureError
from .bus import Update
from .figures import (
    INVERTER_FIGURES,
    Device,
    Figure,
    Point,
    SiteShape,
    accessor,
    resolve,
    site_points,
    split_device,
    stage_points,
)

PLUGIN_ID = "enphasesecur"
CALLBACK_PATH = f"/plugins/{PLUGIN_ID}/core/php/jeeEnphasesecur.php"
COMBINED = "enphasesecur_combine"
DEVICE_EQUIPMENT: Mapping[Device, tuple[str, str]] = {
    Device.PRODUCTION: ("enphasesecur_prod", "Enphase Production"),
    Device.NET_CONSUMPTION: ("enphasesecur_conso_net", "Enphase Conso Nette"),
    Device.TOTAL_CONSUMPTION: ("enphasesecur_conso_total", "Enphase Conso Totale"),
    Device.STORAGE: ("enphasesecur_bat", "Enphase Batterie"),
}
LAYOUT_EQUIPMENT: tuple[str, ...] = (COMBINED, *(eq for eq, _ in DEVICE_EQUIPMENT.values()))
MANUAL_MODES: Mapping[str, str] = {"on": "Marche", "off": "Arrêt", "auto": "Auto"}
ORIGINAL_INVERTER_IDS = frozenset({"Watt", "maxWatt", "calWH"})  # always there; the others when known

Getter = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Command:
    logical_id: str
    name: str
    type: str  # "info" | "action"
    sub_type: str  # "numeric" | "binary" | "other"
    unit: str = ""
    generic_type: str = ""
    historized: bool = False
    precision: int = 0
    instant: bool = False
    stage: str | None = None  # action: the controller stage it switches
    mode: str | None = None  # action: on | off | auto

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "logicalId": self.logical_id,
            "name": self.name,
            "type": self.type,
            "subType": self.sub_type,
            "unite": self.unit,
            "generic_type": self.generic_type,
            "isHistorized": int(self.historized),
        }
        if self.stage is not None:
            data["stage"], data["mode"] = self.stage, self.mode
        return data


@dataclass(frozen=True, slots=True)
class Binding:
    """Where an info command's value comes from."""

    equipment: str
    command: Command
    get: Getter


@dataclass(frozen=True, slots=True)
class Equipment:
    logical_id: str
    name: str
    commands: tuple[Command, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "logicalId": self.logical_id,
            "name": self.name,
            "commands": [c.to_json() for c in self.commands],
        }


@dataclass(frozen=True, slots=True)
class Plan:
    layout: str
    equipment: tuple[Equipment, ...]
    bindings: tuple[Binding, ...] = field(compare=False)


def info_command(point: Point) -> Command:
    traits = point.figure.traits
    assert point.jeedom_id is not None
    return Command(
        logical_id=point.jeedom_id,
        name=point.name_fr,
        type="info",
        sub_type="binary" if traits.binary else "numeric",
        unit=traits.unit or "",
        generic_type=traits.jeedom_generic_type,
        historized=not point.figure.diagnostic,
        precision=traits.precision,
        instant=traits.instant,
    )


def _point_getter(point: Point) -> Getter:
    return accessor(point.path)


def _inverter_getter(index: int, serial: str, figure: Figure) -> Getter:
    get_value = accessor(figure.path)

    def get(document: Mapping[str, Any]) -> Any:
        inverters = document.get("inverters") or ()
        inverter = inverters[index] if index < len(inverters) else None
        if inverter is None or inverter.get("serial") != serial:  # another list: look it up
            inverter = next((i for i in inverters if i.get("serial") == serial), None)
        return None if inverter is None else get_value(inverter)

    return get


def _stage_actions(stage_name: str, number: int) -> tuple[Command, ...]:
    return tuple(
        Command(
            logical_id=f"autoconso{number}_{mode}",
            name=f"Autoconso {number} {label}",
            type="action",
            sub_type="other",
            stage=stage_name,
            mode=mode,
        )
        for mode, label in MANUAL_MODES.items()
    )


def plan(document: Mapping[str, Any], layout: str) -> Plan:
    """The equipment and commands this site has, in the given layout (``single`` | ``split``)."""
    shape = SiteShape.of(document)
    site: dict[str, list[tuple[Command, Getter | None]]] = {}
    names: dict[str, str] = {COMBINED: "Passerelle Enphase", **dict(DEVICE_EQUIPMENT.values())}

    def holder(figure: Figure | None) -> str:
        if layout == "single":
            return COMBINED
        return DEVICE_EQUIPMENT[split_device(figure, shape) if figure else Device.PRODUCTION][0]

    for point in (*site_points(shape), *stage_points(document)):
        if point.jeedom_id is None:
            continue
        site.setdefault(holder(point.figure), []).append((info_command(point), _point_getter(point)))
    stages = resolve(document, "control.stages") or ()
    for number, stage in enumerate(stages, start=1):
        for action in _stage_actions(str(stage.get("name")), number):
            site.setdefault(holder(None), []).append((action, None))
    equipment: list[Equipment] = []
    bindings: list[Binding] = []
    for logical_id, entries in site.items():
        equipment.append(Equipment(logical_id, names[logical_id], tuple(c for c, _ in entries)))
        bindings.extend(Binding(logical_id, c, get) for c, get in entries if get is not None)
    for index, inverter in enumerate(document.get("inverters") or ()):
        serial = str(inverter.get("serial"))
        figures = [
            f
            for f in INVERTER_FIGURES
            if f.jeedom_id in ORIGINAL_INVERTER_IDS
            or (f.jeedom_id is not None and resolve(inverter, f.path) is not None)
        ]
        commands = tuple(info_command(Point(f)) for f in figures)
        equipment.append(Equipment(serial, serial, commands))
        bindings.extend(
            Binding(serial, c, _inverter_getter(index, serial, f))
            for c, f in zip(commands, figures, strict=True)
        )
    return Plan(layout, tuple(equipment), tuple(bindings))


def plan_key(update: Update) -> tuple[Any, ...]:
    """What ``plan`` depends on: the site's shape, the stages, the inverters and the figures each gives."""
    document = update.document
    return (
        update.shape,
        tuple(str(stage.get("name")) for stage in resolve(document, "control.stages") or ()),
        tuple(
            (str(i.get("serial")), tuple(f.path for f in INVERTER_FIGURES if i.get(f.path) is not None))
            for i in document.get("inverters") or ()
        ),
    )


def declaration(p: Plan) -> dict[str, Any]:
    """The ``declare`` message: equipment to create or update, the other layout's to remove."""
    kept = {e.logical_id for e in p.equipment}
    return {
        "declare": {
            "layout": p.layout,
            "equipment": [e.to_json() for e in p.equipment],
            "remove": [eq for eq in LAYOUT_EQUIPMENT if eq not in kept],
        }
    }


def jeedom_value(command: Command, value: Any, *, stale: bool) -> Any:
    """What Jeedom stores: a rounded number, 1/0 for binaries; None (shown empty) when unknown."""
    if value is None or (stale and command.instant):
        return None
    if command.sub_type == "binary":
        return int(bool(value))
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return round(float(value), command.precision) if command.precision else round(float(value))
    return None


Sent = Mapping[tuple[str, str], tuple[Any, datetime]]


def changes(
    p: Plan, document: Mapping[str, Any], sent: Sent, now: datetime, *, refresh_s: float
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], tuple[Any, datetime]]]:
    """The values to send (by equipment, then command logicalId) and what has then been sent."""
    stale = bool(document.get("stale"))
    batch: dict[str, dict[str, Any]] = {}
    after = dict(sent)
    for binding in p.bindings:
        key = (binding.equipment, binding.command.logical_id)
        value = jeedom_value(binding.command, binding.get(document), stale=stale)
        previous = sent.get(key)
        fresh = previous is not None and (now - previous[1]).total_seconds() < refresh_s
        if previous is not None and previous[0] == value and (value is None or fresh):
            continue
        batch.setdefault(binding.equipment, {})[binding.command.logical_id] = value
        after[key] = (value, now)
    return batch, after


class JeedomCallbackError(EnphaseSecureError):
    """The plugin's callback did not take a message."""


@dataclass
class JeedomOutput:
    """The adapter: POSTs JSON to the plugin's callback with the plugin's API key."""

    url: str
    apikey: str
    layout: str
    refresh_s: float
    logger: logging.Logger
    timeout_s: float = 10.0
    name: str = "jeedom"
    _session: aiohttp.ClientSession | None = None
    _declared: Plan | None = None
    _plan: tuple[tuple[Any, ...], Plan] | None = None  # the plan of the latest plan_key
    _sent: dict[tuple[str, str], tuple[Any, datetime]] = field(default_factory=dict)

    @property
    def callback(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith(CALLBACK_PATH) else base + CALLBACK_PATH

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def publish(self, update: Update) -> None:
        document = update.document
        key = plan_key(update)
        if self._plan is None or self._plan[0] != key:
            self._plan = (key, plan(document, self.layout))
        current = self._plan[1]
        if current != self._declared:
            await self.post(declaration(current))
            self._declared, self._sent = current, {}
        batch, sent = changes(current, document, self._sent, update.snapshot.time, refresh_s=self.refresh_s)
        if batch:
            answer = await self.post({"values": batch})
            if isinstance(answer, dict) and answer.get("missing"):
                self.logger.info("Jeedom lacks equipment %s: declaring it again", answer["missing"])
                self._declared = None
        self._sent = sent

    async def post(self, message: Mapping[str, Any]) -> Any:
        """One message to the callback; its JSON answer. JeedomCallbackError, never with the key."""
        if self._session is None:
            raise JeedomCallbackError("jeedom output not started")
        where = f"Jeedom callback {self.callback}"
        try:
            async with self._session.post(
                self.callback, params={"apikey": self.apikey}, data=json.dumps(message)
            ) as resp:
                text = await resp.text()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise JeedomCallbackError(f"{where}: {err.__class__.__name__}: {err}") from None
        if resp.status != 200:
            raise JeedomCallbackError(f"{where}: HTTP {resp.status}")
        try:
            answer = json.loads(text)
        except ValueError:
            raise JeedomCallbackError(f"{where}: the answer is not JSON: {text[:200]!r}") from None
        if not isinstance(answer, dict) or answer.get("state") != "ok":
            raise JeedomCallbackError(f"{where}: {str(answer)[:300]}")
        return answer.get("result")

    def status(self) -> dict[str, Any]:
        return {
            "target": self.callback,
            "layout": self.layout,
            "equipment": len(self._declared.equipment) if self._declared else 0,
        }
