"""The pure parts of the history: encoding, downsampling, buckets, retention and resolution choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from storage_snapshots import make_snapshot

from enphase_secure.energy.snapshot import Snapshot
from enphase_secure.errors import StorageError, UnknownHistoryFieldError
from enphase_secure.storage import Resolution, Retention, redact_url
from enphase_secure.storage.connect import default_history_url, sqlite_path
from enphase_secure.storage.downsample import Bucket, bucket_from_row, bucket_row, fold, merge
from enphase_secure.storage.fields import COUNTERS, FIELDS, GAUGES, FieldSpec, encode_snapshot, field_specs
from enphase_secure.storage.resolution import AGGREGATES, BucketStarts, bucket_start, pick_resolution

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PRODUCTION = [spec.name for spec in FIELDS].index("production_w")
LIFETIME = [spec.name for spec in FIELDS].index("production_lifetime_wh") - len(GAUGES)


def _values(production_w: int | None, lifetime_wh: int | None = None) -> list[int | None]:
    values: list[int | None] = [None] * len(FIELDS)
    values[PRODUCTION] = production_w
    values[len(GAUGES) + LIFETIME] = lifetime_wh
    return values


def test_encode_rounds_to_each_fields_quantum() -> None:
    snapshot = make_snapshot(T0, production_w=1234.6, phases_w=(400.4, 800.2), soc_pct=55.56)
    encoded = dict(zip((s.name for s in FIELDS), encode_snapshot(snapshot), strict=True))
    assert encoded["production_w"] == 1235
    assert encoded["production_phase1_w"] == 400
    assert encoded["production_phase3_w"] is None
    assert encoded["storage_soc_pct"] == 556  # tenths of a percent
    assert encoded["consumption_w"] is None  # unknown stays unknown, never 0
    (soc,) = field_specs("storage_soc_pct")
    assert soc.decode(556) == pytest.approx(55.6)


def _reference(snapshot: Snapshot, spec: FieldSpec) -> int | None:
    """``spec.encode`` of the field's value, read the plain way: its path, then its phase."""
    if not isinstance(spec.source, str):
        return spec.encode(spec.source(snapshot))
    value: Any = snapshot
    for part in spec.source.split("."):
        value = None if value is None else getattr(value, part)
    if spec.phase is not None:
        value = value[spec.phase] if value is not None and spec.phase < len(value) else None
    return spec.encode(value)


@pytest.mark.parametrize("phases", [(), (400.4,), (400.4, None), (1.5, 2.5, -3.5), (1.0, 2.0, 3.0, 4.0)])
@pytest.mark.parametrize("soc_pct", [None, 55.56])
@pytest.mark.parametrize("net_w", [None, -812.5, 0.0])
def test_encode_gives_each_fields_value_whatever_the_site_has(
    phases: tuple[float | None, ...], soc_pct: float | None, net_w: float | None
) -> None:
    snapshot = make_snapshot(
        T0, production_w=1234.5, net_w=net_w, phases_w=phases, production_lifetime_wh=7.0e6, soc_pct=soc_pct
    )
    encoded = encode_snapshot(snapshot)
    assert encoded == tuple(_reference(snapshot, spec) for spec in FIELDS)
    assert all(value is None or type(value) is int for value in encoded)


def test_unknown_field_is_named() -> None:
    with pytest.raises(UnknownHistoryFieldError, match="'solar_w'"):
        field_specs(["production_w", "solar_w"])


def test_fold_gives_exact_mean_min_max_and_last_counter() -> None:
    bucket = None
    for power, lifetime in [(100, 5000), (300, None), (None, 5003), (-20, 5004)]:
        bucket = fold(bucket, 60, _values(power, lifetime))
    assert bucket is not None
    assert bucket.ticks == 4
    assert bucket.gauges[PRODUCTION] == (3, 380, -20, 300)
    assert bucket.counters[LIFETIME] == 5004
    assert bucket.gauges[PRODUCTION + 1] is None  # a field never seen in the bucket


def test_fold_starts_a_new_bucket_and_ignores_late_ticks() -> None:
    first = fold(None, 60, _values(100, 10))
    second = fold(first, 120, _values(200))
    assert second.start == 120
    assert second.ticks == 1
    assert second.gauges[PRODUCTION] == (1, 200, 200, 200)
    assert second.counters[LIFETIME] is None
    assert fold(second, 60, _values(999)) is second


def test_merging_minutes_gives_the_bucket_their_ticks_fold_into() -> None:
    ticks = [(0, 100, 5000), (30, 300, None), (60, None, 5003), (90, -20, None), (150, 50, 5010)]
    direct = None
    minutes: dict[int, Bucket] = {}
    for second, power, lifetime in ticks:
        direct = fold(direct, 0, _values(power, lifetime))
        minute = second // 60 * 60
        minutes[minute] = fold(minutes.get(minute), minute, _values(power, lifetime))
    merged = None
    for start in sorted(minutes):
        merged = merge(merged, minutes[start], 0)
    assert merged == direct
    assert merged is not None
    assert merged.counters[LIFETIME] == 5010  # the last minute's counter
    assert merged.gauges[PRODUCTION + 1] is None


