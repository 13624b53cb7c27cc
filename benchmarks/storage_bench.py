"""History storage benchmark: one simulated day at 1 s polling into SQLite, then a year's worth.

Prints the insert rate, the database size per day (raw and downsampled), the projected size after a
year with the default retention, and the latency of day / month / year series queries.

    .venv/bin/python benchmarks/storage_bench.py [--ticks 86400]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from enphase_secure.energy.snapshot import (
    EnergyFlow,
    GatewayIdentity,
    Grid,
    InverterState,
    MeterState,
    PhaseBalance,
    Snapshot,
    Storage,
)
from enphase_secure.storage import HistorySettings, Retention, open_history

DAY = datetime(2026, 6, 1, tzinfo=UTC)
INVERTERS = 20
INVERTER_REPORT_S = 900  # the daemon reads inverters every polling.inverters_interval_s (default 900 s)
TABLES = ("tick", "agg_1min", "agg_15min", "agg_1day", "inverter_report")


def simulated_day(ticks: int) -> list[Snapshot]:
    """A three-phase site with 6 kW of panels, a noisy house load, a battery and 20 inverters."""
    rng = random.Random(4)
    identity = GatewayIdentity("122212345678", "8.2.127", "800-00654-r08")
    produced = imported = exported = consumed = 0.0
    soc = 40.0
    snapshots = []
    for second in range(ticks):
        hour = second / 3600
        sun = max(math.sin(math.pi * (hour - 6) / 14), 0.0) if 6 <= hour <= 20 else 0.0
        production = [round(2000 * sun * rng.uniform(0.97, 1.0), 3) for _ in range(3)]
        load = [round(rng.uniform(150, 900) + (2000 if rng.random() < 0.05 else 0), 3) for _ in range(3)]
        net = [c - p for c, p in zip(load, production, strict=True)]
        total_net = sum(net)
        produced += sum(production) / 3600
        consumed += sum(load) / 3600
        imported += max(total_net, 0) / 3600
        exported += max(-total_net, 0) / 3600
        battery = -min(max(-total_net, 0), 2500) if soc < 100 else 0.0
        soc = min(soc - battery / 3600 / 100, 100.0)
        report = DAY + timedelta(seconds=second // INVERTER_REPORT_S * INVERTER_REPORT_S)
        inverters = tuple(
            InverterState(
                f"4821000000{i:02d}", round(sum(production) / INVERTERS), 295.0, report, produced / 20
            )
            for i in range(INVERTERS)
        )
        snapshots.append(
            Snapshot(
                time=DAY + timedelta(seconds=second),
                gateway=identity,
                phase_mode="three",
                phase_count=3,
                production=EnergyFlow(sum(production), tuple(production), produced, None, 1.2e7 + produced),
                consumption=EnergyFlow(sum(load), tuple(load), consumed, None, 2.3e7 + consumed),
                net_consumption=EnergyFlow(total_net, tuple(net), None, None, 1.1e7 + consumed - produced),
                grid=Grid(
                    import_w=max(total_net, 0),
                    export_w=max(-total_net, 0),
                    phases=tuple(PhaseBalance(max(n, 0), max(-n, 0)) for n in net),
                    import_today_wh=imported,
                    export_today_wh=exported,
                    import_lifetime_wh=8.1e6 + imported,
                    export_lifetime_wh=3.4e6 + exported,
                ),
                storage=Storage(battery, round(soc), soc * 100, 10_000),
                inverters=inverters,
                meters=(
                    MeterState(
                        704643328,
                        "production",
                        sum(production),
                        tuple(production),
                        None,
                        None,
                        round(rng.uniform(228, 242), 2),
                        None,
                        0.99,
                        round(rng.uniform(49.95, 50.05), 3),
                    ),
                ),
            )
        )
    return snapshots


def table_bytes(path: Path) -> dict[str, int]:
    """Bytes of each table (and its indexes), from SQLite's dbstat."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    sizes = dict.fromkeys(TABLES, 0)
    for name, size in rows:
        table = "inverter_report" if name.startswith("sqlite_autoindex_inverter") else name
        if table in sizes:
            sizes[table] += size
    return sizes


