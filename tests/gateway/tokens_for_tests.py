"""JWTs shaped like Entrez's, for tests (signed with a throwaway HMAC key: nobody checks it here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt


def make_jwt(
    *,
    issued_at: datetime,
    lifetime: timedelta,
    serial: str = "122212345678",
    user_type: str = "owner",
    username: str = "owner@example.com",
    **extra: Any,
) -> str:
    claims: dict[str, Any] = {
        "aud": serial,
        "iss": "Entrez",
        "enphaseUser": user_type,
        "exp": int((issued_at + lifetime).timestamp()),
        "iat": int(issued_at.timestamp()),
        "jti": "test-jti",
        "username": username,
        **extra,
    }
    return jwt.encode(claims, "test-key-not-secret-at-all-0123456789", algorithm="HS256")
