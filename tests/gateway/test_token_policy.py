from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from tokens_for_tests import make_jwt

from enphase_secure.errors import TokenExpiredError
from enphase_secure.gateway.token import decode_token
from enphase_secure.gateway.token_manager import ManualTokens
from enphase_secure.gateway.token_policy import (
    TokenHealth,
    renew_at,
    renewal_due,
    retry_delay_s,
    token_health,
)

ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = decode_token(make_jwt(issued_at=ISSUED, lifetime=timedelta(days=365))).info
NO_GATEWAY = cast(Any, None)  # a manual token never asks the gateway
HALF_DAY = decode_token(make_jwt(issued_at=ISSUED, lifetime=timedelta(hours=12))).info


@pytest.mark.parametrize(
    ("days_after_issue", "warning_days", "expected"),
    [
        (0, 30, TokenHealth.VALID),
        (334, 30, TokenHealth.VALID),
        (335, 30, TokenHealth.EXPIRING),
        (364.9, 30, TokenHealth.EXPIRING),
        (365, 30, TokenHealth.EXPIRED),
        (400, 30, TokenHealth.EXPIRED),
        (364, 0, TokenHealth.VALID),
    ],
)
def test_health(days_after_issue: float, warning_days: float, expected: TokenHealth) -> None:
    now = ISSUED + timedelta(days=days_after_issue)
    assert token_health(YEAR, now, warning_days=warning_days) is expected


@pytest.mark.parametrize(
    ("info_name", "margin_days", "renew_after"),
    [
        ("year", 7, timedelta(days=358)),
        ("year", 0, timedelta(days=365)),
        ("year", 400, timedelta(days=182, hours=12)),
        ("half_day", 7, timedelta(hours=6)),
        ("half_day", 0.1, timedelta(hours=12) - timedelta(days=0.1)),
    ],
)
def test_renewal_moment(info_name: str, margin_days: float, renew_after: timedelta) -> None:
    info = YEAR if info_name == "year" else HALF_DAY
    moment = ISSUED + renew_after
    assert renew_at(info, margin_days=margin_days) == moment
    assert not renewal_due(info, moment - timedelta(seconds=1), margin_days=margin_days)
    assert renewal_due(info, moment, margin_days=margin_days)


def test_renewal_without_issue_time_uses_the_full_margin() -> None:
    info = decode_token(make_jwt(issued_at=ISSUED, lifetime=timedelta(days=30), iat=None)).info
    assert info.issued_at is None
    assert renew_at(info, margin_days=7) == ISSUED + timedelta(days=23)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.0), (1, 60.0), (2, 120.0), (3, 240.0), (6, 1920.0), (7, 3600.0), (50, 3600.0), (10_000, 3600.0)],
)
def test_retry_delay_doubles_and_is_capped(failures: int, expected: float) -> None:
    assert retry_delay_s(failures, base_s=60, cap_s=3600) == expected


async def test_manual_token_asked_at_every_read_still_turns_expiring_then_expired(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The health of a valid token is worked out once; crossing into the warning days or past the
    expiry is still seen at the very next read."""
    now = [ISSUED + timedelta(days=334)]
    tokens = ManualTokens(
        token=decode_token(make_jwt(issued_at=ISSUED, lifetime=timedelta(days=365))),
        warning_days=30,
        clock=lambda: now[0],
    )
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await tokens.current(NO_GATEWAY)
        assert caplog.records == []
        now[0] = ISSUED + timedelta(days=335, seconds=1)
        await tokens.current(NO_GATEWAY)
        assert len(caplog.records) == 1
        assert "days left" in caplog.records[0].getMessage()
    now[0] = ISSUED + timedelta(days=365, seconds=1)
    with pytest.raises(TokenExpiredError):
        await tokens.current(NO_GATEWAY)
