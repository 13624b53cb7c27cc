"""A DocumentSource serving a folder of real gateway captures, byte for byte.

File name = request path with ``/`` -> ``_`` and the leading slash dropped (``/ivp/meters/readings``
-> ``ivp_meters_readings``); a query adds ``_key_value`` per parameter (``/production.json?details=1``
-> ``production.json_details_1``) and falls back to the file without it. ``<file>_log.json`` holds the
captured status code and headers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from aiohttp import web

from ..errors import ConfigError
from .source import Document

LOG_SUFFIX = "_log.json"
INFO_FILE = "info"
# Headers a real gateway sends that matter to clients; framing headers are the server's business.
REPLAYED_HEADERS = (
    "pragma",
    "expires",
    "cache-control",
    "strict-transport-security",
    "x-frame-options",
    "x-content-type-options",
)
_SERIAL = re.compile(rb"<sn>\s*([^<\s]+)\s*</sn>")


def capture_names(path: str, query: Mapping[str, str]) -> list[str]:
    """The capture file names that may answer ``path``+``query``, most specific first."""
    base = path.lstrip("/").replace("/", "_")
    if not base or base.startswith("_") or base.endswith(LOG_SUFFIX) or base in {".", ".."}:
        return []
    if not query:
        return [base]
    return [base + "".join(f"_{key}_{value}" for key, value in query.items()), base]


def _guess_content_type(body: bytes) -> str | None:
    stripped = body.lstrip()
    if stripped.startswith(b"<?xml"):
        return "text/xml"
    if stripped.startswith(b"<"):
        return "text/html"
    try:
        json.loads(body)
    except ValueError:
        return None
    return "application/json"


def _load_document(body_file: Path) -> Document:
    body = body_file.read_bytes()
    log_file = body_file.with_name(body_file.name + LOG_SUFFIX)
    if not log_file.is_file():
        return Document(status=200, body=body, content_type=_guess_content_type(body))
    try:
        log = json.loads(log_file.read_bytes())
        status = int(log.get("code", 200))
        headers = {str(k).lower(): str(v) for k, v in dict(log.get("headers", {})).items()}
    except (ValueError, TypeError, AttributeError) as err:
        raise ConfigError(f"replay capture {log_file}: not a status/headers log: {err}") from err
    return Document(
        status=status,
        body=body,
        content_type=headers.get("content-type"),
        headers=tuple((name, headers[name]) for name in REPLAYED_HEADERS if name in headers),
    )


class ReplaySource:
    """Serves the documents of one capture folder; the gateway clock is the host's local time."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise ConfigError(f"--replay {folder}: not a folder of gateway captures")
        self.folder = folder
        self._documents = {
            file.name: _load_document(file)
            for file in sorted(folder.iterdir())
            if file.is_file() and capture_names("/" + file.name, {}) == [file.name]
        }
        info = self._documents.get(INFO_FILE)
        match = _SERIAL.search(info.body) if info else None
        if match is None:
            raise ConfigError(f"--replay {folder}: no '{INFO_FILE}' capture with a <sn> serial")
        self._serial = match.group(1).decode()

    @property
    def serial(self) -> str:
        return self._serial

    def now(self) -> datetime:
        return datetime.now().astimezone()

    def document(self, path: str, query: Mapping[str, str]) -> Document | None:
        for name in capture_names(path, query):
            if name in self._documents:
                return self._documents[name]
        return None

    def names(self) -> list[str]:
        """The capture files this source serves."""
        return list(self._documents)

    def control_routes(self) -> Sequence[web.RouteDef]:
        return ()
