"""`enphase-secure run` imports what its configuration uses, not every output and command (issue 13:
imports were most of the start-up time): checked in a fresh interpreter, the daemon started for real."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The daemon with the CLI's parser for `run`, until it is ready (API listening, gateway loop started:
# the gateway is 127.0.0.1:9, where nothing answers); then the modules loaded, as JSON.
SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from enphase_secure.cli import build_parser
    from enphase_secure.config import load_config
    from enphase_secure.daemon.service import Daemon

    args = build_parser(["run", "-c", sys.argv[1]]).parse_args(["run", "-c", sys.argv[1]])

    async def main():
        daemon = Daemon(load_config(Path(args.config)))
        task = asyncio.create_task(daemon.run())
        await asyncio.wait_for(daemon.ready.wait(), 30)
        await asyncio.sleep(0.5)
        task.cancel()

    asyncio.run(main())
    print(json.dumps(sorted(sys.modules)))
    """
)
UNUSED = ("aiomqtt", "paho", "prometheus_client", "psycopg", "enphase_secure.simulator")


def _loaded(tmp_path: Path, extra: str = "") -> set[str]:
    config = tmp_path / "config.toml"
    config.write_text(
        '[gateway]\nhost = "127.0.0.1:9"\ntoken_mode = "manual"\n'
        'token = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln"\n'
        f'[storage]\nstate_dir = "{tmp_path / "state"}"\n[web]\nlisten = "127.0.0.1:0"\n{extra}'
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.splitlines()[-1]))


def _packages(modules: set[str]) -> set[str]:
    return {name for name in UNUSED if any(m == name or m.startswith(f"{name}.") for m in modules)}


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", set()),  # no MQTT, nobody scraped /metrics, SQLite: none of them
        ('[publish.mqtt]\nhost = "127.0.0.1"\nport = 9\n', {"aiomqtt", "paho"}),  # asked for: loaded
    ],
)
def test_run_loads_the_outputs_its_configuration_uses(tmp_path: Path, extra: str, expected: set[str]) -> None:
    modules = _loaded(tmp_path, extra)
    assert "enphase_secure.daemon.gateway_loop" in modules  # the daemon did start
    assert _packages(modules) == expected
