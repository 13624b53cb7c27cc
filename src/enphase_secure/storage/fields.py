"""The numeric fields of a Snapshot that the history keeps, and how each is stored.

Values are stored as integers in units of the field's ``quantum`` (1 W, 1 Wh, 0.1 V, 0.01 Hz...):
SQLite then writes them as 1-4 byte varints instead of 8-byte floats, and sums in the downsampled
series stay exact. The quanta are part of the schema: changing one needs a migration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import chain
from operator import attrgetter, itemgetter
from typing import cast

from ..energy.snapshot import Snapshot
from ..errors import UnknownHistoryFieldError

Read = Callable[[Snapshot], float | None]
_round_float = float.__round__


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


def _first_of_meters(attribute: str) -> Read:
    """The first meter's known ``attribute``: the site's voltage, its frequency."""
    get = attrgetter(attribute)

    def read(snapshot: Snapshot) -> float | None:
        for meter in snapshot.meters:
            if (value := get(meter)) is not None:
                return cast(float, value)
        return None

    return read


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
    FieldSpec("voltage_v", FieldKind.GAUGE, 0.1, _first_of_meters("voltage_v")),
    FieldSpec("frequency_hz", FieldKind.GAUGE, 0.01, _first_of_meters("frequency_hz")),
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
_PHASED = ("production", "consumption", "net_consumption")


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a snapshot of one shape gives the values of FIELDS, with C-level getters for the most part:
    ``singles`` takes every value a path says where it is, ``phases`` each flow's tuple of phases,
    ``computed`` what no path says; ``order`` puts their stored integers (then None) in FIELDS order."""

    singles: Callable[[Snapshot], tuple[float | None, ...]]
    phases: Callable[[Snapshot], tuple[tuple[float | None, ...], ...]]
    computed: tuple[Read, ...]
    quanta: tuple[float, ...]  # of the singles, the phases, the computed values
    order: Callable[[Sequence[int | None]], tuple[int | None, ...]]


_PLANS: dict[Shape, _Plan] = {}


def _shape(snapshot: Snapshot) -> Shape:
    return (
        snapshot.storage is not None,
        len(snapshot.production.phases_w),
        len(snapshot.consumption.phases_w),
        len(snapshot.net_consumption.phases_w),
    )


def _plan(shape: Shape) -> _Plan:
    has_storage, *phase_counts = shape
    singles = [spec for spec in FIELDS if isinstance(spec.source, str) and spec.phase is None]
    if not has_storage:
        singles = [spec for spec in singles if not str(spec.source).startswith("storage.")]
    computed = [spec for spec in FIELDS if not isinstance(spec.source, str)]
    # where each field's value comes among the values read: the singles, each flow's phases, computed
    position = {spec.name: index for index, spec in enumerate(singles)}
    quanta = [spec.quantum for spec in singles]
    phased = {(spec.source, spec.phase): spec for spec in FIELDS if spec.phase is not None}
    for flow, count in zip(_PHASED, phase_counts, strict=True):
        for phase in range(count):
            spec = phased.get((f"{flow}.phases_w", phase))  # None: a phase beyond those stored
            if spec is not None:
                position[spec.name] = len(quanta)
            quanta.append(spec.quantum if spec is not None else 1.0)
    for spec in computed:
        position[spec.name] = len(quanta)
        quanta.append(spec.quantum)
    absent = len(quanta)  # the None after the stored integers
    return _Plan(
        singles=attrgetter(*(str(spec.source) for spec in singles)),
        phases=attrgetter(*(f"{flow}.phases_w" for flow in _PHASED)),
        computed=tuple(cast(Read, spec.source) for spec in computed),
        quanta=tuple(quanta),
        order=itemgetter(*(position.get(spec.name, absent) for spec in FIELDS)),
    )


def encode_snapshot(snapshot: Snapshot) -> tuple[int | None, ...]:
    """The stored integers of every field of FIELDS, in that order (``FieldSpec.encode`` of each)."""
    shape = _shape(snapshot)
    plan = _PLANS.get(shape)
    if plan is None:
        plan = _PLANS[shape] = _plan(shape)
    values = chain(plan.singles(snapshot), *plan.phases(snapshot), [read(snapshot) for read in plan.computed])
    encoded: list[int | None] = [
        None if value is None else _round_float(value / quantum)  # a float: round() without its lookup
        for value, quantum in zip(values, plan.quanta, strict=True)
    ]
    encoded.append(None)
    return plan.order(encoded)
