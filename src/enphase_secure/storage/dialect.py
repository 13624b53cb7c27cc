"""The SQL differences between the two backends, as data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    integer: str  # a 64-bit integer column
    real: str
    key: str  # an integer primary key (in SQLite, "INTEGER PRIMARY KEY" is the rowid itself: no index)
    identity: str  # an auto-numbered integer primary key
    composite_key_suffix: str  # table option for tables whose primary key is not an integer
    table_exists: str  # query with one parameter, the table name, returning a row when it exists


SQLITE = Dialect(
    name="sqlite",
    integer="INTEGER",
    real="REAL",
    key="INTEGER PRIMARY KEY",
    identity="INTEGER PRIMARY KEY",
    composite_key_suffix=" WITHOUT ROWID",
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
)
POSTGRES = Dialect(
    name="postgresql",
    integer="BIGINT",
    real="DOUBLE PRECISION",
    key="BIGINT PRIMARY KEY",
    identity="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    composite_key_suffix="",
    table_exists="SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?",
)
