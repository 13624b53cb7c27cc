"""History and state storage: SQLite (default) or PostgreSQL (DESIGN.md §1, issue 4)."""

from .backend import redact_url
from .connect import default_history_url
from .history import History, HistorySettings, open_history
from .records import Event, InverterReport, Point, Sample, Series
from .resolution import Resolution, Retention

__all__ = [
    "Event",
    "History",
    "HistorySettings",
    "InverterReport",
    "Point",
    "Resolution",
    "Retention",
    "Sample",
    "Series",
    "default_history_url",
    "open_history",
    "redact_url",
]
