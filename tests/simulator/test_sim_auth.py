from __future__ import annotations

import aiohttp
import jwt
import pytest
from simulator_helpers import bearer

from enphase_secure.errors import TokenError, TokenExpiredError
from enphase_secure.simulator.auth import (
    SESSION_IDLE_LIMIT_S,
    SessionStore,
    TokenAuthority,
)
from enphase_secure.simulator.server import UNAUTHORIZED_PAGE, VALID_TOKEN_PAGE, Simulator

READINGS = "/ivp/meters/readings"


async def get(http: aiohttp.ClientSession, sim: Simulator, path: str, **kwargs: object) -> tuple[int, bytes]:
    async with http.get(sim.gateway_url + path, **kwargs) as response:  # type: ignore[arg-type]
        return response.status, await response.read()


async def check_jwt(http: aiohttp.ClientSession, sim: Simulator, token: str) -> str:
    async with http.get(f"{sim.gateway_url}/auth/check_jwt", headers=bearer(token)) as response:
        assert response.status == 200
        assert await response.read() == VALID_TOKEN_PAGE
        cookie = response.cookies["sessionId"]
        assert cookie["secure"]
        assert cookie["httponly"]
        return cookie.value


async def test_only_info_is_open(http: aiohttp.ClientSession, sim: Simulator) -> None:
    assert (await get(http, sim, "/info"))[0] == 200
    status, body = await get(http, sim, READINGS)
    assert status == 401
    assert body == UNAUTHORIZED_PAGE
    assert (await get(http, sim, READINGS, headers=bearer(sim.issue_token())))[0] == 200
    assert (await get(http, sim, "/auth/check_jwt"))[0] == 401


async def test_check_jwt_opens_a_session_that_the_cookie_alone_uses(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    session_id = await check_jwt(http, sim, sim.issue_token())
    assert (await get(http, sim, READINGS, cookies={"sessionId": session_id}))[0] == 200
    assert (await get(http, sim, READINGS, cookies={"sessionId": "0" * 32}))[0] == 401


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda sim: sim.issue_token(lifetime_s=0), id="expired"),
        pytest.param(lambda sim: "not.a.jwt", id="malformed"),
        pytest.param(lambda sim: sim.issue_token(serial="999999999999"), id="wrong-serial"),
        pytest.param(lambda sim: TokenAuthority().issue(serial=sim.serial), id="foreign-signature"),
        pytest.param(
            lambda sim: jwt.encode({"aud": sim.serial, "exp": 2**40, "jti": "x"}, "k" * 32, "HS256"),
            id="wrong-algorithm",
        ),
    ],
)
async def test_bad_tokens_get_401(http: aiohttp.ClientSession, sim: Simulator, make_token: object) -> None:
    token = make_token(sim)  # type: ignore[operator]
    assert (await get(http, sim, READINGS, headers=bearer(token)))[0] == 401
    assert (await get(http, sim, "/auth/check_jwt", headers=bearer(token)))[0] == 401


async def test_revocation_rejects_tokens_and_drops_their_sessions(
    http: aiohttp.ClientSession, sim: Simulator
) -> None:
    kept, revoked = sim.issue_token(), sim.issue_token()
    kept_session = await check_jwt(http, sim, kept)
    revoked_session = await check_jwt(http, sim, revoked)
    sim.revoke_tokens(jwt.decode(revoked, options={"verify_signature": False})["jti"])
    assert (await get(http, sim, READINGS, headers=bearer(revoked)))[0] == 401
    assert (await get(http, sim, READINGS, cookies={"sessionId": revoked_session}))[0] == 401
    assert (await get(http, sim, READINGS, cookies={"sessionId": kept_session}))[0] == 200
    sim.revoke_tokens()
    assert (await get(http, sim, READINGS, headers=bearer(kept)))[0] == 401
    assert (await get(http, sim, READINGS, cookies={"sessionId": kept_session}))[0] == 401
    assert (await get(http, sim, READINGS, headers=bearer(sim.issue_token())))[0] == 200


def test_token_claims_look_like_enphase_ones() -> None:
    authority = TokenAuthority(clock=lambda: 1_700_000_000.0)
    token = authority.issue(serial="122212345678", user_type="installer", username="i@example.com")
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "122212345678"
    assert claims["iss"] == "Entrez"
    assert claims["enphaseUser"] == "installer"
    assert claims["username"] == "i@example.com"
    assert claims["exp"] - claims["iat"] == 12 * 3600
    assert claims["jti"]
    owner = jwt.decode(authority.issue(serial="1"), options={"verify_signature": False})
    assert owner["exp"] - owner["iat"] == 365 * 24 * 3600


def test_verify_says_why() -> None:
    now = [1_700_000_000.0]
    authority = TokenAuthority(clock=lambda: now[0])
    token = authority.issue(serial="1", lifetime_s=60)
    assert authority.verify(token, serial="1").user_type == "owner"
    with pytest.raises(TokenError, match="another gateway"):
        authority.verify(token, serial="2")
    now[0] += 60
    with pytest.raises(TokenExpiredError):
        authority.verify(token, serial="1")


def test_sessions_expire_after_ten_idle_minutes() -> None:
    now = [0.0]
    store = SessionStore(clock=lambda: now[0])
    authority = TokenAuthority(clock=lambda: 1_700_000_000.0 + now[0])
    session = store.open(authority.verify(authority.issue(serial="1"), serial="1"))
    now[0] = SESSION_IDLE_LIMIT_S - 1
    assert store.use(session) is not None
    now[0] += SESSION_IDLE_LIMIT_S - 1
    assert store.use(session) is not None
    now[0] += SESSION_IDLE_LIMIT_S
    assert store.use(session) is None
    assert len(store) == 0


async def test_reboot_drops_sessions(http: aiohttp.ClientSession, sim: Simulator) -> None:
    session_id = await check_jwt(http, sim, sim.issue_token())
    sim.reboot(0.05)
    assert len(sim.gateway.auth.sessions) == 0
    sim.faults.clear()
    assert (await get(http, sim, READINGS, cookies={"sessionId": session_id}))[0] == 401


async def test_request_log_never_holds_the_token(http: aiohttp.ClientSession, sim: Simulator) -> None:
    token = sim.issue_token()
    await get(http, sim, READINGS, headers=bearer(token))
    async with http.get(f"{sim.gateway_url}/simulator/requests") as response:
        text = await response.text()
    assert READINGS in text
    assert token not in text
