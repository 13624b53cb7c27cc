"""A live scenario: the site a simulated gateway measures, parsed from TOML into frozen models.

Built-in scenarios are TOML files in ``scenarios/``; ``--scenario FILE`` reads the same format.
Unknown keys are rejected by name, like every other configuration of this project.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError

PhaseMode = Literal["single", "split", "three"]
ConsumptionCt = Literal["net", "total"]
BatteryKind = Literal["iq", "acb"]

PHASE_COUNTS: dict[str, int] = {"single": 1, "split": 2, "three": 3}


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    serial: str
    part_number: str
    firmware: str  # as in /info <software>, e.g. "D7.6.175"


@dataclass(frozen=True, slots=True)
class CtSetup:
    production: bool
    consumption: ConsumptionCt | None
    storage: bool

    @property
    def any(self) -> bool:
        return self.production or self.consumption is not None or self.storage


@dataclass(frozen=True, slots=True)
class InverterGroup:
    count: int
    peak_w: float
    phase: int  # 1-based


@dataclass(frozen=True, slots=True)
class BatterySpec:
    kind: BatteryKind
    units: int
    capacity_wh: float  # per unit
    max_power_w: float  # per unit, charge and discharge
    phase: int  # 1-based
    soc_min_pct: float
    soc_max_pct: float
    soc_start_pct: float
    efficiency: float  # one way: stored = charged x eff, delivered = taken x eff


@dataclass(frozen=True, slots=True)
class SunSpec:
    latitude_deg: float
    longitude_deg: float
    clouds: float  # 0 = always clear, 1 = some days fully overcast


@dataclass(frozen=True, slots=True)
class LoadProfileSpec:
    base_w: tuple[float, ...]  # per phase
    noise: float  # 0..1, relative random variation


@dataclass(frozen=True, slots=True)
class SwitchableLoad:
    name: str
    power_w: float
    phase: int  # 1-based
    on: bool


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    timezone: str
    start: datetime  # tz-aware local start time
    phases: PhaseMode
    cts: CtSetup
    inverters: tuple[InverterGroup, ...]
    battery: BatterySpec | None
    sun: SunSpec
    load: LoadProfileSpec
    loads: tuple[SwitchableLoad, ...]
    gateway: GatewayIdentity
    seed: int
    gateway_reset_late_s: float  # the gateway's own whToday resets this long after midnight

    @property
    def phase_count(self) -> int:
        return PHASE_COUNTS[self.phases]

    @property
    def inverter_count(self) -> int:
        return sum(group.count for group in self.inverters)


BUILTIN_DIR = "scenarios"


def builtin_names() -> list[str]:
    folder = resources.files(__package__).joinpath(BUILTIN_DIR)
    return sorted(
        entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in scenario by name, or a TOML scenario file."""
    if name_or_path in builtin_names():
        text = resources.files(__package__).joinpath(BUILTIN_DIR, f"{name_or_path}.toml").read_text("utf-8")
        return parse_scenario(text, source=f"built-in scenario {name_or_path!r}")
    path = Path(name_or_path)
    if not path.is_file():
        raise ConfigError(
            f"scenario {name_or_path!r}: neither a built-in ({', '.join(builtin_names())}) nor a file"
        )
    try:
        text = path.read_text("utf-8")
    except OSError as err:
        raise ConfigError(f"scenario file {path}: {err.strerror}") from err
    return parse_scenario(text, source=f"scenario file {path}", default_name=path.stem)


def parse_scenario(text: str, *, source: str, default_name: str = "custom") -> Scenario:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: invalid TOML: {err}") from err
    return _Reader(source).scenario(raw, default_name)


_TOP_KEYS = {
    "name", "timezone", "start", "phases", "seed", "gateway_reset_late_s",
    "gateway", "cts", "inverters", "battery", "sun", "load", "loads",
}  # fmt: skip


