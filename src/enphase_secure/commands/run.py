"""`enphase-secure run -c FILE`: the daemon, until SIGTERM/SIGINT; SIGHUP or editing the file reloads it.

`enphase-secure run --jeedom FILE ...`: the same daemon as the Jeedom plugin starts it (jeedom/daemon.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..daemon.event_loop import describe, new_event_loop
from ..daemon.reload import ConfigWatcher, LoadConfig
from ..daemon.service import Daemon
from ..errors import ConfigError
from ..gateway.redact import install_redaction
from ..gateway.session import fast_reads_over
from ..jeedom import daemon as plugin
from ..messages import set_language

Companion = Callable[[Daemon, ConfigWatcher | None], Coroutine[Any, Any, None]]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", type=Path, help="config file (TOML)")
    parser.add_argument(
        "--dry-run", action="store_true", help="controller decisions are logged and published, no action runs"
    )
    plugin.configure(parser)


async def serve(
    config: Config,
    config_path: Path | None,
    *,
    dry_run: bool = False,
    load: LoadConfig = load_config,
    companion: Companion | None = None,
) -> None:
    """Run the daemon (and the config watcher) until SIGTERM or SIGINT."""
    daemon = Daemon(config, dry_run=dry_run)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    logging.getLogger("enphase_secure").info("event loop: %s", describe(loop))
    logging.getLogger("enphase_secure").info("fast reads: %s", fast_reads_over())
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(daemon.run())]
        watcher = None
        if config_path is not None:
            watcher = ConfigWatcher(path=config_path, current=config, apply=daemon.apply_config, load=load)
            watcher.install_sighup()
            daemon.call_at_ticks(watcher.poll)
            tasks.append(group.create_task(watcher.run()))
        if companion is not None:
            tasks.append(group.create_task(companion(daemon, watcher)))
        await stop.wait()
        logging.getLogger("enphase_secure").info("stopping")
        for task in tasks:
            task.cancel()
    with contextlib.suppress(NotImplementedError):
        loop.remove_signal_handler(signal.SIGHUP)


def run(args: argparse.Namespace) -> int:
    if (args.config is None) == (args.jeedom is None):
        raise ConfigError("give either -c FILE (a TOML config) or --jeedom FILE (the Jeedom plugin's)")
    if args.jeedom is not None:
        source = plugin.PluginDaemon.from_args(args)
        path: Path = source.path
        load: LoadConfig = source.load
        if args.log_level is None and args.loglevel is not None:
            args.log_level = plugin.LOG_LEVELS[args.loglevel]
    else:
        path, load = args.config, load_config
    config = load(path)
    set_language(config.log.language)
    if args.log_level is None:
        logging.getLogger().setLevel(config.log.level)
    else:
        logging.getLogger().setLevel(args.log_level)
    install_redaction()
    try:
        # the Jeedom status runs whenever [publish.jeedom] is set
        with plugin.pid_file(args.pid), asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(serve(config, path, dry_run=args.dry_run, load=load, companion=plugin.report_status))
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
