"""``/production.json?details=1`` (CT and inverter totals, per-phase ``lines``, ACB storage) and
``/api/v1/production`` (inverter totals, for gateways without CTs)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import quirks
from .fields import JsonNode, parse_json
from .info import GatewayInfo
from .transport import Transport

PRODUCTION_JSON_PATH = "/production.json?details=1"
API_V1_PRODUCTION_PATH = "/api/v1/production"


@dataclass(frozen=True, slots=True)
class LineTotals:
    """One phase of a CT block. ``today``/``7 days`` are kept but unreliable (see quirks)."""

    power_w: float
    lifetime_wh: float
    today_wh: float | None
    last_7_days_wh: float | None
    voltage_v: float | None
    current_a: float | None

    @classmethod
    def from_json(cls, node: JsonNode) -> LineTotals:
        return cls(
            power_w=node.number("wNow"),
            lifetime_wh=node.number("whLifetime"),
            today_wh=node.opt_number("whToday"),
            last_7_days_wh=node.opt_number("whLastSevenDays"),
            voltage_v=node.opt_number("rmsVoltage"),
            current_a=node.opt_number("rmsCurrent"),
        )


@dataclass(frozen=True, slots=True)
class CtTotals:
    """A ``type: eim`` block: one CT measurement type as the gateway totals it."""

    measurement_type: str
    active_count: int
    power_w: float
    lifetime_wh: float
    today_wh: float | None
    last_7_days_wh: float | None
    lines: tuple[LineTotals, ...]

    @classmethod
    def from_json(cls, node: JsonNode) -> CtTotals:
        lines = node.opt_child("lines")
        return cls(
            measurement_type=node.string("measurementType"),
            active_count=node.integer("activeCount"),
            power_w=node.number("wNow"),
            lifetime_wh=node.number("whLifetime"),
            today_wh=node.opt_number("whToday"),
            last_7_days_wh=node.opt_number("whLastSevenDays"),
            lines=() if lines is None else tuple(LineTotals.from_json(line) for line in lines.items()),
        )

    def with_added(self, other: CtTotals) -> CtTotals:
        """This block plus ``other``, power and lifetime, in total and per phase."""
        return replace(
            self,
            power_w=self.power_w + other.power_w,
            lifetime_wh=self.lifetime_wh + other.lifetime_wh,
            lines=tuple(
                replace(
                    mine,
                    power_w=mine.power_w + theirs.power_w,
                    lifetime_wh=mine.lifetime_wh + theirs.lifetime_wh,
                )
                for mine, theirs in zip(self.lines, other.lines, strict=False)
            ),
        )


@dataclass(frozen=True, slots=True)
class InverterTotals:
    """The ``type: inverters`` block: what the microinverters last reported, summed."""

    active_count: int
    power_w: float
    lifetime_wh: float

    @classmethod
    def from_json(cls, node: JsonNode) -> InverterTotals:
        return cls(
            active_count=node.integer("activeCount"),
            power_w=node.number("wNow"),
            lifetime_wh=node.number("whLifetime"),
        )


@dataclass(frozen=True, slots=True)
class AcbStorage:
    """``storage[0]``: AC Batteries. ``power_w`` > 0 while discharging."""

    active_count: int
    power_w: float
    stored_wh: float
    soc_pct: float | None
    state: str | None

    @classmethod
    def from_json(cls, node: JsonNode) -> AcbStorage:
        return cls(
            active_count=node.integer("activeCount"),
            power_w=node.number("wNow"),
            stored_wh=node.number("whNow"),
            soc_pct=node.opt_number("percentFull"),
            state=node.opt_string("state"),
        )


@dataclass(frozen=True, slots=True)
class ProductionReport:
    inverters: InverterTotals | None
    production: CtTotals | None
    consumption: tuple[CtTotals, ...]
    acb: AcbStorage | None

    def consumption_of(self, measurement_type: str) -> CtTotals | None:
        return next((c for c in self.consumption if c.measurement_type == measurement_type), None)

    @property
    def total_consumption(self) -> CtTotals | None:
        return self.consumption_of("total-consumption")

    @property
    def net_consumption(self) -> CtTotals | None:
        return self.consumption_of("net-consumption")

    @classmethod
    def from_json(cls, body: bytes) -> ProductionReport:
        root = parse_json(PRODUCTION_JSON_PATH, body)
        inverters: InverterTotals | None = None
        production: CtTotals | None = None
        for block in root.child("production").items():
            kind = block.string("type")
            if kind == "inverters":
                inverters = InverterTotals.from_json(block)
            elif kind == "eim":
                production = CtTotals.from_json(block)
        consumption = root.opt_child("consumption")
        storage = root.opt_child("storage")
        acb_blocks = [] if storage is None else [b for b in storage.items() if b.opt_string("type") == "acb"]
        return cls(
            inverters=inverters,
            production=production,
            consumption=()
            if consumption is None
            else tuple(CtTotals.from_json(b) for b in consumption.items() if b.opt_string("type") == "eim"),
            acb=AcbStorage.from_json(acb_blocks[0]) if acb_blocks else None,
        )


@dataclass(frozen=True, slots=True)
class ApiV1Production:
    power_w: float
    today_wh: float | None
    last_7_days_wh: float | None
    lifetime_wh: float

    @classmethod
    def from_json(cls, body: bytes) -> ApiV1Production:
        root = parse_json(API_V1_PRODUCTION_PATH, body)
        return cls(
            power_w=root.number("wattsNow"),
            today_wh=root.opt_number("wattHoursToday"),
            last_7_days_wh=root.opt_number("wattHoursSevenDays"),
            lifetime_wh=root.number("wattHoursLifetime"),
        )


async def read_production_report(transport: Transport, info: GatewayInfo | None = None) -> ProductionReport:
    """The report with firmware quirks repaired (``info`` tells which firmware answered)."""
    report = ProductionReport.from_json(await transport.get(PRODUCTION_JSON_PATH))
    return quirks.repair_total_consumption(report, info.firmware_version if info else None)


async def read_api_v1_production(transport: Transport) -> ApiV1Production:
    return ApiV1Production.from_json(await transport.get(API_V1_PRODUCTION_PATH))
