"""The daemon's API server: its listener, connection bounds and API token (issue 10)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from ..config import WebConfig
from ..errors import ConfigError
from ..web.api import DaemonView, create_app
from ..web.connections import ConnectionGuard, ConnectionLimits, GuardedSite, raise_open_files_limit
from ..web.security import API_TOKEN_FILE, ApiSecurity, is_loopback, load_or_create_token
from ..web.stream import EventStream


class ApiServer:
    def __init__(
        self,
        view: DaemonView,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        *,
        stream: EventStream | None = None,
    ) -> None:
        self._view = view
        self._stream = stream
        self._log = logger
        self._runner: web.AppRunner | None = None
        self._listen: str | None = None
        self._guard: ConnectionGuard | None = None
        self.token_error: str | None = None
        self.url: str | None = None

    def _security(self, config: WebConfig, state_dir: Path) -> ApiSecurity:
        reads_need_token = not is_loopback(config.host)
        token = config.token_value()
        if token is None:
            try:
                token = load_or_create_token(state_dir / API_TOKEN_FILE)
                self.token_error = None
            except ConfigError as err:
                if self.token_error != str(err):
                    self._log.error("API writes refused until this is fixed: %s", err)
                self.token_error = str(err)
        return ApiSecurity(token=token, reads_need_token=reads_need_token)

    async def start(self, config: WebConfig, state_dir: Path) -> None:
        """Serve on ``config.listen``, then stop the previous server if any.

        ConfigError naming web.listen when the address cannot be bound; the previous server stays unless
        it listened on that very address.
        """
        raise_open_files_limit()
        guard = ConnectionGuard(ConnectionLimits(max_connections=config.max_connections))
        app = create_app(
            self._view, security=self._security(config, state_dir), connections=guard, stream=self._stream
        )
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=guard.limits.keepalive_s,
            lingering_time=1.0,  # after an error answer, how long the rest of a body is read and dropped
        )
        await runner.setup()
        if config.port != 0 and config.listen == self._listen:
            await self.stop()  # the same address (a new token or limit): the old server lets it go first
        try:
            await GuardedSite(runner, config.host, config.port, guard).start()
        except OSError as err:
            await runner.cleanup()
            raise ConfigError(f"web.listen {config.listen!r}: cannot listen there: {err.strerror}") from err
        await self.stop()
        self._runner, self._guard, self._listen = runner, guard, config.listen
        bound = runner.addresses[0]
        self.url = f"http://{bound[0]}:{bound[1]}"
        self._log.info("API on %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def status(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "token_error": self.token_error,
            "connections": self._guard.status() if self._guard else None,
        }
