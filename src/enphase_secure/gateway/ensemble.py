"""The IQ Battery (Encharge) side: ``/ivp/ensemble/inventory`` (units, charge), ``/ivp/ensemble/power``
(power per unit) and ``/ivp/ensemble/secctrl`` (aggregate charge and energy)."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import JsonNode, parse_json
from .transport import Transport

INVENTORY_PATH = "/ivp/ensemble/inventory"
POWER_PATH = "/ivp/ensemble/power"
SECCTRL_PATH = "/ivp/ensemble/secctrl"
BATTERY_DEVICE_TYPE = "ENCHARGE"
# The gateway really spells this key with a trailing colon.
POWER_DEVICES_KEY = "devices:"
# The inventory names a unit's phase "ph-a", "ph-b", "ph-c" (8.2.127 capture); anything else: unknown.
PHASE_NAMES = {"ph-a": 1, "ph-b": 2, "ph-c": 3}


@dataclass(frozen=True, slots=True)
class BatteryUnit:
    serial: str
    soc_pct: float
    capacity_wh: float | None
    temperature_c: float | None = None
    phase: int | None = None
    """1-based phase from the inventory's ``phase``; None when absent or not one of PHASE_NAMES."""

    @classmethod
    def from_json(cls, node: JsonNode) -> BatteryUnit:
        phase = node.opt_string("phase")
        return cls(
            serial=node.string("serial_num"),
            soc_pct=node.number("percentFull"),
            capacity_wh=node.opt_number("encharge_capacity"),
            temperature_c=node.opt_number("temperature"),
            phase=PHASE_NAMES.get(phase) if phase is not None else None,
        )


@dataclass(frozen=True, slots=True)
class EnsembleInventory:
    batteries: tuple[BatteryUnit, ...]
    device_types: tuple[str, ...]  # every ``type`` listed (ENCHARGE, ENPOWER, COLLAR, ...), kept as read

    @classmethod
    def from_json(cls, body: bytes) -> EnsembleInventory:
        groups = list(parse_json(INVENTORY_PATH, body).items())
        batteries = tuple(
            BatteryUnit.from_json(device)
            for group in groups
            if group.string("type") == BATTERY_DEVICE_TYPE
            for device in group.child("devices").items()
        )
        return cls(batteries=batteries, device_types=tuple(group.string("type") for group in groups))


@dataclass(frozen=True, slots=True)
class BatteryPower:
    """One unit; ``power_w`` > 0 while discharging (the gateway reports milliwatts)."""

    serial: str
    power_w: float
    soc_pct: float | None

    @classmethod
    def from_json(cls, node: JsonNode) -> BatteryPower:
        return cls(
            serial=node.string("serial_num"),
            power_w=node.number("real_power_mw") / 1000.0,
            soc_pct=node.opt_number("soc"),
        )


@dataclass(frozen=True, slots=True)
class EnsemblePower:
    units: tuple[BatteryPower, ...]

    @property
    def power_w(self) -> float:
        return sum(unit.power_w for unit in self.units)

    @classmethod
    def from_json(cls, body: bytes) -> EnsemblePower:
        devices = parse_json(POWER_PATH, body).child(POWER_DEVICES_KEY)
        return cls(units=tuple(BatteryPower.from_json(node) for node in devices.items()))


@dataclass(frozen=True, slots=True)
class EnsembleStatus:
    """``/ivp/ensemble/secctrl``: ``agg_*`` covers IQ Batteries and ACBs together, ``ENC_*`` IQ only."""

    soc_pct: float
    iq_soc_pct: float | None
    iq_available_wh: float | None
    iq_capacity_wh: float | None
    acb_soc_pct: float | None
    acb_available_wh: float | None
    capacity_wh: float | None

    @classmethod
    def from_json(cls, body: bytes) -> EnsembleStatus:
        root = parse_json(SECCTRL_PATH, body)
        return cls(
            soc_pct=root.number("agg_soc"),
            iq_soc_pct=root.opt_number("ENC_agg_soc"),
            iq_available_wh=root.opt_number("ENC_agg_avail_energy"),
            iq_capacity_wh=root.opt_number("Enc_max_available_capacity"),
            acb_soc_pct=root.opt_number("ACB_agg_soc"),
            acb_available_wh=root.opt_number("ACB_agg_energy"),
            capacity_wh=root.opt_number("Max_energy"),
        )


async def read_ensemble_inventory(transport: Transport) -> EnsembleInventory:
    return EnsembleInventory.from_json(await transport.get(INVENTORY_PATH))


async def read_ensemble_power(transport: Transport) -> EnsemblePower:
    return EnsemblePower.from_json(await transport.get(POWER_PATH))


async def read_ensemble_status(transport: Transport) -> EnsembleStatus:
    return EnsembleStatus.from_json(await transport.get(SECCTRL_PATH))
