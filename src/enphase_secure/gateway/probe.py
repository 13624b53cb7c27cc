"""What a gateway offers, found once at start (and after a reboot or firmware update).

Endpoints are read one after the other, never in parallel. An endpoint that answers an error status or
a malformed document is listed as unavailable with the reason; the gateway being unreachable, or no
endpoint but ``/info`` accepting the token, is raised to the caller. ``probe`` reads every endpoint
(about 3.5 s at a real gateway's latencies); ``quick_probe`` only what the 1 s loop needs to start.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from ..energy.merge import MAIN_CT_TYPES, GatewayReadings, PhaseLayout, phase_layout
from ..errors import GatewayAuthError, GatewayResponseError
from . import ensemble, inverters, meters, production, quirks
from .info import GatewayInfo, read_info
from .meters import CtConfig
from .transport import Transport

T = TypeVar("T")
REFUSED = "refused"


def _flow_ct_enabled(cts: tuple[CtConfig, ...]) -> bool:
    """A production or consumption CT is enabled: its readings are what the 1 s loop reads. Without one
    a gateway still answers them, with an empty list (no CT, 5.0.62) or its disabled CTs' noise
    (7.3.466_metered_disabled_cts, 8.2.4264_metered_noct): nothing the merge uses."""
    return any(ct.enabled and ct.measurement_type in MAIN_CT_TYPES for ct in cts)


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

    @property
    def fast_path(self) -> str:
        """The endpoint the 1 s loop reads, cheapest first: the CTs' readings, else the production totals
        of a gateway without CTs, else /production.json (always there, a second per read)."""
        if _flow_ct_enabled(self.cts) and self.answers(meters.READINGS_PATH):
            return meters.READINGS_PATH
        if self.answers(production.API_V1_PRODUCTION_PATH):
            return production.API_V1_PRODUCTION_PATH
        return production.PRODUCTION_JSON_PATH


@dataclass(slots=True)
class _Attempts:
    """The endpoints tried so far, in order: each read's value, or None with the reason listed."""

    transport: Transport
    statuses: list[EndpointStatus] = field(default_factory=lambda: [EndpointStatus("/info", True)])

    async def __call__(self, path: str, read: Callable[[Transport], Awaitable[T]]) -> T | None:
        try:
            value = await read(self.transport)
        except GatewayAuthError as err:
            self.statuses.append(EndpointStatus(path, False, f"{REFUSED}: {err}"))
            return None
        except GatewayResponseError as err:
            self.statuses.append(EndpointStatus(path, False, str(err)))
            return None
        self.statuses.append(EndpointStatus(path, True))
        return value

    def capabilities(
        self,
        info: GatewayInfo,
        readings: GatewayReadings,
        layout: PhaseLayout,
        *,
        iq_battery_count: int = 0,
        acb_count: int = 0,
    ) -> GatewayCapabilities:
        """What was found; GatewayAuthError when no endpoint but /info accepts the token."""
        refused = [s.path for s in self.statuses if s.problem and s.problem.startswith(REFUSED)]
        if refused and not any(s.available for s in self.statuses[1:]):
            raise GatewayAuthError(f"no endpoint but /info accepts the token (refused: {', '.join(refused)})")
        found = GatewayCapabilities(
            info=info,
            firmware_supported=quirks.at_least(info.firmware_version, quirks.MIN_SUPPORTED_FIRMWARE),
            cts=readings.meter_config.cts if readings.meter_config else (),
            phase_mode=layout.mode,
            phase_count=layout.count,
            iq_battery_count=iq_battery_count,
            acb_count=acb_count,
            inverter_count=len(readings.inverters.inverters) if readings.inverters else None,
            endpoints=tuple(self.statuses),
            readings=readings,
        )
        return replace(found, readings=_polled(found))


def _polled(caps: GatewayCapabilities) -> GatewayReadings:
    """The probe's readings without those of the fast endpoint the 1 s loop does not read: read once,
    they would stay in the merge for good (/api/v1/production before /production.json's inverters)."""
    readings, fast = caps.readings, caps.fast_path
    return replace(
        readings,
        meter_readings=readings.meter_readings if fast == meters.READINGS_PATH else None,
        api_v1_production=readings.api_v1_production if fast == production.API_V1_PRODUCTION_PATH else None,
    )


async def probe(transport: Transport) -> GatewayCapabilities:
    info = await read_info(transport)
    attempt = _Attempts(transport)
    meter_config = await attempt(meters.METERS_PATH, meters.read_meter_config)
    meter_readings = await attempt(meters.READINGS_PATH, meters.read_meter_readings)
    report = await attempt(
        production.PRODUCTION_JSON_PATH, lambda gw: production.read_production_report(gw, info)
    )
    api_v1 = await attempt(production.API_V1_PRODUCTION_PATH, production.read_api_v1_production)
    # device_data (firmware 8.2.4345+) has each inverter's detail; /api/v1 only its last power
    inverter_reports = await attempt(inverters.DEVICE_DATA_PATH, inverters.read_inverter_device_data)
    if inverter_reports is None:
        inverter_reports = await attempt(inverters.INVERTERS_PATH, inverters.read_inverters)
    inventory = await attempt(ensemble.INVENTORY_PATH, ensemble.read_ensemble_inventory)
    power = await attempt(ensemble.POWER_PATH, ensemble.read_ensemble_power)
    status = await attempt(ensemble.SECCTRL_PATH, ensemble.read_ensemble_status)

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
    acb = report.acb if report else None
    return attempt.capabilities(
        info,
        readings,
        phase_layout(readings),
        iq_battery_count=len(inventory.batteries) if inventory else 0,
        acb_count=acb.active_count if acb and acb.soc_pct is not None else 0,
    )


async def quick_probe(transport: Transport, info: GatewayInfo) -> GatewayCapabilities:
    """Enough to start the 1 s loop (``fast_path``), in a few tenths of a second: ``/ivp/meters`` and,
    without an enabled production or consumption CT, ``/api/v1/production``. The slow endpoints are not
    read (no battery, no inverter, phases unknown): ``probe`` finds them. With enabled CTs their readings
    are taken to answer (the first fast read says if not) rather than read twice."""
    attempt = _Attempts(transport)
    meter_config = await attempt(meters.METERS_PATH, meters.read_meter_config)
    readings = GatewayReadings(info=info, meter_config=meter_config)
    if meter_config is not None and _flow_ct_enabled(meter_config.cts):
        attempt.statuses.append(EndpointStatus(meters.READINGS_PATH, True))
    else:
        api_v1 = await attempt(production.API_V1_PRODUCTION_PATH, production.read_api_v1_production)
        readings = GatewayReadings(info=info, meter_config=meter_config, api_v1_production=api_v1)
    return attempt.capabilities(info, readings, PhaseLayout(None, None, forced=False))
