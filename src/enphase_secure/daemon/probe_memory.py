"""The gateway's probe remembered in the state dir, so that a start polls within a second.

A full probe reads every endpoint one after the other: about 3.5 s at a real gateway's latencies
(``/production.json`` alone takes a second). What it finds (which endpoints answer, the phase layout,
the batteries) only changes with the firmware, so it is remembered in ``gateway_probe.json``. At the
next start, ``/info`` (same serial and firmware?) and ``/ivp/meters`` (the CT configuration) are read,
the remembered answers do the rest and polling starts at once: the first snapshot comes from the fast
endpoint, the figures of the slow ones null until they answered. The full probe then runs again in
the background (``recheck``): its readings fill those figures, and a gateway that no longer answers
as remembered is polled again from the fresh probe. No remembered probe (the first start), another
serial or firmware, or an unreadable file: the quick probe (``/ivp/meters``, the fast endpoint) starts
the polling in the same way (``partial``: the slow loops wait for the full probe behind it).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..energy.merge import GatewayReadings
from ..energy.state_json import JsonObject
from ..errors import EnphaseSecureError
from ..gateway import meters
from ..gateway.info import GatewayInfo, read_info
from ..gateway.probe import EndpointStatus, GatewayCapabilities, probe, quick_probe
from ..gateway.transport import Transport

FILE_NAME = "gateway_probe.json"
VERSION = 1


@dataclass(frozen=True, slots=True)
class RememberedProbe:
    """What a probe found that only a firmware change changes (not the readings, not the CT setup)."""

    host: str
    serial: str
    firmware: str
    firmware_supported: bool
    phase_mode: str | None
    phase_count: int | None
    iq_battery_count: int
    acb_count: int
    inverter_count: int | None
    endpoints: tuple[tuple[str, bool], ...]  # (path, answers), in probe order

    @classmethod
    def of(cls, host: str, caps: GatewayCapabilities) -> RememberedProbe:
        return cls(
            host=host,
            serial=caps.info.serial,
            firmware=caps.info.firmware,
            firmware_supported=caps.firmware_supported,
            phase_mode=caps.phase_mode,
            phase_count=caps.phase_count,
            iq_battery_count=caps.iq_battery_count,
            acb_count=caps.acb_count,
            inverter_count=caps.inverter_count,
            endpoints=tuple((e.path, e.available) for e in caps.endpoints),
        )

    def describes(self, info: GatewayInfo) -> bool:
        """The same gateway (serial), on the same firmware."""
        return (info.serial, info.firmware) == (self.serial, self.firmware)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "host": self.host,
            "serial": self.serial,
            "firmware": self.firmware,
            "firmware_supported": self.firmware_supported,
            "phase_mode": self.phase_mode,
            "phase_count": self.phase_count,
            "iq_battery_count": self.iq_battery_count,
            "acb_count": self.acb_count,
            "inverter_count": self.inverter_count,
            "endpoints": [{"path": path, "available": available} for path, available in self.endpoints],
        }

    @classmethod
    def from_json(cls, value: object) -> RememberedProbe:
        obj = JsonObject.of(value, "gateway_probe")
        if obj.data.get("version") != VERSION:
            raise ValueError(f"version {obj.data.get('version')!r}, not {VERSION}")
        optional = {key: obj.optional_number(key) for key in ("phase_count", "inverter_count")}
        phase_mode = obj.data.get("phase_mode")
        if phase_mode is not None and not isinstance(phase_mode, str):
            raise ValueError(f"phase_mode: expected a string, got {phase_mode!r}")
        return cls(
            host=obj.text("host"),
            serial=obj.text("serial"),
            firmware=obj.text("firmware"),
            firmware_supported=obj.flag("firmware_supported"),
            phase_mode=phase_mode,
            phase_count=None if optional["phase_count"] is None else int(optional["phase_count"]),
            iq_battery_count=int(obj.number("iq_battery_count")),
            acb_count=int(obj.number("acb_count")),
            inverter_count=None if optional["inverter_count"] is None else int(optional["inverter_count"]),
            endpoints=tuple(
                (e.text("path"), e.flag("available")) for e in obj.items("endpoints", JsonObject.of)
            ),
        )


class ProbeMemory:
    """The remembered probe of one gateway (``host``) in ``state_dir``."""

    def __init__(self, state_dir: Path, host: str, logger: logging.Logger | logging.LoggerAdapter[Any]):
        self._path = state_dir / FILE_NAME
        self._host = host
        self._log = logger
        self._remembered: RememberedProbe | None = None  # None: nothing usable (see capabilities)
        self._fresh: GatewayCapabilities | None = None  # a full probe not used yet (see recheck)
        self.unverified = False  # the capabilities in use come from memory or the quick probe: recheck
        self.partial = False  # ... from the quick probe: only the fast endpoint is known

    async def capabilities(self, transport: Transport) -> GatewayCapabilities:
        """The remembered capabilities when the gateway's serial and firmware still match, else the
        quick probe's (``partial``)."""
        fresh, self._fresh = self._fresh, None
        self.unverified = self.partial = False
        if fresh is not None:
            return fresh
        remembered = self._remembered or self._load()
        info = await read_info(transport)
        self._remembered = None
        if remembered is not None and remembered.describes(info):
            self._remembered, self.unverified = remembered, True
            return await _from_memory(transport, info, remembered)
        if remembered is not None:
            self._log.info(
                "gateway %s firmware %s, remembered %s %s: probing it again",
                info.serial,
                info.firmware,
                remembered.serial,
                remembered.firmware,
            )
        caps = await quick_probe(transport, info)
        self.unverified = self.partial = True
        return caps

    async def recheck(
        self, transport: Transport, in_use: GatewayCapabilities
    ) -> tuple[GatewayCapabilities, bool]:
        """Probe fully: the capabilities, and whether polling goes on as it is (the gateway answers as
        remembered; after the quick probe, the same fast endpoint). If not, the next ``capabilities``
        call returns these without probing again."""
        self.unverified = False
        used = self._remembered  # None after the quick probe
        caps = self._save(await probe(transport))
        if used is None:
            same = caps.fast_path == in_use.fast_path
            if not same:
                self._log.info("the full probe says to poll %s, not %s", caps.fast_path, in_use.fast_path)
        else:
            same = self._remembered == used
            if not same:
                self._log.warning(
                    "the gateway no longer answers as at the last start: polling it as it does now"
                )
        if not same:
            self._fresh = caps
        return caps, same

    def _load(self) -> RememberedProbe | None:
        try:
            remembered = RememberedProbe.from_json(json.loads(self._path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EnphaseSecureError) as err:
            self._log.warning(
                "remembered gateway probe %s unreadable, probing the gateway: %s", self._path, err
            )
            return None
        return remembered if remembered.host == self._host else None

    def _save(self, caps: GatewayCapabilities) -> GatewayCapabilities:
        remembered = self._remembered = RememberedProbe.of(self._host, caps)
        temporary = self._path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(remembered.to_json(), indent=1), encoding="utf-8")
            os.replace(temporary, self._path)
        except OSError as err:
            self._log.warning("cannot remember the gateway probe in %s: %s", self._path, err.strerror)
        return caps


async def _from_memory(
    transport: Transport, info: GatewayInfo, remembered: RememberedProbe
) -> GatewayCapabilities:
    """The remembered capabilities with the CT configuration read now (it is not remembered)."""
    meter_config = (
        await meters.read_meter_config(transport)
        if (meters.METERS_PATH, True) in remembered.endpoints
        else None
    )
    return GatewayCapabilities(
        info=info,
        firmware_supported=remembered.firmware_supported,
        cts=meter_config.cts if meter_config else (),
        phase_mode=remembered.phase_mode,
        phase_count=remembered.phase_count,
        iq_battery_count=remembered.iq_battery_count,
        acb_count=remembered.acb_count,
        inverter_count=remembered.inverter_count,
        endpoints=tuple(EndpointStatus(path, ok) for path, ok in remembered.endpoints),
        readings=GatewayReadings(info=info, meter_config=meter_config),
    )


def with_probe_readings(current: GatewayReadings, probed: GatewayReadings) -> GatewayReadings:
    """The probe's readings, except the fast endpoints' that polling has read since (fresher)."""
    return replace(
        probed,
        meter_readings=current.meter_readings or probed.meter_readings,
        api_v1_production=current.api_v1_production or probed.api_v1_production,
    )
