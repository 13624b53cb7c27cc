"""The stepped site model: integrates every power of a scenario exactly, step by step.

Powers are constant over each fixed step (computed at the step's start); counters, truth and battery
all integrate those same values, so a lifetime counter equals the truth exactly. Steps are split at
local midnight and at the gateway's own (late) daily reset so that day totals are exact as well.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from .physics import (
    BatteryLimits,
    base_load_w,
    battery_dispatch_w,
    battery_stored_after_wh,
    sun_factor,
    unit_hash,
)
from .scenario import Scenario

# Per-phase quantities in the energy vector (Wh), each phase has one of each.
PRODUCTION, CONSUMPTION, IMPORT, EXPORT, CHARGE, DISCHARGE = range(6)
PER_PHASE = 6
QUANTITY_NAMES = ("production", "consumption", "import", "export", "battery_charge", "battery_discharge")

INVERTER_REPORT_INTERVAL_S = 300
DAYS_KEPT = 62
GATEWAY_DAYS_KEPT = 6  # the gateway's whLastSevenDays = today + the 6 days before


@dataclass(frozen=True, slots=True)
class InverterUnit:
    serial: str
    phase: int  # 0-based
    peak_w: float
    gain_w: float  # output at sun factor 1
    report_offset_s: float
    max_report_w: int


@dataclass(frozen=True, slots=True)
class InverterReport:
    date_ts: int
    watts: int


@dataclass(frozen=True, slots=True)
class DayRecord:
    day: date
    energy_wh: tuple[float, ...]


def phase_slot(phase: int, quantity: int) -> int:
    return phase * PER_PHASE + quantity


def next_local_midnight(ts: float, zone: ZoneInfo) -> float:
    local_day = datetime.fromtimestamp(ts, zone).date()
    return datetime.combine(local_day + timedelta(days=1), datetime.min.time(), zone).timestamp()


class SiteModel:
    """Mutable state of one simulated site; time only moves by ``advance_to``."""

    def __init__(self, scenario: Scenario, *, seed: int, start_ts: float, step_s: float) -> None:
        if step_s <= 0:
            raise ValueError("step_s must be > 0")
        self.scenario = scenario
        self.seed = seed
        self.zone = ZoneInfo(scenario.timezone)
        self.start_ts = start_ts
        self.step_s = step_s
        self.phase_count = scenario.phase_count
        self.balanced_import = PER_PHASE * self.phase_count
        self.balanced_export = self.balanced_import + 1
        self.sun_hours = self.balanced_import + 2
        self.size = self.balanced_import + 3

        self.inverters = _inverter_units(scenario, seed)
        self.phase_gain_w = [0.0] * self.phase_count
        for unit in self.inverters:
            self.phase_gain_w[unit.phase] += unit.gain_w

        battery = scenario.battery
        self.battery_limits = (
            BatteryLimits(
                max_power_w=battery.max_power_w * battery.units,
                min_wh=battery.capacity_wh * battery.units * battery.soc_min_pct / 100.0,
                max_wh=battery.capacity_wh * battery.units * battery.soc_max_pct / 100.0,
                efficiency=battery.efficiency,
            )
            if battery
            else None
        )
        self.battery_capacity_wh = battery.capacity_wh * battery.units if battery else 0.0
        self.stored_wh = self.battery_capacity_wh * battery.soc_start_pct / 100.0 if battery else 0.0
        self.load_on = {load.name: load.on for load in scenario.loads}
        self.extra_load_w = [0.0] * self.phase_count  # per phase: the dimmable loads (simulator.dimmer)

        self.step_index = 0
        self.t = start_ts
        self.version = 0
        self.lifetime = [0.0] * self.size
        self.day_baseline = [0.0] * self.size
        self.day_start_ts = start_ts
        self.days: deque[DayRecord] = deque(maxlen=DAYS_KEPT)
        self.gateway_baseline = [0.0] * self.size
        self.gateway_days: deque[tuple[float, ...]] = deque(maxlen=GATEWAY_DAYS_KEPT)
        self._next_midnight = next_local_midnight(start_ts, self.zone)
        self._next_gateway_reset = self._gateway_reset_after(start_ts)
        self._offset_from = self._offset_until = 0.0
        self._offset_s = 0.0
        self._reports: list[tuple[int, InverterReport]] = [
            (
                math.floor((start_ts - unit.report_offset_s) / INVERTER_REPORT_INTERVAL_S) - 288,
                InverterReport(0, 0),
            )
            for unit in self.inverters
        ]
        self.powers: list[float] = []
        self.net_w: list[float] = []
        self.battery_w = 0.0
        self._compute_powers()

    # ---- time

    def local_time(self) -> datetime:
        return datetime.fromtimestamp(self.t, self.zone)

    def step_start(self, ts: float) -> float:
        """Start of the step that contains ``ts`` (powers are constant within it)."""
        return self.start_ts + self.step_s * math.floor((ts - self.start_ts) / self.step_s)

    def sun_at(self, ts: float) -> float:
        sun = self.scenario.sun
        return sun_factor(self.seed, self.step_start(ts), sun.latitude_deg, sun.longitude_deg, sun.clouds)

    def advance_to(self, target_ts: float) -> None:
        """Integrate whole steps up to ``target_ts`` (never backwards)."""
        steps = math.floor((target_ts - self.start_ts) / self.step_s + 1e-9) - self.step_index
        for _ in range(max(steps, 0)):
            self._step()

    def _step(self) -> None:
        end = self.start_ts + (self.step_index + 1) * self.step_s
        position = self.t
        while min(self._next_midnight, self._next_gateway_reset) <= end:
            event = min(self._next_midnight, self._next_gateway_reset)
            self._integrate(event - position)
            position = event
            if event == self._next_midnight:
                self._close_day(event)
            if event == self._next_gateway_reset:
                self._gateway_reset(event)
        self._integrate(end - position)
        self.step_index += 1
        self.t = end
        self._compute_powers()

    def _integrate(self, seconds: float) -> None:
        if seconds <= 0:
            return
        hours = seconds / 3600.0
        lifetime = self.lifetime
        for index, power in enumerate(self.powers):
            lifetime[index] += power * hours
        if self.battery_limits:
            self.stored_wh = battery_stored_after_wh(
                self.stored_wh, self.battery_w, self.battery_limits, seconds
            )

    def _close_day(self, midnight_ts: float) -> None:
        ended = datetime.fromtimestamp(midnight_ts - 1, self.zone).date()
        energy = tuple(now - then for now, then in zip(self.lifetime, self.day_baseline, strict=True))
        self.days.append(DayRecord(ended, energy))
        self.day_baseline = list(self.lifetime)
        self.day_start_ts = midnight_ts
        self._next_midnight = next_local_midnight(midnight_ts, self.zone)

    def _gateway_reset(self, reset_ts: float) -> None:
        self.gateway_days.append(
            tuple(now - then for now, then in zip(self.lifetime, self.gateway_baseline, strict=True))
        )
        self.gateway_baseline = list(self.lifetime)
        self._next_gateway_reset = self._gateway_reset_after(reset_ts)

    def _gateway_reset_after(self, ts: float) -> float:
        late = self.scenario.gateway_reset_late_s
        return next_local_midnight(ts - late, self.zone) + late

    # ---- powers

    def _local_hour(self, ts: float) -> float:
        if not self._offset_from <= ts < self._offset_until:
            offset = datetime.fromtimestamp(ts, self.zone).utcoffset()
            self._offset_s = offset.total_seconds() if offset else 0.0
            self._offset_from = math.floor(ts / 3600.0) * 3600.0
            self._offset_until = self._offset_from + 3600.0
        return ((ts + self._offset_s) % 86_400.0) / 3600.0

    def _compute_powers(self) -> None:
        scenario = self.scenario
        ts = self.t
        sun = self.sun_at(ts)
        hour = self._local_hour(ts)
        load = scenario.load
        production = [gain * sun for gain in self.phase_gain_w]
        consumption = [
            base_load_w(self.seed + 101 * (phase + 1), ts, hour, load.base_w[phase], load.noise)
            for phase in range(self.phase_count)
        ]
        for switchable in scenario.loads:
            if self.load_on[switchable.name]:
                consumption[switchable.phase - 1] += switchable.power_w
        consumption = [w + extra for w, extra in zip(consumption, self.extra_load_w, strict=True)]
        battery_phase = scenario.battery.phase - 1 if scenario.battery else 0
        self.battery_w = (
            battery_dispatch_w(
                sum(consumption) - sum(production), self.stored_wh, self.battery_limits, self.step_s
            )
            if self.battery_limits
            else 0.0
        )
        powers = [0.0] * self.size
        net = []
        for phase in range(self.phase_count):
            battery = self.battery_w if phase == battery_phase else 0.0
            phase_net = consumption[phase] - production[phase] - battery
            net.append(phase_net)
            base = phase * PER_PHASE
            powers[base + PRODUCTION] = production[phase]
            powers[base + CONSUMPTION] = consumption[phase]
            powers[base + IMPORT] = max(phase_net, 0.0)
            powers[base + EXPORT] = max(-phase_net, 0.0)
            powers[base + CHARGE] = max(-battery, 0.0)
            powers[base + DISCHARGE] = max(battery, 0.0)
        total_net = sum(net)
        powers[self.balanced_import] = max(total_net, 0.0)
        powers[self.balanced_export] = max(-total_net, 0.0)
        powers[self.sun_hours] = sun
        self.powers = powers
        self.net_w = net
        self.version += 1

    # ---- loads

    def set_load(self, name: str, on: bool) -> None:
        """Switch a load now: the current step is recomputed at once (KeyError for an unknown name)."""
        if name not in self.load_on:
            raise KeyError(name)
        self.load_on[name] = on
        self._compute_powers()

    def set_extra_load(self, per_phase_w: list[float]) -> None:
        self.extra_load_w = list(per_phase_w)
        self._compute_powers()

    # ---- derived views

    def power(self, phase: int, quantity: int) -> float:
        return self.powers[phase_slot(phase, quantity)]

    def total_power(self, quantity: int) -> float:
        return sum(self.powers[phase_slot(phase, quantity)] for phase in range(self.phase_count))

    def energy(self, phase: int, quantity: int) -> float:
        """Lifetime (since start) energy of one phase, Wh."""
        return self.lifetime[phase_slot(phase, quantity)]

    def total_energy(self, quantity: int) -> float:
        return sum(self.lifetime[phase_slot(phase, quantity)] for phase in range(self.phase_count))

    def today(self, slot: int) -> float:
        return self.lifetime[slot] - self.day_baseline[slot]

    def gateway_today(self, slot: int) -> float:
        return self.lifetime[slot] - self.gateway_baseline[slot]

    def gateway_last_seven_days(self, slot: int) -> float:
        return self.gateway_today(slot) + sum(day[slot] for day in self.gateway_days)

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.stored_wh / self.battery_capacity_wh if self.battery_capacity_wh else 0.0

    def inverter_reports(self) -> list[InverterReport]:
        """Each inverter's last report: every 5 min (staggered), none while the sun is down."""
        reports = []
        for index, unit in enumerate(self.inverters):
            checked_slot, report = self._reports[index]
            latest_slot = math.floor((self.t - unit.report_offset_s) / INVERTER_REPORT_INTERVAL_S)
            for slot in range(latest_slot, max(checked_slot, latest_slot - 288), -1):
                report_ts = unit.report_offset_s + slot * INVERTER_REPORT_INTERVAL_S
                sun = self.sun_at(report_ts)
                if sun > 0.0:
                    report = InverterReport(int(report_ts), round(unit.gain_w * sun))
                    break
            self._reports[index] = (latest_slot, report)
            reports.append(report)
        return reports


def _inverter_units(scenario: Scenario, seed: int) -> tuple[InverterUnit, ...]:
    units: list[InverterUnit] = []
    for group in scenario.inverters:
        for _ in range(group.count):
            index = len(units)
            efficiency = 0.94 + 0.05 * unit_hash(seed ^ 0x1111, index)
            units.append(
                InverterUnit(
                    serial=f"4822{int(unit_hash(seed ^ 0x2222, index) * 1e8):08d}",
                    phase=group.phase - 1,
                    peak_w=group.peak_w,
                    gain_w=group.peak_w * efficiency,
                    report_offset_s=math.floor(unit_hash(seed ^ 0x3333, index) * INVERTER_REPORT_INTERVAL_S),
                    max_report_w=round(group.peak_w * (0.96 + 0.03 * unit_hash(seed ^ 0x4444, index))),
                )
            )
    return tuple(units)
