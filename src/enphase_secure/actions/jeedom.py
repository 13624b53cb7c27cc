"""``jeedom``: run a Jeedom action command by id, through Jeedom's JSON-RPC API (``cmd::execCmd``).

Jeedom reads the JSON-RPC request from the ``request`` form field of a POST to
``/core/api/jeeApi.php`` (every core version; recent ones also accept it as the raw body), with the
API key in ``params.apikey``. Errors come back with HTTP 200 and an ``error`` member.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template

from enphase_secure.actions.base import Attempts
from enphase_secure.actions.templates import compile_template, render
from enphase_secure.actions.web import Tls, checked_url, expect_success, public_url, send
from enphase_secure.control.fields import Fields
from enphase_secure.errors import ActionError, ConfigError

API_PATH = "/core/api/jeeApi.php"


@dataclass(frozen=True, slots=True)
class JeedomEndpoint:
    """``[publish.jeedom]``: the Jeedom base URL (or the full jeeApi.php URL) and its API key.

    ``plugin``: the key is that plugin's (``enphasesecur``), not the core's; Jeedom then checks it
    against the plugin's key."""

    url: str
    apikey: str
    tls: Tls = field(default_factory=Tls)
    plugin: str | None = None

    @property
    def api_url(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith(API_PATH) else base + API_PATH


@dataclass(frozen=True, slots=True)
class JeedomAction:
    endpoint: JeedomEndpoint
    cmd_id: int
    options: Mapping[str, Template]
    attempts: Attempts
    kind: str = "jeedom"

    @classmethod
    def from_fields(cls, f: Fields, endpoint: JeedomEndpoint | None) -> JeedomAction:
        if endpoint is None:
            raise ConfigError(f"{f.path}: needs [publish.jeedom] with url and apikey")
        checked_url(endpoint.api_url, "publish.jeedom.url")
        if not f.has("cmd_id"):
            raise ConfigError(f"{f.key('cmd_id')}: required (the id of a Jeedom action command)")
        action = cls(
            endpoint=endpoint,
            cmd_id=f.integer("cmd_id", 0, minimum=1, maximum=2**31),
            options={
                name: compile_template(text, f"{f.key('options')}.{name}")
                for name, text in f.str_table("options").items()
            },
            attempts=Attempts.from_fields(f),
        )
        f.done()
        return action

    @property
    def target(self) -> str:
        return f"{public_url(self.endpoint.api_url)} cmd::execCmd {self.cmd_id}"

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.endpoint.apikey,)

    def request(self, values: Mapping[str, str]) -> dict[str, object]:
        """The JSON-RPC 2.0 request, as Jeedom's own jsonrpcClient sends it."""
        params: dict[str, object] = {
            "apikey": self.endpoint.apikey,
            "id": self.cmd_id,
            "options": {name: render(t, values) for name, t in self.options.items()},
        }
        if self.endpoint.plugin is not None:
            params["plugin"] = self.endpoint.plugin
        return {"jsonrpc": "2.0", "id": 1, "method": "cmd::execCmd", "params": params}

    async def run_once(self, values: Mapping[str, str]) -> None:
        url = self.endpoint.api_url
        form = {"request": json.dumps(self.request(values))}
        status, body = await send("POST", url, tls=self.endpoint.tls, data=form)
        expect_success("POST", url, status)
        try:
            answer = json.loads(body)
        except ValueError as err:
            raise ActionError(f"{self.target}: the answer is not JSON-RPC") from err
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise ActionError(f"{self.target}: the answer is not JSON-RPC")
        error = answer.get("error")
        if error is not None:
            detail = error.get("message", error) if isinstance(error, dict) else error
            code = error.get("code") if isinstance(error, dict) else None
            raise ActionError(f"{self.target}: Jeedom error {code}: {detail}")
