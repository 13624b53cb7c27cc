"""Config hot reload: on SIGHUP or a change of the file, validate the new config; keep the old on error.

The file is looked at every ``poll_s`` on a wake-up the daemon has anyway (``poll``, at its fast ticks):
the watcher's own timer, twice as slow, then never fires; it wakes the event loop only once they stop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
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
        self._timer: asyncio.TimerHandle | None = None  # set while ``run`` runs
        self._looked_at = 0.0  # monotonic time of the last look at the file
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
        self._look()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self.reload()
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = None

    def poll(self) -> None:
        """Look at the file if ``poll_s`` has passed since the last look: for a caller whose loop is awake
        anyway, at least every ``poll_s`` (the daemon's fast ticks)."""
        if self._timer is not None and time.monotonic() - self._looked_at >= self._poll_s:
            self._look()

    def _look(self) -> None:
        """``run`` wakes when the file changed; the watcher's timer looks twice ``poll_s`` later, unless
        ``poll`` looked before: then the timer is pushed back."""
        self._looked_at = time.monotonic()
        if _fingerprint(self._path) != self._seen:
            self._wake.set()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(2 * self._poll_s, self._look)
