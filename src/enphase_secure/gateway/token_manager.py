"""The token lifecycle: which token the session sends, and what to do when the gateway refuses it.

Manual mode (``ManualTokens``): the user's token, warned about before it expires, refused once expired.
Auto mode (``AutoTokens``): a cached token reused across restarts, renewed from the Enphase cloud before
it expires and after the gateway refused it; when the cloud fails the cached token is kept while it is
valid and attempts back off, so a cloud outage never stops the readings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from ..errors import CloudError, GatewayAuthError, TokenError, TokenExpiredError
from .cloud_client import EnlightenClient
from .redact import register_secret
from .token import Token
from .token_policy import TokenHealth, renewal_due, retry_delay_s, token_health
from .tokenstore import TokenStore
from .transport import Transport

Clock = Callable[[], datetime]

DEFAULT_RETRY_BASE_S = 60.0
DEFAULT_RETRY_CAP_S = 3600.0
TOKEN_FILE_EVERY_S = 10.0  # how often a manual token that works is compared with gateway.token_file


def utc_now() -> datetime:
    return datetime.now(UTC)


class SerialLookup(Protocol):
    async def __call__(self, gateway: Transport) -> str:
        """The gateway serial, read from the gateway (``/info``, which needs no token)."""
        ...


class TokenProvider(Protocol):
    async def current(self, gateway: Transport) -> Token:
        """The token to send now (obtained first if needed). TokenError when there is no usable one."""
        ...

    async def replace(self, refused: Token, gateway: Transport) -> Token:
        """A token other than ``refused``, which the gateway's ``/auth/check_jwt`` has just refused."""
        ...

    @property
    def expires_at(self) -> datetime | None:
        """The expiry of the token in use (after a renewal: the new one's)."""
        ...


def describe(token: Token, now: datetime) -> str:
    """A one-line description of a token without the token itself."""
    info = token.info
    return (
        f"{info.user_type or 'unknown'} token for gateway {info.serial or '?'}, "
        f"expires {info.expires_at:%Y-%m-%d %H:%M} UTC ({info.days_left(now):.1f} days left)"
    )


class _ExpiryWarner:
    """Logs the approaching expiry of a token at most once per day."""

    def __init__(
        self, *, warning_days: float, logger: logging.Logger | logging.LoggerAdapter[Any], hint: str
    ) -> None:
        self._warning_days = warning_days
        self._logger = logger
        self._hint = hint
        self._warned_on: date | None = None
        self._valid_until: tuple[Token, datetime] | None = None
        """A token found valid and until when it stays so: asked at every request, worked out once."""

    def check(self, token: Token, now: datetime, *, warn: bool = True) -> TokenHealth:
        if self._valid_until is not None and self._valid_until[0] is token and now < self._valid_until[1]:
            return TokenHealth.VALID
        health = token_health(token.info, now, warning_days=self._warning_days)
        if health is TokenHealth.VALID:  # warning_days >= 0: valid until the warnings begin
            self._valid_until = token, token.info.expires_at - timedelta(days=self._warning_days)
        if warn and health is TokenHealth.EXPIRING and self._warned_on != now.date():
            self._warned_on = now.date()
            self._logger.warning("the %s: %s", describe(token, now), self._hint)
        return health


