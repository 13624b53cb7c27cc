"""``homeassistant``: call a service through Home Assistant's REST API with a long-lived token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from enphase_secure.actions.base import Attempts
from enphase_secure.actions.templates import compile_template, render
from enphase_secure.actions.web import Tls, checked_url, expect_success, public_url, send
from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError, ConfigError

SLUG = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True, slots=True)
class HomeAssistantAction:
    url: str
    token: str
    domain: str
    service: str
    data: Mapping[str, Template | object]
    tls: Tls
    attempts: Attempts
    kind: str = "homeassistant"

    @classmethod
    def from_fields(cls, f: Fields) -> HomeAssistantAction:
        raw_data = f.raw("data") or {}
        if not isinstance(raw_data, Mapping):
            raise ConfigError(f"{f.key('data')}: expected a table (the service data)")
        action = cls(
            url=checked_url(f.required_str("url"), f.key("url")).rstrip("/"),
            token=_token(f),
            domain=_slug(f, "domain"),
            service=_slug(f, "service"),
            data={
                name: compile_template(value, f"{f.key('data')}.{name}") if isinstance(value, str) else value
                for name, value in raw_data.items()
            },
            tls=Tls.from_fields(f),
            attempts=Attempts.from_fields(f),
        )
        f.done()
        return action

    @property
    def service_url(self) -> str:
        return f"{self.url}/api/services/{self.domain}/{self.service}"

    @property
    def target(self) -> str:
        return public_url(self.service_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    async def run_once(self, values: Mapping[str, str]) -> None:
        data = {k: render(v, values) if isinstance(v, Template) else v for k, v in self.data.items()}
        headers = {"Authorization": f"Bearer {self.token}"}
        status, _ = await send(
            "POST", self.service_url, tls=self.tls, headers=headers, json=data, follow_redirects=False
        )
        if status in (401, 403):
            raise ActionError(f"POST {self.target}: Home Assistant refused the token (HTTP {status})")
        expect_success("POST", self.service_url, status)


def _slug(f: Fields, name: str) -> str:
    value = f.required_str(name)
    if not SLUG.match(value):
        raise ConfigError(f"{f.key(name)}: {value!r} is not a Home Assistant {name} name")
    return value


def _token(f: Fields) -> str:
    token, token_file = f.optional_str("token"), f.optional_str("token_file")
    if (token is None) == (token_file is None):
        raise ConfigError(f"{f.key('token')}: give exactly one of token or token_file")
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(f"{f.key('token_file')}: cannot read {token_file!r}: {err.strerror}") from err
    if not token:
        raise ConfigError(f"{f.key('token')}: empty")
    return token
