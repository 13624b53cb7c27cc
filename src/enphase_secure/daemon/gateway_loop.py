"""The daemon's gateway side: connect, probe, then the read loops on their schedules.

Loops (DESIGN.md §2, issue 4):
- fast, every ``polling.interval_s``: ``/ivp/meters/readings`` (without CTs: ``/api/v1/production``,
  else ``/production.json``), handed to the daemon to merge -> account -> publish;
- storage (IQ Battery ensemble) every ``storage_interval_s``; ``/production.json`` every
  ``production_interval_s``; inverters every ``inverters_interval_s``; ``/info`` every ``info_interval_s``
  and after the gateway comes back, re-probing when the firmware changed.
The slow reads share one lock: never two heavy requests in parallel. Nothing a gateway or the cloud
does ends the loop: each read backs off, the figures go stale and it recovers by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from ..config import Config
from ..energy.merge import GatewayReadings
from ..errors import ConfigError, GatewayError, TokenError
from ..gateway import ensemble, inverters, meters, production
from ..gateway.connect import open_gateway, token_provider
from ..gateway.info import read_info
from ..gateway.probe import GatewayCapabilities
from ..gateway.session import GatewaySession, gateway_logger
from ..gateway.token_manager import TokenProvider
from .poller import Poller, backoff_s
from .probe_memory import ProbeMemory, with_probe_readings

PROBE_BACKOFF_CAP_S = 300.0
FAST_BACKOFF_TICKS = 4  # after an outage, fresh figures at most this many poll intervals late
TIMED_FAST_PATHS = frozenset({meters.READINGS_PATH, production.API_V1_PRODUCTION_PATH})
"""The fast reads that ``_fast_reader`` bounds by one request's timeout (0.9 poll interval)."""


class _Reprobe(Exception):
    """The gateway changed (firmware, or the endpoints it answers): poll it afresh."""


