"""SQLite in WAL mode, driven from one worker thread so that the event loop never blocks."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StorageError
from .backend import Param, Statement
from .dialect import SQLITE, Dialect

_T = TypeVar("_T")

_BUSY_TIMEOUT_MS = 5000
_PAGE_SIZE = 1024
_CHECKPOINT_PAGES = 2000  # x 1 KiB: a WAL of ~2 MiB, about 2.5 h of batches at 1 s polling


class SqliteBackend:
    def __init__(self, *, connection: sqlite3.Connection, executor: ThreadPoolExecutor, display_url: str):
        self._connection = connection
        self._executor = executor
        self._display_url = display_url

    @property
    def dialect(self) -> Dialect:
        return SQLITE

    @property
    def display_url(self) -> str:
        return self._display_url

    @classmethod
    async def open(cls, path: Path, *, display_url: str, exclusive: bool = False) -> SqliteBackend:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StorageError(
                f"storage.url {display_url}: cannot create the folder {path.parent}: {err.strerror}"
            ) from err
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-sqlite")
        try:
            connection = await asyncio.get_running_loop().run_in_executor(
                executor, _connect, path, display_url, exclusive
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection=connection, executor=executor, display_url=display_url)

    async def _run(self, what: str, work: Callable[[], _T]) -> _T:
        def guarded() -> _T:
            try:
                return work()
            except sqlite3.Error as err:
                raise StorageError(f"{self._display_url}: {what} failed: {err}") from err

        return await asyncio.get_running_loop().run_in_executor(self._executor, guarded)

    async def query(self, sql: str, params: Sequence[Param] = ()) -> list[tuple[Any, ...]]:
        return await self._run("query", lambda: self._connection.execute(sql, params).fetchall())

    async def write(self, statements: Sequence[Statement]) -> None:
        def transaction() -> None:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                for sql, same in groupby(statements, key=itemgetter(0)):  # the ticks of a batch in one go
                    connection.executemany(sql, [params for _, params in same])
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        await self._run("write", transaction)

    async def close(self) -> None:
        try:
            await self._run("close", self._connection.close)
        finally:
            self._executor.shutdown(wait=True)


def _connect(path: Path, display_url: str, exclusive: bool) -> sqlite3.Connection:
    try:
        # isolation_level=None: no implicit transactions; ``write`` opens its own.
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            # A batch changes a few rows in each of several tables, and a commit writes every page it
            # touched: small pages write less. Only takes effect on a new (empty) database file.
            connection.execute(f"PRAGMA page_size = {_PAGE_SIZE}")
            if exclusive:
                # Set before WAL mode is entered: the WAL index then lives in this process's memory,
                # not in history.db-shm, whose mapped pages the kernel wrote back after every batch
                # (daemon_bench: 0.5 -> 0.3 KiB written per tick). The price: no other process may
                # open the file meanwhile (copy it, or stop the daemon, to inspect it).
                connection.execute("PRAGMA locking_mode = EXCLUSIVE")
            # WAL: a commit appends the pages it changed to history.db-wal, no rollback journal copy.
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # In WAL mode, NORMAL loses no committed transaction on a process crash (only the last
            # ones on a power loss, never consistency) and syncs only at checkpoints, not per commit.
            connection.execute("PRAGMA synchronous = NORMAL")
            # Checkpoint (copy the WAL into the database) once the WAL holds this many pages: the
            # aggregate and state pages rewritten by every batch reach the database once per
            # checkpoint, not once per batch. The WAL is reused, not truncated (no file-size churn).
            connection.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
            # Sorts and temporary indexes of the series queries stay in memory, never in temp files.
            connection.execute("PRAGMA temp_store = MEMORY")
        except BaseException:
            connection.close()
            raise
    except sqlite3.Error as err:
        raise StorageError(f"storage.url {display_url}: cannot open {path}: {err}") from err
    if mode != "wal":
        connection.close()
        raise StorageError(f"storage.url {display_url}: {path} cannot use WAL mode (journal_mode={mode})")
    return connection
