"""The MQTT output (``[publish.mqtt]``): moves the messages of ``mqtt_state`` and ``ha_discovery``.

It connects once the first update gives the gateway serial, with the last will ``offline`` (retained)
on ``<prefix>/<serial>/status``, says ``online`` after connecting (and again every publish interval, so
that another instance's ``offline`` heals) and ``offline`` when stopped, and
reconnects with capped backoff. On each connection it reads back the discovery configs and the state
topics it left on the broker before (retained), so that a layout changed while it was away still
removes the old entities and empties the state topics it no longer sends.
While the broker is away nothing queues: the bus keeps the latest update and this output sends it,
once, after reconnecting. Commands on ``<prefix>/<serial>/control/<stage>/set`` (``on`` / ``off`` /
``auto``) override a controller stage as ``POST /api/control/<stage>`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiomqtt

from ..errors import OutputUnavailableError
from ..messages import explain_mqtt
from .bus import Update
from .ha_discovery import discovery_configs, discovery_filter, discovery_messages
from .mqtt_layout import Topics, slug, stage_names
from .mqtt_state import Message, StateTracker, stage_messages

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 60.0
READBACK_TIMEOUT_S = 5.0
CONNECTING = "connecting"
PUBLISH_BATCH = 10  # aiomqtt warns above 10 publishes waiting at once


class ControlPort(Protocol):
    """What MQTT commands may do to the daemon's controller."""

    async def set_control_mode(self, stage: str, mode: str, *, by: str) -> None:
        """KeyError for an unknown stage, ValueError for an unknown mode; ``by`` names who asked."""
        ...

    def control_view(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    client_id: str | None = None
    topic_prefix: str = "enphase_secure"
    discovery: bool = True
    discovery_mode: str = "device"  # "device" (Home Assistant 2024.11+) | "component" (older ones)
    discovery_prefix: str = "homeassistant"
    publish_interval_s: float = 10.0
    figure_topics: bool = False
    layout: str = "single"

    @property
    def target(self) -> str:
        return f"mqtt{'s' if self.tls else ''}://{self.host}:{self.port}"


class MqttOutput:
    name = "mqtt"

    def __init__(
        self,
        settings: MqttSettings,
        *,
        control: ControlPort | None,
        logger: logging.Logger,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._control = control
        self._log = logger
        self._clock_s = clock_s
        self._state = StateTracker(
            settings.layout, interval_s=settings.publish_interval_s, figure_topics=settings.figure_topics
        )
        self._latest: Update | None = None
        self._topics: Topics | None = None
        self._known = asyncio.Event()  # the serial is known: topics exist
        self._restart = asyncio.Event()  # another gateway: reconnect with its topics
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._lock = asyncio.Lock()
        self._down: str | None = CONNECTING
        self._configs_key: tuple[Any, ...] | None = None
        self._configs: dict[str, dict[str, Any]] = {}
        self._configs_sent: dict[str, dict[str, Any]] = {}
        self.messages_sent = 0
        self.bytes_sent = 0
        self.connections = 0

    # --- the Output protocol ----------------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-connection")

    async def stop(self) -> None:
        self._stopping = True  # no update sends "online" after the "offline" below
        client, topics = self._client, self._topics
        if client is not None and topics is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                async with asyncio.timeout(2.0), self._lock:  # a send under way (a stuck broker) ends first
                    await client.publish(topics.live, "offline", qos=1, retain=True)
                    await client.publish(topics.status, "offline", qos=1, retain=True)
        if self._task is not None:
            self._task.cancel()
            self._restart.set()  # a publish can lose the cancellation (3.11's wait_for): the session ends
            await asyncio.wait({self._task})
            self._task = None

    async def publish(self, update: Update) -> None:
        self._latest = update
        serial = update.snapshot.gateway.serial
        if serial is None:
            return
        if self._topics is None:
            self._topics = Topics(self._settings.topic_prefix, serial)
            self._known.set()
        elif serial != self._topics.serial:
            self._log.warning("mqtt: now gateway %s: reconnecting with its topics", serial)
            self._topics = Topics(self._settings.topic_prefix, serial)
            self._restart.set()
        client = self._client
        if client is None and self._down == CONNECTING:
            return  # the first connection sends the latest update as soon as it is up
        if client is None:
            raise OutputUnavailableError(f"{self._settings.target}: not connected ({self._down})")
        await self._send(client, update)

    def status(self) -> dict[str, Any]:
        return {
            "target": self._settings.target,
            "connected": self._client is not None,
            "discovery": self._settings.discovery_mode if self._settings.discovery else False,
            "connections": self.connections,
            "messages_sent": self.messages_sent,
            "bytes_sent": self.bytes_sent,
        }

    # --- the connection ---------------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            await self._known.wait()
            topics = self._topics
            assert topics is not None
            self._restart.clear()
            try:
                async with self._new_client(topics) as client:
                    failures = 0
                    await self._session(client, topics)
            except (aiomqtt.MqttError, OSError) as err:  # OSError: a CA file that cannot be read
                self._disconnected(explain_mqtt(err))
            except Exception as err:  # a bug must not end the connection loop for good
                self._log.exception("mqtt: unexpected error, reconnecting")
                self._disconnected(f"internal error: {err.__class__.__name__}: {err}")
            else:
                continue  # another gateway: reconnect at once with its topics
            finally:
                self._client = None
            failures += 1
            await asyncio.sleep(min(BACKOFF_CAP_S, BACKOFF_START_S * 2.0 ** (failures - 1)))

    def _new_client(self, topics: Topics) -> aiomqtt.Client:
        s = self._settings
        tls_context = ssl.create_default_context(cafile=s.ca_file) if s.tls else None
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            will=aiomqtt.Will(topics.status, "offline", qos=1, retain=True),
            tls_context=tls_context,
            keepalive=30,
            timeout=10,
        )

    async def _session(self, client: aiomqtt.Client, topics: Topics) -> None:
        await client.publish(topics.status, "online", qos=1, retain=True)
        await client.subscribe(topics.stage_set_filter, qos=1)
        configs_left, state_left = await self._read_back(client, topics)
        async with self._lock:
            self._configs_sent = configs_left
            self._state.reset(state_left)
        self._client = client
        self.connections += 1
        if self._down is not None:
            self._log.info("mqtt: connected to %s", self._settings.target)
            self._down = None
        if self._latest is not None:
            await self._send(client, self._latest)
        reader = asyncio.create_task(self._commands(client, topics))
        restart = asyncio.create_task(self._restart.wait())
        try:
            done, _ = await asyncio.wait({reader, restart}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            reader.cancel()
            restart.cancel()
        if reader in done:
            reader.result()  # the broker went away: MqttError
        else:
            self._client = None
            await client.publish(topics.status, "offline", qos=1, retain=True)

    async def _read_back(
        self, client: aiomqtt.Client, topics: Topics
    ) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """What this gateway's service left on the broker (retained): its discovery configs (when
        discovery is on) and its state topics (commands aside)."""
        wildcard = discovery_filter(self._settings.discovery_prefix, topics.serial)
        state = f"{topics.base}/#"
        marker = f"{topics.base}/sync/{uuid.uuid4().hex}"
        filters = [state, marker, *([wildcard] if self._settings.discovery else [])]
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        await client.publish(marker, "sync", qos=1)
        configs: dict[str, dict[str, Any]] = {}
        states: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(READBACK_TIMEOUT_S):
                async for message in client.messages:
                    topic = str(message.topic)
                    if topic == marker:
                        break
                    if not message.payload or not message.retain:
                        continue
                    if message.topic.matches(state):
                        if not message.topic.matches(topics.stage_set_filter):
                            states.add(topic)
                    elif self._settings.discovery and message.topic.matches(wildcard):
                        configs[topic] = _config(message.payload)
        for topic_filter in filters:
            await client.unsubscribe(topic_filter)
        return configs, states

    async def _commands(self, client: aiomqtt.Client, topics: Topics) -> None:
        async for message in client.messages:
            if message.topic.matches(topics.stage_set_filter):
                await self._command(client, topics, str(message.topic), message.payload, message.retain)

    async def _command(
        self, client: aiomqtt.Client, topics: Topics, topic: str, payload: Any, retained: bool
    ) -> None:
        if retained:
            self._log.warning("mqtt: ignored a retained command on %s (publish commands unretained)", topic)
            return
        wanted = topic.split("/")[-2]
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes | bytearray) else str(payload)
        mode = text.strip().lower()
        names = {slug(name): name for name in stage_names(self._latest.document)} if self._latest else {}
        stage = names.get(wanted)
        if stage is None or self._control is None:
            self._log.warning("mqtt: command on %s: no controller stage %r", topic, wanted)
            return
        try:
            await self._control.set_control_mode(stage, mode, by="MQTT")
        except KeyError:
            self._log.warning("mqtt: command on %s: no controller stage %r", topic, stage)
            return
        except ValueError:
            self._log.warning("mqtt: command on %s: %r is not on, off or auto", topic, mode[:20])
            return
        self._log.info("mqtt: stage %s set to %s", stage, mode)
        async with self._lock:
            await self._put(client, stage_messages({"control": self._control.control_view()}, topics))

    def _disconnected(self, reason: str) -> None:
        self._client = None
        if reason != self._down:
            self._log.warning(
                "mqtt: %s unreachable (retrying with backoff): %s", self._settings.target, reason
            )
        self._down = reason

    # --- sending ----------------------------------------------------------------------------------
    async def _send(self, client: aiomqtt.Client, update: Update) -> None:
        topics = self._topics
        assert topics is not None
        async with self._lock:
            if self._stopping:
                return
            if self._settings.discovery:
                configs = self._discovery(update, topics)
                if configs is not self._configs_sent and configs != self._configs_sent:
                    await self._put(client, discovery_messages(configs, self._configs_sent))
                    self._configs_sent = configs
            await self._put(client, self._state.due(update, topics, self._clock_s()))

    def _discovery(self, update: Update, topics: Topics) -> dict[str, dict[str, Any]]:
        """Recomputed only when what it depends on changes (the site, stages, inverters, gateway)."""
        document = update.document
        key = (
            topics.serial,
            update.shape,
            stage_names(document),
            tuple(str(i.get("serial")) for i in document.get("inverters") or ()),
            _frozen(document.get("gateway") or {}),
        )
        if key != self._configs_key:
            s = self._settings
            self._configs = discovery_configs(
                update, s.layout, topics, s.discovery_prefix, per_component=s.discovery_mode == "component"
            )
            self._configs_key = key
        return self._configs

    async def _put(self, client: aiomqtt.Client, messages: list[Message]) -> None:
        """In order, handed to the client a batch at a time (one socket write per batch, not one each;
        batches below the number of pending publishes that makes aiomqtt warn)."""
        for start in range(0, len(messages), PUBLISH_BATCH):
            batch = messages[start : start + PUBLISH_BATCH]
            if len(batch) == 1:  # most ticks: the site's payload alone
                await client.publish(
                    batch[0].topic, batch[0].payload, qos=batch[0].qos, retain=batch[0].retain
                )
            else:
                results = await asyncio.gather(
                    *(client.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in batch),
                    return_exceptions=True,
                )
                if errors := [r for r in results if isinstance(r, BaseException)]:
                    raise errors[0]
            self.messages_sent += len(batch)
            self.bytes_sent += sum(m.size for m in batch)


def _config(payload: Any) -> dict[str, Any]:
    """A config read back from the broker; one we cannot read is replaced as a whole."""
    try:
        config = json.loads(payload)
    except (TypeError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def _frozen(mapping: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(mapping.items()))