class GatewayLoop:
    """Reads one gateway until cancelled (``run``, restartable); what it read is in ``readings``.

    The daemon's callbacks: ``on_fast`` after each good fast read, ``on_fast_failure`` after a failed
    one, ``on_down`` when the gateway cannot be reached at all, ``on_gateway`` with each probed serial.
    """

    def __init__(
        self,
        config: Callable[[], Config],
        *,
        on_fast: Callable[[None], Awaitable[None]],
        on_fast_failure: Callable[[str], Awaitable[None]],
        on_down: Callable[[str], Awaitable[None]],
        on_gateway: Callable[[str], None],
    ) -> None:
        self._config = config
        self._on_fast = on_fast
        self._on_fast_failure = on_fast_failure
        self._on_down = on_down
        self._on_gateway = on_gateway
        self._log = gateway_logger(config().gateway.host)
        self.readings = GatewayReadings()
        self.capabilities: GatewayCapabilities | None = None
        self._session: GatewaySession | None = None
        self.pollers: list[Poller[Any]] = []
        self._slow_lock = asyncio.Lock()
        self.error: str | None = None
        self.tokens: TokenProvider | None = None
        self.failure: Exception | None = None  # the error behind self.error
        self._probes = ProbeMemory(config().storage.state_dir, config().gateway.host, self._log)

    def recovered(self) -> None:
        """A good fast read: the gateway's error is over."""
        if self.error is not None:
            self.error = None
            self.failure = None

    async def run(self) -> None:
        """Connect, probe, poll; on any gateway or token failure back off and start again.

        One token provider serves every reconnection, so that its cache and its cloud backoff hold
        (a wrong password must not hit Enlighten every second).
        """
        self._log = gateway_logger(self._config().gateway.host)
        failures = 0
        tokens: TokenProvider | None = None
        while True:
            try:
                config = self._config()
                gateway, state_dir = config.gateway, config.storage.state_dir
                tokens = self.tokens = tokens or token_provider(gateway, state_dir=state_dir)
                probes = self._probes = ProbeMemory(state_dir, gateway.host, self._log)
                async with open_gateway(gateway, state_dir=state_dir, tokens=tokens) as gw:
                    self._session = gw
                    while True:
                        await gw.check_token()
                        self.capabilities = await probes.capabilities(gw)
                        self._on_gateway(self.capabilities.info.serial)
                        self.readings = self.capabilities.readings
                        failures = 0
                        self.error = None
                        self.failure = None
                        try:
                            await self._poll(gw, self.capabilities)
                        except* _Reprobe:
                            self._log.info("polling the gateway afresh")
            except (GatewayError, TokenError, ConfigError) as err:
                failures += 1
                self.failure = err
                await self._gateway_down(str(err), backoff_s(failures, 1.0, PROBE_BACKOFF_CAP_S))
            except Exception as err:  # a bug must not stop the polling for good
                failures += 1
                self.failure = err
                self._log.exception("unexpected error in the gateway loop, restarting it")
                reason = f"internal error: {err.__class__.__name__}: {err}"
                await self._gateway_down(reason, backoff_s(failures, 1.0, PROBE_BACKOFF_CAP_S))
            finally:
                self._session = None

    async def _gateway_down(self, reason: str, delay_s: float) -> None:
        """Figures go stale; logged once per kind of failure (not per retry), then wait."""
        if (self.error or "").split(";")[0] != reason.split(";", maxsplit=1)[0]:
            self._log.warning("gateway not available (retrying, backing off): %s", reason)
        self.error = reason
        await self._on_down(reason)
        await asyncio.sleep(delay_s)

    async def check_firmware_after_outage(self) -> None:
        """A long outage may be a reboot into new firmware: read /info now (re-probing if it changed)."""
        if self._session is None:
            return
        try:
            async with self._slow_lock:
                await self._read_info(self._session)
        except GatewayError as err:
            self._log.warning("could not re-read /info after the outage: %s", err)

    def _fast_reader(self, gw: GatewaySession, caps: GatewayCapabilities) -> Callable[[], Awaitable[None]]:
        timeout = self._config().polling.interval_s * 0.9
        if caps.fast_path == meters.READINGS_PATH:

            async def read_meters() -> None:
                body = await gw.get(meters.READINGS_PATH, timeout_s=timeout, fast=True)
                self.readings = replace(self.readings, meter_readings=meters.MeterReadings.from_json(body))

            return read_meters
        if caps.fast_path == production.API_V1_PRODUCTION_PATH:

            async def read_api_v1() -> None:
                body = await gw.get(production.API_V1_PRODUCTION_PATH, timeout_s=timeout, fast=True)
                self.readings = replace(
                    self.readings, api_v1_production=production.ApiV1Production.from_json(body)
                )

            return read_api_v1

        async def read_production() -> None:
            await self._read_production(gw)

        return read_production

    async def _read_production(self, gw: GatewaySession) -> None:
        report = await production.read_production_report(gw, self.readings.info)
        self.readings = replace(self.readings, production_report=report)

    async def _read_storage(self, gw: GatewaySession) -> None:
        power = await ensemble.read_ensemble_power(gw)
        status = await ensemble.read_ensemble_status(gw)
        inventory = await ensemble.read_ensemble_inventory(gw)
        self.readings = replace(
            self.readings, ensemble_power=power, ensemble_status=status, ensemble_inventory=inventory
        )

    async def _read_inverters(self, gw: GatewaySession) -> None:
        detailed = self.capabilities is not None and self.capabilities.answers(inverters.DEVICE_DATA_PATH)
        reports = (
            await inverters.read_inverter_device_data(gw) if detailed else await inverters.read_inverters(gw)
        )
        self.readings = replace(self.readings, inverters=reports)

    async def _read_info(self, gw: GatewaySession) -> None:
        info = await read_info(gw)
        known = self.readings.info
        self.readings = replace(self.readings, info=info)
        if known is not None and info.firmware != known.firmware:
            self._log.warning("gateway firmware changed from %s to %s", known.firmware, info.firmware)
            raise _Reprobe

    def _slow(
        self, read: Callable[[GatewaySession], Awaitable[None]], gw: GatewaySession
    ) -> Callable[[], Awaitable[None]]:
        async def locked() -> None:
            async with self._slow_lock:
                await read(gw)

        return locked

    async def _poll(self, gw: GatewaySession, caps: GatewayCapabilities) -> None:
        polling = self._config().polling
        read, first_read = self._fast_reader(gw, caps), asyncio.Event()

        async def read_fast() -> None:
            try:
                await read()
            finally:
                first_read.set()

        fast: Poller[None] = Poller(
            name="fast",
            interval_s=polling.interval_s,
            read=read_fast,
            on_value=self._on_fast,
            on_failure=self._on_fast_failure,
            # the readings' (api/v1's) request has its own shorter timeout: no second timer per tick
            timeout_s=None if caps.fast_path in TIMED_FAST_PATHS else polling.interval_s,
            backoff_cap_s=FAST_BACKOFF_TICKS * polling.interval_s,
            logger=self._log,
        )
        self.pollers = [fast]
        async with asyncio.TaskGroup() as group:
            group.create_task(self._run_poller(fast))
            if not self._probes.partial:
                self._start_slow(group, gw, caps)
            if self._probes.unverified:
                await first_read.wait()  # the first snapshot's request goes first to the gateway
                group.create_task(self._recheck(group, gw, caps))

    def _start_slow(self, group: asyncio.TaskGroup, gw: GatewaySession, caps: GatewayCapabilities) -> None:
        """The slow loops of what ``caps`` says the gateway has, into ``group`` and ``self.pollers``."""
        config = self._config()
        polling = config.polling
        slow: list[tuple[str, float, Callable[[GatewaySession], Awaitable[None]]]] = [
            ("info", polling.info_interval_s, self._read_info),
            ("inverters", polling.inverters_interval_s, self._read_inverters),
        ]
        if caps.iq_battery_count:
            slow.append(("storage", polling.storage_interval_s, self._read_storage))
        if caps.answers(production.PRODUCTION_JSON_PATH):
            interval = polling.storage_interval_s if caps.acb_count else polling.production_interval_s
            slow.append(("production", interval, self._read_production))
        pollers = [
            Poller(
                name=name,
                interval_s=interval,
                read=self._slow(read, gw),
                timeout_s=max(config.gateway.timeout_s, 5.0),
                backoff_cap_s=max(interval, 300.0),
                logger=self._log,
            )
            for name, interval, read in slow
        ]
        self.pollers = [*self.pollers, *pollers]
        for poller in pollers:
            group.create_task(self._run_poller(poller))

    async def _recheck(self, group: asyncio.TaskGroup, gw: GatewaySession, caps: GatewayCapabilities) -> None:
        """Probe fully behind the first snapshots of the remembered or quick probe (probe_memory.py).

        A failed probe is said; polling goes on (the pollers say it too). After the quick probe, whose
        capabilities have no slow loop, it is tried again with backoff until it lands.
        """
        partial = self._probes.partial
        failures, said = 0, ""
        while True:
            async with self._slow_lock:
                try:
                    fresh, same = await self._probes.recheck(gw, caps)
                    break
                except (GatewayError, TokenError) as err:
                    failures += 1
                    if str(err).split(":")[0] != said:  # once per kind of failure, not per retry
                        said = str(err).split(":")[0]
                        self._log.warning("background probe of the gateway failed: %s", err)
            if not partial:
                return
            await asyncio.sleep(backoff_s(failures, 1.0, PROBE_BACKOFF_CAP_S))
        if not same:
            raise _Reprobe
        self.capabilities = fresh
        self.readings = with_probe_readings(self.readings, fresh.readings)
        if partial:
            self._start_slow(group, gw, fresh)

    async def _run_poller(self, poller: Poller[Any]) -> None:
        # the first slow reads come from the probe: start them one interval later
        if poller.name != "fast":
            await asyncio.sleep(poller.interval_s)
        await poller.run()
