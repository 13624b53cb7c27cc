"""Helpers for the simulator's server-side tests (imported by name: tests/simulator is on sys.path)."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import ssl
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

BATTERY_FOLDER = "8.2.127_with_3cts_and_battery_split"


def _root_conftest() -> ModuleType:
    # `import conftest` resolves to whichever conftest.py pytest loaded last: load the root one by path.
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("enphase_tests_root_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def capture_folders() -> list[Path]:
    folders: list[Path] = _root_conftest().capture_folders()
    return folders


def no_verify_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


READY = re.compile(r"^gateway (https://127\.0\.0\.1:\d+) cloud (http://127\.0\.0\.1:\d+) serial (\S+)$")


@asynccontextmanager
async def simulate(*flags: str) -> AsyncIterator[re.Match[str]]:
    """`enphase-secure simulate FLAGS` in a subprocess; its ready line, matched by READY."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "enphase_secure.cli",
        "simulate",
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode().strip()
        ready = READY.match(line)
        assert ready, line
        yield ready
    finally:
        if process.returncode is None:
            process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
