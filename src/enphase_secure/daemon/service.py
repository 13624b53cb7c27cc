"""The daemon: runs the gateway loop, accounts energy, stores history, publishes, serves the API.

The gateway's read loops are in gateway_loop.py; here each fast read becomes a snapshot (merge ->
account -> publish). Nothing a gateway, the cloud or an output does makes the daemon exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ..config import Config, control_plan
from ..control.state import ControllerState
from ..energy.day_close import closing_snapshot
from ..energy.merge import merge_snapshot
from ..energy.site import SiteEnergy, account
from ..energy.snapshot import Snapshot
from ..errors import ConfigError
from ..gateway.session import gateway_logger
from ..outputs.build import build_outputs
from ..outputs.bus import Health, OutputBus, Update
from ..storage import HistorySettings, Series
from ..web.history_query import default_span
from ..web.stream import EventStream
from .clock_guard import WallClockCheck
from .control_loop import ControlLoop
from .energy_state import EnergyStateStore, SiteState
from .gateway_loop import GatewayLoop
from .stale import stale_snapshot
from .storage_guard import StorageGuard
from .web_server import ApiServer

Clock = Callable[[], datetime]
REBOOT_CHECK_AFTER_S = 5.0  # an outage this long may have been a reboot (firmware update)
FRESH_TICKS = 3  # for the controller, a reading older than this many poll intervals is no reading


def utc_now() -> datetime:
    return datetime.now(UTC)


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
        self._secrets = config.file_secrets()
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
        self._gateway = GatewayLoop(
            lambda: self.config,
            on_fast=self._on_fast,
            on_fast_failure=self._on_fast_failure,
            on_down=self._publish_stale,
            on_gateway=self._follow_gateway,
        )
        self._gateway_task: asyncio.Task[None] | None = None
        self._stream = EventStream()  # the dashboard's SSE: one for the daemon's life, across reloads
        self._api = ApiServer(self, self._log, stream=self._stream)
        self._bus = OutputBus([], clock=clock, logger=self._log)
        self._at_ticks: list[Callable[[], None]] = []
        self.web_url: str | None = None
        self.ready = asyncio.Event()

    def call_at_ticks(self, callback: Callable[[], None]) -> None:
        """``callback()`` at each fast read, good or failed: for a look at something (the config file)
        that would else need a timer of its own, waking the event loop between two ticks."""
        self._at_ticks.append(callback)

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
        caps = self._gateway.capabilities
        info = caps.info if caps else None
        return {
            "gateway": {
                "host": self.config.gateway.host,
                "serial": info.serial if info else None,
                "firmware": info.firmware if info else None,
                "part_number": info.part_number if info else None,
                "phase_count": caps.phase_count if caps else None,
                "cts": [ct.measurement_type for ct in caps.enabled_cts] if caps else [],
                "error": self._gateway.error,
            },
            "token": {
                "mode": self.config.gateway.token_mode,
                "expires_at": expires.isoformat() if (expires := self._token_expires_at()) else None,
            },
            "last_poll": self._last_ok.isoformat() if self._last_ok else None,
            "stale": self._latest.staleness.stale if self._latest else True,
            "grid_metering": self.config.site.grid_metering,
            "loops": {p.name: p.status() for p in self._gateway.pollers},
            "history": self._storage.status(),
            "api": self._api.status(),
            "outputs": self._bus.status(),
            "dashboard": {"layout": self.config.publish.layout, "timezone": self.config.site.timezone},
        }

    def _token_expires_at(self) -> datetime | None:
        tokens = self._gateway.tokens
        return tokens.expires_at if tokens is not None else None

    @property
    def site_energy(self) -> SiteEnergy:
        """The day counters, grid integrator and inverter estimates as they stand."""
        return self._site

    def control_view(self) -> dict[str, Any]:
        if self._control is None:
            return {"enabled": False, "stages": []}
        return self._control.view()

    async def set_control_mode(self, stage: str, mode: str, *, by: str = "the API") -> None:
        """Manual override of one stage: KeyError (no such stage), ValueError (no such mode)."""
        if self._control is None:
            raise KeyError(stage)
        await self._control.set_mode(stage, mode, by=by)

    async def history(
        self, fields: list[str], start: datetime | None, end: datetime | None, resolution: str
    ) -> Series:
        zone = self.config.site.zone
        end = end.replace(tzinfo=end.tzinfo or zone) if end else self._clock()
        start = start.replace(tzinfo=start.tzinfo or zone) if start else end - default_span(resolution)
        if start >= end:
            raise ValueError("start must be before end")
        return await self._storage.read(lambda history: history.series(fields, start, end, resolution))

    @property
    def gateway_failure(self) -> Exception | None:
        """The error behind the gateway's current one (for the Jeedom daemon's message), if any."""
        return self._gateway.failure

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
            self._gateway_task = asyncio.create_task(self._gateway.run(), name="gateway")
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
        secrets = new.file_secrets()
        rotated = secrets.changed(self._secrets)
        if rotated:
            self._log.info("secret re-read from its file changed: %s", ", ".join(rotated))
        if new.web != self.config.web or "web.token" in rotated:
            await self._start_web(new)
        old, self.config, self._secrets = self.config, new, secrets
        outputs_secret = any(key.startswith("publish.") for key in rotated)
        if outputs_secret or (new.control, new.publish, new.site, new.polling) != (
            old.control,
            old.publish,
            old.site,
            old.polling,
        ):
            state = await self._stop_control()
            await self._start_control(state)
        if outputs_secret or new.publish != old.publish:
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
            self._gateway_task = asyncio.create_task(self._gateway.run(), name="gateway")

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
        caps = self._gateway.capabilities
        info = caps.info if caps else None
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
    def _follow_gateway(self, serial: str) -> None:
        """Another gateway's lifetime counters must not continue this one's days: start afresh."""
        if self._site_serial is not None and serial != self._site_serial:
            self._log.warning(
                "now reading gateway %s instead of %s: day counters start afresh", serial, self._site_serial
            )
            self._site = SiteEnergy()
        self._site_serial = serial

    # --- publishing -----------------------------------------------------------------------------
    def _ticked(self) -> None:
        for callback in self._at_ticks:
            callback()

    async def _on_fast(self, _: None) -> None:
        self._ticked()
        now = self._clock()
        if not self._wall_check.trusted(now):
            return
        merged = merge_snapshot(self._gateway.readings, time=now, phases=self.config.site.phases)
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
        self._gateway.recovered()
        await self._publish(snapshot)
        outage_since, self._outage_since = self._outage_since, None
        if outage_since is not None and time.monotonic() - outage_since >= REBOOT_CHECK_AFTER_S:
            await self._gateway.check_firmware_after_outage()

    async def _on_fast_failure(self, reason: str) -> None:
        self._ticked()
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
