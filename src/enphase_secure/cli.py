"""Command line: ``enphase-secure run | demo | simulate | snapshot | token | check``.

Each sub-command lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``.
Exit codes: 0 success, 1 runtime failure, 2 bad usage or configuration (reason on stderr).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Protocol, cast

from . import __version__
from .errors import ConfigError, EnphaseSecureError, NotImplementedYetError
from .messages import set_language

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# sub-command name -> (module implementing it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("enphase_secure.commands.run", "run the daemon with a config file"),
    "demo": ("enphase_secure.commands.demo", "simulated gateway + daemon + dashboard, no config needed"),
    "simulate": ("enphase_secure.simulator.command", "serve a fake IQ Gateway and Enlighten cloud"),
    "snapshot": ("enphase_secure.commands.snapshot", "read the gateway once and print a snapshot"),
    "token": ("enphase_secure.commands.token", "obtain or show the gateway token"),
    "check": ("enphase_secure.commands.check", "validate the config and what the gateway offers"),
}


def _load(name: str) -> Command:
    return cast(Command, importlib.import_module(COMMANDS[name][0]))


def _log_level_option(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--log-level",
        default=default,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: from config, else INFO)",
    )


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """Every sub-command; only the one named in ``argv`` gets its options: importing each command's
    module (the simulator's, the demo's...) would double the daemon's start-up time."""
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    parser = argparse.ArgumentParser(
        prog="enphase-secure", description="Local reader and controller for Enphase IQ Gateways."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _log_level_option(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        _log_level_option(command, default=argparse.SUPPRESS)  # also after the sub-command
        if name == chosen:
            _load(name).configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    set_language("auto")  # a command with a config file applies its [log] language
    logging.basicConfig(
        level=args.log_level or "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _load(args.command).run(args)
    except (ConfigError, NotImplementedYetError) as err:
        print(f"enphase-secure {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except EnphaseSecureError as err:
        print(f"enphase-secure {args.command}: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # the reader went away (`enphase-secure check | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
