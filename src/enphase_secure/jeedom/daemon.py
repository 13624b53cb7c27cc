"""``enphase-secure run --jeedom FILE``: the plugin's daemon, as Jeedom starts it.

Jeedom's standard arguments (``--loglevel``, ``--socketport``, ``--callback``, ``--pid``) come on the
command line; the configuration and the plugin's API key come in the plugin's 0600 JSON file (never
a secret on a command line). The pid file is Jeedom's way to know the daemon runs. A reporter tells
the plugin's callback, in French, why the gateway cannot be read (shown in the daemon view).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..daemon.reload import ConfigWatcher
from ..daemon.service import Daemon
from ..errors import ConfigError
from ..outputs.build import jeedom_output
from ..outputs.jeedom import CALLBACK_PATH, JeedomCallbackError
from .messages import advice
from .plugin_config import load_plugin_config

log = logging.getLogger("enphase_secure.jeedom")

# Jeedom's log levels (log::convertLogLevel) -> Python's
LOG_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "notice": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "critical": "ERROR",
    "none": "ERROR",
    "default": "INFO",
}


def configure(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Jeedom plugin daemon (instead of -c)")
    group.add_argument("--jeedom", metavar="FILE", type=Path, help="the plugin's JSON config file")
    group.add_argument("--loglevel", choices=sorted(LOG_LEVELS), help="Jeedom's log level")
    group.add_argument("--socketport", type=int, metavar="PORT", help="the daemon's API on 127.0.0.1")
    group.add_argument("--callback", metavar="URL", help="the plugin's callback (jeeEnphasesecur.php)")
    group.add_argument("--pid", metavar="FILE", type=Path, help="pid file Jeedom watches")


@dataclass(frozen=True, slots=True)
class PluginDaemon:
    """How to read the plugin's config file, with the command line's overrides."""

    path: Path
    socketport: int | None = None
    callback: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PluginDaemon:
        if args.socketport is not None and not 1 <= args.socketport <= 65535:
            raise ConfigError(f"--socketport {args.socketport}: not a TCP port")
        if args.callback is not None and not args.callback.endswith(CALLBACK_PATH):
            raise ConfigError(f"--callback {args.callback}: not the plugin's callback (…{CALLBACK_PATH})")
        return cls(args.jeedom, args.socketport, args.callback)

    def load(self, path: Path) -> Config:
        config = load_plugin_config(path)
        updates: dict[str, Any] = {}
        if self.socketport is not None:
            updates["web"] = config.web.model_copy(update={"listen": f"127.0.0.1:{self.socketport}"})
        if self.callback is not None and config.publish.jeedom is not None:
            base = self.callback.removesuffix(CALLBACK_PATH)  # the actions' jeeApi.php is under it too
            jeedom = config.publish.jeedom.model_copy(update={"url": base})
            updates["publish"] = config.publish.model_copy(update={"jeedom": jeedom})
        return config.model_copy(update=updates)


@contextlib.contextmanager
def pid_file(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    path.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


def status_message(daemon: Daemon, watcher: ConfigWatcher | None) -> dict[str, Any]:
    """The daemon's state as the plugin shows it: ok, or the French advice and the English detail."""
    if watcher is not None and watcher.last_error is not None:
        return {
            "state": "error",
            "message": "Configuration refusée, l'ancienne reste en service : " + watcher.last_error,
            "detail": watcher.last_error,
        }
    failure = daemon.gateway_failure
    if failure is not None:
        return {"state": "error", "message": advice(failure), "detail": str(failure)}
    return {"state": "ok" if daemon.latest_snapshot() is not None else "starting", "message": ""}


async def report_status(daemon: Daemon, watcher: ConfigWatcher | None, *, every_s: float = 5.0) -> None:
    """Post the status to the plugin's callback every ``every_s``: the plugin shows it, and answers by
    rewriting the config file when its configuration changed (the watcher then reloads it)."""
    shown: str | None = None
    failing: str | None = None
    while True:
        output = jeedom_output(daemon.config, log)
        if output is not None:
            message = status_message(daemon, watcher)
            await output.start()
            try:
                await output.post({"status": message})
            except JeedomCallbackError as err:
                if str(err) != failing:
                    log.warning("could not tell Jeedom the daemon's status (retrying): %s", err)
                failing = str(err)
            else:
                failing = None
                if message.get("message") != shown:
                    shown = message.get("message")
                    log.info("status shown in Jeedom: %s", shown or message["state"])
            finally:
                await output.stop()
        await asyncio.sleep(every_s)
