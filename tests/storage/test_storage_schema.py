"""Schema versions and migrations, and the errors a user sees for a bad storage URL or file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from storage_postgres import PostgresServer

from enphase_secure.errors import StorageError, StorageSchemaError
from enphase_secure.storage import Event, HistorySettings, open_history
from enphase_secure.storage.connect import open_backend
from enphase_secure.storage.fields import FIELDS
from enphase_secure.storage.schema import HEAD_VERSION, migrate, schema_version

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


async def test_a_version_1_database_is_migrated_with_its_data(history_url: str) -> None:
    backend = await open_backend(history_url)
    try:
        assert await migrate(backend, target=1) == 0
        await backend.write(
            [
                ("INSERT INTO tick (time_ms, stale, production_w) VALUES (?, ?, ?)", (T0_MS, 0, 4321)),
                (
                    "INSERT INTO state (key, value, updated_ms) VALUES (?, ?, ?)",
                    ("firmware", '{"v": "7.6"}', 0),
                ),
            ]
        )
        assert await schema_version(backend) == 1
    finally:
        await backend.close()

    async with await open_history(history_url) as history:
        raw = await history.series("production_w", T0, T0.replace(minute=1), resolution="raw")
        assert raw.points[0].samples["production_w"].value == 4321
        assert await history.get_state("firmware") == {"v": "7.6"}
        await history.record_event(Event(T0, "water heater", "on", ok=True))  # a version 2 table
        assert len(await history.events(T0, T0.replace(hour=11))) == 1

    backend = await open_backend(history_url)
    try:
        assert await schema_version(backend) == HEAD_VERSION == 3
    finally:
        await backend.close()


async def test_a_newer_schema_is_refused(history_url: str) -> None:
    async with await open_history(history_url):
        pass
    backend = await open_backend(history_url)
    try:
        await backend.write([("UPDATE schema_version SET version = ?", (HEAD_VERSION + 1,))])
    finally:
        await backend.close()
    with pytest.raises(StorageSchemaError, match=rf"schema version {HEAD_VERSION + 1} is newer .* upgrade"):
        await open_history(history_url)


async def test_the_head_schema_has_a_column_per_field(history_url: str) -> None:
    async with await open_history(history_url):
        pass
    backend = await open_backend(history_url)
    try:
        columns = ", ".join(spec.name for spec in FIELDS)
        assert await backend.query(f"SELECT time_ms, stale, {columns} FROM tick") == []
    finally:
        await backend.close()


async def test_sqlite_file_is_in_wal_mode(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path / 'deep' / 'er' / 'history.db'}"
    async with await open_history(url):
        pass
    backend = await open_backend(url)
    try:
        assert await backend.query("PRAGMA journal_mode") == [("wal",)]
    finally:
        await backend.close()


async def test_an_unwritable_path_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    url = f"sqlite://{blocker / 'history.db'}"
    with pytest.raises(StorageError, match=rf"{url}: cannot create the folder {blocker}"):
        await open_history(url)


async def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StorageError, match=f"{path}"):
        await open_history(f"sqlite://{path}")


async def test_unknown_scheme_is_refused_without_the_password() -> None:
    with pytest.raises(StorageError, match="unknown scheme 'mysql'") as caught:
        await open_history("mysql://me:hunter2@127.0.0.1/db")
    assert "hunter2" not in str(caught.value)
    assert "me:***@" in str(caught.value)


async def test_wrong_postgres_password_is_not_shown(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("postgres", password="Wr0ngPassw0rd")
    with pytest.raises(StorageError, match="cannot connect") as caught:
        await open_history(url)
    assert "Wr0ngPassw0rd" not in str(caught.value)
    assert f"postgres:***@127.0.0.1:{postgres_server.port}" in str(caught.value)


async def test_unreachable_postgres_is_named() -> None:
    with pytest.raises(
        StorageError, match=r"postgresql://u:\*\*\*@127.0.0.1:1/db\?connect_timeout=2: cannot connect"
    ) as caught:
        await open_history("postgresql://u:S3cretPw@127.0.0.1:1/db?connect_timeout=2")
    assert "S3cretPw" not in str(caught.value)


async def test_unknown_time_zone_is_named(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"site\.timezone 'Mars/Olympus'"):
        await open_history(f"sqlite://{tmp_path / 'h.db'}", settings=HistorySettings(timezone="Mars/Olympus"))


async def test_postgres_reconnects_after_losing_its_connection(
    postgres_server: PostgresServer, postgres_database: str
) -> None:
    async with await open_history(postgres_database) as history:
        await history.put_state("k", {"v": 1})
        with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname <> 'postgres'"
            )
        with pytest.raises(StorageError, match="query failed"):
            await history.get_state("k")
        assert await history.get_state("k") == {"v": 1}
