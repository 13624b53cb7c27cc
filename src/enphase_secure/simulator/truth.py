"""The simulator's ground truth: exact energy integrals of the model, for tests to compare against."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .model import QUANTITY_NAMES, SiteModel, phase_slot


def energy_block(model: SiteModel, energy_wh: Sequence[float]) -> dict[str, Any]:
    """Per quantity: per-phase and total Wh, plus balanced import/export (the phases netted)."""
    block: dict[str, Any] = {}
    for quantity, name in enumerate(QUANTITY_NAMES):
        phases = [energy_wh[phase_slot(phase, quantity)] for phase in range(model.phase_count)]
        block[name] = {"phases": phases, "total": sum(phases)}
    block["balanced_import"] = energy_wh[model.balanced_import]
    block["balanced_export"] = energy_wh[model.balanced_export]
    return block


def truth_document(model: SiteModel, battery_serials: Sequence[str]) -> dict[str, Any]:
    today = [now - then for now, then in zip(model.lifetime, model.day_baseline, strict=True)]
    local = model.local_time()
    sun_today_h = today[model.sun_hours]
    sun_lifetime_h = model.lifetime[model.sun_hours]
    battery = model.scenario.battery
    return {
        "time": local.isoformat(),
        "timestamp": model.t,
        "scenario": model.scenario.name,
        "serial": model.scenario.gateway.serial,
        "phase_count": model.phase_count,
        "step_s": model.step_s,
        "power_w": {
            "production": [model.power(phase, 0) for phase in range(model.phase_count)],
            "consumption": [model.power(phase, 1) for phase in range(model.phase_count)],
            "net": list(model.net_w),
            "balanced_net": sum(model.net_w),
            "battery": model.battery_w,
        },
        "lifetime": {"since": _iso(model, model.start_ts), **energy_block(model, model.lifetime)},
        "today": {
            "date": local.date().isoformat(),
            "since": _iso(model, model.day_start_ts),
            **energy_block(model, today),
        },
        "days": [{"date": day.day.isoformat(), **energy_block(model, day.energy_wh)} for day in model.days],
        "battery": {
            "kind": battery.kind,
            "serials": list(battery_serials),
            "soc_pct": model.soc_pct,
            "stored_wh": model.stored_wh,
            "capacity_wh": model.battery_capacity_wh,
            "min_wh": model.battery_limits.min_wh if model.battery_limits else 0.0,
            "max_wh": model.battery_limits.max_wh if model.battery_limits else 0.0,
        }
        if battery
        else None,
        "inverters": [
            {
                "serial": unit.serial,
                "phase": unit.phase + 1,
                "power_w": unit.gain_w * model.powers[model.sun_hours],
                "today_wh": unit.gain_w * sun_today_h,
                "lifetime_wh": unit.gain_w * sun_lifetime_h,
            }
            for unit in model.inverters
        ],
        "loads": dict(model.load_on),
    }


def _iso(model: SiteModel, ts: float) -> str:
    return datetime.fromtimestamp(ts, model.zone).isoformat()
