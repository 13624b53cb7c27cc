from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from tokens_for_tests import make_jwt

from enphase_secure.errors import TokenError
from enphase_secure.gateway.token import decode_token

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_decodes_the_claims_we_use() -> None:
    text = make_jwt(issued_at=NOW, lifetime=timedelta(days=365), serial="121", user_type="installer")
    token = decode_token(f"  {text}\n")
    assert token.value == text
    assert token.info.expires_at == NOW + timedelta(days=365)
    assert token.info.issued_at == NOW
    assert token.info.user_type == "installer"
    assert token.info.serial == "121"
    assert token.info.username == "owner@example.com"
    assert token.info.lifetime == timedelta(days=365)
    assert token.info.days_left(NOW + timedelta(days=100)) == pytest.approx(265)
    assert not token.info.is_expired(NOW)
    assert token.info.is_expired(NOW + timedelta(days=365))


def test_expired_token_still_decodes() -> None:
    token = decode_token(make_jwt(issued_at=NOW - timedelta(days=10), lifetime=timedelta(days=1)))
    assert token.info.is_expired(NOW)


def test_audience_given_as_list_and_unknown_user_type_are_kept() -> None:
    text = make_jwt(issued_at=NOW, lifetime=timedelta(hours=12), serial="x", user_type="support")
    claims = jwt.decode(text, options={"verify_signature": False, "verify_aud": False})
    claims["aud"] = ["999"]
    token = decode_token(jwt.encode(claims, "k" * 32, algorithm="HS256"))
    assert token.info.serial == "999"
    assert token.info.user_type == "support"


def test_repr_never_shows_the_token() -> None:
    text = make_jwt(issued_at=NOW, lifetime=timedelta(days=1))
    token = decode_token(text)
    assert text not in repr(token)
    assert "owner" in repr(token)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("not-a-token", "not a JWT"),
        ("<!DOCTYPE html><h2>Failed to generate token</h2>", "not a JWT"),
        ("a.b.c", "not a JWT"),
        (jwt.encode({"aud": "1"}, "k" * 32, algorithm="HS256"), "no 'exp' claim"),
        (jwt.encode({"exp": "tomorrow"}, "k" * 32, algorithm="HS256"), "'exp' is not a timestamp"),
        (jwt.encode({"exp": 10**20}, "k" * 32, algorithm="HS256"), "'exp' is out of range"),
    ],
)
def test_refuses_garbage_naming_the_source_not_the_text(text: str, problem: str) -> None:
    with pytest.raises(TokenError) as caught:
        decode_token(text, source="gateway.token_file")
    message = str(caught.value)
    assert message.startswith("gateway.token_file: ")
    assert problem in message
    if text.strip():
        assert text not in message
