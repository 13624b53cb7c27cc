"""Safe templates for action URLs, bodies, payloads and arguments: ``string.Template`` ``$name``s.

Only the names below can be used (checked when the config is read); values are plain strings, no
attribute access, no expression, no code. An unknown value renders as ``null``. ``$$`` is a ``$``.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from enphase_secure.control.controller import Command
from enphase_secure.energy.snapshot import Snapshot
from enphase_secure.errors import ConfigError

UNKNOWN = "null"
PHASES = (1, 2, 3)
TEMPLATE_NAMES = frozenset(
    {
        "stage",
        "action",
        "reason",
        "time",
        "production_w",
        "consumption_w",
        "net_consumption_w",
        "import_w",
        "export_w",
        "surplus_w",
        "battery_power_w",
        "battery_soc_pct",
        "level_pct",
        "power_w",
        *(f"phase{p}_{way}_w" for p in PHASES for way in ("import", "export")),
    }
)


def compile_template(text: str, key: str) -> Template:
    template = Template(text)
    if not template.is_valid():
        raise ConfigError(f"{key}: invalid template {text!r} (write $$ for a literal $)")
    unknown = sorted(set(template.get_identifiers()) - TEMPLATE_NAMES)
    if unknown:
        raise ConfigError(
            f"{key}: unknown template value ${unknown[0]}; known: {', '.join(sorted(TEMPLATE_NAMES))}"
        )
    return template


def render(template: Template, values: Mapping[str, str]) -> str:
    return template.substitute(values)


def template_values(command: Command, snapshot: Snapshot | None) -> dict[str, str]:
    values = dict.fromkeys(TEMPLATE_NAMES, UNKNOWN)
    values.update(stage=command.stage, action=command.action, reason=command.reason)
    values.update(level_pct=_number(command.level_pct), power_w=_number(command.power_w))
    if snapshot is None:
        return values
    grid, storage = snapshot.grid, snapshot.storage
    surplus = None if grid.export_w is None or grid.import_w is None else grid.export_w - grid.import_w
    numbers: dict[str, float | None] = {
        "production_w": snapshot.production.power_w,
        "consumption_w": snapshot.consumption.power_w,
        "net_consumption_w": snapshot.net_consumption.power_w,
        "import_w": grid.import_w,
        "export_w": grid.export_w,
        "surplus_w": surplus,
        "battery_power_w": storage.power_w if storage else None,
        "battery_soc_pct": storage.soc_pct if storage else None,
    }
    for p, phase in zip(PHASES, grid.phases, strict=False):
        numbers[f"phase{p}_import_w"] = phase.import_w
        numbers[f"phase{p}_export_w"] = phase.export_w
    values.update({name: _number(value) for name, value in numbers.items()})
    values["time"] = snapshot.time.isoformat()
    return values


def _number(value: float | None) -> str:
    if value is None:
        return UNKNOWN
    rounded = round(value, 3)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)
