"""What the history returns: series points, controller events and inverter reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .resolution import Resolution


@dataclass(frozen=True, slots=True)
class Sample:
    """One field at one point: for a power, the tick value or the bucket's mean, min and max;
    for a counter, its last value in the bucket (min and max are then None)."""

    value: float | None
    min: float | None
    max: float | None

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "min": self.min, "max": self.max}


@dataclass(frozen=True, slots=True)
class Point:
    time: datetime  # the tick's time, or the start of the bucket
    ticks: int  # how many ticks the point summarises (1 for a raw tick)
    samples: dict[str, Sample]

    def to_json(self) -> dict[str, Any]:
        samples = {name: s.to_json() for name, s in self.samples.items()}
        return {"time": self.time.isoformat(), "ticks": self.ticks, **samples}


@dataclass(frozen=True, slots=True)
class Series:
    resolution: Resolution
    points: tuple[Point, ...]

    def to_json(self) -> dict[str, Any]:
        return {"resolution": self.resolution.value, "points": [p.to_json() for p in self.points]}


@dataclass(frozen=True, slots=True)
class Event:
    """A controller decision or action outcome."""

    time: datetime
    stage: str
    action: str
    ok: bool
    duration_s: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "stage": self.stage,
            "action": self.action,
            "ok": self.ok,
            "duration_s": self.duration_s,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class InverterReport:
    serial: str
    report_time: datetime
    power_w: float | None
    max_power_w: float | None
    today_wh: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "report_time": self.report_time.isoformat(),
            "power_w": self.power_w,
            "max_power_w": self.max_power_w,
            "today_wh": self.today_wh,
        }
