from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tokens_for_tests import make_jwt

from enphase_secure.errors import TokenError
from enphase_secure.gateway.token import decode_token
from enphase_secure.gateway.tokenstore import TokenStore, token_cache_path

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def test_cache_path_is_one_safe_file_name_per_gateway(tmp_path: Path) -> None:
    assert token_cache_path(tmp_path, "127.0.0.1:8443") == tmp_path / "token-127.0.0.1_8443.jwt"
    assert token_cache_path(tmp_path, "[::1]:443").parent == tmp_path
    assert "/" not in token_cache_path(tmp_path, "../../etc/passwd").name


def test_round_trip_creates_private_file_and_directory(tmp_path: Path) -> None:
    store = TokenStore(path=tmp_path / "state" / "token-gw.jwt")
    assert store.load() is None
    token = decode_token(make_jwt(issued_at=NOW, lifetime=timedelta(days=365)))
    store.save(token)
    assert store.load() == token
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700
    assert [p.name for p in store.path.parent.iterdir()] == ["token-gw.jwt"]


def test_save_replaces_the_previous_token(tmp_path: Path) -> None:
    store = TokenStore(path=tmp_path / "token.jwt")
    first = decode_token(make_jwt(issued_at=NOW, lifetime=timedelta(days=1)))
    second = decode_token(make_jwt(issued_at=NOW, lifetime=timedelta(days=2)))
    store.save(first)
    store.save(second)
    assert store.load() == second
    assert len(list(tmp_path.iterdir())) == 1


def test_garbage_file_is_a_token_error_naming_the_file_only(tmp_path: Path) -> None:
    path = tmp_path / "token.jwt"
    path.write_text("half-written-secret-garbage")
    with pytest.raises(TokenError, match=r"token cache .*token\.jwt.*not a JWT") as caught:
        TokenStore(path=path).load()
    assert "half-written-secret-garbage" not in str(caught.value)


def test_unwritable_directory_is_a_token_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    token = decode_token(make_jwt(issued_at=NOW, lifetime=timedelta(days=1)))
    with pytest.raises(TokenError, match="cannot write"):
        TokenStore(path=blocker / "token.jwt").save(token)
