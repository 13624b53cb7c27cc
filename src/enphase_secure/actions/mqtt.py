"""``mqtt``: publish a templated payload to a topic on the broker of ``[publish.mqtt]``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template

from enphase_secure.actions.base import Attempts
from enphase_secure.actions.templates import compile_template, render
from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError, ConfigError


@dataclass(frozen=True, slots=True)
class MqttBroker:
    host: str
    port: int = 1883
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class MqttAction:
    broker: MqttBroker
    topic: Template
    payload: Template
    qos: int
    retain: bool
    attempts: Attempts
    kind: str = "mqtt"

    @classmethod
    def from_fields(cls, f: Fields, broker: MqttBroker | None) -> MqttAction:
        if broker is None:
            raise ConfigError(f"{f.path}: needs an MQTT broker ([publish.mqtt] host)")
        topic = f.required_str("topic")
        if "+" in topic or "#" in topic:
            raise ConfigError(f"{f.key('topic')}: {topic!r}: wildcards cannot be published to")
        action = cls(
            broker=broker,
            topic=compile_template(topic, f.key("topic")),
            payload=compile_template(f.optional_str("payload") or "$action", f.key("payload")),
            qos=f.integer("qos", 1, minimum=0, maximum=2),
            retain=f.boolean("retain", False),
            attempts=Attempts.from_fields(f),
        )
        f.done()
        return action

    @property
    def target(self) -> str:
        return f"mqtt://{self.broker.host}:{self.broker.port}/{self.topic.template}"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.broker.password,) if self.broker.password else ()

    async def run_once(self, values: Mapping[str, str]) -> None:
        import aiomqtt  # noqa: PLC0415 (loaded by the configurations that publish only)

        broker = self.broker
        try:
            async with aiomqtt.Client(
                broker.host, broker.port, username=broker.username, password=broker.password
            ) as client:
                await client.publish(
                    render(self.topic, values), render(self.payload, values), qos=self.qos, retain=self.retain
                )
        except aiomqtt.MqttError as err:
            raise ActionError(f"{self.target}: {err}") from err
