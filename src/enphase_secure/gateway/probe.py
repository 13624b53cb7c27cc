"""What a gateway offers, found once at start (and after a reboot or firmware update).

Endpoints are read one after the other, never in parallel. An endpoint that answers an error status or
a malformed document is listed as unavailable with the reason; the gateway being unreachable, or no
endpoint but ``/info`` accepting the token, is raised to the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from ..energy.merge import GatewayReadings, phase_layout
from ..errors import GatewayAuthError, GatewayResponseError
from . import ensemble, inverters, meters, production, quirks
from .info import GatewayInfo, read_info
from .meters import CtConfig
from .transport import Transport

T = TypeVar("T")
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class EndpointStatus:
    path: str
    available: bool
    problem: str | None = None  # why not: status, refused, malformed field


@dataclass(frozen=True, slots=True)
class GatewayCapabilities:
    info: GatewayInfo
    firmware_supported: bool  # False below firmware 7 (no token API; out of scope)
    cts: tuple[CtConfig, ...]  # as configured, disabled ones included
    phase_mode: str | None
    phase_count: int | None
    iq_battery_count: int
    acb_count: int
    inverter_count: int | None  # None: the inverters endpoint did not answer
    endpoints: tuple[EndpointStatus, ...]
    readings: GatewayReadings  # what the probe read: enough for a first snapshot

    @property
    def enabled_cts(self) -> tuple[CtConfig, ...]:
        return tuple(ct for ct in self.cts if ct.enabled)

    def has_ct(self, measurement_type: str) -> bool:
        return any(ct.measurement_type == measurement_type for ct in self.enabled_cts)

    def answers(self, path: str) -> bool:
        return any(e.path == path and e.available for e in self.endpoints)


async def probe(transport: Transport) -> GatewayCapabilities:
    info = await read_info(transport)
    statuses: list[EndpointStatus] = [EndpointStatus(path="/info", available=True)]

    async def attempt(path: str, read: Callable[[], Awaitable[T]]) -> T | None:
        try:
            value = await read()
        except GatewayAuthError as err:
            statuses.append(EndpointStatus(path, False, f"{REFUSED}: {err}"))
            return None
        except GatewayResponseError as err:
            statuses.append(EndpointStatus(path, False, str(err)))
            return None
        statuses.append(EndpointStatus(path, True))
        return value

    meter_config = await attempt(meters.METERS_PATH, lambda: meters.read_meter_config(transport))
    meter_readings = await attempt(meters.READINGS_PATH, lambda: meters.read_meter_readings(transport))
    report = await attempt(
        production.PRODUCTION_JSON_PATH, lambda: production.read_production_report(transport, info)
    )
    api_v1 = await attempt(
        production.API_V1_PRODUCTION_PATH, lambda: production.read_api_v1_production(transport)
    )
    # device_data (firmware 8.2.4345+) has each inverter's detail; /api/v1 only its last power
    inverter_reports = await attempt(
        inverters.DEVICE_DATA_PATH, lambda: inverters.read_inverter_device_data(transport)
    )
    if inverter_reports is None:
        inverter_reports = await attempt(
            inverters.INVERTERS_PATH, lambda: inverters.read_inverters(transport)
        )
    inventory = await attempt(ensemble.INVENTORY_PATH, lambda: ensemble.read_ensemble_inventory(transport))
    power = await attempt(ensemble.POWER_PATH, lambda: ensemble.read_ensemble_power(transport))
    status = await attempt(ensemble.SECCTRL_PATH, lambda: ensemble.read_ensemble_status(transport))

    refused = [s.path for s in statuses if s.problem and s.problem.startswith(REFUSED)]
    if refused and not any(s.available for s in statuses[1:]):
        raise GatewayAuthError(f"no endpoint but /info accepts the token (refused: {', '.join(refused)})")

    readings = GatewayReadings(
        info=info,
        meter_config=meter_config,
        meter_readings=meter_readings,
        production_report=report,
        api_v1_production=api_v1,
        inverters=inverter_reports,
        ensemble_inventory=inventory,
        ensemble_power=power,
        ensemble_status=status,
    )
    layout = phase_layout(readings)
    acb = report.acb if report else None
    return GatewayCapabilities(
        info=info,
        firmware_supported=quirks.at_least(info.firmware_version, quirks.MIN_SUPPORTED_FIRMWARE),
        cts=meter_config.cts if meter_config else (),
        phase_mode=layout.mode,
        phase_count=layout.count,
        iq_battery_count=len(inventory.batteries) if inventory else 0,
        acb_count=acb.active_count if acb and acb.soc_pct is not None else 0,
        inverter_count=len(inverter_reports.inverters) if inverter_reports else None,
        endpoints=tuple(statuses),
        readings=readings,
    )
