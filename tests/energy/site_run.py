"""The whole energy pipeline (readers -> merge -> site accounting) stepped over a simulated site.

The simulator's live source is read in-process (no HTTP, clock paused and advanced by hand) so that days
of ticks run in seconds; the daemon's end-to-end tests do the same over HTTPS, for less simulated time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from enphase_secure.energy.merge import GatewayReadings, merge_snapshot
from enphase_secure.energy.site import Metering, SiteEnergy, account
from enphase_secure.energy.snapshot import Snapshot
from enphase_secure.errors import GatewayStatusError
from enphase_secure.gateway.ensemble import read_ensemble_power
from enphase_secure.gateway.inverters import read_inverter_device_data, read_inverters
from enphase_secure.gateway.meters import read_meter_readings
from enphase_secure.gateway.probe import GatewayCapabilities, probe
from enphase_secure.gateway.production import read_production_report
from enphase_secure.simulator.live import LiveSource, load_scenario_source


class SourceTransport:
    """The Transport protocol served straight from a simulator source."""

    def __init__(self, source: LiveSource) -> None:
        self.source = source

    async def get(self, path: str) -> bytes:
        bare, _, query = path.partition("?")
        params = dict(item.split("=", 1) for item in query.split("&") if "=" in item)
        document = self.source.document(bare, params)
        if document is None or document.status != 200:
            raise GatewayStatusError(path, 404 if document is None else document.status)
        return document.body


class Run:
    """What the daemon does on each tick, for one or more grid meterings side by side."""

    def __init__(
        self,
        scenario: str,
        start: datetime,
        tz: ZoneInfo,
        *,
        tick_s: float = 60.0,
        meterings: tuple[Metering, ...] = ("gateway",),
    ) -> None:
        self.tz = tz
        self.tick_s = tick_s
        self.source = load_scenario_source(scenario, start=start, paused=True, step_s=tick_s / 6)
        self.transport = SourceTransport(self.source)
        self.meterings = meterings
        self.states = {metering: SiteEnergy() for metering in meterings}
        self.snapshots: dict[str, Snapshot] = {}
        self.readings = GatewayReadings()
        self.capabilities: GatewayCapabilities | None = None

    @property
    def state(self) -> SiteEnergy:
        return self.states[self.meterings[0]]

    @state.setter
    def state(self, value: SiteEnergy) -> None:
        self.states[self.meterings[0]] = value

    @property
    def snapshot(self) -> Snapshot | None:
        return self.snapshots.get(self.meterings[0])

    async def start(self) -> None:
        self.capabilities = await probe(self.transport)
        self.readings = self.capabilities.readings

    async def tick(self, *, slow: bool, storage: bool = False) -> None:
        merged = await self.read(slow=slow, storage=storage)
        for metering, state in self.states.items():
            self.snapshots[metering], self.states[metering] = account(
                state, merged, tz=self.tz, metering=metering, max_gap_s=5 * self.tick_s
            )

    async def read(self, *, slow: bool, storage: bool = False) -> Snapshot:
        """The merged snapshot of a tick (before accounting)."""
        caps = self.capabilities
        assert caps is not None
        readings = replace(self.readings, meter_readings=await read_meter_readings(self.transport))
        if slow:
            detailed = caps.answers("/ivp/pdm/device_data")
            reader = read_inverter_device_data if detailed else read_inverters
            readings = replace(readings, inverters=await reader(self.transport))
        if (slow or storage) and caps.iq_battery_count:
            readings = replace(readings, ensemble_power=await read_ensemble_power(self.transport))
        if storage and caps.acb_count:
            report = await read_production_report(self.transport, readings.info)
            readings = replace(readings, production_report=report)
        self.readings = readings
        return merge_snapshot(readings, time=self.source.now())

    async def run_for(
        self, seconds: float, *, outage: tuple[datetime, datetime] | None = None, storage: bool = False
    ) -> None:
        for n in range(int(seconds / self.tick_s)):
            self.source.control_clock(advance_s=self.tick_s)
            now = self.source.now()
            if outage and outage[0] <= now < outage[1]:
                continue
            await self.tick(slow=n % 15 == 0, storage=storage)
