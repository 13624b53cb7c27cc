from __future__ import annotations

import aiohttp
import jwt
import pytest
from simulator_helpers import bearer

from enphase_secure.simulator.cloud import LOGIN_PATH, TOKEN_ERROR_TEXT, TOKENS_PATH
from enphase_secure.simulator.server import Simulator


async def login(http: aiohttp.ClientSession, sim: Simulator, email: str, password: str) -> tuple[int, dict]:
    form = {"user[email]": email, "user[password]": password}
    async with http.post(f"{sim.cloud_url}{LOGIN_PATH}?", data=form) as response:
        is_json = response.content_type == "application/json"
        return response.status, await response.json() if is_json else {}


async def request_token(
    http: aiohttp.ClientSession, sim: Simulator, session_id: str, username: str, serial: str | None = None
) -> tuple[int, str]:
    body = {"session_id": session_id, "serial_num": serial or sim.serial, "username": username}
    async with http.post(f"{sim.cloud_url}{TOKENS_PATH}", json=body) as response:
        return response.status, await response.text()


async def test_owner_login_then_token_works(http: aiohttp.ClientSession, sim: Simulator) -> None:
    status, body = await login(http, sim, "owner@example.com", "owner-password")
    assert status == 200
    assert body["message"] == "success"
    assert body["is_consumer"] is True
    status, token = await request_token(http, sim, body["session_id"], "owner@example.com")
    assert status == 200
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == sim.serial
    assert claims["enphaseUser"] == "owner"
    assert claims["username"] == "owner@example.com"
    async with http.get(f"{sim.gateway_url}/ivp/meters", headers=bearer(token)) as response:
        assert response.status == 200
    assert sim.cloud.count(LOGIN_PATH) == 1
    assert sim.cloud.count(TOKENS_PATH) == 1


async def test_installer_tokens_last_twelve_hours(http: aiohttp.ClientSession, sim: Simulator) -> None:
    _, body = await login(http, sim, "installer@example.com", "installer-password")
    _, token = await request_token(http, sim, body["session_id"], "installer@example.com")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["enphaseUser"] == "installer"
    assert claims["exp"] - claims["iat"] == 12 * 3600


async def test_token_lifetime_is_configurable(http: aiohttp.ClientSession, sim: Simulator) -> None:
    async with http.post(f"{sim.cloud_url}/simulator/cloud", json={"token_lifetime_s": 120}) as response:
        assert response.status == 200
    _, body = await login(http, sim, "owner@example.com", "owner-password")
    _, token = await request_token(http, sim, body["session_id"], "owner@example.com")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize(
    ("email", "password"),
    [("owner@example.com", "wrong"), ("nobody@example.com", "owner-password")],
)
async def test_wrong_credentials_are_rejected_with_401(
    http: aiohttp.ClientSession, sim: Simulator, email: str, password: str
) -> None:
    status, body = await login(http, sim, email, password)
    assert status == 401
    assert "session_id" not in body
    assert sim.cloud.calls[-1].outcome == "bad credentials"
    assert password not in repr(sim.cloud.calls)


async def test_mfa_account_gets_no_session(http: aiohttp.ClientSession, sim: Simulator) -> None:
    status, body = await login(http, sim, "mfa@example.com", "mfa-password")
    assert status == 200
    assert body == {"success": True, "isBlocked": False}


async def test_token_service_error_text_and_bad_sessions(http: aiohttp.ClientSession, sim: Simulator) -> None:
    _, body = await login(http, sim, "owner@example.com", "owner-password")
    sim.cloud.configure(mode="error_text")
    status, text = await request_token(http, sim, body["session_id"], "owner@example.com")
    assert status == 200
    assert text == TOKEN_ERROR_TEXT
    sim.cloud.configure(mode="ok")
    assert (await request_token(http, sim, "f" * 32, "owner@example.com"))[0] == 401
    assert (await request_token(http, sim, body["session_id"], "mfa@example.com"))[0] == 401
    assert (await request_token(http, sim, body["session_id"], "owner@example.com", "999"))[0] == 403


async def test_cloud_down_and_refusing(http: aiohttp.ClientSession, sim: Simulator) -> None:
    async with http.post(f"{sim.cloud_url}/simulator/cloud", json={"mode": "down"}) as response:
        assert response.status == 200
    assert (await login(http, sim, "owner@example.com", "owner-password"))[0] == 503
    sim.cloud.configure(mode="refuse")
    with pytest.raises(aiohttp.ClientError):
        await login(http, sim, "owner@example.com", "owner-password")
    async with http.post(f"{sim.cloud_url}/simulator/cloud", json={"mode": "sideways"}) as response:
        assert response.status == 400
        assert "sideways" in (await response.json())["error"]
    async with http.get(f"{sim.cloud_url}/simulator/cloud") as response:
        outcomes = [call["outcome"] for call in (await response.json())["calls"]]
    assert outcomes == ["down", "refused"]
