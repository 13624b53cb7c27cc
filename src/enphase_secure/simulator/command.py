"""`enphase-secure simulate`: not built yet."""

import argparse

from ..errors import NotImplementedYetError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedYetError("'simulate' is not implemented yet")
