"""The one table of figures (DESIGN.md §6) that every output reads.

Each row says where a figure is in an update's document (the snapshot JSON of DESIGN §4 plus
``health`` and ``control``, see ``bus.Update.document``), its kind (which gives unit, Home Assistant
classes, Prometheus type and Jeedom generic type), its names, its Jeedom logicalId (the original
plugin's, ../shared/jeedom-commands.md) and which device of the ``split`` layout holds it. Figures with
a ``phase_path`` get one variant per phase on multi-phase sites (logicalId suffix 1-3).
Outputs never repeat this table: they derive what they send from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any


class Kind(StrEnum):
    POWER = "power"  # W, instant
    ENERGY_TODAY = "energy_today"  # Wh since local midnight
    ENERGY_7D = "energy_7d"  # Wh over the last 7 days
    ENERGY_LIFETIME = "energy_lifetime"  # Wh, a counter that only grows (unless the figure is ``signed``)
    STORED_ENERGY = "stored_energy"  # Wh held in (or holdable by) the battery
    PERCENT = "percent"  # battery state of charge
    VOLTAGE = "voltage"
    CURRENT = "current"
    FREQUENCY = "frequency"
    TEMPERATURE = "temperature"
    DAYS = "days"  # token days left
    AGE = "age"  # seconds since a device last reported
    ONLINE = "online"  # binary: the gateway answers
    STATE = "state"  # binary: a stage is on
    TEXT = "text"  # a label (firmware version)
    TIMESTAMP = "timestamp"  # an ISO 8601 time (last poll)
    RUNTIME_TODAY = "runtime_today"  # h a stage ran in its runtime day


@dataclass(frozen=True, slots=True)
class KindTraits:
    unit: str | None
    instant: bool  # null (unknown) while the snapshot is stale
    ha_device_class: str | None
    ha_state_class: str | None
    prometheus_unit: str  # base-unit suffix of the metric name
    prometheus_type: str  # "gauge" | "counter"
    jeedom_generic_type: str
    binary: bool = False
    precision: int = 0  # suggested display decimals
    numeric: bool = True  # False: a label or a time (Prometheus: info / timestamp, not a value)
    ticking: bool = False  # moves every tick by itself (an age): MQTT leaves it out (a timestamp says it)
    prometheus_scale: float = 1.0  # the value times this is in the metric's base unit

    @property
    def ha_platform(self) -> str:
        return "binary_sensor" if self.binary else "sensor"


KINDS: Mapping[Kind, KindTraits] = {
    Kind.POWER: KindTraits("W", True, "power", "measurement", "watts", "gauge", "POWER"),
    Kind.ENERGY_TODAY: KindTraits(
        "Wh", False, "energy", "total_increasing", "watt_hours", "gauge", "CONSUMPTION"
    ),
    Kind.ENERGY_7D: KindTraits("Wh", False, "energy", None, "watt_hours", "gauge", "CONSUMPTION"),
    Kind.ENERGY_LIFETIME: KindTraits(
        "Wh", False, "energy", "total_increasing", "watt_hours", "counter", "CONSUMPTION"
    ),
    Kind.STORED_ENERGY: KindTraits(
        "Wh", True, "energy_storage", "measurement", "watt_hours", "gauge", "GENERIC_INFO"
    ),
    Kind.PERCENT: KindTraits(
        "%", True, "battery", "measurement", "ratio", "gauge", "BATTERY", precision=1, prometheus_scale=0.01
    ),
    Kind.VOLTAGE: KindTraits("V", True, "voltage", "measurement", "volts", "gauge", "VOLTAGE", precision=1),
    Kind.CURRENT: KindTraits(
        "A", True, "current", "measurement", "amperes", "gauge", "GENERIC_INFO", precision=2
    ),
    Kind.FREQUENCY: KindTraits(
        "Hz", True, "frequency", "measurement", "hertz", "gauge", "GENERIC_INFO", precision=2
    ),
    Kind.TEMPERATURE: KindTraits(
        "°C", True, "temperature", "measurement", "celsius", "gauge", "TEMPERATURE", precision=1
    ),
    Kind.DAYS: KindTraits(
        "d",
        False,
        "duration",
        "measurement",
        "seconds",
        "gauge",
        "GENERIC_INFO",
        precision=1,
        prometheus_scale=86400.0,
    ),
    Kind.AGE: KindTraits(
        "s", False, "duration", "measurement", "seconds", "gauge", "GENERIC_INFO", ticking=True
    ),
    Kind.ONLINE: KindTraits(None, False, "connectivity", None, "", "gauge", "GENERIC_INFO", binary=True),
    Kind.STATE: KindTraits(None, False, "running", None, "", "gauge", "ENERGY_STATE", binary=True),
    Kind.TEXT: KindTraits(None, False, None, None, "info", "info", "GENERIC_INFO", numeric=False),
    Kind.TIMESTAMP: KindTraits(
        None, False, "timestamp", None, "timestamp_seconds", "gauge", "GENERIC_INFO", numeric=False
    ),
    Kind.RUNTIME_TODAY: KindTraits(
        "h",
        False,
        "duration",
        "measurement",
        "seconds",
        "gauge",
        "GENERIC_INFO",
        precision=2,
        prometheus_scale=3600.0,
    ),
}


class Device(StrEnum):
    """The devices of the ``split`` layout (``single``: everything in one device)."""

    PRODUCTION = "prod"
    NET_CONSUMPTION = "conso_net"
    TOTAL_CONSUMPTION = "conso_total"
    STORAGE = "bat"


class Needs(StrEnum):
    """What a site must have for a figure to exist there."""

    NOTHING = "nothing"
    CONSUMPTION_CT = "consumption_ct"  # a net- or total-consumption CT
    STORAGE = "storage"  # a battery (IQ Battery or ACB)


@dataclass(frozen=True, slots=True)
class Figure:
    key: str  # stable: MQTT key, Home Assistant unique_id part, Prometheus name base (with its unit)
    path: str  # dotted path in the update document; integers index lists
    kind: Kind
    name_fr: str
    name_en: str
    device: Device
    jeedom_id: str | None = None  # logicalId; None: not a Jeedom command
    phase_path: str | None = None  # per-phase variant, with ``{phase}`` = 0-based index
    needs: Needs = Needs.NOTHING
    diagnostic: bool = False  # about the service, not the house (Home Assistant entity category)
    metric: str | None = None  # Prometheus name base, where the key without its unit would mislead
    signed: bool = False  # may fall (net = import - export): no total_increasing, no Prometheus counter
    # where Prometheus reads it, exact and in its base unit, when ``path`` holds a value rounded for display
    metric_path: str | None = None
    metric_help: str | None = None  # the metric's HELP, where the display name would mislead

    @property
    def traits(self) -> KindTraits:
        return KINDS[self.kind]

    @property
    def ha_state_class(self) -> str | None:
        """Home Assistant reads each fall of a ``total_increasing`` sensor as a meter reset: a figure
        that may fall is a ``total`` (its falls count as negative energy)."""
        state_class = self.traits.ha_state_class
        return "total" if self.signed and state_class == "total_increasing" else state_class

    @property
    def prometheus_type(self) -> str:
        return "gauge" if self.signed else self.traits.prometheus_type

    @property
    def prometheus_scale(self) -> float:
        return 1.0 if self.metric_path is not None else self.traits.prometheus_scale


@dataclass(frozen=True, slots=True)
class Point:
    """A figure as it exists on one site: the figure itself, or its variant for one phase (1-based)."""

    figure: Figure
    phase: int | None = None

    @property
    def key(self) -> str:
        return self.figure.key if self.phase is None else f"{self.figure.key}_l{self.phase}"

    @property
    def jeedom_id(self) -> str | None:
        base = self.figure.jeedom_id
        return base if base is None or self.phase is None else f"{base}{self.phase}"

    @property
    def name_fr(self) -> str:
        return self.figure.name_fr if self.phase is None else f"{self.figure.name_fr} {self.phase}"

    @property
    def name_en(self) -> str:
        return self.figure.name_en if self.phase is None else f"{self.figure.name_en} L{self.phase}"

    @property
    def path(self) -> str:
        if self.phase is None:
            return self.figure.path
        assert self.figure.phase_path is not None
        return self.figure.phase_path.format(phase=self.phase - 1)

    def value(self, document: Mapping[str, Any]) -> Any:
        return resolve(document, self.path)


P, N, T, S = Device.PRODUCTION, Device.NET_CONSUMPTION, Device.TOTAL_CONSUMPTION, Device.STORAGE
CT, BAT = Needs.CONSUMPTION_CT, Needs.STORAGE

SITE_FIGURES: tuple[Figure, ...] = (
    Figure("production_power_w", "production.power_w", Kind.POWER, "Prod Inst", "Production", P,
           "PwattsNow", "production.phases_w.{phase}"),
    Figure("production_today_wh", "production.today_wh", Kind.ENERGY_TODAY, "Prod Jour", "Production today",
           P, "PwattHoursToday", "production.phases_today_wh.{phase}"),
    Figure("production_last_7_days_wh", "production.last_7_days_wh", Kind.ENERGY_7D, "Prod Semaine",
           "Production last 7 days", P, "PwattHoursSevenDays"),
    Figure("production_lifetime_wh", "production.lifetime_wh", Kind.ENERGY_LIFETIME, "Prod MES",
           "Production lifetime", P, "PwattHoursLifetime", "production.phases_lifetime_wh.{phase}"),
    Figure("consumption_power_w", "consumption.power_w", Kind.POWER, "Conso Total Inst", "House consumption",
           T, "CwattsNow", "consumption.phases_w.{phase}", CT),
    Figure("consumption_today_wh", "consumption.today_wh", Kind.ENERGY_TODAY, "Conso Total Jour",
           "House consumption today", T, "CwattHoursToday", "consumption.phases_today_wh.{phase}", CT),
    Figure("consumption_last_7_days_wh", "consumption.last_7_days_wh", Kind.ENERGY_7D, "Conso Total Semaine",
           "House consumption last 7 days", T, "CwattHoursSevenDays", needs=CT),
    Figure("consumption_lifetime_wh", "consumption.lifetime_wh", Kind.ENERGY_LIFETIME, "Conso Total MES",
           "House consumption lifetime", T, "CwattHoursLifetime",
           "consumption.phases_lifetime_wh.{phase}", CT),
    Figure("net_consumption_power_w", "net_consumption.power_w", Kind.POWER, "Conso Net Inst",
           "Net consumption", N, "CwattsNowNet", "net_consumption.phases_w.{phase}", CT),
    Figure("net_consumption_today_wh", "net_consumption.today_wh", Kind.ENERGY_TODAY, "Conso Net Jour",
           "Net consumption today", N, "CwattHoursTodayNet", "net_consumption.phases_today_wh.{phase}", CT,
           signed=True),
    Figure("net_consumption_last_7_days_wh", "net_consumption.last_7_days_wh", Kind.ENERGY_7D,
           "Conso Net Semaine", "Net consumption last 7 days", N, "CwattHoursSevenDaysNet", needs=CT),
    Figure("net_consumption_lifetime_wh", "net_consumption.lifetime_wh", Kind.ENERGY_LIFETIME,
           "Conso Net MES", "Net consumption lifetime", N, "CwattHoursLifetimeNet",
           "net_consumption.phases_lifetime_wh.{phase}", CT, signed=True),
    Figure("grid_import_w", "grid.import_w", Kind.POWER, "Import Réseau", "Grid import", N, "Import",
           "grid.phases.{phase}.import_w", CT),
    Figure("grid_export_w", "grid.export_w", Kind.POWER, "Export Réseau", "Grid export", N, "Export",
           "grid.phases.{phase}.export_w", CT),
    Figure("grid_import_today_wh", "grid.import_today_wh", Kind.ENERGY_TODAY, "Import Jour Réseau",
           "Grid import today", N, "cumulimport", "grid.phases.{phase}.import_today_wh", CT),
    Figure("grid_export_today_wh", "grid.export_today_wh", Kind.ENERGY_TODAY, "Export Jour Réseau",
           "Grid export today", N, "cumulexport", "grid.phases.{phase}.export_today_wh", CT),
    Figure("grid_import_lifetime_wh", "grid.import_lifetime_wh", Kind.ENERGY_LIFETIME, "Import Réseau MES",
           "Grid import lifetime", N, "ImportLifetime", "grid.phases.{phase}.import_lifetime_wh", CT),
    Figure("grid_export_lifetime_wh", "grid.export_lifetime_wh", Kind.ENERGY_LIFETIME, "Export Réseau MES",
           "Grid export lifetime", N, "ExportLifetime", "grid.phases.{phase}.export_lifetime_wh", CT),
    Figure("consumption_gateway_w", "consumption.gateway_w", Kind.POWER, "Conso Passerelle Inst",
           "Consumption as the gateway counts it", T, "CwattsNowGateway",
           "consumption.gateway_phases_w.{phase}", CT),
    Figure("consumption_gateway_today_wh", "consumption.gateway_today_wh", Kind.ENERGY_TODAY,
           "Conso Passerelle Jour", "Consumption today as the gateway counts it", T, "CwattHoursTodayGateway",
           needs=CT, signed=True),
    Figure("voltage_v", "voltage_v", Kind.VOLTAGE, "Tension", "Voltage", N, "tension"),
    Figure("battery_power_w", "storage.power_w", Kind.POWER, "Puissance délivrée", "Battery power", S,
           "batnow", needs=BAT),
    Figure("battery_soc_pct", "storage.soc_pct", Kind.PERCENT, "Pourcentage charge", "Battery charge", S,
           "batperc", needs=BAT),
    Figure("battery_charge_w", "storage.charge_w", Kind.POWER, "Puissance charge", "Battery charging", S,
           "batcharge", needs=BAT),
    Figure("battery_discharge_w", "storage.discharge_w", Kind.POWER, "Puissance décharge",
           "Battery discharging", S, "batdischarge", needs=BAT),
    Figure("battery_charged_today_wh", "storage.charged_today_wh", Kind.ENERGY_TODAY, "Charge Jour",
           "Battery charged today", S, "batChargedToday", needs=BAT),
    Figure("battery_discharged_today_wh", "storage.discharged_today_wh", Kind.ENERGY_TODAY, "Décharge Jour",
           "Battery discharged today", S, "batDischargedToday", needs=BAT),
    Figure("battery_charged_lifetime_wh", "storage.charged_lifetime_wh", Kind.ENERGY_LIFETIME, "Charge MES",
           "Battery charged lifetime", S, "batChargedLifetime", needs=BAT),
    Figure("battery_discharged_lifetime_wh", "storage.discharged_lifetime_wh", Kind.ENERGY_LIFETIME,
           "Décharge MES", "Battery discharged lifetime", S, "batDischargedLifetime", needs=BAT),
    Figure("battery_available_wh", "storage.available_wh", Kind.STORED_ENERGY, "Energie Restante",
           "Battery energy available", S, "ENC_agg_avail_energy", needs=BAT),
    Figure("battery_capacity_wh", "storage.capacity_wh", Kind.STORED_ENERGY, "Capacité maximum disponible",
           "Battery capacity", S, "Enc_max_available_capacity", needs=BAT),
    Figure("gateway_online", "health.gateway_online", Kind.ONLINE, "Passerelle en ligne", "Gateway online", P,
           "gatewayOnline", diagnostic=True),
    Figure("token_days_left", "health.token_days_left", Kind.DAYS, "Jours de jeton restants",
           "Token days left", P, "tokenDaysLeft", diagnostic=True, metric="token_validity",
           metric_path="health.token_validity_s", metric_help="Seconds until the gateway token expires"),
    Figure("firmware", "health.firmware", Kind.TEXT, "Micrologiciel", "Firmware", P, diagnostic=True),
    Figure("last_poll", "health.last_poll", Kind.TIMESTAMP, "Dernière lecture", "Last poll", P,
           diagnostic=True),
)  # fmt: skip

INVERTER_FIGURES: tuple[Figure, ...] = (
    Figure("power_w", "power_w", Kind.POWER, "Puissance", "Power", P, "Watt"),
    Figure("max_power_w", "max_power_w", Kind.POWER, "Puissance Max", "Maximum power", P, "maxWatt"),
    Figure("today_wh", "today_wh", Kind.ENERGY_TODAY, "Production journalière", "Production today", P,
           "calWH"),
    Figure("lifetime_wh", "lifetime_wh", Kind.ENERGY_LIFETIME, "Production totale", "Production lifetime", P,
           "calWHLifetime"),
    Figure("dc_voltage_v", "dc_voltage_v", Kind.VOLTAGE, "Tension DC", "DC voltage", P, "dcVoltage"),
    Figure("dc_current_a", "dc_current_a", Kind.CURRENT, "Courant DC", "DC current", P, "dcCurrent"),
    Figure("ac_voltage_v", "ac_voltage_v", Kind.VOLTAGE, "Tension AC", "AC voltage", P, "acVoltage"),
    Figure("ac_frequency_hz", "ac_frequency_hz", Kind.FREQUENCY, "Fréquence", "AC frequency", P,
           "acFrequency"),
    Figure("temperature_c", "temperature_c", Kind.TEMPERATURE, "Température", "Temperature", P,
           "temperature"),
    Figure("report_age_s", "report_age_s", Kind.AGE, "Âge du dernier rapport", "Last report age", P,
           "reportAge", diagnostic=True),
    Figure("last_report", "last_report", Kind.TIMESTAMP, "Dernier rapport", "Last report", P,
           diagnostic=True),
)  # fmt: skip
"""Per inverter: paths into one entry of the document's ``inverters`` list."""


