"""Pure: what is published when the gateway stops answering (never a fake 0).

Instant figures (powers, per phase, grid balance, storage power and charge, meter readings) become
null; energy figures already counted (today, 7 days, lifetime) stay as they were, since they are still
true as of the last reading, until local midnight: from then on today is unknown (null) until the first
reading of the new day. The snapshot says it is stale, since when and why.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ..energy.day_close import without_day_figures, without_instant_figures
from ..energy.local_days import local_day
from ..energy.snapshot import Snapshot, Staleness


def stale_snapshot(
    last: Snapshot, *, now: datetime, last_ok: datetime, reason: str, tz: ZoneInfo | None = None
) -> Snapshot:
    """``last`` with every instant figure null, marked stale since ``last_ok``; with the site's time
    zone ``tz``, its day figures null too once a local midnight has passed since ``last_ok``."""
    snapshot = without_instant_figures(last)
    if tz is not None and local_day(now, tz) != local_day(last_ok, tz):
        snapshot = without_day_figures(snapshot)
    return replace(
        snapshot,
        time=now,
        staleness=Staleness(stale=True, age_s=round((now - last_ok).total_seconds(), 1), reason=reason),
    )
