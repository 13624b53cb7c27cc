"""Storage fixtures: a throwaway PostgreSQL cluster (started once per session) and a history URL per
test for each backend, so that the same tests run against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from storage_postgres import PostgresServer

from loopback import free_port

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def _pg_bin() -> Path:
    candidates = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    if not candidates:
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN_GLOB}: apt-get install postgresql")
    return candidates[-1]


def _as_postgres(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the cluster as the postgres system user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    pg_bin = _pg_bin()
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="enphase-pg-"))
    data, socket_dir, password = root / "data", root / "socket", secrets.token_hex(12)
    socket_dir.mkdir()
    (root / "pwfile").write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(socket_dir, "postgres")
        shutil.chown(root / "pwfile", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                f"--pwfile={root / 'pwfile'}",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", options, "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield PostgresServer(port, password)
    finally:
        subprocess.run(
            _as_postgres([str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_test_database(postgres_server: PostgresServer) -> str:
    with psycopg.connect(postgres_server.url("postgres"), autocommit=True) as admin:
        admin.execute("CREATE DATABASE history_tests")
    return "history_tests"


@pytest.fixture
def postgres_database(postgres_server: PostgresServer, postgres_test_database: str) -> Iterator[str]:
    """A fresh, empty schema (cheaper than a database) on the session's server; its URL with the password."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server.url(postgres_test_database), autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_server.url(postgres_test_database)}?options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_server.url(postgres_test_database), autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def history_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty history database of each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'state' / 'history.db'}"
    url: str = request.getfixturevalue("postgres_database")
    return url
