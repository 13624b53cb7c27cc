"""Firmware quirks of the IQ Gateway, each checked against the captures in ../shared/fixtures/gateways.

Deliberately not used: ``whToday`` / ``whLastSevenDays`` of ``/production.json``. On many firmwares they
reset late, or equal the lifetime counter (8.3.5433: today = 7 days = lifetime), so day counters are
derived from lifetime counters instead (energy/daycounters).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .meters import CtConfig, CtReading, MeterConfig, MeterReadings
    from .production import ApiV1Production, ProductionReport

Version = tuple[int, int, int]

# Token-protected local API; older firmware is out of scope (reported by the probe).
MIN_SUPPORTED_FIRMWARE: Version = (7, 0, 0)

# A channel (phase) of a CT whose voltage is below this is not wired: 7.3.466_with_cts_3phase reports
# phaseCount 3 with 6 V and 11 V on channels 2-3 and phantom lifetime counts there; wired phases read
# 100-277 V.
UNWIRED_PHASE_MAX_VOLTAGE_V = 50.0

# From 8.3.5433 the total-consumption block of /production.json repeats the net-consumption block
# (8.3.5433_tot_is_net_cons: both wNow 428.414, whLifetime 5649402.426, while the total CT of
# /ivp/meters/readings reads 786.5 W = net + production). Recompute it as net + production.
TOTAL_IS_NET_SINCE: Version = (8, 3, 5433)

# From 8.2.4264 a metered gateway whose CTs are all disabled answers /api/v1/production with the
# disabled production CT's near-zero counters (8.2.4264_metered_noct: 1583 Wh lifetime, 4 W, while
# its inverters report 32465106 Wh, 5521 W): the inverters block of /production.json is right.
METERED_WITHOUT_CT_API_V1_WRONG_SINCE: Version = (8, 2, 4264)

# From 8.3.6000 (reported by pyenphase users) a split-phase storage CT sometimes reports one channel
# all zero, and its top level then equals the other channel: the whole reading is wrong.
STORAGE_CT_ONE_CHANNEL_ZERO_SINCE: Version = (8, 3, 6000)

# /api/v1/production/inverters also lists AC Batteries (devType 11); microinverters are devType 1,
# and older firmware leaves devType out.
MICROINVERTER_DEVICE_TYPE = 1


def at_least(version: Version | None, since: Version) -> bool:
    return version is not None and version >= since


def is_microinverter(device_type: int | None) -> bool:
    return device_type is None or device_type == MICROINVERTER_DEVICE_TYPE


def configured_readings(
    config: MeterConfig, readings: MeterReadings
) -> tuple[tuple[CtConfig, CtReading], ...]:
    """Each enabled CT with its reading, matched by ``eid``: the two lists differ in length and order
    (8.3.5xxx adds readings for an unconfigured eid 1023410688). Disabled CTs report noise: ignored."""
    pairs = []
    for ct in config.enabled:
        reading = readings.by_eid(ct.eid)
        if reading is not None:
            pairs.append((ct, reading))
    return tuple(pairs)


def wired_channels(ct: CtConfig, reading: CtReading) -> tuple[int, ...]:
    """Indexes of the channels that are real phases: within ``phaseCount`` (8.2.127_with_3cts: the net
    CT's 3rd channel repeats the storage CT's 2nd) and with a live voltage (a missing voltage is trusted)."""
    return tuple(
        [
            index
            for index, channel in enumerate(reading.channels[: ct.phase_count])
            if channel.voltage_v is None or channel.voltage_v >= UNWIRED_PHASE_MAX_VOLTAGE_V
        ]
    )


def production_block_active(active_count: int) -> bool:
    """An ``eim`` block with ``activeCount`` 0 holds stale or bogus values (disabled CTs, and
    intermittently from 5.3.5528 on): never use it."""
    return active_count > 0


def repair_total_consumption(report: ProductionReport, version: Version | None) -> ProductionReport:
    total, net, production = report.total_consumption, report.net_consumption, report.production
    if not (
        at_least(version, TOTAL_IS_NET_SINCE)
        and total is not None
        and net is not None
        and total.power_w == net.power_w
        and total.lifetime_wh == net.lifetime_wh
    ):
        return report
    repaired = None if production is None else net.with_added(production)
    consumption = tuple(c for c in report.consumption if c is not total)
    if repaired is not None:
        consumption = (replace(repaired, measurement_type=total.measurement_type), *consumption)
    return replace(report, consumption=consumption)


def api_v1_production_usable(
    api: ApiV1Production, *, version: Version | None, metered: bool, has_enabled_ct: bool
) -> bool:
    """False when /api/v1/production is known to lie: all counters zero (8.3.5422 without CTs), or a
    metered gateway without enabled CTs (see METERED_WITHOUT_CT_API_V1_WRONG_SINCE)."""
    if all(not value for value in (api.today_wh, api.last_7_days_wh, api.lifetime_wh)):
        return False
    return not (metered and not has_enabled_ct and at_least(version, METERED_WITHOUT_CT_API_V1_WRONG_SINCE))


def storage_reading_broken(ct: CtConfig, reading: CtReading, version: Version | None) -> bool:
    """The STORAGE_CT_ONE_CHANNEL_ZERO_SINCE anomaly on this storage CT's reading."""
    if not (
        at_least(version, STORAGE_CT_ONE_CHANNEL_ZERO_SINCE)
        and ct.measurement_type == "storage"
        and ct.phase_count == 2
        and len(reading.channels) >= 2
    ):
        return False
    total = reading.total
    for zero, other in (
        (reading.channels[0], reading.channels[1]),
        (reading.channels[1], reading.channels[0]),
    ):
        if (
            zero.energy_delivered_wh == 0
            and zero.energy_received_wh == 0
            and other.energy_delivered_wh != 0
            and (other.energy_delivered_wh, other.energy_received_wh)
            == (total.energy_delivered_wh, total.energy_received_wh)
        ):
            return True
    return False
