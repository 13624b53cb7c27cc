"""A fake Enlighten + Entrez cloud: the two calls a gateway client makes to obtain a token.

``POST /login/login.json?`` (form ``user[email]``, ``user[password]``) answers like Enlighten: JSON
with ``session_id`` on success, HTTP 401 on wrong credentials, and for an account with multi-factor
authentication ``{"success": true, "isBlocked": false}`` without ``session_id`` (the OTP step follows
on the real service). ``POST /tokens`` (JSON ``session_id``, ``serial_num``, ``username``) answers the
JWT as plain text. Switches make the token service answer 200 with an error text, or the whole cloud
answer 503 or drop connections. Every call is logged (never a password or token).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from aiohttp import web

from ..errors import ConfigError
from .auth import TokenAuthority

LOGIN_PATH = "/login/login.json"
TOKENS_PATH = "/tokens"
TOKEN_ERROR_TEXT = "Error in generating Token"
SERVICE_UNAVAILABLE_PAGE = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"
)


@dataclass(frozen=True, slots=True)
class CloudAccount:
    email: str
    password: str
    user_type: str = "owner"
    mfa: bool = False


DEFAULT_ACCOUNTS = (
    CloudAccount("owner@example.com", "owner-password"),
    CloudAccount("installer@example.com", "installer-password", user_type="installer"),
    CloudAccount("mfa@example.com", "mfa-password", mfa=True),
)


class CloudMode(StrEnum):
    OK = "ok"
    ERROR_TEXT = "error_text"
    DOWN = "down"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class CloudCall:
    endpoint: str
    username: str
    status: int
    outcome: str
    at_s: float


@dataclass(slots=True)
class FakeCloud:
    """State of the fake cloud; ``app()`` serves it."""

    authority: TokenAuthority
    serials: Collection[str]
    accounts: Sequence[CloudAccount] = DEFAULT_ACCOUNTS
    token_lifetime_s: int | None = None
    mode: CloudMode = CloudMode.OK
    clock: Callable[[], float] = time.time
    calls: list[CloudCall] = field(default_factory=list)
    _sessions: dict[str, CloudAccount] = field(default_factory=dict)

    def count(self, endpoint: str) -> int:
        return sum(1 for call in self.calls if call.endpoint == endpoint)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(LOGIN_PATH, self._login)
        app.router.add_post(TOKENS_PATH, self._tokens)
        app.router.add_get("/simulator/cloud", self._show)
        app.router.add_post("/simulator/cloud", self._configure)
        app.router.add_delete("/simulator/cloud/calls", self._clear_calls)
        return app

    def configure(self, *, mode: str | None = None, token_lifetime_s: int | None = None) -> None:
        if mode is not None:
            try:
                self.mode = CloudMode(mode)
            except ValueError as err:
                raise ConfigError(f"cloud mode {mode!r} is not one of {[str(m) for m in CloudMode]}") from err
        if token_lifetime_s is not None:
            if token_lifetime_s < 1:
                raise ConfigError("cloud field 'token_lifetime_s': must be >= 1")
            self.token_lifetime_s = token_lifetime_s

    def _record(self, endpoint: str, username: str, status: int, outcome: str) -> None:
        self.calls.append(CloudCall(endpoint, username, status, outcome, self.clock()))

    def _unavailable(self, request: web.Request, endpoint: str, username: str) -> web.Response | None:
        if self.mode is CloudMode.DOWN:
            self._record(endpoint, username, 503, "down")
            return web.Response(status=503, body=SERVICE_UNAVAILABLE_PAGE, content_type="text/html")
        if self.mode is CloudMode.REFUSE:
            self._record(endpoint, username, 0, "refused")
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        return None

    async def _login(self, request: web.Request) -> web.Response:
        form = await request.post()
        email, password = str(form.get("user[email]", "")), str(form.get("user[password]", ""))
        if (refused := self._unavailable(request, LOGIN_PATH, email)) is not None:
            return refused
        account = next((a for a in self.accounts if a.email == email and a.password == password), None)
        if account is None:
            self._record(LOGIN_PATH, email, 401, "bad credentials")
            return web.json_response({"message": "Invalid email or password"}, status=401)
        if account.mfa:
            self._record(LOGIN_PATH, email, 200, "mfa required")
            response = web.json_response({"success": True, "isBlocked": False})
            response.set_cookie("login_otp_nonce", secrets.token_hex(32), secure=True, httponly=True)
            return response
        session_id = secrets.token_hex(16)
        self._sessions[session_id] = account
        self._record(LOGIN_PATH, email, 200, "session")
        response = web.json_response(
            {
                "message": "success",
                "session_id": session_id,
                "manager_token": secrets.token_urlsafe(48),
                "is_consumer": account.user_type == "owner",
                "system_id": 1234567,
                "redirect_url": "",
            }
        )
        response.set_cookie("_enlighten_4_session", session_id, secure=True, httponly=True)
        return response

    async def _tokens(self, request: web.Request) -> web.Response:
        if (refused := self._unavailable(request, TOKENS_PATH, "")) is not None:
            return refused
        try:
            body = json.loads(await request.read())
            session_id, serial, username = (str(body[k]) for k in ("session_id", "serial_num", "username"))
        except (ValueError, KeyError, TypeError):
            self._record(TOKENS_PATH, "", 400, "bad request")
            return web.Response(status=400, text="Bad Request")
        account = self._sessions.get(session_id)
        if account is None or account.email != username:
            self._record(TOKENS_PATH, username, 401, "unknown session")
            return web.Response(status=401, text="Unauthorized")
        if serial not in self.serials:
            self._record(TOKENS_PATH, username, 403, "serial not in account")
            return web.Response(status=403, text="Forbidden")
        if self.mode is CloudMode.ERROR_TEXT:
            self._record(TOKENS_PATH, username, 200, "error text")
            return web.Response(text=TOKEN_ERROR_TEXT)
        token = self.authority.issue(
            serial=serial, user_type=account.user_type, username=username, lifetime_s=self.token_lifetime_s
        )
        self._record(TOKENS_PATH, username, 200, "token")
        return web.Response(text=token)

    async def _show(self, _request: web.Request) -> web.Response:
        return web.json_response(self.to_json())

    async def _configure(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            self.configure(mode=body.get("mode"), token_lifetime_s=body.get("token_lifetime_s"))
        except (ValueError, AttributeError, TypeError, ConfigError) as err:
            return web.json_response({"error": str(err)}, status=400)
        return web.json_response(self.to_json())

    async def _clear_calls(self, _request: web.Request) -> web.Response:
        self.calls.clear()
        return web.json_response(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": str(self.mode),
            "token_lifetime_s": self.token_lifetime_s,
            "calls": [asdict(call) for call in self.calls],
        }
