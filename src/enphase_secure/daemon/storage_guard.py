"""The daemon's hold on its history: a storage failure never stops polling, control or the API (issue 10).

- At start, a corrupt SQLite file is moved aside (``history.db.corrupt-<UTC time>``, never deleted)
  and a new one started; a history that cannot be opened at all (read-only state dir, database
  down) leaves the daemon running without history, trying again every ``REOPEN_EVERY_S``.
- A failing write (disk full) is logged once per change of state, not once per tick, and shown in
  ``/api/status``; writes resume by themselves when the storage works again. Nothing stored is lost:
  the failed tick is not written, what is already in the database stays.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import StorageError
from ..storage import History, HistorySettings, open_history, redact_url
from ..storage.connect import sqlite_path

REOPEN_EVERY_S = 60.0

_T = TypeVar("_T")


def _is_corrupt(err: BaseException) -> bool:
    """SQLite said the file is not a database, or a damaged one (not: locked, read-only, missing)."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, sqlite3.DatabaseError) and not isinstance(cause, sqlite3.OperationalError):
            return True
        cause = cause.__cause__
    return False


class StorageGuard:
    def __init__(
        self,
        url: str,
        *,
        settings: HistorySettings,
        clock: Callable[[], datetime],
        logger: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self._url = url
        self._settings = replace(settings, exclusive=True)  # the daemon is its history's only user
        self._clock = clock
        self._log = logger
        self.history: History | None = None
        self.error: str | None = None
        self.moved_aside: str | None = None
        self.failed_writes = 0
        self._last_open_attempt: float | None = None
        self._cause: str | None = None
        self._kept_states: dict[str, tuple[Callable[[], Mapping[str, Any]], Callable[[], object] | None]] = {}

    def keep_state(
        self,
        key: str,
        current: Callable[[], Mapping[str, Any]],
        *,
        marker: Callable[[], object] | None = None,
    ) -> None:
        """Kept in the batches of the history, and of any history opened later (``History.keep_state``)."""
        self._kept_states[key] = (current, marker)
        if self.history is not None:
            self.history.keep_state(key, current, marker=marker)

    async def open(self) -> History | None:
        self._last_open_attempt = time.monotonic()
        try:
            self.history = await self._open()
        except StorageError as err:
            hint = self._folder_hint()
            self._failed(err, f"history unavailable (live figures and control go on without it): {err}{hint}")
            return None
        for key, (current, marker) in self._kept_states.items():
            self.history.keep_state(key, current, marker=marker)
        self._recovered("history open")
        return self.history

    async def _open(self) -> History:
        try:
            return await open_history(self._url, settings=self._settings, clock=self._clock)
        except StorageError as err:
            if not (urlsplit(self._url).scheme == "sqlite" and _is_corrupt(err)):
                raise
            aside = self._move_aside(sqlite_path(self._url), err)
        history = await open_history(self._url, settings=self._settings, clock=self._clock)
        self._log.warning("started a new history; the unreadable one is kept as %s", aside)
        return history

    def _folder_hint(self) -> str:
        if urlsplit(self._url).scheme != "sqlite":
            return ""
        folder = sqlite_path(self._url).parent
        return "" if os.access(folder, os.W_OK) else f" (the folder {folder} is not writable)"

    def _move_aside(self, path: Path, err: StorageError) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        try:
            path.rename(aside)
            for suffix in ("-wal", "-shm"):
                companion = path.with_name(path.name + suffix)
                if companion.exists():
                    companion.rename(aside.with_name(aside.name + suffix))
        except OSError as move_err:
            raise StorageError(
                f"{err}; it could not be moved aside ({move_err.strerror}): move or repair it by hand"
            ) from err
        self.moved_aside = str(aside)
        return aside

    async def close(self) -> None:
        """Writes the last batch (and the kept states); a failure is logged, the daemon stops anyway."""
        if self.history is not None:
            try:
                await self.history.close()
            except StorageError as err:
                self._log.error("could not write the last history batch and energy state: %s", err)
            self.history = None

    async def write(self, what: str, work: Callable[[History], Awaitable[None]]) -> bool:
        """Run one write; False (logged once per state change) when the storage refuses it."""
        history = self.history
        if history is None:
            due = self._last_open_attempt is None or time.monotonic() - self._last_open_attempt >= (
                REOPEN_EVERY_S
            )
            if not due or await self.open() is None:
                return False
            history = self.history
            assert history is not None
        try:
            await work(history)
        except StorageError as err:
            self.failed_writes += 1
            self._failed(err, f"{what} failed, retrying at each tick (figures still published): {err}")
            return False
        self._recovered(f"{what} works again")
        return True

    async def read(self, work: Callable[[History], Awaitable[_T]]) -> _T:
        if self.history is None:
            raise StorageError(f"the history is not available: {self.error or 'not open yet'}")
        return await work(self.history)

    def _failed(self, err: StorageError, message: str) -> None:
        """Logged when the storage goes from working to failing, or fails for another reason."""
        if str(err) != self._cause:
            self._log.error("%s", message)
        self.error, self._cause = message, str(err)

    def _recovered(self, message: str) -> None:
        if self.error is not None:
            self._log.warning("%s", message)
        self.error = self._cause = None

    def status(self) -> dict[str, Any]:
        return {
            "url": redact_url(self._url),
            "ok": self.history is not None and self.error is None,
            "error": self.error,
            "failed_writes": self.failed_writes,
            "moved_aside": self.moved_aside,
        }
