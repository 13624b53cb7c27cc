"""``/api/v1/production/inverters``: each microinverter's last report (every 5-15 minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from . import quirks
from .fields import JsonNode, parse_json
from .transport import Transport

INVERTERS_PATH = "/api/v1/production/inverters"


@dataclass(frozen=True, slots=True)
class InverterReport:
    serial: str
    power_w: float
    max_power_w: float
    last_report: datetime
    device_type: int | None

    @classmethod
    def from_json(cls, node: JsonNode) -> InverterReport:
        return cls(
            serial=node.string("serialNumber"),
            power_w=node.number("lastReportWatts"),
            max_power_w=node.number("maxReportWatts"),
            last_report=datetime.fromtimestamp(node.integer("lastReportDate"), UTC),
            device_type=node.opt_integer("devType"),
        )


@dataclass(frozen=True, slots=True)
class InverterReports:
    inverters: tuple[InverterReport, ...]

    @classmethod
    def from_json(cls, body: bytes) -> InverterReports:
        reports = (InverterReport.from_json(node) for node in parse_json(INVERTERS_PATH, body).items())
        return cls(inverters=tuple(r for r in reports if quirks.is_microinverter(r.device_type)))


async def read_inverters(transport: Transport) -> InverterReports:
    return InverterReports.from_json(await transport.get(INVERTERS_PATH))