class ManualTokens:
    """The token the user pasted (``gateway.token`` / ``gateway.token_file``): it cannot be renewed.

    With ``reload`` (reads ``gateway.token_file`` again; None when it has not changed), a new token put
    in the file is used within ``reload_every_s`` (not a file status per request at 1 s polling), at
    once when the gateway refuses the token in use, and at the next request once it has expired. A
    token the gateway refused is not offered to it again (one ``/auth/check_jwt``, one message) until
    the file holds another one.
    """

    def __init__(
        self,
        *,
        token: Token,
        warning_days: float = 30.0,
        clock: Clock = utc_now,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        reload: Callable[[], Token | None] | None = None,
        reload_every_s: float = TOKEN_FILE_EVERY_S,
    ) -> None:
        register_secret(token.value)
        self._token = token
        self._clock = clock
        self._reload = reload
        self._reload_every_s = reload_every_s
        self._reloaded_at: datetime | None = None  # None: at the next request
        self._refused: GatewayAuthError | None = None
        self._logger = logger or logging.getLogger(__name__)
        self._warner = _ExpiryWarner(
            warning_days=warning_days,
            logger=self._logger,
            hint="get a new token from Enlighten and put it in gateway.token / gateway.token_file",
        )

    @property
    def expires_at(self) -> datetime:
        return self._token.info.expires_at

    def _reread(self, now: datetime) -> None:
        if self._reload is None:
            return
        self._reloaded_at = now
        try:
            token = self._reload()
        except TokenError as err:
            self._logger.error("gateway.token_file changed but is not usable, keeping the old token: %s", err)
            return
        if token is not None and token.value != self._token.value:
            register_secret(token.value)
            self._token, self._refused = token, None
            self._logger.info("gateway.token_file changed: using the %s", describe(token, now))

    def _reread_due(self, now: datetime) -> bool:
        """Every ``reload_every_s`` while the token works, at each request once refused or expired."""
        at = self._reloaded_at
        if self._refused is not None or at is None:
            return True
        return not 0 <= (now - at).total_seconds() < self._reload_every_s

    async def current(self, gateway: Transport) -> Token:
        now = self._clock()
        if self._reread_due(now):
            self._reread(now)
        if self._refused is not None:
            raise self._refused
        if self._warner.check(self._token, now) is TokenHealth.EXPIRED:
            self._reloaded_at = None  # the user is expected to put a new one in the file
            raise TokenExpiredError(
                f"the manual token (gateway.token / gateway.token_file) expired on "
                f"{self._token.info.expires_at:%Y-%m-%d %H:%M} UTC: get a new one from Enlighten"
            )
        return self._token

    async def replace(self, refused: Token, gateway: Transport) -> Token:
        self._reread(self._clock())
        if self._token.value != refused.value:  # the file holds another one meanwhile
            return self._token
        self._refused = GatewayAuthError(
            "the gateway refuses the manual token (gateway.token / gateway.token_file) although it has "
            f"not expired ({describe(refused, self._clock())}): is it for this gateway? Get a new one "
            "from Enlighten and put it in gateway.token_file (read again when it changes)"
        )
        raise self._refused


