"""The cached local-day bounds give exactly what converting each instant to local time gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from enphase_secure.energy.local_days import day_bounds, day_start, day_starts_between, local_day

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("at", "day", "start", "end", "plain"),
    [
        (paris(2026, 6, 21, 12), date(2026, 6, 21), paris(2026, 6, 21), paris(2026, 6, 22), True),
        (paris(2026, 6, 21, 0), date(2026, 6, 21), paris(2026, 6, 21), paris(2026, 6, 22), True),
        (paris(2026, 6, 21, 23, 59, 59), date(2026, 6, 21), paris(2026, 6, 21), paris(2026, 6, 22), True),
        # spring forward: 23 h; fall back: 25 h; the days around them are plain
        (paris(2026, 3, 29, 12), date(2026, 3, 29), paris(2026, 3, 29), paris(2026, 3, 30), False),
        (paris(2026, 3, 28, 23, 59), date(2026, 3, 28), paris(2026, 3, 28), paris(2026, 3, 29), True),
        (paris(2026, 3, 30, 0, 1), date(2026, 3, 30), paris(2026, 3, 30), paris(2026, 3, 31), True),
        (paris(2026, 10, 25, 2, 30), date(2026, 10, 25), paris(2026, 10, 25), paris(2026, 10, 26), False),
        (paris(2026, 10, 26, 0), date(2026, 10, 26), paris(2026, 10, 26), paris(2026, 10, 27), True),
    ],
)
def test_day_bounds(at: datetime, day: date, start: datetime, end: datetime, plain: bool) -> None:
    bounds = day_bounds(at, PARIS)
    assert (bounds.day, bounds.start, bounds.end, bounds.plain) == (day, start, end, plain)
    assert bounds.holds(at) is plain


def test_dst_day_lengths() -> None:
    assert day_bounds(paris(2026, 3, 29, 12), PARIS).end - paris(2026, 3, 29) == timedelta(hours=23)
    assert day_bounds(paris(2026, 10, 25, 12), PARIS).end - paris(2026, 10, 25) == timedelta(hours=25)


def _steps(start: datetime, hours: int, step: timedelta) -> Iterator[datetime]:
    at = start
    while at < start + timedelta(hours=hours):
        yield at
        at += step


# (zone, around): DST changes at 02:00/03:00 (Paris), midnight skipped (Sao Paulo 2018), a fall back at
# midnight (Sao Paulo 2019), half-hour DST (Lord Howe), a whole day skipped (Apia 2011), a plain midnight
EVENTS = [
    ("Europe/Paris", datetime(2026, 3, 29, tzinfo=UTC)),
    ("Europe/Paris", datetime(2026, 10, 25, tzinfo=UTC)),
    ("Europe/Paris", datetime(2026, 6, 21, tzinfo=UTC)),
    ("America/Sao_Paulo", datetime(2018, 11, 4, 3, tzinfo=UTC)),
    ("America/Sao_Paulo", datetime(2019, 2, 17, 2, tzinfo=UTC)),
    ("Australia/Lord_Howe", datetime(2026, 4, 4, 15, tzinfo=UTC)),
    ("Pacific/Apia", datetime(2011, 12, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "around"), EVENTS)
def test_local_day_matches_conversion_across_changes(zone: str, around: datetime) -> None:
    tz = ZoneInfo(zone)
    previous: datetime | None = None
    for at in _steps(around - timedelta(hours=36), 72, timedelta(minutes=7, seconds=13)):
        assert local_day(at, tz) == at.astimezone(tz).date(), at
        if previous is not None:
            expected = [
                (d, day_start(d, tz))
                for d in (previous.astimezone(tz).date() + timedelta(days=n) for n in (1, 2, 3))
                if previous < day_start(d, tz) <= at
            ]
            assert day_starts_between(previous, at, tz) == expected, at
        previous = at


def test_ticks_every_second_across_paris_midnight() -> None:
    previous = paris(2026, 6, 21, 23, 59, 50)
    crossings = []
    for at in _steps(previous + timedelta(seconds=1), 1, timedelta(seconds=1)):
        assert local_day(at, PARIS) == at.astimezone(PARIS).date()
        crossings += day_starts_between(previous, at, PARIS)
        previous = at
    assert crossings == [(date(2026, 6, 22), paris(2026, 6, 22))]


def test_zone_change_and_two_zones_alternating() -> None:
    new_york = ZoneInfo("America/New_York")
    at = paris(2026, 6, 21, 3)  # 21 June in Paris, still 20 June in New York
    for _ in range(3):
        assert local_day(at, PARIS) == date(2026, 6, 21)
        assert local_day(at, new_york) == date(2026, 6, 20)
        midnight = [(date(2026, 6, 21), paris(2026, 6, 21))]
        assert day_starts_between(at - timedelta(hours=4), at, PARIS) == midnight
        assert day_starts_between(at - timedelta(hours=4), at, new_york) == []


def test_other_time_zones_and_older_instants_are_converted() -> None:
    day_bounds(paris(2026, 6, 21, 12), PARIS)
    plus_five = datetime(2026, 6, 21, 1, 30, tzinfo=ZoneInfo("Asia/Karachi"))  # 20 June 22:30 in Paris
    assert local_day(plus_five, PARIS) == date(2026, 6, 20)
    assert local_day(paris(2026, 6, 20, 23), PARIS) == date(2026, 6, 20)
    assert local_day(paris(2026, 6, 21, 23), PARIS) == date(2026, 6, 21)
