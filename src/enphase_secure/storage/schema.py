"""The history database schema: numbered migrations, each a list of statements run in one transaction.

A migration is never edited once released: a change of schema is a new migration. Column names are
therefore written out here rather than taken from fields.py (a test checks the head schema matches it).
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import StorageSchemaError
from .backend import Backend, Statement
from .dialect import Dialect

_V1_GAUGES = (
    "production_w",
    "production_phase1_w",
    "production_phase2_w",
    "production_phase3_w",
    "consumption_w",
    "consumption_phase1_w",
    "consumption_phase2_w",
    "consumption_phase3_w",
    "net_consumption_w",
    "net_consumption_phase1_w",
    "net_consumption_phase2_w",
    "net_consumption_phase3_w",
    "grid_import_w",
    "grid_export_w",
    "storage_w",
    "storage_soc_pct",
    "storage_available_wh",
    "voltage_v",
    "frequency_hz",
)
_V1_COUNTERS = (
    "production_lifetime_wh",
    "consumption_lifetime_wh",
    "grid_import_lifetime_wh",
    "grid_export_lifetime_wh",
    "production_today_wh",
    "consumption_today_wh",
    "grid_import_today_wh",
    "grid_export_today_wh",
)
AGGREGATE_TABLES = {"1min": "agg_1min", "15min": "agg_15min", "1day": "agg_1day"}


def _v1(d: Dialect) -> list[str]:
    """Raw ticks, the three downsampled series and the key-value state."""
    tick_columns = ", ".join(f"{name} {d.integer}" for name in (*_V1_GAUGES, *_V1_COUNTERS))
    aggregate_columns = ", ".join(
        [f"ticks {d.integer} NOT NULL"]
        + [f"{name}_{part} {d.integer}" for name in _V1_GAUGES for part in ("n", "sum", "min", "max")]
        + [f"{name} {d.integer}" for name in _V1_COUNTERS]
    )
    return [
        f"CREATE TABLE schema_version (version {d.integer} NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (1)",
        f"CREATE TABLE tick (time_ms {d.key}, stale {d.integer} NOT NULL, {tick_columns})",
        *(
            f"CREATE TABLE {table} (bucket {d.key}, {aggregate_columns})"
            for table in AGGREGATE_TABLES.values()
        ),
        f"CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_ms {d.integer} NOT NULL)"
        + d.composite_key_suffix,
    ]


def _v2(d: Dialect) -> list[str]:
    """Controller events and inverter reports."""
    return [
        f"CREATE TABLE event (id {d.identity}, time_ms {d.integer} NOT NULL, stage TEXT NOT NULL,"
        f" action TEXT NOT NULL, ok {d.integer} NOT NULL, duration_s {d.real}, error TEXT)",
        "CREATE INDEX event_time ON event (time_ms)",
        f"CREATE TABLE inverter_report (serial TEXT NOT NULL, report_s {d.integer} NOT NULL,"
        f" power_w {d.integer}, max_power_w {d.integer}, today_wh {d.integer},"
        f" PRIMARY KEY (serial, report_s)){d.composite_key_suffix}",
    ]


_V3_GAUGES = ("consumption_gateway_w", "storage_charge_w", "storage_discharge_w")
_V3_COUNTERS = (
    "consumption_gateway_today_wh",
    "storage_charged_today_wh",
    "storage_discharged_today_wh",
    "storage_charged_lifetime_wh",
    "storage_discharged_lifetime_wh",
)


def _v3(d: Dialect) -> list[str]:
    """The gateway's own consumption beside the house's (issue 8), the battery's charge and discharge."""
    tick = [f"ALTER TABLE tick ADD COLUMN {name} {d.integer}" for name in (*_V3_GAUGES, *_V3_COUNTERS)]
    aggregates = [
        f"ALTER TABLE {table} ADD COLUMN {column} {d.integer}"
        for table in AGGREGATE_TABLES.values()
        for column in (
            *(f"{name}_{part}" for name in _V3_GAUGES for part in ("n", "sum", "min", "max")),
            *_V3_COUNTERS,
        )
    ]
    return tick + aggregates


MIGRATIONS: tuple[Callable[[Dialect], list[str]], ...] = (_v1, _v2, _v3)
HEAD_VERSION = len(MIGRATIONS)


async def schema_version(backend: Backend) -> int:
    """The database's schema version; 0 for an empty database."""
    if not await backend.query(backend.dialect.table_exists, ("schema_version",)):
        return 0
    rows = await backend.query("SELECT version FROM schema_version")
    if len(rows) != 1:
        raise StorageSchemaError(f"{backend.display_url}: table schema_version holds {len(rows)} rows, not 1")
    return int(rows[0][0])


async def migrate(backend: Backend, target: int = HEAD_VERSION) -> int:
    """Bring the database to ``target``, one transaction per migration; returns the version found."""
    found = await schema_version(backend)
    if found > HEAD_VERSION:
        raise StorageSchemaError(
            f"{backend.display_url}: schema version {found} is newer than this program's {HEAD_VERSION};"
            " upgrade enphase-secure or point storage.url at another database"
        )
    for version in range(found + 1, target + 1):
        statements: list[Statement] = [(sql, ()) for sql in MIGRATIONS[version - 1](backend.dialect)]
        if version > 1:
            statements.append(("UPDATE schema_version SET version = ?", (version,)))
        await backend.write(statements)
    return found
