"""The gateway token (a JWT issued by Enphase's Entrez service): decoded at the edge into a frozen model.

The signature is not verified: only the gateway holds the key. We read the claims to know whose
token it is, for which gateway and until when; the gateway itself says whether it accepts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ..errors import TokenError

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """The claims of a gateway token that matter to us (times are UTC)."""

    expires_at: datetime
    issued_at: datetime | None
    user_type: str | None
    """``enphaseUser``: "owner" or "installer" (other values kept as they are)."""
    serial: str | None
    """``aud``: the gateway the token was issued for."""
    username: str | None

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def days_left(self, now: datetime) -> float:
        return self.seconds_left(now) / _SECONDS_PER_DAY

    def is_expired(self, now: datetime) -> bool:
        return self.seconds_left(now) <= 0

    @property
    def lifetime(self) -> timedelta | None:
        return None if self.issued_at is None else self.expires_at - self.issued_at


@dataclass(frozen=True, slots=True)
class Token:
    """A token and its decoded claims. ``value`` is the secret: it is left out of ``repr``."""

    value: str = field(repr=False)
    info: TokenInfo

    @property
    def bearer_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


def _timestamp(claims: dict[str, Any], name: str, source: str) -> datetime | None:
    raw = claims.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise TokenError(f"{source}: claim {name!r} is not a timestamp")
    try:
        return datetime.fromtimestamp(raw, tz=UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise TokenError(f"{source}: claim {name!r} is out of range") from err


def _optional_text(claims: dict[str, Any], name: str) -> str | None:
    raw = claims.get(name)
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    return str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None


def decode_token(value: str, *, source: str = "token") -> Token:
    """Decode a gateway JWT without checking its signature; TokenError (naming ``source``) if it is not one.

    ``source`` says where the text came from ("gateway.token_file", "token service answer", ...); the
    text itself never appears in the error.
    """
    text = value.strip()
    if not text:
        raise TokenError(f"{source}: empty")
    try:
        claims = jwt.decode(
            text, options={"verify_signature": False, "verify_exp": False, "verify_aud": False}
        )
    except jwt.PyJWTError as err:
        raise TokenError(f"{source}: not a JWT ({type(err).__name__})") from err
    if not isinstance(claims, dict):
        raise TokenError(f"{source}: the JWT payload is not an object")
    expires_at = _timestamp(claims, "exp", source)
    if expires_at is None:
        raise TokenError(f"{source}: the JWT has no 'exp' claim")
    info = TokenInfo(
        expires_at=expires_at,
        issued_at=_timestamp(claims, "iat", source),
        user_type=_optional_text(claims, "enphaseUser"),
        serial=_optional_text(claims, "aud"),
        username=_optional_text(claims, "username"),
    )
    return Token(value=text, info=info)