Accessor = Callable[[Mapping[str, Any]], Any]


def resolve(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``grid.phases.0.import_w``); None where any step is missing."""
    return accessor(path)(document)


@cache
def accessor(path: str) -> Accessor:
    """``resolve`` for one path, compiled once (outputs read every figure at every tick): the steps
    taken straight (``document["grid"]["phases"][0]["import_w"]``), the careful walk only when a step
    is missing or meets another type."""
    parts = tuple(path.split("."))
    steps = tuple(int(part) if part.isdigit() else part for part in parts)
    indexed = any(isinstance(step, int) for step in steps)

    def walk(document: Mapping[str, Any]) -> Any:
        node: Any = document
        for part, step in zip(parts, steps, strict=True):
            if isinstance(node, Mapping):
                node = node.get(part)
            elif isinstance(step, int) and isinstance(node, Sequence) and not isinstance(node, str):
                node = node[step] if step < len(node) else None
            else:
                return None
            if node is None:
                return None
        return node

    def get(document: Mapping[str, Any]) -> Any:
        node: Any = document
        try:
            for step in steps:
                node = node[step]
        except (KeyError, IndexError, TypeError):
            return walk(document)
        return walk(document) if indexed and isinstance(node, str) else node  # a str is no list

    return get


@dataclass(frozen=True, slots=True)
class SiteShape:
    """What a site has, from its snapshot: decides which figures exist there."""

    phase_count: int
    consumption_ct: bool
    storage: bool

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> SiteShape:
        meter_types = {m.get("type") for m in document.get("meters") or ()}
        return cls(
            phase_count=max(int(document.get("phase_count") or 1), 1),
            consumption_ct=bool(meter_types & {"net-consumption", "total-consumption"}),
            storage=document.get("storage") is not None,
        )

    def has(self, figure: Figure) -> bool:
        if figure.needs is Needs.CONSUMPTION_CT:
            return self.consumption_ct
        if figure.needs is Needs.STORAGE:
            return self.storage
        return True


def split_device(figure: Figure, shape: SiteShape) -> Device:
    """The device of the ``split`` layout that holds a figure on this site: the consumption devices
    exist only with a consumption CT (without one, the voltage goes with the production)."""
    if figure.device in (Device.NET_CONSUMPTION, Device.TOTAL_CONSUMPTION) and not shape.consumption_ct:
        return Device.PRODUCTION
    return figure.device


def site_points(shape: SiteShape, figures: Sequence[Figure] = SITE_FIGURES) -> tuple[Point, ...]:
    """The figures this site has, with their per-phase variants on multi-phase sites."""
    points: list[Point] = []
    for figure in figures:
        if not shape.has(figure):
            continue
        points.append(Point(figure))
        if figure.phase_path is not None and shape.phase_count > 1:
            points.extend(Point(figure, phase) for phase in range(1, shape.phase_count + 1))
    return tuple(points)


def stage_figure(number: int) -> Figure:
    """Controller stage ``number`` (1-based, in the configured order) confirmed on or off: ``autoconsoN``."""
    return Figure(
        f"stage_{number}_on",
        f"control.stages.{number - 1}.state.confirmed_on",
        Kind.STATE,
        f"Autoconso {number}",
        f"Self-consumption stage {number}",
        Device.PRODUCTION,
        f"autoconso{number}",
    )


def stage_runtime_figures(number: int) -> tuple[Figure, Figure]:
    """Stage ``number``'s confirmed-on time and energy (``load_w`` x runtime) in its runtime day."""
    where = f"control.stages.{number - 1}"
    return (
        Figure(
            f"stage_{number}_runtime_today",
            f"{where}.runtime_today_h",
            Kind.RUNTIME_TODAY,
            f"Durée autoconso {number} aujourd'hui",
            f"Self-consumption stage {number} runtime today",
            Device.PRODUCTION,
            f"autoconso{number}_duree",
        ),
        Figure(
            f"stage_{number}_energy_today",
            f"{where}.energy_today_wh",
            Kind.ENERGY_TODAY,
            f"Énergie autoconso {number} aujourd'hui",
            f"Self-consumption stage {number} energy today",
            Device.PRODUCTION,
            f"autoconso{number}_energie",
        ),
    )


def stage_points(document: Mapping[str, Any]) -> tuple[Point, ...]:
    stages = resolve(document, "control.stages") or ()
    return tuple(
        Point(figure)
        for n in range(1, len(stages) + 1)
        for figure in (stage_figure(n), *stage_runtime_figures(n))
    )


def voltage_v(meters: Sequence[Mapping[str, Any]]) -> float | None:
    """The site voltage: the net-consumption CT's, else the production CT's (as the original plugin)."""
    by_type = {m.get("type"): m for m in meters}
    for kind in ("net-consumption", "production", "total-consumption"):
        meter = by_type.get(kind)
        if meter is not None and meter.get("voltage_v") is not None:
            return float(meter["voltage_v"])
    return None