class AutoTokens:
    """Tokens obtained from the Enphase cloud with the user's credentials, cached in ``store``."""

    def __init__(
        self,
        *,
        cloud: EnlightenClient,
        store: TokenStore,
        username: str,
        serial: str | None,
        serial_lookup: SerialLookup,
        renew_margin_days: float = 7.0,
        warning_days: float = 30.0,
        retry_base_s: float = DEFAULT_RETRY_BASE_S,
        retry_cap_s: float = DEFAULT_RETRY_CAP_S,
        clock: Clock = utc_now,
        logger: logging.Logger | None = None,
    ) -> None:
        if retry_base_s <= 0 or retry_cap_s < retry_base_s:
            raise ValueError("need 0 < retry_base_s <= retry_cap_s")
        self._cloud = cloud
        self._store = store
        self._username = username
        self._serial = serial
        self._serial_lookup = serial_lookup
        self._margin_days = renew_margin_days
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        self._clock = clock
        self._logger = logger or logging.getLogger(__name__)
        self._warner = _ExpiryWarner(
            warning_days=warning_days,
            logger=self._logger,
            hint="renewal keeps failing; check the cloud credentials (gateway.username / gateway.password)",
        )
        self._token: Token | None = None
        self._cache_read = False
        self._failures = 0
        self._refused_streak = 0  # renewals in a row that the gateway refused
        self._renewed_at: datetime | None = None
        self._next_attempt: datetime | None = None
        self._last_error: TokenError | None = None
        self._lock = asyncio.Lock()

    @property
    def expires_at(self) -> datetime | None:
        return self._token.info.expires_at if self._token is not None else None

    @property
    def next_attempt(self) -> datetime | None:
        """When the cloud will be asked again after failures (None: no back-off in force)."""
        return self._next_attempt

    async def current(self, gateway: Transport) -> Token:
        async with self._lock:
            if not self._cache_read:
                self._token = self._read_cache()
                self._cache_read = True
            now = self._clock()
            if self._token is None or renewal_due(self._token.info, now, margin_days=self._margin_days):
                await self._renew(gateway, now)
            return self._usable(now)

    async def replace(self, refused: Token, gateway: Transport) -> Token:
        async with self._lock:
            now = self._clock()
            if self._token is not None and self._token.value != refused.value:
                return self._usable(now)
            self._hold_back_after_refusals(now)
            self._logger.info(
                "the gateway refused the %s; asking the cloud for a new one", describe(refused, now)
            )
            renewed_before = self._renewed_at
            await self._renew(gateway, now)
            if self._renewed_at != renewed_before:
                self._refused_streak += 1
            if self._token is None or self._token.value == refused.value:
                raise GatewayAuthError(
                    "the gateway refuses the token and no new one could be obtained: "
                    f"{self._last_error or 'renewal is backing off'}"
                )
            return self._usable(now)

    def _hold_back_after_refusals(self, now: datetime) -> None:
        """The gateway refused a token just obtained: the next login waits (60 s, 120 s, ...)."""
        renewed_at = self._renewed_at
        if renewed_at is None or (now - renewed_at).total_seconds() > self._retry_cap_s:
            self._refused_streak = 0
            return
        if self._refused_streak and self._next_attempt is None:
            delay_s = retry_delay_s(self._refused_streak, base_s=self._retry_base_s, cap_s=self._retry_cap_s)
            self._next_attempt = renewed_at + timedelta(seconds=delay_s)

    def _usable(self, now: datetime) -> Token:
        # a short-lived token (12 h installer token) is always "expiring": warn only when renewal fails
        if self._token is not None and (
            self._warner.check(self._token, now, warn=self._failures > 0) is not TokenHealth.EXPIRED
        ):
            return self._token
        when = f"; next attempt at {self._next_attempt:%H:%M:%S} UTC" if self._next_attempt else ""
        if self._token is not None:
            raise TokenExpiredError(
                f"the {describe(self._token, now)} has expired and could not be renewed{when}"
            )
        if self._last_error is not None:
            raise type(self._last_error)(f"{self._last_error}{when}")
        raise TokenError(f"no token for the gateway yet{when}")

    def _read_cache(self) -> Token | None:
        try:
            cached = self._store.load()
        except TokenError as err:
            self._logger.warning("ignoring the token cache: %s", err)
            return None
        if cached is None:
            return None
        info = cached.info
        if info.username is not None and info.username != self._username:
            self._logger.info("the cached token belongs to another account: not using it")
            return None
        if self._serial is not None and info.serial is not None and info.serial != self._serial:
            self._logger.info(
                "the cached token is for gateway %s, not %s: not using it", info.serial, self._serial
            )
            return None
        register_secret(cached.value)
        self._logger.info("using the cached %s", describe(cached, self._clock()))
        return cached

    async def _renew(self, gateway: Transport, now: datetime) -> None:
        if self._next_attempt is not None and now < self._next_attempt:
            return
        try:
            if self._serial is None:
                self._serial = await self._serial_lookup(gateway)
            token = await self._cloud.fetch_token(self._serial)
        except CloudError as err:
            self._failures += 1
            delay_s = retry_delay_s(self._failures, base_s=self._retry_base_s, cap_s=self._retry_cap_s)
            self._next_attempt = now + timedelta(seconds=delay_s)
            self._last_error = err
            kept = (
                f"keeping the cached {describe(self._token, now)}"
                if self._token is not None and not self._token.info.is_expired(now)
                else "no valid token to fall back on"
            )
            self._logger.warning(
                "cannot obtain a gateway token: %s; %s; next attempt in %.0f s", err, kept, delay_s
            )
            return
        register_secret(token.value)
        self._token = token
        self._failures = 0
        self._renewed_at = now
        self._next_attempt = None
        self._last_error = None
        self._logger.info("obtained a new %s", describe(token, now))
        try:
            self._store.save(token)
        except TokenError as err:
            self._logger.error("the new token works but could not be cached: %s", err)
