"""How a storage URL picks and opens a backend."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..errors import StorageError
from .backend import Backend, redact_url
from .sqlite_backend import SqliteBackend

HISTORY_FILE_NAME = "history.db"


def default_history_url(state_dir: Path) -> str:
    """The embedded default: a SQLite file in the state directory."""
    return f"sqlite://{state_dir.resolve() / HISTORY_FILE_NAME}"


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///absolute/path.db`` URL."""
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/"):
        raise StorageError(f"storage.url {url!r}: a SQLite URL is sqlite:///absolute/path/to/history.db")
    return Path(parts.path)


async def open_backend(url: str, *, exclusive: bool = False) -> Backend:
    """Connect to the database of ``url`` (sqlite:///... or postgresql://...); ``exclusive``: no other
    process opens a SQLite file while this one has it (the daemon and its history)."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return await SqliteBackend.open(sqlite_path(url), display_url=url, exclusive=exclusive)
    if scheme in ("postgresql", "postgres"):
        try:
            from .postgres_backend import PostgresBackend  # noqa: PLC0415 (psycopg is an optional extra)
        except ImportError as err:
            raise StorageError(
                f"storage.url {redact_url(url)}: PostgreSQL needs psycopg; install enphase-secure[postgres]"
            ) from err
        return await PostgresBackend.open(url)
    raise StorageError(
        f"storage.url {redact_url(url)}: unknown scheme {scheme!r}; use sqlite:///path or postgresql://..."
    )
