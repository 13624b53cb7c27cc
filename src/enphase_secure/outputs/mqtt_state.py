"""The MQTT state messages of each update (pure), only those due now.

Per device of the layout one retained JSON payload (``<prefix>/<serial>/<device>/state``, the table's
keys plus ``stale`` and ``time``), ``<prefix>/<serial>/live`` (``online`` / ``offline`` while stale) and
per controller stage its state (``<prefix>/<serial>/control/<stage>/state``). The site's devices, ``live``
and the stages go out when they change (at most once per tick) and at least every
``publish_interval_s``; an inverter's payload when it changes (a new report, every 5-15 min): it is
retained, so sending the same bytes again would tell nobody anything. With ``figure_topics``, also one
retained topic per figure (``<prefix>/<serial>/<key>``, the value as JSON: a number, true/false, a
string or null), sent when it changes: about 60 more messages per tick on a three-phase site with a
battery, each costing the daemon about as much CPU as a whole device payload.

The work per tick is kept small (the daemon runs it every second): which figures each device has,
their accessors and topics are worked out once per site shape (``_plan``), and a payload is serialised
only when it is going out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

from .bus import Update
from .figures import Accessor, accessor
from .mqtt_layout import Topics, inverters, layout_devices, stage_names

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

    @property
    def size(self) -> int:
        return len(self.topic.encode()) + len(self.payload.encode())


def dumps(value: Any) -> str:
    """Compact JSON; orjson, as the site's payload goes out every second (its ~100 numbers are most of
    the work, which orjson does several times faster than ``json``)."""
    return orjson.dumps(value).decode()


Reader = Callable[[Mapping[str, Any]], tuple[Any, ...]]


def _reader(paths: tuple[str, ...]) -> Reader:
    """All the paths' values at once, in order: each parent read once, its children by one itemgetter
    (``production.phases_w`` once, then its 0, 1, 2). KeyError, IndexError or TypeError where the
    document lacks a step (then each figure's own accessor)."""
    groups: dict[str, list[int]] = {}
    for position, path in enumerate(paths):
        groups.setdefault(path.rpartition(".")[0], []).append(position)
    parts: list[tuple[Accessor | None, Callable[[Any], Any], bool]] = []
    order: list[int] = []
    for parent, positions in groups.items():
        names = [paths[n].rpartition(".")[2] for n in positions]
        steps = [int(name) if name.isdigit() else name for name in names]
        parts.append((accessor(parent) if parent else None, itemgetter(*steps), len(steps) > 1))
        order.extend(positions)
    back = tuple(order.index(position) for position in range(len(paths)))
    if len(parts) == 1 and parts[0][0] is None and parts[0][2]:
        return parts[0][1]  # one key each (an inverter's figures): the itemgetter gives them in order

    def read(source: Mapping[str, Any]) -> tuple[Any, ...]:
        flat: list[Any] = []
        for parent, children, several in parts:
            node = source if parent is None else parent(source)
            if isinstance(node, str):
                raise TypeError("a text is not a list")
            if several:
                flat.extend(children(node))
            else:
                flat.append(children(node))
        return tuple(map(flat.__getitem__, back))

    return read


@dataclass(frozen=True, slots=True)
class _Device:
    topic: str
    keys: tuple[str, ...]
    getters: tuple[Accessor, ...]
    read: Reader
    instant: tuple[bool, ...]
    figure_topics: tuple[str, ...]  # with figure_topics: each figure's own topic, else empty
    inverter: int | None  # its place among ``inverters(document)``; None: a site device

    def values(self, source: Mapping[str, Any], stale: bool) -> tuple[Any, ...]:
        try:
            values = self.read(source)
        except (KeyError, IndexError, TypeError):  # a step missing: each accessor says None where it is
            values = tuple(get(source) for get in self.getters)
        if stale:
            return tuple(None if i else v for v, i in zip(values, self.instant, strict=True))
        return values


@dataclass(frozen=True, slots=True)
class _Plan:
    devices: tuple[_Device, ...]
    topics: frozenset[str]  # every topic this plan sends: any other one once sent is emptied


def _plan(document: Mapping[str, Any], layout: str, topics: Topics, figure_topics: bool) -> _Plan:
    devices = []
    serials: dict[str, int] = {str(i["serial"]): n for n, i in enumerate(inverters(document))}
    for device in layout_devices(document, layout):
        points = device.points
        paths = tuple(p.path for p in points)
        own: tuple[str, ...] = ()
        if figure_topics:
            inverter = device.inverter
            own = tuple(
                topics.figure(p.key) if inverter is None else topics.inverter_figure(inverter, p.key)
                for p in points
            )
        devices.append(
            _Device(
                topic=topics.device_state(device.device_id),
                keys=tuple(p.key for p in points),
                getters=tuple(accessor(path) for path in paths),
                read=_reader(paths),
                instant=tuple(p.figure.traits.instant for p in points),
                figure_topics=own,
                inverter=None if device.inverter is None else serials[device.inverter],
            )
        )
    sent = {topics.status, topics.live, *(topics.stage_state(name) for name in stage_names(document))}
    for planned in devices:
        sent.add(planned.topic)
        sent.update(planned.figure_topics)
    return _Plan(tuple(devices), frozenset(sent))


class StateTracker:
    """Which state messages go out for each update: the changed ones, the site's every ``interval_s``.

    A topic that is no longer sent (a figure gone, another layout) gets an empty retained payload once,
    which deletes its retained value on the broker. Pure: the time comes with each update.
    """

    def __init__(self, layout: str, *, interval_s: float, figure_topics: bool = False) -> None:
        self.layout = layout
        self.interval_s = interval_s
        self.figure_topics = figure_topics
        self._sent: dict[str, tuple[Any, float]] = {}  # topic -> (what was sent, when)
        self._key: tuple[Any, ...] | None = None
        self._plan = _Plan((), frozenset())
        self._left: frozenset[str] = frozenset()

    def reset(self, left: Iterable[str] = ()) -> None:
        """After a reconnection everything is sent again (once); of the retained topics ``left`` on the
        broker (by an earlier run: another layout, a stage removed), those no longer sent are emptied."""
        self._sent.clear()
        self._left = frozenset(left)

    def due(self, update: Update, topics: Topics, now_s: float) -> list[Message]:
        document = update.document
        stale = bool(document.get("stale"))
        out: list[Message] = []
        listed = inverters(document)
        plan = self._plan_for(update, listed, topics, out)
        if self._left:
            out.extend(Message(topic, "", qos=1) for topic in sorted(self._left - plan.topics))
            self._left = frozenset()
        # said again every interval: another instance with this serial that exits leaves "offline"
        self._offer(out, topics.status, "online", now_s, qos=1)
        self._offer(out, topics.live, "offline" if stale else "online", now_s, qos=1)
        for device in plan.devices:
            source = document if device.inverter is None else listed[device.inverter]
            values = device.values(source, stale)
            for topic, value in zip(device.figure_topics, values, strict=False):
                known = self._sent.get(topic)
                if known is None or known[0] != value or type(known[0]) is not type(value):
                    out.append(Message(topic, dumps(value)))
                    self._sent[topic] = (value, now_s)
            key = (stale, values)
            last = self._sent.get(device.topic)
            periodic = device.inverter is None
            if last is None or last[0] != key or (periodic and now_s - last[1] >= self.interval_s):
                body = dict(zip(device.keys, values, strict=True))
                body["stale"] = stale
                body["time"] = document.get("time")
                out.append(Message(device.topic, dumps(body)))
                self._sent[device.topic] = (key, now_s)
        for message in stage_messages(document, topics):
            self._offer(out, message.topic, message.payload, now_s, qos=1)
        return out

    def _offer(self, out: list[Message], topic: str, payload: str, now_s: float, *, qos: int) -> None:
        last = self._sent.get(topic)
        if last is None or last[0] != payload or now_s - last[1] >= self.interval_s:
            out.append(Message(topic, payload, qos=qos))
            self._sent[topic] = (payload, now_s)

    def _plan_for(
        self, update: Update, listed: Sequence[Mapping[str, Any]], topics: Topics, out: list[Message]
    ) -> _Plan:
        """Worked out again only when the site changes shape; the topics it no longer sends emptied."""
        document = update.document
        key = (topics, update.shape, stage_names(document), tuple(str(i["serial"]) for i in listed))
        if key != self._key:
            self._plan = _plan(document, self.layout, topics, self.figure_topics)
            self._key = key
            for topic in [t for t in self._sent if t not in self._plan.topics]:
                del self._sent[topic]
                out.append(Message(topic, "", qos=1))
        return self._plan


def state_messages(
    update: Update, layout: str, topics: Topics, *, figure_topics: bool = False
) -> list[Message]:
    """Everything one update says (what a first connection sends)."""
    tracker = StateTracker(layout, interval_s=0.0, figure_topics=figure_topics)
    return tracker.due(update, topics, 0.0)


def stage_messages(document: Mapping[str, Any], topics: Topics) -> list[Message]:
    """Each stage's state, mode and reason: ``{"name", "on", "mode", "reason", ...}``."""
    messages = []
    for stage in (document.get("control") or {}).get("stages") or ():
        state = stage.get("state") or {}
        payload = {field: state.get(field) for field in STAGE_FIELDS}
        payload["name"] = stage["name"]
        messages.append(Message(topics.stage_state(stage["name"]), dumps(payload), qos=1))
    return messages
