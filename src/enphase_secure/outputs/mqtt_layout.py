"""What the MQTT output publishes, device by device (pure): the layout's devices, their figures, topics.

``single``: one device with every site figure; ``split``: the table's devices (production, net and total
consumption, storage), each only when it has figures (the consumption devices only with a consumption
CT); one device per inverter in both layouts. Values come from the figures table; instant figures are
null while the snapshot is stale. Figures that move every tick by themselves (an inverter's report age)
are left out: a retained state cannot follow them without a message per tick, and the timestamp next
to them (``last_report``) says the same once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .figures import INVERTER_FIGURES, Device, Point, SiteShape, site_points, split_device, stage_points

SINGLE_DEVICE = "site"
DEVICE_NAMES: Mapping[str, str] = {
    SINGLE_DEVICE: "Enphase gateway",
    Device.PRODUCTION.value: "Enphase production",
    Device.NET_CONSUMPTION.value: "Enphase net consumption",
    Device.TOTAL_CONSUMPTION.value: "Enphase total consumption",
    Device.STORAGE.value: "Enphase storage",
}
MAIN_SPLIT_DEVICE = Device.PRODUCTION.value


def slug(name: str) -> str:
    """A stage name as one MQTT topic level: ``Water heater`` -> ``water_heater``."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "stage"


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic under ``<prefix>/<serial>``."""

    prefix: str
    serial: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.serial}"

    @property
    def status(self) -> str:
        """``online`` / ``offline`` (last will): the service is connected."""
        return f"{self.base}/status"

    @property
    def live(self) -> str:
        """``online`` / ``offline``: the instant figures are fresh (offline while the gateway is stale)."""
        return f"{self.base}/live"

    def device_state(self, device_id: str) -> str:
        return f"{self.base}/{device_id}/state"

    def figure(self, key: str) -> str:
        return f"{self.base}/{key}"

    def inverter_figure(self, inverter: str, key: str) -> str:
        return f"{self.base}/inverter_{inverter}/{key}"

    def stage_state(self, stage: str) -> str:
        return f"{self.base}/control/{slug(stage)}/state"

    def stage_set(self, stage: str) -> str:
        return f"{self.base}/control/{slug(stage)}/set"

    @property
    def stage_set_filter(self) -> str:
        return f"{self.base}/control/+/set"


@dataclass(frozen=True, slots=True)
class LayoutDevice:
    device_id: str  # stable topic level: ``site``, ``prod``..., ``inverter_<serial>``
    name: str
    points: tuple[Point, ...]
    values: Mapping[str, Any]  # the document (site devices) or one inverter's entry
    inverter: str | None = None


def instant_value(point: Point, values: Mapping[str, Any], stale: bool) -> Any:
    if stale and point.figure.traits.instant:
        return None
    return point.value(values)


def layout_devices(document: Mapping[str, Any], layout: str) -> tuple[LayoutDevice, ...]:
    shape = SiteShape.of(document)
    points = site_points(shape) + stage_points(document)
    devices: list[LayoutDevice] = []
    if layout == "single":
        devices.append(LayoutDevice(SINGLE_DEVICE, DEVICE_NAMES[SINGLE_DEVICE], points, document))
    else:
        for device in Device:
            held = tuple(p for p in points if split_device(p.figure, shape) is device)
            if held:
                devices.append(LayoutDevice(device.value, DEVICE_NAMES[device.value], held, document))
    inverter_points = tuple(Point(f) for f in INVERTER_FIGURES if not f.traits.ticking)
    for inverter in inverters(document):
        serial = str(inverter["serial"])
        devices.append(
            LayoutDevice(
                f"inverter_{serial}", f"Enphase inverter {serial}", inverter_points, inverter, serial
            )
        )
    return tuple(devices)


def main_device_id(layout: str) -> str:
    return SINGLE_DEVICE if layout == "single" else MAIN_SPLIT_DEVICE


def stage_names(document: Mapping[str, Any]) -> tuple[str, ...]:
    stages = (document.get("control") or {}).get("stages") or ()
    return tuple(str(s["name"]) for s in stages if isinstance(s, Mapping) and "name" in s)


def inverters(document: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The document's inverters that have a serial, in order: one device each."""
    return [i for i in document.get("inverters") or () if isinstance(i, Mapping) and i.get("serial")]
