"""The numeric fields of a Snapshot that the history keeps, and how each is stored.

Values are stored as integers in units of the field's ``quantum`` (1 W, 1 Wh, 0.1 V, 0.01 Hz...):
SQLite then writes them as 1-4 byte varints instead of 8-byte floats, and sums in the downsampled
series stay exact. The quanta are part of the schema: changing one needs a migration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter
from typing import Any

from ..energy.snapshot import Snapshot
from ..errors import UnknownHistoryFieldError

Read = Callable[[Snapshot], float | None]


class FieldKind(Enum):
    GAUGE = "gauge"  # an instant value: downsampled to mean, min and max
    COUNTER = "counter"  # an energy counter: downsampled to its last value


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind
    quantum: float
    source: str | Read
    """Where the value is in a Snapshot: an attribute path (``grid.import_w``; one under ``storage`` is
    None without a battery), or a function for what no path says."""
    phase: int | None = None
    """With a path to a tuple of phases: this item of it (None where the site has fewer phases)."""

    def encode(self, value: float | None) -> int | None:
        return None if value is None else round(value / self.quantum)

    def decode(self, stored: float | None) -> float | None:
        return None if stored is None else stored * self.quantum


def _first_meter_voltage_v(snapshot: Snapshot) -> float | None:
    return next((m.voltage_v for m in snapshot.meters if m.voltage_v is not None), None)


def _first_meter_frequency_hz(snapshot: Snapshot) -> float | None:
    return next((m.frequency_hz for m in snapshot.meters if m.frequency_hz is not None), None)


def _flow_fields(prefix: str, flow: str) -> list[FieldSpec]:
    return [
        FieldSpec(f"{prefix}_w", FieldKind.GAUGE, 1.0, f"{flow}.power_w"),
        *(
            FieldSpec(f"{prefix}_phase{i + 1}_w", FieldKind.GAUGE, 1.0, f"{flow}.phases_w", i)
            for i in range(3)
        ),
    ]


GAUGES: tuple[FieldSpec, ...] = (
    *_flow_fields("production", "production"),
    *_flow_fields("consumption", "consumption"),
    *_flow_fields("net_consumption", "net_consumption"),
    FieldSpec("grid_import_w", FieldKind.GAUGE, 1.0, "grid.import_w"),
    FieldSpec("grid_export_w", FieldKind.GAUGE, 1.0, "grid.export_w"),
    FieldSpec("storage_w", FieldKind.GAUGE, 1.0, "storage.power_w"),
    FieldSpec("storage_soc_pct", FieldKind.GAUGE, 0.1, "storage.soc_pct"),
    FieldSpec("storage_available_wh", FieldKind.GAUGE, 1.0, "storage.available_wh"),
    FieldSpec("voltage_v", FieldKind.GAUGE, 0.1, _first_meter_voltage_v),
    FieldSpec("frequency_hz", FieldKind.GAUGE, 0.01, _first_meter_frequency_hz),
    # schema version 3: the gateway's own consumption beside the house's, the battery's two directions
    FieldSpec("consumption_gateway_w", FieldKind.GAUGE, 1.0, "gateway_consumption.power_w"),
    FieldSpec("storage_charge_w", FieldKind.GAUGE, 1.0, "storage.charge_w"),
    FieldSpec("storage_discharge_w", FieldKind.GAUGE, 1.0, "storage.discharge_w"),
)

COUNTERS: tuple[FieldSpec, ...] = (
    FieldSpec("production_lifetime_wh", FieldKind.COUNTER, 1.0, "production.lifetime_wh"),
    FieldSpec("consumption_lifetime_wh", FieldKind.COUNTER, 1.0, "consumption.lifetime_wh"),
    FieldSpec("grid_import_lifetime_wh", FieldKind.COUNTER, 1.0, "grid.import_lifetime_wh"),
    FieldSpec("grid_export_lifetime_wh", FieldKind.COUNTER, 1.0, "grid.export_lifetime_wh"),
    FieldSpec("production_today_wh", FieldKind.COUNTER, 1.0, "production.today_wh"),
    FieldSpec("consumption_today_wh", FieldKind.COUNTER, 1.0, "consumption.today_wh"),
    FieldSpec("grid_import_today_wh", FieldKind.COUNTER, 1.0, "grid.import_today_wh"),
    FieldSpec("grid_export_today_wh", FieldKind.COUNTER, 1.0, "grid.export_today_wh"),
    # schema version 3
    FieldSpec("consumption_gateway_today_wh", FieldKind.COUNTER, 1.0, "gateway_consumption.today_wh"),
    FieldSpec("storage_charged_today_wh", FieldKind.COUNTER, 1.0, "storage.charged_today_wh"),
    FieldSpec("storage_discharged_today_wh", FieldKind.COUNTER, 1.0, "storage.discharged_today_wh"),
    FieldSpec("storage_charged_lifetime_wh", FieldKind.COUNTER, 1.0, "storage.charged_lifetime_wh"),
    FieldSpec("storage_discharged_lifetime_wh", FieldKind.COUNTER, 1.0, "storage.discharged_lifetime_wh"),
)

FIELDS: tuple[FieldSpec, ...] = GAUGES + COUNTERS
_BY_NAME = {spec.name: spec for spec in FIELDS}


def field_specs(names: str | Sequence[str]) -> tuple[FieldSpec, ...]:
    """The specs of the named fields, in the given order; an unknown name is an error naming it."""
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [name for name in wanted if name not in _BY_NAME]
    if unknown:
        raise UnknownHistoryFieldError(unknown[0], sorted(_BY_NAME))
    return tuple(_BY_NAME[name] for name in wanted)


Shape = tuple[bool, int, int, int]  # a battery; how many phases production, consumption, net give
_Plan = tuple[tuple[Callable[[Snapshot], Any] | None, int | None, float], ...]
_PLANS: dict[Shape, _Plan] = {}


def _shape(snapshot: Snapshot) -> Shape:
    return (
        snapshot.storage is not None,
        len(snapshot.production.phases_w),
        len(snapshot.consumption.phases_w),
        len(snapshot.net_consumption.phases_w),
    )


def _plan(shape: Shape) -> _Plan:
    """Per field, how a snapshot of this shape gives it: a read (None: the site has no such value)
    and the item of a phase, as C-level attribute getters wherever a path says where it is."""
    has_storage, *phase_counts = shape
    phases = dict(zip(("production", "consumption", "net_consumption"), phase_counts, strict=True))
    plan: list[tuple[Callable[[Snapshot], Any] | None, int | None, float]] = []
    for spec in FIELDS:
        source = spec.source
        if not isinstance(source, str):
            plan.append((source, None, spec.quantum))
            continue
        part = source.split(".")[0]
        if (part == "storage" and not has_storage) or (
            spec.phase is not None and spec.phase >= phases.get(part, 0)
        ):
            plan.append((None, None, spec.quantum))
        else:
            plan.append((attrgetter(source), spec.phase, spec.quantum))
    return tuple(plan)


def encode_snapshot(snapshot: Snapshot) -> tuple[int | None, ...]:
    """The stored integers of every field of FIELDS, in that order (``FieldSpec.encode`` of each)."""
    shape = _shape(snapshot)
    plan = _PLANS.get(shape)
    if plan is None:
        plan = _PLANS[shape] = _plan(shape)
    return tuple(
        [
            None
            if (value := None if read is None else read(snapshot) if phase is None else read(snapshot)[phase])
            is None
            else round(value / quantum)
            for read, phase, quantum in plan
        ]
    )
