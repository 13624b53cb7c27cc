"""The Enphase cloud, used only to obtain a gateway token in auto mode (DESIGN.md §2).

Enlighten login (form ``user[email]``, ``user[password]``) gives a ``session_id``; Entrez exchanges it,
with the gateway serial and the username, for a JWT sent back as plain text.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from pydantic import SecretStr

from ..errors import CloudCredentialsError, CloudError, CloudMfaError, TokenError
from ..messages import explain
from .token import Token, decode_token

LOGIN_PATH = "/login/login.json?"
TOKENS_PATH = "/tokens"
_REFUSED = frozenset({401, 403})


class EnlightenClient:
    """Logs in to Enlighten and asks Entrez for a gateway token. Each call opens its own short session."""

    def __init__(
        self,
        *,
        enlighten_url: str,
        entrez_url: str,
        username: str,
        password: SecretStr,
        timeout_s: float = 30.0,
    ) -> None:
        if not username:
            raise ValueError("username must not be empty")
        if not password.get_secret_value():
            raise ValueError("password must not be empty")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self._login_url = enlighten_url.rstrip("/") + LOGIN_PATH
        self._tokens_url = entrez_url.rstrip("/") + TOKENS_PATH
        self._username = username
        self._password = password
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def fetch_token(self, serial: str) -> Token:
        """A new token for gateway ``serial``.

        Raises CloudCredentialsError (wrong username/password), CloudMfaError (account with MFA),
        CloudError (unreachable, unexpected answer, or a 200 that is not a token).
        """
        async with aiohttp.ClientSession(timeout=self._timeout) as http:
            session_id = await self._login(http)
            return await self._request_token(http, session_id, serial)

    async def _login(self, http: aiohttp.ClientSession) -> str:
        form = {"user[email]": self._username, "user[password]": self._password.get_secret_value()}
        status, body = await self._post(http, self._login_url, data=form)
        if status in _REFUSED:
            raise CloudCredentialsError(
                f"Enlighten login at {self._login_url} refused gateway.username / gateway.password "
                f"(HTTP {status})"
            )
        if status != 200:
            raise CloudError(f"Enlighten login at {self._login_url} answered HTTP {status}")
        answer = _json_object(body, self._login_url)
        session_id = answer.get("session_id")
        if isinstance(session_id, str) and session_id:
            return session_id
        raise CloudMfaError(
            f"Enlighten login at {self._login_url} succeeded but gave no session_id: the account has "
            "multi-factor authentication on, which auto mode cannot pass. Turn MFA off for this account, "
            "or use token_mode = 'manual' with a token from Enlighten"
        )

    async def _request_token(self, http: aiohttp.ClientSession, session_id: str, serial: str) -> Token:
        request = {"session_id": session_id, "serial_num": serial, "username": self._username}
        status, body = await self._post(http, self._tokens_url, json=request)
        if status in _REFUSED:
            raise CloudCredentialsError(
                f"token service {self._tokens_url} refused to issue a token for gateway serial {serial} "
                f"(HTTP {status}): is gateway.serial right, and is the gateway linked to this account?"
            )
        if status != 200:
            raise CloudError(f"token service {self._tokens_url} answered HTTP {status}")
        try:
            token = decode_token(body.decode("utf-8", "replace"), source=f"answer of {self._tokens_url}")
        except TokenError as err:
            raise CloudError(f"token service {self._tokens_url} answered 200 without a token: {err}") from err
        if token.info.serial is not None and token.info.serial != serial:
            raise CloudError(
                f"token service {self._tokens_url} issued a token for gateway {token.info.serial}, "
                f"not {serial}"
            )
        return token

    async def _post(self, http: aiohttp.ClientSession, url: str, **payload: Any) -> tuple[int, bytes]:
        try:
            async with http.post(url, **payload) as response:
                return response.status, await response.read()
        except TimeoutError as err:
            raise CloudError(f"{url}: no answer within {self._timeout.total} s") from err
        except aiohttp.ClientError as err:
            raise CloudError(explain(err, url)) from err


def _json_object(body: bytes, url: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError as err:
        raise CloudError(f"{url} answered 200 with something that is not JSON") from err
    if not isinstance(answer, dict):
        raise CloudError(f"{url} answered 200 with JSON that is not an object")
    return answer
