"""The on-disk cache of the auto-mode token: one file per gateway, mode 0600, replaced atomically."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ..errors import TokenError
from .token import Token, decode_token

_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def token_cache_path(state_dir: Path, host: str) -> Path:
    """Where the token of the gateway at ``host`` is cached (``host`` may be "host:port")."""
    return state_dir / f"token-{_UNSAFE_FILE_CHARS.sub('_', host)}.jwt"


class TokenStore:
    """Reads and writes one cached token file. Its content is the bare JWT."""

    def __init__(self, *, path: Path) -> None:
        self.path = path

    def load(self) -> Token | None:
        """The cached token, or None when there is none. TokenError if the file is unreadable or garbage."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as err:
            raise TokenError(f"token cache {str(self.path)!r}: cannot read: {err.strerror}") from err
        return decode_token(text, source=f"token cache {str(self.path)!r}")

    def save(self, token: Token) -> None:
        """Write ``token`` so that a crash leaves either the old file or the new one, never half of one."""
        directory = self.path.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # mkstemp creates the file with mode 0600: the token is never readable by others, even briefly.
            fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".token-", suffix=".tmp")
        except OSError as err:
            raise TokenError(f"token cache {str(self.path)!r}: cannot write: {err.strerror}") from err
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(token.value)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except OSError as err:
            Path(temp_name).unlink(missing_ok=True)
            raise TokenError(f"token cache {str(self.path)!r}: cannot write: {err.strerror}") from err