def fill_a_year(path: Path, retention: Retention) -> None:
    """Copy the simulated day back in time so that each series holds what the retention keeps a year on."""
    keep_days = {
        "tick": retention.raw,
        "agg_1min": retention.one_minute,
        "agg_15min": retention.fifteen_minutes,
        "agg_1day": retention.one_day,
        "inverter_report": retention.inverters,
    }
    keys = {"tick": ("time_ms", 86_400_000), "inverter_report": ("report_s", 86_400)}
    with sqlite3.connect(path) as connection:
        for table, kept in keep_days.items():
            days = min(kept.days if kept else 365, 365)
            key, per_day = keys.get(table, ("bucket", 86_400))
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            others = ", ".join(c for c in columns if c != key)
            for back in range(1, days):
                connection.execute(
                    f"INSERT INTO {table} ({key}, {others})"
                    f" SELECT {key} - ?, {others} FROM {table} WHERE {key} >= ?",
                    (back * per_day, int(DAY.timestamp()) * (per_day // 86_400)),
                )
        connection.commit()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=86_400, help="ticks of the simulated day (1 s each)")
    args = parser.parse_args()
    retention = Retention()
    now = DAY + timedelta(days=1)
    print(f"generating {args.ticks} snapshots (1 s polling, 3 phases, battery, {INVERTERS} inverters)...")
    snapshots = simulated_day(args.ticks)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.db"
        settings = HistorySettings(retention=retention, timezone="UTC")
        async with await open_history(f"sqlite://{path}", settings=settings, clock=lambda: now) as history:
            started = time.perf_counter()
            for snapshot in snapshots:
                await history.append(snapshot)
            elapsed = time.perf_counter() - started
        print(
            f"insert: {len(snapshots)} ticks in {elapsed:.1f} s = {len(snapshots) / elapsed:,.0f} ticks/s"
            f" ({elapsed / len(snapshots) * 1e3:.2f} ms per tick, written in batches)"
        )

        scale = 86_400 / args.ticks
        per_day = {table: size * scale for table, size in table_bytes(path).items()}
        for table, size in per_day.items():
            print(f"  {table:16s} {size / 1e6:8.2f} MB per day")
        print(f"one day, everything:   {sum(per_day.values()) / 1e6:8.2f} MB")
        kept_days = {
            "tick": retention.raw,
            "agg_1min": retention.one_minute,
            "agg_15min": retention.fifteen_minutes,
            "agg_1day": retention.one_day,
            "inverter_report": retention.inverters,
        }
        year = sum(per_day[t] * min(d.days if d else 365, 365) for t, d in kept_days.items())
        print(
            f"projected after a year (raw 7 d, 1 min 90 d, 15 min / 1 day / inverters all year): "
            f"{year / 1e6:.1f} MB = {year / 365 / 1e3:.0f} kB per day on average"
        )
        further = per_day["agg_15min"] + per_day["agg_1day"] + per_day["inverter_report"]
        print(f"growth per day in the 2nd year (15 min, 1 day, inverters): {further / 1e3:.0f} kB")

        if args.ticks == 86_400:
            fill_a_year(path, retention)
            year_tables = table_bytes(path)
            print(f"a year filled in: database file {path.stat().st_size / 1e6:.1f} MB")
            for table, size in year_tables.items():
                print(f"  {table:16s} {size / 1e6:8.2f} MB")
        async with await open_history(f"sqlite://{path}", settings=settings, clock=lambda: now) as history:
            for label, span in (
                ("hour", timedelta(hours=1)),
                ("day", timedelta(days=1)),
                ("month", timedelta(days=30)),
                ("year", timedelta(days=365)),
            ):
                latencies = []
                for _ in range(5):
                    started = time.perf_counter()
                    series = await history.series(
                        ["production_w", "consumption_w", "grid_import_w", "grid_export_w"], now - span, now
                    )
                    latencies.append(time.perf_counter() - started)
                print(
                    f"query a {label:5s} (4 fields): {series.resolution.value:5s}"
                    f" {len(series.points):5d} points,"
                    f" median {statistics.median(latencies) * 1e3:7.1f} ms"
                )


if __name__ == "__main__":
    asyncio.run(main())
