"""Actions by name: ``on = { http = {...}, mqtt = {...} }`` builds one action per kind named."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from enphase_secure.actions.base import Action
from enphase_secure.actions.command import CommandAction
from enphase_secure.actions.homeassistant import HomeAssistantAction
from enphase_secure.actions.http import HttpAction
from enphase_secure.actions.jeedom import JeedomAction, JeedomEndpoint
from enphase_secure.actions.mqtt import MqttAction, MqttBroker
from enphase_secure.control.fields import Fields
from enphase_secure.control.settings import ACTION_KEYS
from enphase_secure.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What actions take from other sections: ``[publish.jeedom]`` and the MQTT broker."""

    jeedom: JeedomEndpoint | None = None
    mqtt: MqttBroker | None = None


Factory = Callable[[Fields, ActionContext], Action]

REGISTRY: Mapping[str, Factory] = {
    "http": lambda f, _: HttpAction.from_fields(f),
    "jeedom": lambda f, context: JeedomAction.from_fields(f, context.jeedom),
    "mqtt": lambda f, context: MqttAction.from_fields(f, context.mqtt),
    "command": lambda f, _: CommandAction.from_fields(f),
    "homeassistant": lambda f, _: HomeAssistantAction.from_fields(f),
}


@dataclass(frozen=True, slots=True)
class StageActions:
    on: tuple[Action, ...] = ()
    off: tuple[Action, ...] = ()


def build_actions(spec: object, path: str, context: ActionContext) -> tuple[Action, ...]:
    """One ``on`` or ``off`` table: each key names an action kind, run in the order written."""
    table = Fields(spec, path)
    actions = []
    for kind in table.names():
        factory = REGISTRY.get(kind)
        if factory is None:
            raise ConfigError(f"{table.key(kind)}: unknown action; known: {', '.join(sorted(REGISTRY))}")
        actions.append(factory(Fields(table.raw(kind), table.key(kind)), context))
    table.done()
    return tuple(actions)


def build_stage_actions(stage: Mapping[str, object], path: str, context: ActionContext) -> StageActions:
    """The ``on`` and ``off`` tables of one ``[[control.stages]]`` entry (either may be absent)."""
    on, off = (
        build_actions(stage[key], f"{path}.{key}", context) if key in stage else () for key in ACTION_KEYS
    )
    return StageActions(on=on, off=off)


def build_control_actions(
    stages: Sequence[Mapping[str, object]], context: ActionContext, path: str = "control.stages"
) -> dict[str, StageActions]:
    """Every stage's actions by stage name, from the raw ``[[control.stages]]`` list."""
    return {
        str(stage.get("name")): build_stage_actions(stage, f"{path}[{i}]", context)
        for i, stage in enumerate(stages)
    }
