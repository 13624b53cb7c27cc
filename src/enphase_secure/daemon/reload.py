"""Config hot reload: on SIGHUP or a change of the file, validate the new config; keep the old on error."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..config import Config, load_config
from ..errors import ConfigError

log = logging.getLogger("enphase_secure.reload")

ApplyConfig = Callable[[Config], Awaitable[None]]
LoadConfig = Callable[[Path], Config]


def _fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


class ConfigWatcher:
    """Watches one config file; calls ``apply`` with each new valid config, in order, never concurrently."""

    def __init__(
        self,
        *,
        path: Path,
        current: Config,
        apply: ApplyConfig,
        poll_s: float = 2.0,
        load: LoadConfig = load_config,
    ) -> None:
        self._path = path
        self._load = load
        self._current = current
        self._apply = apply
        self._poll_s = poll_s
        self._seen = _fingerprint(path)
        self._secrets = current.file_secrets()
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self.last_error: str | None = None

    @property
    def current(self) -> Config:
        return self._current

    def request_reload(self) -> None:
        """Reload at the next opportunity (what SIGHUP does)."""
        self._wake.set()

    def install_sighup(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.request_reload)

    async def reload(self) -> bool:
        """Read and apply the file now; False (old config kept, error logged) when it is invalid."""
        self._seen = _fingerprint(self._path)
        try:
            new = self._load(self._path)
            secrets = new.file_secrets()
        except ConfigError as err:
            self.last_error = str(err)
            log.error("new config rejected, the previous one stays in force: %s", err)
            return False
        if new == self._current and secrets == self._secrets:
            self.last_error = None
            return True
        try:
            await self._apply(new)
        except ConfigError as err:
            self.last_error = str(err)
            log.error("new config could not be applied, the previous one stays in force: %s", err)
            return False
        self.last_error = None
        self._current, self._secrets = new, secrets
        log.info("config reloaded from %s", self._path)
        return True

    async def run(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._poll_s, self._check)
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self.reload()
        finally:
            self._timer.cancel()

    def _check(self) -> None:
        """A timer callback, not a task waking up every ``poll_s``: ``run`` wakes when the file changed."""
        if _fingerprint(self._path) != self._seen:
            self._wake.set()
        self._timer = asyncio.get_running_loop().call_later(self._poll_s, self._check)
