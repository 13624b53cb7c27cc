"""The daemon: polls the gateway on fixed schedules, accounts energy, stores history, serves the API.

Loops (DESIGN.md §2, issue 4):
- fast, every ``polling.interval_s``: ``/ivp/meters/readings`` (without CTs: ``/api/v1/production``,
  else ``/production.json``), then merge -> account -> publish;
- storage (IQ Battery ensemble) every ``storage_interval_s``; ``/production.json`` every
  ``production_interval_s``; inverters every ``inverters_interval_s``; ``/info`` every ``info_interval_s``
  and after the gateway comes back, re-probing when the firmware changed.
The slow reads share one lock: never two heavy requests in parallel. Nothing a gateway, the cloud or an
output does makes the daemon exit: each loop backs off, marks its figures stale and recovers by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..config import Config, control_plan
from ..control.state import ControllerState
from ..energy.day_close import closing_snapshot
from ..energy.merge import GatewayReadings, merge_snapshot
from ..energy.site import SiteEnergy, account
from ..energy.snapshot import Snapshot
from ..errors import ConfigError, GatewayError, TokenError
from ..gateway import ensemble, inverters, meters, production
from ..gateway.connect import open_gateway, token_provider
from ..gateway.info import read_info
from ..gateway.probe import GatewayCapabilities
from ..gateway.session import GatewaySession, gateway_logger
from ..gateway.token_manager import TokenProvider
from ..outputs.build import build_outputs
from ..outputs.bus import Health, OutputBus, Update
from ..storage import HistorySettings, Series
from ..web.history_query import default_span
from ..web.stream import EventStream
from .clock_guard import WallClockCheck
from .control_loop import ControlLoop
from .energy_state import EnergyStateStore, SiteState
from .poller import Poller, backoff_s
from .probe_memory import ProbeMemory, with_probe_readings
from .stale import stale_snapshot
from .storage_guard import StorageGuard
from .web_server import ApiServer

Clock = Callable[[], datetime]
REBOOT_CHECK_AFTER_S = 5.0  # an outage this long may have been a reboot (firmware update)
FRESH_TICKS = 3  # for the controller, a reading older than this many poll intervals is no reading
PROBE_BACKOFF_CAP_S = 300.0
FAST_BACKOFF_TICKS = 4  # after an outage, fresh figures at most this many poll intervals late


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Reprobe(Exception):
    """The gateway changed (firmware, or the endpoints it answers): poll it afresh."""


class Daemon:
    """One gateway's service. ``run()`` until cancelled; ``apply_config`` for hot reload.

    ``monotonic`` drives the controller's timers; by default ``time.monotonic``, or, with an injected
    ``clock`` (a simulation), that clock's own timeline.
    """

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utc_now,
        dry_run: bool = False,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        if monotonic is None:
            monotonic = time.monotonic if clock is utc_now else lambda: clock().timestamp()
        self._monotonic = monotonic
        self._dry_run = dry_run
        self._control: ControlLoop | None = None
        self._control_task: asyncio.Task[None] | None = None
        self._log = gateway_logger(config.gateway.host)
        self._wall_check = WallClockCheck(self._log, self._monotonic)
        self._latest: Snapshot | None = None
        self._last_ok: datetime | None = None
        self._last_ok_monotonic: float | None = None
        self._outage_since: float | None = None  # monotonic start of the current fast-loop outage
        self._readings = GatewayReadings()
        self._capabilities: GatewayCapabilities | None = None
        self._site = SiteEnergy()
        self._site_serial: str | None = None  # the gateway whose counters self._site follows
        self._storage = StorageGuard(
            config.storage.history_url,
            settings=HistorySettings(
                timezone=config.site.timezone,
                raw_interval_s=max(
                    config.polling.interval_s, config.storage.raw_interval_s or config.polling.interval_s
                ),
            ),
            clock=clock,
            logger=self._log,
        )
        self._energy_state = EnergyStateStore(self._storage, clock=clock, logger=self._log)
        self._probes = ProbeMemory(config.storage.state_dir, config.gateway.host, self._log)
        self._session: GatewaySession | None = None
        self._pollers: list[Poller[Any]] = []
        self._slow_lock = asyncio.Lock()
        self._gateway_error: str | None = None
        self._tokens: TokenProvider | None = None
        self.gateway_failure: Exception | None = None  # the error behind _gateway_error
        self._gateway_task: asyncio.Task[None] | None = None
        self._stream = EventStream()  # the dashboard's SSE: one for the daemon's life, across reloads
        self._api = ApiServer(self, self._log, stream=self._stream)
        self._bus = OutputBus([], clock=clock, logger=self._log)
        self.web_url: str | None = None
        self.ready = asyncio.Event()

    # --- what the web layer reads -------------------------------------------------------------
    def latest_snapshot(self) -> Snapshot | None:
        return self._latest

    def fresh_snapshot(self) -> Snapshot | None:
        """The latest snapshot if it is not stale and came within the last few poll intervals."""
        snapshot, at = self._latest, self._last_ok_monotonic
        if snapshot is None or snapshot.staleness.stale or at is None:
            return None
        if time.monotonic() - at > FRESH_TICKS * self.config.polling.interval_s:
            return None
        return snapshot

    def status(self) -> dict[str, Any]:
        caps = self._capabilities
        info = caps.info if caps else None
        return {
            "gateway": {
                "host": self.config.gateway.host,
                "serial": info.serial if info else None,
                "firmware": info.firmware if info else None,
                "part_number": info.part_number if info else None,
                "phase_count": caps.phase_count if caps else None,
                "cts": [ct.measurement_type for ct in caps.enabled_cts] if caps else [],
                "error": self._gateway_error,
            },
            "token": {
                "mode": self.config.gateway.token_mode,
                "expires_at": expires.isoformat() if (expires := self._token_expires_at()) else None,
            },
            "last_poll": self._last_ok.isoformat() if self._last_ok else None,
            "stale": self._latest.staleness.stale if self._latest else True,
            "grid_metering": self.config.site.grid_metering,
            "loops": {p.name: p.status() for p in self._pollers},
            "history": self._storage.status(),
            "api": self._api.status(),
            "outputs": self._bus.status(),
            "dashboard": {"layout": self.config.publish.layout, "timezone": self.config.site.timezone},
        }

    def _token_expires_at(self) -> datetime | None:
        return self._tokens.expires_at if self._tokens is not None else None

    @property
    def site_energy(self) -> SiteEnergy:
        """The day counters, grid integrator and inverter estimates as they stand."""
        return self._site

    def control_view(self) -> dict[str, Any]:
        if self._control is None:
            return {"enabled": False, "stages": []}
        return self._control.view()

    async def set_control_mode(self, stage: str, mode: str) -> None:
        """Manual override of one stage: KeyError (no such stage), ValueError (no such mode)."""
        if self._control is None:
            raise KeyError(stage)
        await self._control.set_mode(stage, mode)

    async def history(
        self, fields: list[str], start: datetime | None, end: datetime | None, resolution: str
    ) -> Series:
        zone = self.config.site.zone
        end = end.replace(tzinfo=end.tzinfo or zone) if end else self._clock()
        start = start.replace(tzinfo=start.tzinfo or zone) if start else end - default_span(resolution)
        if start >= end:
            raise ValueError("start must be before end")
        return await self._storage.read(lambda history: history.series(fields, start, end, resolution))

    # --- lifecycle ----------------------------------------------------------------------------
    async def run(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            await self._open_history()
            stack.push_async_callback(self._storage.close)
            await self._restore_state()
            self._energy_state.keep(self._site_state)
            await self._start_control(ControllerState())
            stack.push_async_callback(self._stop_control, shutting_down=True)
            await self._start_web(self.config)
            stack.push_async_callback(self._api.stop)
            await self._start_outputs()
            stack.push_async_callback(self._stop_outputs)  # the bus of the day: a reload replaces it
            self._gateway_task = asyncio.create_task(self._run_gateway(), name="gateway")
            self.ready.set()
            try:
                await asyncio.Future()  # until cancelled
            finally:
                self._gateway_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._gateway_task

    async def apply_config(self, new: Config) -> None:
        """Hot reload: the gateway and polling sections restart the gateway loop, the rest applies live.

        ConfigError (nothing changed) when the new web.listen cannot be bound.
        """
        if new.web != self.config.web:
            await self._start_web(new)
        old, self.config = self.config, new
        if (new.control, new.publish, new.site, new.polling) != (
            old.control,
            old.publish,
            old.site,
            old.polling,
        ):
            state = await self._stop_control()
            await self._start_control(state)
        if new.publish != old.publish:
            await self._bus.stop()
            await self._start_outputs()
        if new.storage != old.storage:
            self._log.warning("storage settings change at the next restart of the daemon")
        if (new.gateway, new.polling, new.site.phases) != (old.gateway, old.polling, old.site.phases):
            self._log.info("gateway or polling settings changed: reconnecting")
            if self._gateway_task is not None:
                self._gateway_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._gateway_task
            self._log = gateway_logger(new.gateway.host)
            self._gateway_task = asyncio.create_task(self._run_gateway(), name="gateway")

    async def _start_control(self, state: ControllerState) -> None:
        settings, actions = control_plan(self.config)
        if not settings.stages:
            return
        if self._dry_run:
            settings = replace(settings, dry_run=True)
        control = ControlLoop(
            settings=settings,
            actions=actions,
            history=self._storage.history,
            latest=self.fresh_snapshot,
            interval_s=self.config.polling.interval_s,
            clock=self._clock,
            monotonic=self._monotonic,
            logger=self._log,
        )
        if state.stages:
            control.take_over(state)
        else:
            await control.restore()
        self._control = control
        self._control_task = asyncio.create_task(control.run(), name="control")

    async def _stop_outputs(self) -> None:
        await self._bus.stop()

    async def _start_outputs(self) -> None:
        self._bus = OutputBus(
            [*build_outputs(self.config, logger=self._log, control=self), self._stream],
            clock=self._clock,
            logger=self._log,
        )
        await self._bus.start()

    def latest_update(self) -> Update | None:
        """The latest snapshot with the service's health and the controller's view (for /metrics)."""
        if self._latest is None:
            return None
        return Update(self._latest, self.health(), self.control_view())

    def health(self) -> Health:
        info = self._capabilities.info if self._capabilities else None
        return Health(
            gateway_online=self._latest is not None and not self._latest.staleness.stale,
            firmware=info.firmware if info else None,
            token_expires_at=self._token_expires_at(),
            last_poll=self._last_ok,
        )

    async def _stop_control(self, *, shutting_down: bool = False) -> ControllerState:
        """Stop the controller loop (the daemon stopping: stages to their on_shutdown); its state."""
        control, task = self._control, self._control_task
        self._control, self._control_task = None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if shutting_down and control is not None:
            await control.shutdown()
        return control.state if control is not None else ControllerState()

    async def _open_history(self) -> None:
        """ConfigError when the state_dir cannot be created; a history that cannot open is reported."""
        state_dir = self.config.storage.state_dir
        try:
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise ConfigError(f"storage.state_dir {str(state_dir)!r}: {err.strerror}") from err
        await self._storage.open()

    async def _restore_state(self) -> None:
        restored = await self._energy_state.restore()
        if restored is not None:
            self._site, self._site_serial = restored

    def _site_state(self) -> SiteState:
        return self._site_serial, self._site

    async def _start_web(self, new: Config) -> None:
        """ConfigError naming web.listen when it cannot be bound (the previous server stays)."""
        await self._api.start(new.web, new.storage.state_dir)
        self.web_url = self._api.url

    # --- the gateway ----------------------------------------------------------------------------
    async def _run_gateway(self) -> None:
        """Connect, probe, poll; on any gateway or token failure back off and start again.

        One token provider serves every reconnection, so that its cache and its cloud backoff hold
        (a wrong password must not hit Enlighten every second).
        """
        failures = 0
        tokens: TokenProvider | None = None
        while True:
            try:
                gateway, state_dir = self.config.gateway, self.config.storage.state_dir
                tokens = self._tokens = tokens or token_provider(gateway, state_dir=state_dir)
                probes = self._probes = ProbeMemory(state_dir, gateway.host, self._log)
                async with open_gateway(gateway, state_dir=state_dir, tokens=tokens) as gw:
                    self._session = gw
                    while True:
                        self._capabilities = await probes.capabilities(gw)
                        self._follow_gateway(self._capabilities.info.serial)
                        await gw.check_token()
                        self._readings = self._capabilities.readings
                        failures = 0
                        self._gateway_error = None
                        self.gateway_failure = None
                        try:
                            await self._poll(gw, self._capabilities)
                        except* _Reprobe:
                            self._log.info("gateway changed: polling it afresh")
            except (GatewayError, TokenError, ConfigError) as err:
                failures += 1
                self.gateway_failure = err
                await self._gateway_down(str(err), backoff_s(failures, 1.0, PROBE_BACKOFF_CAP_S))
            except Exception as err:  # a bug must not stop the polling for good
                failures += 1
                self.gateway_failure = err
                self._log.exception("unexpected error in the gateway loop, restarting it")
                reason = f"internal error: {err.__class__.__name__}: {err}"
                await self._gateway_down(reason, backoff_s(failures, 1.0, PROBE_BACKOFF_CAP_S))
            finally:
                self._session = None

    async def _gateway_down(self, reason: str, delay_s: float) -> None:
        """Figures go stale; logged once per kind of failure (not per retry), then wait."""
        if (self._gateway_error or "").split(";")[0] != reason.split(";", maxsplit=1)[0]:
            self._log.warning("gateway not available (retrying, backing off): %s", reason)
        self._gateway_error = reason
        await self._publish_stale(reason)
        await asyncio.sleep(delay_s)

    def _follow_gateway(self, serial: str) -> None:
        """Another gateway's lifetime counters must not continue this one's days: start afresh."""
        if self._site_serial is not None and serial != self._site_serial:
            self._log.warning(
                "now reading gateway %s instead of %s: day counters start afresh", serial, self._site_serial
            )
            self._site = SiteEnergy()
        self._site_serial = serial

    def _fast_reader(self, gw: GatewaySession, caps: GatewayCapabilities) -> Callable[[], Awaitable[None]]:
        timeout = self.config.polling.interval_s * 0.9
        if caps.answers(meters.READINGS_PATH):

            async def read_meters() -> None:
                body = await gw.get(meters.READINGS_PATH, timeout_s=timeout)
                self._readings = replace(self._readings, meter_readings=meters.MeterReadings.from_json(body))

            return read_meters
        if caps.answers(production.API_V1_PRODUCTION_PATH):

            async def read_api_v1() -> None:
                body = await gw.get(production.API_V1_PRODUCTION_PATH, timeout_s=timeout)
                self._readings = replace(
                    self._readings, api_v1_production=production.ApiV1Production.from_json(body)
                )

            return read_api_v1

        async def read_production() -> None:
            await self._read_production(gw)

        return read_production

    async def _read_production(self, gw: GatewaySession) -> None:
        report = await production.read_production_report(gw, self._readings.info)
        self._readings = replace(self._readings, production_report=report)

    async def _read_storage(self, gw: GatewaySession) -> None:
        power = await ensemble.read_ensemble_power(gw)
        status = await ensemble.read_ensemble_status(gw)
        inventory = await ensemble.read_ensemble_inventory(gw)
        self._readings = replace(
            self._readings, ensemble_power=power, ensemble_status=status, ensemble_inventory=inventory
        )

    async def _read_inverters(self, gw: GatewaySession) -> None:
        detailed = self._capabilities is not None and self._capabilities.answers(inverters.DEVICE_DATA_PATH)
        reports = (
            await inverters.read_inverter_device_data(gw) if detailed else await inverters.read_inverters(gw)
        )
        self._readings = replace(self._readings, inverters=reports)

    async def _read_info(self, gw: GatewaySession) -> None:
        info = await read_info(gw)
        known = self._readings.info
        self._readings = replace(self._readings, info=info)
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
        polling = self.config.polling
        fast: Poller[None] = Poller(
            name="fast",
            interval_s=polling.interval_s,
            read=self._fast_reader(gw, caps),
            on_value=self._on_fast,
            on_failure=self._on_fast_failure,
            timeout_s=polling.interval_s,
            backoff_cap_s=FAST_BACKOFF_TICKS * polling.interval_s,
            logger=self._log,
        )
        slow: list[tuple[str, float, Callable[[GatewaySession], Awaitable[None]]]] = [
            ("info", polling.info_interval_s, self._read_info),
            ("inverters", polling.inverters_interval_s, self._read_inverters),
        ]
        if caps.iq_battery_count:
            slow.append(("storage", polling.storage_interval_s, self._read_storage))
        if caps.answers(production.PRODUCTION_JSON_PATH):
            interval = polling.storage_interval_s if caps.acb_count else polling.production_interval_s
            slow.append(("production", interval, self._read_production))
        self._pollers = [fast] + [
            Poller(
                name=name,
                interval_s=interval,
                read=self._slow(read, gw),
                timeout_s=max(self.config.gateway.timeout_s, 5.0),
                backoff_cap_s=max(interval, 300.0),
                logger=self._log,
            )
            for name, interval, read in slow
        ]
        async with asyncio.TaskGroup() as group:
            for poller in self._pollers:
                group.create_task(self._run_poller(poller))
            if self._probes.unverified:
                group.create_task(self._recheck(gw))

    async def _recheck(self, gw: GatewaySession) -> None:
        """Probe again behind the remembered probe's first snapshots (probe_memory.py)."""
        async with self._slow_lock:
            try:
                fresh, same = await self._probes.recheck(gw)
            except (GatewayError, TokenError) as err:  # the pollers say it too: polling goes on
                self._log.warning("background probe of the gateway failed: %s", err)
                return
            if not same:
                raise _Reprobe
            self._capabilities = fresh
            self._readings = with_probe_readings(self._readings, fresh.readings)

    async def _run_poller(self, poller: Poller[Any]) -> None:
        # the first slow reads come from the probe: start them one interval later
        if poller.name != "fast":
            await asyncio.sleep(poller.interval_s)
        await poller.run()

    # --- publishing -----------------------------------------------------------------------------
    async def _on_fast(self, _: None) -> None:
        now = self._clock()
        if not self._wall_check.trusted(now):
            return
        merged = merge_snapshot(self._readings, time=now, phases=self.config.site.phases)
        site = self.config.site
        max_gap_s = 5 * self.config.polling.interval_s
        snapshot, self._site = account(
            self._site, merged, tz=site.zone, metering=site.grid_metering, max_gap_s=max_gap_s
        )
        if self._latest is not None and self._last_ok is not None:
            closing = closing_snapshot(
                self._latest,
                self._site,
                last_ok=self._last_ok,
                now=now,
                tz=site.zone,
                metering=site.grid_metering,
                max_gap_s=max_gap_s,
            )
            if closing is not None:  # an outage spanned midnight: yesterday's row gets its final split
                await self._store(closing)
        self._last_ok = now
        self._last_ok_monotonic = time.monotonic()
        if self._gateway_error is not None:
            self._gateway_error = None
            self.gateway_failure = None
        await self._publish(snapshot)
        outage_since, self._outage_since = self._outage_since, None
        if outage_since is not None and time.monotonic() - outage_since >= REBOOT_CHECK_AFTER_S:
            await self._check_firmware_after_outage()

    async def _check_firmware_after_outage(self) -> None:
        """A long outage may be a reboot into new firmware: read /info now (re-probing if it changed)."""
        if self._session is None:
            return
        try:
            async with self._slow_lock:
                await self._read_info(self._session)
        except GatewayError as err:
            self._log.warning("could not re-read /info after the outage: %s", err)

    async def _on_fast_failure(self, reason: str) -> None:
        if self._outage_since is None:
            self._outage_since = time.monotonic()
        await self._publish_stale(reason)

    async def _publish_stale(self, reason: str) -> None:
        if self._latest is None or self._last_ok is None or not self._wall_check.trusted(self._clock()):
            return
        await self._publish(
            stale_snapshot(
                self._latest,
                now=self._clock(),
                last_ok=self._last_ok,
                reason=reason,
                tz=self.config.site.zone,
            )
        )

    async def _publish(self, snapshot: Snapshot) -> None:
        self._latest = snapshot
        self._bus.offer(Update(snapshot, self.health(), self.control_view()))
        await self._store(snapshot)

    async def _store(self, snapshot: Snapshot) -> None:
        await self._storage.write("history write", lambda history: history.append(snapshot))
