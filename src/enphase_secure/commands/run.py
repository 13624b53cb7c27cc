"""`enphase-secure run -c FILE`: the daemon, until SIGTERM/SIGINT; SIGHUP or editing the file reloads it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from ..config import Config, load_config
from ..daemon.reload import ConfigWatcher
from ..daemon.service import Daemon
from ..errors import ConfigError
from ..gateway.redact import install_redaction
from ..messages import set_language


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", type=Path, required=True, help="config file (TOML)")
    parser.add_argument(
        "--dry-run", action="store_true", help="controller decisions are logged and published, no action runs"
    )


async def serve(config: Config, config_path: Path | None, *, dry_run: bool = False) -> None:
    """Run the daemon (and the config watcher) until SIGTERM or SIGINT."""
    daemon = Daemon(config, dry_run=dry_run)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with asyncio.TaskGroup() as group:
        daemon_task = group.create_task(daemon.run())
        watcher_task = None
        if config_path is not None:
            watcher = ConfigWatcher(path=config_path, current=config, apply=daemon.apply_config)
            watcher.install_sighup()
            watcher_task = group.create_task(watcher.run())
        await stop.wait()
        logging.getLogger("enphase_secure").info("stopping")
        for task in (daemon_task, watcher_task):
            if task is not None:
                task.cancel()
    with contextlib.suppress(NotImplementedError):
        loop.remove_signal_handler(signal.SIGHUP)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    set_language(config.log.language)
    if args.log_level is None:
        logging.getLogger().setLevel(config.log.level)
    install_redaction()
    try:
        asyncio.run(serve(config, args.config, dry_run=args.dry_run))
    except ExceptionGroup as group:
        # a start-up mistake (web.listen taken, state_dir unusable) is reported as one line, exit 2
        mistakes = group.subgroup(ConfigError)
        if mistakes is None:
            raise
        raise _first_leaf(mistakes) from None
    return 0


def _first_leaf(group: BaseExceptionGroup[ConfigError]) -> ConfigError:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
