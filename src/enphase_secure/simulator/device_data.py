"""``/ivp/pdm/device_data`` from the site model, in the shape of the 8.2.4345_with_device_data and
8.3.5169 captures: one ``pcu`` record per microinverter keyed by its eid, beside ``deviceCount`` and
``deviceDataLimit``. Values agree with the other documents of the same instant: ``watts.now`` and
``lastReading.endDate`` are the inverter's last report of /api/v1/production/inverters, the AC voltage
is its phase's voltage in /ivp/meters/readings, the energies are the truth's (``wattHours.today`` the
inverter's energy since local midnight, ``lifetime.joulesProduced`` its lifetime in joules).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..gateway.info import firmware_version
from .model import INVERTER_REPORT_INTERVAL_S
from .physics import unit_hash

if TYPE_CHECKING:
    from .documents import GatewayRenderer

DEVICE_DATA_SINCE = (8, 2, 4345)
"""The first firmware that answers /ivp/pdm/device_data."""
FIRST_DEVICE_EID = 553648384
DEVICE_EID_STEP = 256
CHANNEL_EID_BASE = 1627390225
DEVICE_DATA_LIMIT = 50
JOULES_PER_WH = 3600


def serves_device_data(firmware: str) -> bool:
    version = firmware_version(firmware.lstrip("DR"))
    return version is not None and version >= DEVICE_DATA_SINCE


def device_data_document(renderer: GatewayRenderer) -> dict[str, Any]:
    model = renderer.model
    sun_today_h = model.today(model.sun_hours)
    sun_lifetime_h = model.lifetime[model.sun_hours]
    sun_yesterday_h = model.days[-1].energy_wh[model.sun_hours] if model.days else 0.0
    sun_week_h = sun_today_h + sum(day.energy_wh[model.sun_hours] for day in list(model.days)[-6:])
    document: dict[str, Any] = {}
    for index, (unit, report) in enumerate(zip(model.inverters, model.inverter_reports(), strict=True)):
        eid = FIRST_DEVICE_EID + DEVICE_EID_STEP * index
        channel_eid = CHANNEL_EID_BASE + DEVICE_EID_STEP * index
        origin_wh = 200_000.0 + 800_000.0 * unit_hash(model.seed ^ 0x5151, index)
        ac_v = renderer.voltage(unit.phase)
        dc_v = 30.0 + 6.0 * unit_hash(model.seed ^ 0x6161, index)
        watts = report.watts
        document[str(eid)] = {
            "devName": "pcu",
            "sn": unit.serial,
            "active": True,
            "modGone": False,
            "channels": [
                {
                    "chanEid": channel_eid,
                    "created": report.date_ts,
                    "wattHours": {
                        "today": round(unit.gain_w * sun_today_h),
                        "yesterday": round(unit.gain_w * sun_yesterday_h),
                        "week": round(unit.gain_w * sun_week_h),
                    },
                    "watts": {"now": watts, "nowUsed": 0, "max": unit.max_report_w},
                    "lastReading": {
                        "eid": channel_eid,
                        "interval_type": 0,
                        "endDate": report.date_ts,
                        "duration": INVERTER_REPORT_INTERVAL_S,
                        "flags": 0,
                        "flags_hex": "0x0000000000000000",
                        "joulesProduced": watts * INVERTER_REPORT_INTERVAL_S,
                        "acVoltageINmV": round(ac_v * 1000),
                        "acFrequencyINmHz": round(renderer.freq_hz * 1000),
                        "dcVoltageINmV": round(dc_v * 1000),
                        "dcCurrentINmA": round(watts / (dc_v * 0.965) * 1000),
                        "channelTemp": round(18 + watts / 15),
                        "pwrConvErrSecs": 0,
                        "pwrConvMaxErrCycles": 0,
                        "joulesUsed": 0,
                        "leadingVArs": 0,
                        "laggingVArs": round(0.1 * watts),
                        "acCurrentInmA": round(watts / ac_v * 1000) if ac_v else 0,
                        "l1NAcVoltageInmV": 0,
                        "l2NAcVoltageInmV": 0,
                        "l3NAcVoltageInmV": 0,
                        "rssi": 110,
                        "issi": 68,
                    },
                    "lifetime": {
                        "createdTime": int(model.start_ts) - 86_400 * 400,
                        "duration": int(model.t - model.start_ts) + 86_400 * 400,
                        "joulesProduced": round((origin_wh + unit.gain_w * sun_lifetime_h) * JOULES_PER_WH),
                    },
                }
            ],
        }
    document["deviceCount"] = len(model.inverters)
    document["deviceDataLimit"] = DEVICE_DATA_LIMIT
    return document
