"""Each microinverter's last report (every 5-15 minutes): ``/api/v1/production/inverters``, or
``/ivp/pdm/device_data`` on firmware that lacks the former (8.3.5167_3rd-pv)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from . import quirks
from .fields import JsonNode, parse_json
from .transport import Transport

INVERTERS_PATH = "/api/v1/production/inverters"
DEVICE_DATA_PATH = "/ivp/pdm/device_data"
MICROINVERTER_DEVICE_NAME = "pcu"
JOULES_PER_WH = 3600.0
MILLI = 1000.0


@dataclass(frozen=True, slots=True)
class InverterReport:
    serial: str
    power_w: float
    max_power_w: float
    last_report: datetime
    device_type: int | None
    # /ivp/pdm/device_data only (None from /api/v1/production/inverters):
    today_wh: float | None = None
    """The inverter's own energy today (``wattHours.today``)."""
    lifetime_wh: float | None = None
    dc_voltage_v: float | None = None
    dc_current_a: float | None = None
    ac_voltage_v: float | None = None
    ac_frequency_hz: float | None = None
    temperature_c: float | None = None

    @classmethod
    def from_json(cls, node: JsonNode) -> InverterReport:
        return cls(
            serial=node.string("serialNumber"),
            power_w=node.number("lastReportWatts"),
            max_power_w=node.number("maxReportWatts"),
            last_report=datetime.fromtimestamp(node.integer("lastReportDate"), UTC),
            device_type=node.opt_integer("devType"),
        )

    @classmethod
    def from_device_data(cls, node: JsonNode) -> InverterReport:
        """One ``pcu`` record: its first channel's last reading (milli-units), day and lifetime energy."""
        channel = node.child("channels").item(0)
        watts = channel.child("watts")
        reading = channel.child("lastReading")
        energy = channel.opt_child("wattHours")
        lifetime = channel.opt_child("lifetime")
        lifetime_j = lifetime.opt_number("joulesProduced") if lifetime else None
        return cls(
            serial=node.string("sn"),
            power_w=watts.number("now"),
            max_power_w=watts.number("max"),
            last_report=datetime.fromtimestamp(reading.integer("endDate"), UTC),
            device_type=quirks.MICROINVERTER_DEVICE_TYPE,
            today_wh=energy.opt_number("today") if energy else None,
            lifetime_wh=None if lifetime_j is None else lifetime_j / JOULES_PER_WH,
            dc_voltage_v=_milli(reading.opt_number("dcVoltageINmV")),
            dc_current_a=_milli(reading.opt_number("dcCurrentINmA")),
            ac_voltage_v=_milli(reading.opt_number("acVoltageINmV")),
            ac_frequency_hz=_milli(reading.opt_number("acFrequencyINmHz")),
            temperature_c=reading.opt_number("channelTemp"),
        )


def _milli(value: float | None) -> float | None:
    return None if value is None else value / MILLI


@dataclass(frozen=True, slots=True)
class InverterReports:
    inverters: tuple[InverterReport, ...]

    @classmethod
    def from_json(cls, body: bytes) -> InverterReports:
        reports = (InverterReport.from_json(node) for node in parse_json(INVERTERS_PATH, body).items())
        return cls(inverters=tuple(r for r in reports if quirks.is_microinverter(r.device_type)))

    @classmethod
    def from_device_data(cls, body: bytes) -> InverterReports:
        """Devices keyed by eid, beside counters such as ``deviceCount``; active microinverters only."""
        devices = (
            node for _, node in parse_json(DEVICE_DATA_PATH, body).entries() if isinstance(node.value, dict)
        )
        return cls(
            inverters=tuple(
                InverterReport.from_device_data(device)
                for device in devices
                if device.opt_string("devName") == MICROINVERTER_DEVICE_NAME and device.opt_bool("active")
            )
        )


async def read_inverters(transport: Transport) -> InverterReports:
    return InverterReports.from_json(await transport.get(INVERTERS_PATH))


async def read_inverter_device_data(transport: Transport) -> InverterReports:
    return InverterReports.from_device_data(await transport.get(DEVICE_DATA_PATH))