class _Reader:
    """Typed access to a TOML table; every error names the source and the key path."""

    def __init__(self, source: str) -> None:
        self._source = source

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self._source}: {key}: {problem}")

    def table(self, raw: object, key: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0], "unknown key")
        return raw

    def get(self, table: Mapping[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(f"{where}{key}", "missing")
            return default
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{where}{key}", f"must be a {kind.__name__}, got {value!r}")
        return value

    def number(
        self, table: Mapping[str, Any], key: str, where: str, *, low: float, high: float, default: Any = ...
    ) -> float:
        value = float(self.get(table, key, where, float, default))
        if not low <= value <= high:
            raise self.fail(f"{where}{key}", f"must be between {low} and {high}, got {value}")
        return value

    def phase(self, table: Mapping[str, Any], where: str, phase_count: int) -> int:
        value = int(self.get(table, "phase", where, int, 1))
        if not 1 <= value <= phase_count:
            raise self.fail(f"{where}phase", f"must be between 1 and {phase_count}, got {value}")
        return value

    def scenario(self, raw: Mapping[str, Any], default_name: str) -> Scenario:
        top = self.table(raw, "", _TOP_KEYS)
        timezone = self.get(top, "timezone", "", str)
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise self.fail("timezone", f"unknown time zone {timezone!r}") from err
        start_text = self.get(top, "start", "", str)
        try:
            start = datetime.fromisoformat(start_text)
        except ValueError as err:
            raise self.fail("start", f"not an ISO date-time: {start_text!r}") from err
        if start.tzinfo is not None:
            raise self.fail("start", "give the local time without an offset (the time zone says it)")
        phases = self.get(top, "phases", "", str)
        if phases not in PHASE_COUNTS:
            raise self.fail("phases", f"must be one of {', '.join(PHASE_COUNTS)}, got {phases!r}")
        phase_count = PHASE_COUNTS[phases]
        battery = self.battery(top.get("battery"), phase_count) if "battery" in top else None
        cts = self.cts(top.get("cts", {}))
        if cts.consumption and not cts.production:
            raise self.fail(
                "cts.consumption", "a consumption CT needs a production CT (cts.production = true)"
            )
        if cts.storage and (battery is None or battery.kind != "iq"):
            raise self.fail("cts.storage", 'a storage CT needs an IQ Battery ([battery] kind = "iq")')
        return Scenario(
            name=self.get(top, "name", "", str, default_name),
            timezone=timezone,
            start=start.replace(tzinfo=zone),
            phases=phases,
            cts=cts,
            inverters=self.inverters(top.get("inverters"), phase_count),
            battery=battery,
            sun=self.sun(top.get("sun", {})),
            load=self.load(top.get("load"), phase_count),
            loads=self.loads(top.get("loads", []), phase_count),
            gateway=self.gateway(top.get("gateway")),
            seed=self.get(top, "seed", "", int, 1),
            gateway_reset_late_s=self.number(top, "gateway_reset_late_s", "", low=0, high=3600, default=90.0),
        )

    def gateway(self, raw: object) -> GatewayIdentity:
        table = self.table(raw, "gateway", {"serial", "part_number", "firmware"})
        serial = self.get(table, "serial", "gateway.", str)
        if not (serial.isdigit() and len(serial) == 12):
            raise self.fail("gateway.serial", f"must be 12 digits, got {serial!r}")
        firmware = self.get(table, "firmware", "gateway.", str)
        return GatewayIdentity(
            serial=serial,
            part_number=self.get(table, "part_number", "gateway.", str, "800-00654-r08"),
            firmware=firmware if firmware.startswith("D") else f"D{firmware}",
        )

    def cts(self, raw: object) -> CtSetup:
        table = self.table(raw, "cts", {"production", "consumption", "storage"})
        consumption = self.get(table, "consumption", "cts.", str, "none")
        if consumption not in ("net", "total", "none"):
            raise self.fail("cts.consumption", f'must be "net", "total" or "none", got {consumption!r}')
        return CtSetup(
            production=self.get(table, "production", "cts.", bool, False),
            consumption=None if consumption == "none" else consumption,
            storage=self.get(table, "storage", "cts.", bool, False),
        )

    def inverters(self, raw: object, phase_count: int) -> tuple[InverterGroup, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("inverters", "must be a non-empty array of tables [[inverters]]")
        groups = []
        for index, item in enumerate(raw):
            where = f"inverters[{index}]."
            table = self.table(item, where.rstrip("."), {"count", "peak_w", "phase"})
            count = int(self.number(table, "count", where, low=1, high=500))
            groups.append(
                InverterGroup(
                    count=count,
                    peak_w=self.number(table, "peak_w", where, low=1, high=2000),
                    phase=self.phase(table, where, phase_count),
                )
            )
        return tuple(groups)

    def battery(self, raw: object, phase_count: int) -> BatterySpec:
        keys = {"kind", "units", "capacity_wh", "max_power_w", "phase", "soc_min_pct", "soc_max_pct",
                "soc_start_pct", "efficiency"}  # fmt: skip
        table = self.table(raw, "battery", keys)
        kind = self.get(table, "kind", "battery.", str)
        if kind not in ("iq", "acb"):
            raise self.fail("battery.kind", f'must be "iq" or "acb", got {kind!r}')
        soc_min = self.number(table, "soc_min_pct", "battery.", low=0, high=100, default=10.0)
        soc_max = self.number(table, "soc_max_pct", "battery.", low=soc_min, high=100, default=100.0)
        return BatterySpec(
            kind=kind,
            units=int(self.number(table, "units", "battery.", low=1, high=64)),
            capacity_wh=self.number(table, "capacity_wh", "battery.", low=1, high=100_000),
            max_power_w=self.number(table, "max_power_w", "battery.", low=1, high=50_000),
            phase=self.phase(table, "battery.", phase_count),
            soc_min_pct=soc_min,
            soc_max_pct=soc_max,
            soc_start_pct=self.number(
                table, "soc_start_pct", "battery.", low=soc_min, high=soc_max, default=soc_min
            ),
            efficiency=self.number(table, "efficiency", "battery.", low=0.5, high=1, default=0.96),
        )

    def sun(self, raw: object) -> SunSpec:
        table = self.table(raw, "sun", {"latitude", "longitude", "clouds"})
        return SunSpec(
            latitude_deg=self.number(table, "latitude", "sun.", low=-66, high=66, default=45.0),
            longitude_deg=self.number(table, "longitude", "sun.", low=-180, high=180, default=0.0),
            clouds=self.number(table, "clouds", "sun.", low=0, high=1, default=0.3),
        )

    def load(self, raw: object, phase_count: int) -> LoadProfileSpec:
        table = self.table(raw, "load", {"base_w", "noise"})
        base = table.get("base_w")
        if not isinstance(base, list) or len(base) != phase_count:
            raise self.fail("load.base_w", f"must be an array of {phase_count} numbers (one per phase)")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 50_000 for v in base):
            raise self.fail("load.base_w", "every value must be a number of watts between 0 and 50000")
        return LoadProfileSpec(
            base_w=tuple(float(v) for v in base),
            noise=self.number(table, "noise", "load.", low=0, high=1, default=0.3),
        )

    def loads(self, raw: object, phase_count: int) -> tuple[SwitchableLoad, ...]:
        if not isinstance(raw, list):
            raise self.fail("loads", "must be an array of tables [[loads]]")
        loads: list[SwitchableLoad] = []
        for index, item in enumerate(raw):
            where = f"loads[{index}]."
            table = self.table(item, where.rstrip("."), {"name", "power_w", "phase", "on"})
            name = self.get(table, "name", where, str)
            if not name or "/" in name or name in {load.name for load in loads}:
                raise self.fail(f"{where}name", f"must be a unique non-empty name without '/', got {name!r}")
            loads.append(
                SwitchableLoad(
                    name=name,
                    power_w=self.number(table, "power_w", where, low=0, high=50_000),
                    phase=self.phase(table, where, phase_count),
                    on=self.get(table, "on", where, bool, False),
                )
            )
        return tuple(loads)
