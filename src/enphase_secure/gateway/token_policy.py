"""When to warn about, renew and retry a gateway token: pure decisions, the clock passed in."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from .token import TokenInfo

RENEW_AT_LIFETIME_FRACTION = 0.5
"""Short-lived tokens (some accounts get 12 h ones) are renewed at half their life, not ``margin``
before expiry: a 7-day margin on a 12-hour token would renew it on every use."""


class TokenHealth(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"


def token_health(info: TokenInfo, now: datetime, *, warning_days: float) -> TokenHealth:
    if info.is_expired(now):
        return TokenHealth.EXPIRED
    if info.days_left(now) <= warning_days:
        return TokenHealth.EXPIRING
    return TokenHealth.VALID


def renew_at(info: TokenInfo, *, margin_days: float) -> datetime:
    """The moment from which an auto-mode token should be replaced by a fresh one."""
    margin = timedelta(days=margin_days)
    lifetime = info.lifetime
    if lifetime is not None and lifetime > timedelta(0):
        margin = min(margin, lifetime * RENEW_AT_LIFETIME_FRACTION)
    return info.expires_at - margin


def renewal_due(info: TokenInfo, now: datetime, *, margin_days: float) -> bool:
    return now >= renew_at(info, margin_days=margin_days)


def retry_delay_s(failures: int, *, base_s: float, cap_s: float) -> float:
    """Capped exponential back-off after ``failures`` consecutive failed attempts (0 = no wait)."""
    if failures <= 0:
        return 0.0
    return min(cap_s, base_s * 2.0 ** min(failures - 1, 32))
