from __future__ import annotations

import io
import logging

from enphase_secure.gateway.redact import MASK, SecretRedactor


def _logger_with(redactor: SecretRedactor) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    logger = logging.getLogger(f"test_redact_{id(redactor)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_masks_secrets_in_messages_args_and_tracebacks() -> None:
    redactor = SecretRedactor()
    redactor.add("hunter2-password")
    redactor.add("eyJ.token.value")
    logger, stream = _logger_with(redactor)
    logger.info("login with %s", "hunter2-password")
    logger.warning("token eyJ.token.value refused")
    try:
        raise ValueError("bad eyJ.token.value")
    except ValueError:
        logger.exception("failed")
    output = stream.getvalue()
    assert "hunter2-password" not in output
    assert "eyJ.token.value" not in output
    assert output.count(MASK) == 4  # the traceback shows the raising source line too
    assert "ValueError: bad ***" in output


def test_short_strings_are_not_treated_as_secrets() -> None:
    redactor = SecretRedactor()
    redactor.add("abc")
    assert redactor.redact("abcdef") == "abcdef"


def test_longest_secret_is_masked_first() -> None:
    redactor = SecretRedactor()
    redactor.add("secret")
    redactor.add("secret-and-more")
    assert redactor.redact("x secret-and-more y") == f"x {MASK} y"
