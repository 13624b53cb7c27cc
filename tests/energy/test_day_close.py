"""An outage across local midnight (single-phase site, the simulator stepped by hand): after midnight
the stale snapshot shows today as unknown, not yesterday's total; with the first reading of the day,
yesterday is closed with the estimated split, in the snapshot and in the history's daily row."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from site_run import Run

from enphase_secure.daemon.stale import stale_snapshot
from enphase_secure.energy.day_close import closing_snapshot
from enphase_secure.storage import HistorySettings, open_history

PARIS = ZoneInfo("Europe/Paris")
TICK_S = 30.0
START = datetime(2024, 6, 20, 21, 0, tzinfo=PARIS)
OUTAGE = (datetime(2024, 6, 20, 23, 30, tzinfo=PARIS), datetime(2024, 6, 21, 0, 45, tzinfo=PARIS))


async def _outage_across_midnight(history_url: str) -> None:
    run = Run("single-phase", START, PARIS, tick_s=TICK_S)
    await run.start()
    async with await open_history(history_url, settings=HistorySettings(timezone="Europe/Paris")) as history:
        while run.source.now() < OUTAGE[0]:
            run.source.control_clock(advance_s=TICK_S)
            await run.tick(slow=False, storage=True)
            assert run.snapshot is not None
            await history.append(run.snapshot)
        before = run.snapshot
        assert before is not None
        last_ok = before.time
        pre_gap_wh = before.consumption.today_wh
        assert pre_gap_wh is not None
        assert pre_gap_wh > 500

        # the gateway is gone: stale snapshots every tick, before and after midnight
        latest = before
        while run.source.now() < OUTAGE[1]:
            run.source.control_clock(advance_s=TICK_S)
            now = run.source.now()
            latest = stale_snapshot(latest, now=now, last_ok=last_ok, reason="unreachable", tz=PARIS)
            await history.append(latest)
            if now.date() == OUTAGE[0].date():
                assert latest.consumption.today_wh == pre_gap_wh  # still true as of the last reading
            else:  # a new day without a reading: unknown, not yesterday's total
                assert latest.production.today_wh is None
                assert latest.consumption.today_wh is None
                assert latest.grid.import_today_wh is None
                assert latest.consumption.phases_today_wh == (None,)
                assert latest.production.lifetime_wh == before.production.lifetime_wh
            assert latest.production.power_w is None

        # the first reading of the day closes yesterday with the split, then today starts
        await run.tick(slow=False, storage=True)
        now = run.source.now()
        closing = closing_snapshot(
            latest, run.state, last_ok=last_ok, now=now, tz=PARIS, metering="gateway", max_gap_s=5 * TICK_S
        )
        assert closing is not None
        await history.append(closing)
        assert run.snapshot is not None
        await history.append(run.snapshot)
        daily = await history.series(
            ("production_today_wh", "consumption_today_wh"),
            OUTAGE[0].replace(hour=0, minute=0),
            OUTAGE[1],
            resolution="1day",
        )
    truth = run.source.truth()
    yesterday = next(d for d in truth["days"] if d["date"] == OUTAGE[0].date().isoformat())

    assert closing.time == datetime(2024, 6, 21, tzinfo=PARIS) - timedelta(milliseconds=1)
    assert not closing.staleness.stale
    assert closing.consumption.power_w is None  # nothing was read at midnight
    assert closing.consumption.today_estimated
    split_wh = closing.consumption.today_wh
    assert split_wh is not None
    # the outage's last 30 minutes of the evening are added, linearly split
    assert split_wh > pre_gap_wh + 100
    # an estimate: the 75 minutes are split as if the load were constant (it falls towards midnight)
    assert split_wh == pytest.approx(yesterday["consumption"]["total"], rel=0.03)
    assert closing.grid.import_today_wh is not None
    assert closing.grid.import_today_wh > (before.grid.import_today_wh or 0)
    # over both days nothing is lost or counted twice (but the 30 s before the first reading at 21:00:30)
    today_wh = run.snapshot.consumption.today_wh
    assert today_wh is not None
    first_tick_wh = 1000.0 * TICK_S / 3600
    assert split_wh + today_wh == pytest.approx(
        yesterday["consumption"]["total"] + truth["today"]["consumption"]["total"], abs=first_tick_wh
    )
    # the history's row for yesterday has the closing figures, not the pre-gap ones
    rows = {p.time.astimezone(PARIS).date(): p for p in daily.points}
    row = rows[OUTAGE[0].date()]
    assert row.samples["consumption_today_wh"].value == pytest.approx(split_wh, abs=1.0)
    assert row.samples["production_today_wh"].value == pytest.approx(closing.production.today_wh, abs=1.0)
    # no closing without a missed midnight
    assert (
        closing_snapshot(
            run.snapshot,
            run.state,
            last_ok=now,
            now=now + timedelta(seconds=TICK_S),
            tz=PARIS,
            metering="gateway",
            max_gap_s=5 * TICK_S,
        )
        is None
    )


def test_an_outage_across_midnight_closes_yesterday_with_the_split(tmp_path: Path) -> None:
    asyncio.run(_outage_across_midnight(f"sqlite:///{tmp_path / 'history.db'}"))
