"""`enphase-secure token`: not built yet (see the open issues)."""

import argparse

from ..errors import NotImplementedYetError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="FILE", help="config file (TOML)")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedYetError("'token' is not implemented yet")
