"""Tokens and sessions of the simulated gateway, like firmware 7+.

Entrez signs owner/installer JWTs (ES256) whose ``aud`` is the gateway serial; the gateway checks the
signature, ``exp`` and serial. ``GET /auth/check_jwt`` with a valid token opens a session (``sessionId``
cookie) that stays valid while used at least every 10 minutes; a reboot or a revocation drops sessions.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import TokenError, TokenExpiredError

ISSUER = "Entrez"
OWNER_TOKEN_LIFETIME_S = 365 * 24 * 3600
INSTALLER_TOKEN_LIFETIME_S = 12 * 3600
SESSION_IDLE_LIMIT_S = 600.0
SESSION_COOKIE = "sessionId"
USER_TYPES = ("owner", "installer")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    serial: str
    user_type: str
    username: str
    jti: str
    issued_at_s: int
    expires_at_s: int


def default_lifetime_s(user_type: str) -> int:
    return INSTALLER_TOKEN_LIFETIME_S if user_type == "installer" else OWNER_TOKEN_LIFETIME_S


class TokenAuthority:
    """Signs tokens as Entrez does and verifies them as the gateway does; keeps the revocation list."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._key_id = secrets.token_hex(8)
        self._issued: set[str] = set()
        self._revoked: set[str] = set()

    def issue(
        self,
        *,
        serial: str,
        user_type: str = "owner",
        username: str = "owner@example.com",
        lifetime_s: int | None = None,
    ) -> str:
        if user_type not in USER_TYPES:
            raise ValueError(f"user_type must be one of {USER_TYPES}, not {user_type!r}")
        issued_at = int(self._clock())
        jti = str(uuid.uuid4())
        claims = {
            "aud": serial,
            "iss": ISSUER,
            "enphaseUser": user_type,
            "exp": issued_at + (default_lifetime_s(user_type) if lifetime_s is None else lifetime_s),
            "iat": issued_at,
            "jti": jti,
            "username": username,
        }
        self._issued.add(jti)
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id})

    def verify(self, token: str, *, serial: str) -> TokenClaims:
        """The claims of a token valid for gateway ``serial`` now; TokenError saying why not otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["ES256"],
                audience=serial,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "aud"], "verify_exp": False},
            )
        except jwt.InvalidAudienceError as err:
            raise TokenError("token was issued for another gateway serial") from err
        except jwt.PyJWTError as err:
            raise TokenError(f"token rejected: {type(err).__name__}") from err
        if claims["exp"] <= self._clock():
            raise TokenExpiredError("token expired")
        if claims["jti"] in self._revoked:
            raise TokenError("token revoked")
        return TokenClaims(
            serial=serial,
            user_type=str(claims.get("enphaseUser", "")),
            username=str(claims.get("username", "")),
            jti=str(claims["jti"]),
            issued_at_s=int(claims["iat"]),
            expires_at_s=int(claims["exp"]),
        )

    def revoke(self, jti: str | None = None) -> None:
        """Revoke one token by ``jti``, or every token issued so far."""
        self._revoked.update(self._issued if jti is None else {jti})


@dataclass(slots=True)
class _Session:
    jti: str
    last_used_s: float


class SessionStore:
    """The gateway's ``sessionId`` cookies: valid while used at least every SESSION_IDLE_LIMIT_S."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, _Session] = {}

    def open(self, claims: TokenClaims) -> str:
        now = self._clock()
        self._sessions = {
            sid: s for sid, s in self._sessions.items() if now - s.last_used_s < SESSION_IDLE_LIMIT_S
        }
        session_id = secrets.token_hex(16)
        self._sessions[session_id] = _Session(jti=claims.jti, last_used_s=now)
        return session_id

    def use(self, session_id: str) -> str | None:
        """The jti behind a live session (and keep it alive), or None."""
        session = self._sessions.get(session_id)
        now = self._clock()
        if session is None or now - session.last_used_s >= SESSION_IDLE_LIMIT_S:
            self._sessions.pop(session_id, None)
            return None
        session.last_used_s = now
        return session.jti

    def drop(self, jti: str | None = None) -> None:
        """Drop the sessions opened with token ``jti``, or all of them."""
        if jti is None:
            self._sessions.clear()
        else:
            self._sessions = {sid: s for sid, s in self._sessions.items() if s.jti != jti}

    def __len__(self) -> int:
        return len(self._sessions)


class GatewayAuth:
    """The gateway's decision for one request: a live session cookie, or a valid bearer token."""

    def __init__(self, *, serial: str, authority: TokenAuthority, sessions: SessionStore) -> None:
        self.serial = serial
        self.authority = authority
        self.sessions = sessions

    def verify_bearer(self, authorization: str | None) -> TokenClaims:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("no bearer token")
        return self.authority.verify(token.strip(), serial=self.serial)

    def allows(self, *, authorization: str | None, session_id: str | None) -> bool:
        if session_id and self.sessions.use(session_id) is not None:
            return True
        try:
            self.verify_bearer(authorization)
        except TokenError:
            return False
        return True

    def revoke(self, jti: str | None = None) -> None:
        self.authority.revoke(jti)
        self.sessions.drop(jti)
