"""The MQTT state messages of one update (pure), and which of them are due now.

Per device of the layout one retained JSON payload (``<prefix>/<serial>/<device>/state``, the table's
keys plus ``stale`` and ``time``), ``<prefix>/<serial>/live`` (``online`` / ``offline`` while stale) and
per controller stage its state (``<prefix>/<serial>/control/<stage>/state``): sent when they change (at
most once per tick) and at least every ``publish_interval_s``. With ``figure_topics``, also one retained
topic per figure (``<prefix>/<serial>/<key>``, the value as JSON: a number, true/false, a string or
null), sent when it changes: about 80 more messages per tick on a three-phase site with a battery,
each costing the daemon about as much CPU as a whole device payload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .bus import Update
from .figures import Point
from .mqtt_layout import Topics, instant_value, layout_devices

STAGE_FIELDS = (
    "name",
    "on",
    "confirmed_on",
    "delivery",
    "mode",
    "reason",
    "failsafe",
    "disabled",
    "switched_at",
)


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: str
    retain: bool = True
    qos: int = 0
    change_key: str | None = None
    """What must differ for the message to count as changed (default: the payload)."""
    periodic: bool = True
    """Also sent every ``publish_interval_s`` when unchanged (else only on change: it is retained)."""

    @property
    def size(self) -> int:
        return len(self.topic.encode()) + len(self.payload.encode())


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


Memo = dict[str, tuple[Any, dict[str, Any], str]]
"""Per inverter device: what its entry was (ages aside), its values and its change key."""


def state_messages(
    update: Update, layout: str, topics: Topics, *, figure_topics: bool = False, memo: Memo | None = None
) -> list[Message]:
    """``memo`` (kept by the caller between updates) spares recomputing inverters that did not change:
    they report every 5-15 min, and they are most of the figures."""
    document = update.document
    stale = bool(document.get("stale"))
    messages = [Message(topics.live, "offline" if stale else "online", qos=1)]
    for device in layout_devices(document, layout):
        ticking = [p for p in device.points if p.figure.traits.ticking]
        key: str | None
        remembered = memo is not None and device.inverter is not None
        if remembered:
            moving = {p.path for p in ticking}
            entry = (stale, tuple((k, v) for k, v in device.values.items() if k not in moving))
            known = memo.get(device.device_id) if memo is not None else None
            if known is not None and known[0] == entry:
                values = {**known[1], **{p.key: instant_value(p, device.values, stale) for p in ticking}}
                key = known[2]
            else:
                values = {p.key: instant_value(p, device.values, stale) for p in device.points}
                key = _change_key(values, ticking, stale)
                if memo is not None:
                    memo[device.device_id] = (entry, values, key)
        else:
            values = {p.key: instant_value(p, device.values, stale) for p in device.points}
            key = _change_key(values, ticking, stale) if ticking else None  # None: the body itself
        if figure_topics:
            for figure_key, value in values.items():
                topic = (
                    topics.figure(figure_key)
                    if device.inverter is None
                    else topics.inverter_figure(device.inverter, figure_key)
                )
                messages.append(Message(topic, dumps(value), periodic=False))
        body = dumps({**values, "stale": stale})
        payload = f'{body[:-1]},"time":{dumps(document.get("time"))}}}'
        messages.append(Message(topics.device_state(device.device_id), payload, change_key=key or body))
    messages.extend(stage_messages(document, topics))
    return messages


def _change_key(values: Mapping[str, Any], ticking: list[Point], stale: bool) -> str:
    """What "changed" compares: neither the time nor ages (those go with the next change or interval)."""
    moving = {p.key for p in ticking}
    return dumps({**{k: v for k, v in values.items() if k not in moving}, "stale": stale})


def stage_messages(document: Mapping[str, Any], topics: Topics) -> list[Message]:
    """Each stage's state, mode and reason: ``{"name", "on", "mode", "reason", ...}``."""
    messages = []
    for stage in (document.get("control") or {}).get("stages") or ():
        state = stage.get("state") or {}
        payload = {field: state.get(field) for field in STAGE_FIELDS}
        payload["name"] = stage["name"]
        messages.append(Message(topics.stage_state(stage["name"]), dumps(payload), qos=1))
    return messages


class Throttle:
    """Which messages go out now: the changed ones, and the others every ``interval_s``.

    A topic that is no longer in the set (a figure gone, another layout) gets an empty retained
    payload once, which deletes its retained value on the broker.
    """

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._sent: dict[str, tuple[str, float]] = {}

    def reset(self) -> None:
        """After a reconnection everything is sent again (once)."""
        self._sent.clear()

    def due(self, messages: Iterable[Message], now_s: float) -> list[Message]:
        out: list[Message] = []
        current: set[str] = set()
        for message in messages:
            current.add(message.topic)
            key = message.change_key if message.change_key is not None else message.payload
            last = self._sent.get(message.topic)
            if last is None or last[0] != key or (message.periodic and now_s - last[1] >= self.interval_s):
                out.append(message)
                self._sent[message.topic] = (key, now_s)
        for topic in [t for t in self._sent if t not in current]:
            del self._sent[topic]
            out.append(Message(topic, "", retain=True, qos=1))
        return out