def test_bucket_row_round_trip() -> None:
    bucket = fold(fold(None, 900, _values(7, 42)), 900, _values(-3))
    assert bucket_from_row(bucket_row(bucket)) == bucket


def test_bucket_starts_and_local_days_across_dst() -> None:
    t = datetime(2026, 3, 29, 10, 7, 31, tzinfo=UTC)
    assert bucket_start(t, Resolution.ONE_MINUTE, PARIS) == int(
        datetime(2026, 3, 29, 10, 7, tzinfo=UTC).timestamp()
    )
    assert bucket_start(t, Resolution.FIFTEEN_MINUTES, PARIS) == int(
        datetime(2026, 3, 29, 10, 0, tzinfo=UTC).timestamp()
    )
    # 29 March 2026 is a 23 h day in Paris: midnight was at 23:00 UTC the day before.
    day = bucket_start(t, Resolution.ONE_DAY, PARIS)
    assert day == int(datetime(2026, 3, 28, 23, 0, tzinfo=UTC).timestamp())
    next_day = bucket_start(t + timedelta(days=1), Resolution.ONE_DAY, PARIS)
    assert next_day - day == 23 * 3600


@pytest.mark.parametrize("zone", [PARIS, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")])
def test_bucket_starts_of_tick_after_tick_are_bucket_start(zone: ZoneInfo) -> None:
    starts = BucketStarts(zone)
    # across both DST changes of 2026 in each zone, 7 min 13 s apart, then the clock set back 2 days
    times = [datetime(2026, 3, 6, tzinfo=UTC) + timedelta(seconds=433 * n) for n in range(7000)]
    times += [datetime(2026, 10, 24, 20, tzinfo=UTC) + timedelta(seconds=433 * n) for n in range(3000)]
    times += [times[-1] - timedelta(days=2, seconds=1), times[-1]]
    for time in times:
        expected = tuple(bucket_start(time, resolution, zone) for resolution in AGGREGATES)
        assert starts.of(time) == expected, time


@pytest.mark.parametrize(
    ("span", "age", "expected"),
    [
        (timedelta(hours=1), timedelta(0), Resolution.RAW),
        (timedelta(days=1), timedelta(0), Resolution.ONE_MINUTE),
        (timedelta(days=2), timedelta(0), Resolution.ONE_MINUTE),
        (timedelta(days=7), timedelta(0), Resolution.FIFTEEN_MINUTES),
        (timedelta(days=31), timedelta(0), Resolution.FIFTEEN_MINUTES),
        (timedelta(days=365), timedelta(0), Resolution.ONE_DAY),
        # an hour, but older than the raw retention (7 days): the finest series still holding it
        (timedelta(hours=1), timedelta(days=10), Resolution.ONE_MINUTE),
        (timedelta(hours=1), timedelta(days=100), Resolution.FIFTEEN_MINUTES),
        (timedelta(hours=1), timedelta(days=1000), Resolution.ONE_DAY),
    ],
)
def test_pick_resolution(span: timedelta, age: timedelta, expected: Resolution) -> None:
    now = T0
    end = now - age
    chosen = pick_resolution(end - span, end, now=now, retention=Retention(), raw_interval_s=1.0)
    assert chosen is expected


def test_pick_resolution_follows_the_raw_interval() -> None:
    start = T0 - timedelta(hours=6)
    assert (
        pick_resolution(start, T0, now=T0, retention=Retention(), raw_interval_s=1) is Resolution.ONE_MINUTE
    )
    assert pick_resolution(start, T0, now=T0, retention=Retention(), raw_interval_s=10) is Resolution.RAW


def test_unknown_resolution_is_named() -> None:
    with pytest.raises(StorageError, match="'5min'"):
        Resolution.parse("5min")


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://me:s3cret@db.local:5433/hist") == "postgresql://me:***@db.local:5433/hist"
    assert redact_url("sqlite:///var/lib/x.db") == "sqlite:///var/lib/x.db"


def test_sqlite_urls(tmp_path: object) -> None:
    assert (
        str(sqlite_path("sqlite:///var/lib/enphase-secure/history.db"))
        == "/var/lib/enphase-secure/history.db"
    )
    with pytest.raises(StorageError, match="sqlite:///absolute"):
        sqlite_path("sqlite://relative.db")
    assert default_history_url(__import__("pathlib").Path("/srv/state")) == "sqlite:///srv/state/history.db"


def test_counters_are_not_gauges() -> None:
    assert {s.name for s in COUNTERS} >= {"grid_import_lifetime_wh", "grid_export_today_wh"}
    assert not {s.name for s in COUNTERS} & {s.name for s in GAUGES}
