"""The project's one exception tree: every error raised to a caller derives from EnphaseSecureError.

Library errors (aiohttp, json, jwt, ...) are translated at the boundary with ``raise ... from err``.
Messages name the culprit (config key, endpoint and field, URL) and never contain a secret.
"""


class EnphaseSecureError(Exception):
    """Base of every error this package raises."""


class ConfigError(EnphaseSecureError):
    """The configuration (file, flag or value) is invalid; the message names the key."""


class NotImplementedYetError(EnphaseSecureError):
    """A sub-command that a later issue builds."""


class GatewayError(EnphaseSecureError):
    """Anything that went wrong talking to the IQ Gateway."""


class GatewayUnreachableError(GatewayError):
    """Connection refused, reset, timed out or TLS failure."""


class GatewayAuthError(GatewayError):
    """The gateway refused the token (HTTP 401/403)."""


class GatewayResponseError(GatewayError):
    """The gateway answered, but not with what was expected (status, JSON, field)."""

    def __init__(self, endpoint: str, problem: str, *, field: str | None = None) -> None:
        self.endpoint = endpoint
        self.field = field
        where = f"{endpoint} field {field!r}" if field else endpoint
        super().__init__(f"{where}: {problem}")


class GatewayStatusError(GatewayResponseError):
    """The gateway answered an HTTP status other than 200, 401 and 403 (404: it has no such endpoint)."""

    def __init__(self, endpoint: str, status: int) -> None:
        self.status = status
        super().__init__(endpoint, f"HTTP {status}")


class CertificateMismatchError(GatewayError):
    """The gateway's TLS certificate does not match the pinned fingerprint."""


class TokenError(EnphaseSecureError):
    """The gateway token could not be obtained, read or used."""


class TokenExpiredError(TokenError):
    """The token's ``exp`` is in the past."""


class CloudError(TokenError):
    """The Enlighten / Entrez cloud could not be reached or answered an error."""


class CloudCredentialsError(CloudError):
    """Enlighten rejected the username or password."""


class CloudMfaError(CloudError):
    """The Enlighten account has multi-factor authentication on: auto mode cannot log in."""


class StorageError(EnphaseSecureError):
    """The history or state store failed."""


class StorageSchemaError(StorageError):
    """The database's schema version is newer than this program knows, or a migration failed."""


class UnknownHistoryFieldError(StorageError):
    """A history query asked for a field that the history does not keep."""

    def __init__(self, field: str, known: list[str]) -> None:
        self.field = field
        super().__init__(f"unknown history field {field!r}; known fields: {', '.join(known)}")


class ActionError(EnphaseSecureError):
    """A controller action (http, mqtt, command, ...) failed."""


class EnergyError(EnphaseSecureError):
    """The energy maths was given an input it cannot use (e.g. a time without a time zone)."""


class EnergyStateError(EnergyError):
    """A persisted energy state (day counters, integrator, inverter estimate) could not be read."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"energy state field {field!r}: {problem}")


class OutputUnavailableError(EnphaseSecureError):
    """An output's target (MQTT broker, ...) cannot take updates now; it retries by itself."""
