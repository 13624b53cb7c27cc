from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from enphase_secure.daemon.event_loop import describe, new_event_loop


def test_uvloop_runs_the_daemon_when_installed() -> None:
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert describe(loop) == "uvloop"
    finally:
        loop.close()


def test_asyncio_loop_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    loop = new_event_loop()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
        assert describe(loop) == "asyncio"
    finally:
        loop.close()
