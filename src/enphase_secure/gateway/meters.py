"""``/ivp/meters`` (the CTs as configured) and ``/ivp/meters/readings`` (what each CT measures now)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, NamedTuple

from .fields import JsonNode, finite_floats, parse_json
from .transport import Transport

METERS_PATH = "/ivp/meters"
READINGS_PATH = "/ivp/meters/readings"


@dataclass(frozen=True, slots=True)
class CtConfig:
    """One current transformer. Enum-like strings are kept as read: new firmware adds new values."""

    eid: int
    state: str  # "enabled" | "disabled" | ...
    measurement_type: str  # "production" | "net-consumption" | "total-consumption" | "storage" | ...
    phase_mode: str  # "single" | "split" | "three" | ...
    phase_count: int
    metering_status: str | None
    status_flags: tuple[str, ...]

    @property
    def enabled(self) -> bool:
        return self.state == "enabled"

    @classmethod
    def from_json(cls, node: JsonNode) -> CtConfig:
        return cls(
            eid=node.integer("eid"),
            state=node.string("state"),
            measurement_type=node.string("measurementType"),
            phase_mode=node.string("phaseMode"),
            phase_count=node.integer("phaseCount"),
            metering_status=node.opt_string("meteringStatus"),
            status_flags=node.strings("statusFlags"),
        )


@dataclass(frozen=True, slots=True)
class MeterConfig:
    cts: tuple[CtConfig, ...]

    @property
    def enabled(self) -> tuple[CtConfig, ...]:
        return tuple([ct for ct in self.cts if ct.enabled])

    @classmethod
    def from_json(cls, body: bytes) -> MeterConfig:
        return cls(cts=tuple(CtConfig.from_json(node) for node in parse_json(METERS_PATH, body).items()))


# The members the merge reads, in the order of the fields of Measurement and ChannelMeasurement; the
# others (reactive and apparent power and energy, instantaneous demand) are neither kept nor checked.
_TOTAL_KEYS = ("activePower", "actEnergyDlvd", "actEnergyRcvd", "voltage", "current", "pwrFactor", "freq")
_CHANNEL_KEYS = _TOTAL_KEYS[:4]
_total_values = operator.itemgetter(*_TOTAL_KEYS)
_channel_values = operator.itemgetter(*_CHANNEL_KEYS)

# The readings are tuples, read every second and used by the merge only: 15+ of them a tick, each built
# in one C call from the values the bulk path picked (``tuple.__new__``), at a fraction of the cost of a
# frozen dataclass's ``__init__``.
_new = tuple.__new__


class Measurement(NamedTuple):
    """What one CT measures over all its phases. Lifetime counters in Wh."""

    power_w: float
    energy_delivered_wh: float
    energy_received_wh: float
    voltage_v: float | None
    current_a: float | None
    power_factor: float | None
    frequency_hz: float | None

    @classmethod
    def from_json(cls, node: JsonNode) -> Measurement:
        return cls(
            power_w=node.number("activePower"),
            energy_delivered_wh=node.number("actEnergyDlvd"),
            energy_received_wh=node.number("actEnergyRcvd"),
            voltage_v=node.opt_number("voltage"),
            current_a=node.opt_number("current"),
            power_factor=node.opt_number("pwrFactor"),
            frequency_hz=node.opt_number("freq"),
        )


class ChannelMeasurement(NamedTuple):
    """What one phase (channel) of a CT measures. Lifetime counters in Wh."""

    power_w: float
    energy_delivered_wh: float
    energy_received_wh: float
    voltage_v: float | None

    @classmethod
    def from_json(cls, node: JsonNode) -> ChannelMeasurement:
        return cls(
            power_w=node.number("activePower"),
            energy_delivered_wh=node.number("actEnergyDlvd"),
            energy_received_wh=node.number("actEnergyRcvd"),
            voltage_v=node.opt_number("voltage"),
        )


class CtReading(NamedTuple):
    eid: int
    timestamp_s: int | None
    total: Measurement
    channels: tuple[ChannelMeasurement, ...]

    @classmethod
    def from_json(cls, node: JsonNode) -> CtReading:
        channels = node.opt_child("channels")
        return cls(
            eid=node.integer("eid"),
            timestamp_s=node.opt_integer("timestamp"),
            total=Measurement.from_json(node),
            channels=()
            if channels is None
            else tuple(ChannelMeasurement.from_json(c) for c in channels.items()),
        )


@dataclass(frozen=True, slots=True)
class MeterReadings:
    cts: tuple[CtReading, ...]

    def by_eid(self, eid: int) -> CtReading | None:
        for ct in self.cts:
            if ct.eid == eid:
                return ct
        return None

    @classmethod
    def from_json(cls, body: bytes) -> MeterReadings:
        root = parse_json(READINGS_PATH, body)
        fast = readings_in_bulk(root.value)
        return fast if fast is not None else cls.from_node(root)

    @classmethod
    def from_node(cls, root: JsonNode) -> MeterReadings:
        """Field by field: converts integer numbers, reads absent optional members, names the culprit."""
        return cls(cts=tuple(CtReading.from_json(node) for node in root.items()))


_Values = tuple[Any, ...]


def readings_in_bulk(document: Any) -> MeterReadings | None:
    """The readings of a document as gateways write it (every member read present and a number with a
    fraction), all its numbers checked at once; None for anything else."""
    if type(document) is not list:
        return None
    read: list[tuple[int, int | None, _Values, list[_Values]]] = []
    numbers: list[Any] = []
    for ct in document:
        if type(ct) is not dict:
            return None
        eid, timestamp, channels = ct.get("eid"), ct.get("timestamp"), ct.get("channels")
        if type(eid) is not int or not (timestamp is None or type(timestamp) is int):
            return None
        if channels is not None and type(channels) is not list:
            return None
        try:
            total = _total_values(ct)
            measured = [_channel_values(channel) for channel in channels or ()]
        except (KeyError, TypeError):  # a member missing, a channel that is not an object
            return None
        numbers.extend(total)
        for values in measured:
            numbers.extend(values)
        read.append((eid, timestamp, total, measured))
    if not finite_floats(numbers):
        return None
    return MeterReadings(
        tuple(
            [
                CtReading(
                    eid,
                    timestamp,
                    _new(Measurement, total),
                    tuple([_new(ChannelMeasurement, values) for values in measured]),
                )
                for eid, timestamp, total, measured in read
            ]
        )
    )


async def read_meter_config(transport: Transport) -> MeterConfig:
    return MeterConfig.from_json(await transport.get(METERS_PATH))


async def read_meter_readings(transport: Transport) -> MeterReadings:
    return MeterReadings.from_json(await transport.get(READINGS_PATH))
