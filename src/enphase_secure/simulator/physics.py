"""Pure functions of simulated time: sun, clouds, household load, battery dispatch.

Everything here is a deterministic function of (seed, POSIX time), so a scenario replays identically
and any past instant (an inverter's last report, for instance) can be recomputed without state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_MASK = (1 << 64) - 1
_J2000 = 946_684_800.0  # 2000-01-01T00:00Z
_TROPICAL_YEAR_DAYS = 365.2422
_AXIAL_TILT_RAD = math.radians(23.44)
CLOUD_BUCKET_S = 900.0
LOAD_BUCKET_S = 300.0


def unit_hash(seed: int, key: int) -> float:
    """A reproducible pseudo-random number in [0, 1) for (seed, key) (splitmix64 finaliser)."""
    x = (seed * 0x9E3779B97F4A7C15 + key * 0xBF58476D1CE4E5B9 + 0x632BE59BD9B4E019) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return (x ^ (x >> 31)) / 18446744073709551616.0


def value_noise(seed: int, ts: float, bucket_s: float) -> float:
    """Smooth noise in [0, 1): random values every ``bucket_s`` seconds, linearly interpolated."""
    position = ts / bucket_s
    index = math.floor(position)
    frac = position - index
    return unit_hash(seed, index) * (1.0 - frac) + unit_hash(seed, index + 1) * frac


def clear_sky_factor(ts: float, latitude_deg: float, longitude_deg: float) -> float:
    """Clear-sky output of a PV array as a fraction of its peak (0 at night), by date and solar time."""
    days = (ts - _J2000) / 86_400.0
    year_angle = 2.0 * math.pi * ((days % _TROPICAL_YEAR_DAYS) - 80.0) / _TROPICAL_YEAR_DAYS
    declination = _AXIAL_TILT_RAD * math.sin(year_angle)
    solar_hours = (ts % 86_400.0) / 3600.0 + longitude_deg / 15.0
    hour_angle = math.radians(15.0 * (solar_hours - 12.0))
    latitude = math.radians(latitude_deg)
    sin_elevation = math.sin(latitude) * math.sin(declination) + math.cos(latitude) * math.cos(
        declination
    ) * math.cos(hour_angle)
    if sin_elevation <= 0.0:
        return 0.0
    return 0.92 * float(sin_elevation**1.2)


def cloud_factor(seed: int, ts: float, clouds: float) -> float:
    """Share of clear-sky output that gets through: each day has its cloudiness, clouds pass by."""
    day_cloudiness = clouds * unit_hash(seed ^ 0x5EED, math.floor(ts / 86_400.0))
    return 1.0 - 0.8 * day_cloudiness * value_noise(seed ^ 0xC10D, ts, CLOUD_BUCKET_S)


def sun_factor(seed: int, ts: float, latitude_deg: float, longitude_deg: float, clouds: float) -> float:
    clear = clear_sky_factor(ts, latitude_deg, longitude_deg)
    return clear * cloud_factor(seed, ts, clouds) if clear > 0.0 else 0.0


# Household shape over the local day, relative to the base load, one value per hour.
_DAILY_SHAPE = (
    0.7, 0.6, 0.6, 0.6, 0.6, 0.7, 1.1, 1.6, 1.4, 1.0, 0.9, 1.0,
    1.2, 1.0, 0.9, 0.9, 1.0, 1.3, 1.8, 2.0, 1.8, 1.5, 1.1, 0.8,
)  # fmt: skip


def base_load_w(seed: int, ts: float, local_hour: float, base_w: float, noise: float) -> float:
    """Household consumption of one phase (without switchable loads), watts."""
    hour = int(local_hour) % 24
    frac = local_hour - math.floor(local_hour)
    shape = _DAILY_SHAPE[hour] * (1.0 - frac) + _DAILY_SHAPE[(hour + 1) % 24] * frac
    wobble = 1.0 + noise * (2.0 * value_noise(seed, ts, LOAD_BUCKET_S) - 1.0)
    return base_w * shape * wobble


@dataclass(frozen=True, slots=True)
class BatteryLimits:
    max_power_w: float
    min_wh: float
    max_wh: float
    efficiency: float


def battery_dispatch_w(net_w: float, stored_wh: float, limits: BatteryLimits, step_s: float) -> float:
    """Battery power for the next step (> 0 discharging): absorb surplus, cover deficit, within SOC limits.

    ``net_w`` is the site's balance without the battery (consumption - production). The limits hold
    for the whole step, so the stored energy stays exactly within [min_wh, max_wh].
    """
    hours = step_s / 3600.0
    if net_w < 0.0:
        room_w = max(limits.max_wh - stored_wh, 0.0) / (limits.efficiency * hours)
        return -min(-net_w, limits.max_power_w, room_w)
    available_w = max(stored_wh - limits.min_wh, 0.0) * limits.efficiency / hours
    return min(net_w, limits.max_power_w, available_w)


def battery_stored_after_wh(
    stored_wh: float, battery_w: float, limits: BatteryLimits, seconds: float
) -> float:
    hours = seconds / 3600.0
    if battery_w < 0.0:
        return stored_wh - battery_w * limits.efficiency * hours
    return stored_wh - battery_w / limits.efficiency * hours
