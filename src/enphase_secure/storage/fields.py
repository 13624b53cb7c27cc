"""The numeric fields of a Snapshot that the history keeps, and how each is stored.

Values are stored as integers in units of the field's ``quantum`` (1 W, 1 Wh, 0.1 V, 0.01 Hz...):
SQLite then writes them as 1-4 byte varints instead of 8-byte floats, and sums in the downsampled
series stay exact. The quanta are part of the schema: changing one needs a migration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from ..energy.snapshot import EnergyFlow, Snapshot
from ..errors import UnknownHistoryFieldError


class FieldKind(Enum):
    GAUGE = "gauge"  # an instant value: downsampled to mean, min and max
    COUNTER = "counter"  # an energy counter: downsampled to its last value


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind
    quantum: float
    read: Callable[[Snapshot], float | None]

    def encode(self, value: float | None) -> int | None:
        return None if value is None else round(value / self.quantum)

    def decode(self, stored: float | None) -> float | None:
        return None if stored is None else stored * self.quantum


def _phase(flow: Callable[[Snapshot], EnergyFlow], index: int) -> Callable[[Snapshot], float | None]:
    def read(snapshot: Snapshot) -> float | None:
        phases = flow(snapshot).phases_w
        return phases[index] if index < len(phases) else None

    return read


def _first_meter_voltage_v(snapshot: Snapshot) -> float | None:
    return next((m.voltage_v for m in snapshot.meters if m.voltage_v is not None), None)


def _first_meter_frequency_hz(snapshot: Snapshot) -> float | None:
    return next((m.frequency_hz for m in snapshot.meters if m.frequency_hz is not None), None)


def _flow_fields(prefix: str, flow: Callable[[Snapshot], EnergyFlow]) -> list[FieldSpec]:
    return [
        FieldSpec(f"{prefix}_w", FieldKind.GAUGE, 1.0, lambda s: flow(s).power_w),
        *(FieldSpec(f"{prefix}_phase{i + 1}_w", FieldKind.GAUGE, 1.0, _phase(flow, i)) for i in range(3)),
    ]


GAUGES: tuple[FieldSpec, ...] = (
    *_flow_fields("production", lambda s: s.production),
    *_flow_fields("consumption", lambda s: s.consumption),
    *_flow_fields("net_consumption", lambda s: s.net_consumption),
    FieldSpec("grid_import_w", FieldKind.GAUGE, 1.0, lambda s: s.grid.import_w),
    FieldSpec("grid_export_w", FieldKind.GAUGE, 1.0, lambda s: s.grid.export_w),
    FieldSpec("storage_w", FieldKind.GAUGE, 1.0, lambda s: s.storage.power_w if s.storage else None),
    FieldSpec("storage_soc_pct", FieldKind.GAUGE, 0.1, lambda s: s.storage.soc_pct if s.storage else None),
    FieldSpec(
        "storage_available_wh",
        FieldKind.GAUGE,
        1.0,
        lambda s: s.storage.available_wh if s.storage else None,
    ),
    FieldSpec("voltage_v", FieldKind.GAUGE, 0.1, _first_meter_voltage_v),
    FieldSpec("frequency_hz", FieldKind.GAUGE, 0.01, _first_meter_frequency_hz),
    # schema version 3: the gateway's own consumption beside the house's, the battery's two directions
    FieldSpec("consumption_gateway_w", FieldKind.GAUGE, 1.0, lambda s: s.gateway_consumption.power_w),
    FieldSpec("storage_charge_w", FieldKind.GAUGE, 1.0, lambda s: s.storage.charge_w if s.storage else None),
    FieldSpec(
        "storage_discharge_w", FieldKind.GAUGE, 1.0, lambda s: s.storage.discharge_w if s.storage else None
    ),
)

COUNTERS: tuple[FieldSpec, ...] = (
    FieldSpec("production_lifetime_wh", FieldKind.COUNTER, 1.0, lambda s: s.production.lifetime_wh),
    FieldSpec("consumption_lifetime_wh", FieldKind.COUNTER, 1.0, lambda s: s.consumption.lifetime_wh),
    FieldSpec("grid_import_lifetime_wh", FieldKind.COUNTER, 1.0, lambda s: s.grid.import_lifetime_wh),
    FieldSpec("grid_export_lifetime_wh", FieldKind.COUNTER, 1.0, lambda s: s.grid.export_lifetime_wh),
    FieldSpec("production_today_wh", FieldKind.COUNTER, 1.0, lambda s: s.production.today_wh),
    FieldSpec("consumption_today_wh", FieldKind.COUNTER, 1.0, lambda s: s.consumption.today_wh),
    FieldSpec("grid_import_today_wh", FieldKind.COUNTER, 1.0, lambda s: s.grid.import_today_wh),
    FieldSpec("grid_export_today_wh", FieldKind.COUNTER, 1.0, lambda s: s.grid.export_today_wh),
    # schema version 3
    FieldSpec(
        "consumption_gateway_today_wh", FieldKind.COUNTER, 1.0, lambda s: s.gateway_consumption.today_wh
    ),
    FieldSpec(
        "storage_charged_today_wh",
        FieldKind.COUNTER,
        1.0,
        lambda s: s.storage.charged_today_wh if s.storage else None,
    ),
    FieldSpec(
        "storage_discharged_today_wh",
        FieldKind.COUNTER,
        1.0,
        lambda s: s.storage.discharged_today_wh if s.storage else None,
    ),
    FieldSpec(
        "storage_charged_lifetime_wh",
        FieldKind.COUNTER,
        1.0,
        lambda s: s.storage.charged_lifetime_wh if s.storage else None,
    ),
    FieldSpec(
        "storage_discharged_lifetime_wh",
        FieldKind.COUNTER,
        1.0,
        lambda s: s.storage.discharged_lifetime_wh if s.storage else None,
    ),
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


def encode_snapshot(snapshot: Snapshot) -> tuple[int | None, ...]:
    """The stored integers of every field of FIELDS, in that order."""
    return tuple(spec.encode(spec.read(snapshot)) for spec in FIELDS)
