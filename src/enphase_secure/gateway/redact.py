"""Belt and braces: a logging filter that masks known secrets (passwords, tokens) in every log line.

The code never logs a secret on purpose; this catches one slipping in through a library's message
or an exception text. Secrets are registered as they become known (config read, token obtained).
"""

from __future__ import annotations

import logging

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter strings would mask ordinary words; no real password or token is that short."""


class SecretRedactor(logging.Filter):
    """Replaces each registered secret by ``***`` in a record's message and exception text."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LENGTH:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


REDACTOR = SecretRedactor()


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put the process-wide redactor on every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if REDACTOR not in handler.filters:
            handler.addFilter(REDACTOR)


def register_secret(secret: str) -> None:
    REDACTOR.add(secret)
