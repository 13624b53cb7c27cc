"""``GET /api/history`` parameters, parsed and bounded at the edge (issue 10).

At most ``MAX_FIELDS`` distinct fields and ``MAX_SAMPLES`` values (points x fields) per answer: a
range that would need more at the resolution asked is refused (400); ``auto`` (at most a few
thousand points) always fits. Times between years 1970 and 9999; a time without a zone is in the site's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from ..storage import Resolution
from .openapi import error_body

MAX_FIELDS = 16
MAX_SAMPLES = 50_000  # points x fields: building them holds the event loop (~0.1-0.4 s at this size)
DEFAULT_SPAN = timedelta(days=1)
RAW_DEFAULT_SPAN = timedelta(hours=1)
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 1, 1, tzinfo=UTC)
# the finest step each resolution can have (the fast loop polls at most once a second)
_MIN_STEP_S = {"raw": 1.0, "1min": 60.0, "15min": 900.0, "1day": 82_800.0}


def bad_request(message: str, field: str | None) -> web.HTTPBadRequest:
    """A 400 whose JSON body names the parameter at fault (``field``), as every API error does."""
    return web.HTTPBadRequest(text=error_body(message, field), content_type="application/json")


@dataclass(frozen=True)
class HistoryQuery:
    fields: list[str]
    start: datetime | None  # None: default_span() before end
    end: datetime | None  # None: now
    resolution: str

    def span_s(self) -> float:
        """The range's length (the default one when start or end is missing)."""
        if self.start is None:
            return default_span(self.resolution).total_seconds()
        end = self.end or datetime.now(UTC)
        start = self.start
        if (start.tzinfo is None) != (end.tzinfo is None):  # site zone unknown here: close enough
            start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
        return max((end - start).total_seconds(), 0.0)


def default_span(resolution: str) -> timedelta:
    """The range when no start is given: the last hour of raw ticks, else the last day."""
    return RAW_DEFAULT_SPAN if resolution == "raw" else DEFAULT_SPAN


def _time(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name}: {text!r} is not an ISO 8601 time", name) from None
    if not _EARLIEST <= (value if value.tzinfo else value.replace(tzinfo=UTC)) <= _LATEST:
        raise bad_request(f"{name}: {text!r} is out of range (years 1970 to 9998)", name)
    return value


def parse_history_query(request: web.Request) -> HistoryQuery:
    fields = list(dict.fromkeys(f.strip() for f in request.query.get("fields", "").split(",") if f.strip()))
    if not fields:
        raise bad_request("fields: give one or more history fields, comma separated", "fields")
    if len(fields) > MAX_FIELDS:
        raise bad_request(f"fields: at most {MAX_FIELDS} per request ({len(fields)} given)", "fields")
    resolution = request.query.get("resolution", "auto")
    if resolution != "auto" and resolution not in _MIN_STEP_S:
        choices = ", ".join(r.value for r in Resolution)
        raise bad_request(
            f"unknown history resolution {resolution!r}; use auto or one of {choices}", "resolution"
        )
    query = HistoryQuery(fields, _time(request, "start"), _time(request, "end"), resolution)
    if resolution != "auto":
        samples = query.span_s() / _MIN_STEP_S[resolution] * len(fields)
        if samples > MAX_SAMPLES:
            raise bad_request(
                f"resolution={resolution}: this range and these fields give more than {MAX_SAMPLES} values;"
                " use a shorter range, fewer fields, a coarser resolution or resolution=auto",
                "resolution",
            )
    return query
