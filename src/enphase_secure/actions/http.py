"""``http``: a request to any URL, with headers and a templated body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from urllib.parse import quote

from enphase_secure.actions.base import Attempts
from enphase_secure.actions.templates import compile_template, render
from enphase_secure.actions.web import Tls, checked_url, expect_success, public_url, send
from enphase_secure.control.fields import Fields

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True, slots=True)
class HttpAction:
    url: Template
    method: str
    headers: Mapping[str, str]
    body: Template | None
    tls: Tls
    attempts: Attempts
    kind: str = "http"

    @classmethod
    def from_fields(cls, f: Fields) -> HttpAction:
        url = f.required_str("url")
        checked_url(url, f.key("url"))
        body = f.optional_str("body")
        headers = f.str_table("headers")
        if body is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
        action = cls(
            url=compile_template(url, f.key("url")),
            method=f.choice("method", METHODS, "POST"),
            headers=headers,
            body=compile_template(body, f.key("body")) if body is not None else None,
            tls=Tls.from_fields(f),
            attempts=Attempts.from_fields(f),
        )
        f.done()
        return action

    @property
    def target(self) -> str:
        return f"{self.method} {public_url(self.url.template)}"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(self.headers.values())

    async def run_once(self, values: Mapping[str, str]) -> None:
        url = render(self.url, {name: quote(value, safe="") for name, value in values.items()})
        body = render(self.body, values).encode() if self.body is not None else None
        status, _ = await send(self.method, url, tls=self.tls, headers=dict(self.headers), data=body)
        expect_success(self.method, url, status)
