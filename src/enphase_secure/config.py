"""The configuration file (TOML, DESIGN.md §4): parsed once at the edge into frozen, validated models.

Unknown keys are errors. Every error names the key path (``gateway.host``) and never echoes a secret.
Secrets are ``SecretStr`` so that no repr, log line or error message can show them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from .actions.jeedom import JeedomEndpoint
from .actions.mqtt import MqttBroker
from .actions.registry import ActionContext, StageActions, build_control_actions
from .control.settings import ControlSettings
from .errors import ConfigError
from .web.security import is_loopback

JEEDOM_PLUGIN = "enphasesecur"  # [publish.jeedom] apikey is this plugin's key
DEFAULT_STATE_DIR = Path("/var/lib/enphase-secure")
DEFAULT_ENLIGHTEN_URL = "https://enlighten.enphaseenergy.com"
DEFAULT_ENTREZ_URL = "https://entrez.enphaseenergy.com"

_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$")
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


FilePath = Annotated[Path, Strict(False)]  # a TOML string


class _Section(BaseModel):
    # strict: "10" is not a number and 1 is not true (TOML has types: a quoted value is a mistake)
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


def _read_secret_file(path: Path, key: str) -> SecretStr:
    try:
        text = path.expanduser().read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ConfigError(f"cannot read {key} {str(path)!r}: {err.strerror}") from None
    if not text:
        raise ConfigError(f"{key} {str(path)!r} is empty")
    return SecretStr(text)


class GatewayConfig(_Section):
    host: str
    token_mode: Literal["auto", "manual"] = "auto"
    username: str | None = None
    password: SecretStr | None = None
    password_file: FilePath | None = None
    token: SecretStr | None = None
    token_file: FilePath | None = None
    serial: str | None = None
    enlighten_url: str = DEFAULT_ENLIGHTEN_URL
    entrez_url: str = DEFAULT_ENTREZ_URL
    cert_fingerprint: str | None = Field(
        default=None, description="SHA-256 of the gateway certificate (hex); refuse any other"
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    renew_margin_days: float = Field(default=7.0, ge=0)
    expiry_warning_days: float = Field(default=30.0, ge=0)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        host = value.removeprefix("https://").removeprefix("http://").rstrip("/")
        match = _HOST_RE.match(host)
        if not match:
            raise ValueError(f"{value!r} is not a host name, IP address or host:port")
        if match.group(2) and not 1 <= int(match.group(2)[1:]) <= 65535:
            raise ValueError(f"{value!r}: the port must be between 1 and 65535")
        return host

    @field_validator("serial")
    @classmethod
    def _serial(cls, value: str | None) -> str | None:
        if value is not None and not value.isdigit():
            raise ValueError("must be the gateway serial number (digits only)")
        return value

    @field_validator("enlighten_url", "entrez_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"{value!r} must start with https:// (or http:// for a local stand-in)")
        return value.rstrip("/")

    @field_validator("cert_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalised = value.replace(":", "").lower()
        if not _FINGERPRINT_RE.match(normalised):
            raise ValueError("must be a SHA-256 fingerprint: 64 hex digits (colons allowed)")
        return normalised

    @model_validator(mode="after")
    def _credentials(self) -> GatewayConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give either password or password_file, not both")
        if self.token is not None and self.token_file is not None:
            raise ValueError("give either token or token_file, not both")
        if self.token_mode == "auto":
            if not self.username:
                raise ValueError("token_mode 'auto' needs username (your Enlighten e-mail)")
            if self.password is None and self.password_file is None:
                raise ValueError("token_mode 'auto' needs password or password_file")
        elif self.token is None and self.token_file is None:
            raise ValueError("token_mode 'manual' needs token or token_file (a token from Enlighten)")
        return self

    def password_value(self) -> SecretStr | None:
        """The password, read from password_file when given there."""
        if self.password_file is not None:
            return _read_secret_file(self.password_file, "gateway.password_file")
        return self.password

    def token_value(self) -> SecretStr | None:
        """The manual token, read from token_file when given there."""
        if self.token_file is not None:
            return _read_secret_file(self.token_file, "gateway.token_file")
        return self.token


class PollingConfig(_Section):
    interval_s: float = Field(default=1.0, ge=1.0, description="fast loop: /ivp/meters/readings")
    storage_interval_s: float = Field(default=15.0, ge=10.0, le=300.0)
    production_interval_s: float = Field(default=60.0, ge=30.0)
    inverters_interval_s: float = Field(default=900.0, ge=60.0)
    info_interval_s: float = Field(default=4 * 3600.0, ge=600.0)


class SiteConfig(_Section):
    phases: Literal["auto", "single", "three"] = "auto"
    timezone: str = "UTC"
    grid_metering: Literal["gateway", "balanced"] = "gateway"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Europe/Paris')") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class JeedomConfig(_Section):
    url: str
    apikey: SecretStr | None = None
    apikey_file: FilePath | None = None
    refresh_s: float = Field(default=300.0, ge=10.0, description="unchanged values are sent again after")

    def apikey_value(self) -> SecretStr | None:
        if self.apikey_file is not None:
            return _read_secret_file(self.apikey_file, "publish.jeedom.apikey_file")
        return self.apikey

    @model_validator(mode="after")
    def _key(self) -> JeedomConfig:
        if (self.apikey is None) == (self.apikey_file is None):
            raise ValueError("give exactly one of apikey or apikey_file")
        return self


class MqttConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    password_file: FilePath | None = None
    tls: bool = False
    ca_file: FilePath | None = Field(default=None, description="with tls: the CA to trust (default: system)")
    client_id: str | None = None
    topic_prefix: str = "enphase_secure"
    homeassistant_discovery: bool = True
    discovery: Literal["device", "component"] = Field(
        default="device", description="component: one config per entity, for Home Assistant before 2024.11"
    )
    discovery_prefix: str = "homeassistant"
    publish_interval_s: float = Field(default=10.0, ge=1, description="republish unchanged values")
    figure_topics: bool = Field(default=False, description="also one topic per figure")

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError(
                f"{value!r}: write the host name only (no mqtt:// nor path); use tls = true and port"
            )
        return value

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{str(value)!r} is not a file (no such file, or a folder)")
        return value

    def password_value(self) -> SecretStr | None:
        if self.password_file is not None:
            return _read_secret_file(self.password_file, "publish.mqtt.password_file")
        return self.password

    @model_validator(mode="after")
    def _checks(self) -> MqttConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        if (self.password is not None or self.password_file is not None) and self.username is None:
            raise ValueError("password needs a username (publish.mqtt.username)")
        if self.ca_file is not None and not self.tls:
            raise ValueError("ca_file needs tls = true")
        for name in ("topic_prefix", "discovery_prefix"):
            value = getattr(self, name)
            if not value or any(c in value for c in "+#") or value.startswith("/") or value.endswith("/"):
                raise ValueError(f"{name} {value!r}: no wildcard (+ #), no leading or trailing /")
        return self


class PublishConfig(_Section):
    layout: Literal["single", "split"] = "single"
    jeedom: JeedomConfig | None = None
    mqtt: MqttConfig | None = None


class StorageConfig(_Section):
    state_dir: FilePath = DEFAULT_STATE_DIR
    url: str | None = Field(default=None, description="default: sqlite:///<state_dir>/history.db")
    raw_interval_s: float | None = Field(
        default=None,
        ge=1.0,
        le=3600.0,
        description="one raw history point per this many seconds (fewer disk writes); "
        "default polling.interval_s. Minute, 15-minute and day series still count every tick.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def history_url(self) -> str:
        return self.url or f"sqlite://{self.state_dir.absolute() / 'history.db'}"


class WebConfig(_Section):
    listen: str = "127.0.0.1:8080"
    token: SecretStr | None = Field(default=None, description="default: generated into <state_dir>/api_token")
    token_file: FilePath | None = None
    max_connections: int = Field(default=64, ge=1, le=10_000)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not HOST:PORT")
        return value

    @model_validator(mode="after")
    def _token(self) -> WebConfig:
        if self.token is not None and self.token_file is not None:
            raise ValueError("give either token or token_file, not both")
        if self.token is None and self.token_file is None and not is_loopback(self.listen.rpartition(":")[0]):
            raise ValueError(
                f"listen {self.listen!r} is reachable from the network: set token or token_file "
                "(the API token its clients must send)"
            )
        return self

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def token_value(self) -> SecretStr | None:
        """The configured API token (read from token_file when given there); None: use the generated one."""
        if self.token_file is not None:
            return _read_secret_file(self.token_file, "web.token_file")
        return self.token


class LogConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    language: Literal["auto", "en", "fr"] = Field(default="auto", description="auto: from the locale")


class Config(_Section):
    gateway: GatewayConfig
    polling: PollingConfig = PollingConfig()
    site: SiteConfig = SiteConfig()
    publish: PublishConfig = PublishConfig()
    storage: StorageConfig = StorageConfig()
    web: WebConfig = WebConfig()
    log: LogConfig = LogConfig()
    control: dict[str, Any] = Field(
        default_factory=dict, description="validated by control.settings and the action registry"
    )

    @model_validator(mode="after")
    def _control(self) -> Config:
        control_plan(self)  # ConfigError naming the key (control.stages[1].on.http.url, ...)
        return self

    def file_secrets(self) -> FileSecrets:
        """The web token and the outputs' secrets as their files hold them now (ConfigError if unreadable).

        A *_file rewritten in place leaves the config equal: comparing these tells a rotated secret.
        The gateway's password_file and token_file are not here: the token manager reads them on use.
        """
        mqtt, jeedom = self.publish.mqtt, self.publish.jeedom
        return FileSecrets(
            web_token=self.web.token_value(),
            mqtt_password=mqtt.password_value() if mqtt else None,
            jeedom_apikey=jeedom.apikey_value() if jeedom else None,
        )


@dataclass(frozen=True, slots=True)
class FileSecrets:
    web_token: SecretStr | None
    mqtt_password: SecretStr | None
    jeedom_apikey: SecretStr | None

    def changed(self, other: FileSecrets) -> list[str]:
        """The config keys whose secret differs from ``other`` (names only, never the values)."""
        keys = {
            "web.token": (self.web_token, other.web_token),
            "publish.mqtt.password": (self.mqtt_password, other.mqtt_password),
            "publish.jeedom.apikey": (self.jeedom_apikey, other.jeedom_apikey),
        }
        return [key for key, (mine, theirs) in keys.items() if mine != theirs]


def action_context(config: Config) -> ActionContext:
    """What actions take from the [publish] sections."""
    jeedom, mqtt = config.publish.jeedom, config.publish.mqtt
    apikey = jeedom.apikey_value() if jeedom else None
    mqtt_password = mqtt.password_value() if mqtt else None
    return ActionContext(
        jeedom=JeedomEndpoint(url=jeedom.url, apikey=apikey.get_secret_value(), plugin=JEEDOM_PLUGIN)
        if jeedom and apikey
        else None,
        mqtt=MqttBroker(
            host=mqtt.host,
            port=mqtt.port,
            username=mqtt.username,
            password=mqtt_password.get_secret_value() if mqtt_password else None,
        )
        if mqtt
        else None,
    )


def control_plan(config: Config) -> tuple[ControlSettings, dict[str, StageActions]]:
    """The [control] section as the controller's settings and each stage's actions."""
    problems: list[str] = []  # the settings' and the actions' mistakes, listed together
    try:
        settings = ControlSettings.from_mapping(config.control, timezone=config.site.timezone)
    except ConfigError as err:
        problems.append(str(err))
    try:
        actions = build_control_actions(config.control.get("stages") or [], action_context(config))
    except ConfigError as err:
        problems.append(str(err))
    if problems:
        raise ConfigError("; ".join(problems))
    return settings, actions


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _describe(err: ValidationError) -> str:
    lines = []
    for problem in err.errors(include_input=False, include_url=False):
        where = _key_path(problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        elif problem["type"] == "missing":
            lines.append(f"{where}: required key is missing")
        else:
            lines.append(f"{where}: {problem['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def parse_config(data: dict[str, Any], *, source: str = "config") -> Config:
    """Validate an already-parsed TOML document."""
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{source}: {_describe(err)}") from None
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def load_config(path: Path | str) -> Config:
    """Read and validate the config file; ConfigError names the file and each bad key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config file {str(file)!r}: {err.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{file}: not valid TOML: {err}") from None
    return parse_config(data, source=str(file))
