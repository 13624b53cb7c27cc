"""The command line as a new user met it (issue 10): check refuses what run refuses and shows what
to pin, a closed pipe, --log-level after the sub-command, demo on a busy port, no "-0", strict types."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import ssl
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from enphase_secure.commands.snapshot import human_table
from enphase_secure.config import parse_config
from enphase_secure.energy.snapshot import EnergyFlow, GatewayIdentity, Grid, Snapshot, Staleness
from enphase_secure.errors import ConfigError
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator


async def _cli(*args: str, stdout: int = asyncio.subprocess.PIPE) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "enphase_secure.cli", *args, stdout=stdout, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, (out or b"").decode(), err.decode()


def _config(tmp_path: Path, sim: Simulator, extra: str = "", *, state_dir: Path | None = None) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[gateway]
host = "{sim.host}"
token_mode = "manual"
token = "{sim.issue_token()}"
[site]
timezone = "Europe/Paris"
[storage]
state_dir = "{state_dir or tmp_path / "state"}"
{extra}
"""
    )
    return path


STAGE = """
[[control.stages]]
name = "heater"
start_above_w = 1500
stop_below_w = 200
phase = {phase}
"""


async def _sim_sha256(sim: Simulator) -> str:
    port = int(sim.host.rpartition(":")[2])
    pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", port))
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


async def test_check_shows_zone_stages_and_the_certificate_to_pin(tmp_path: Path) -> None:
    async with run_simulator(load_scenario_source("three-phase-battery", seed=3)) as sim:
        code, out, err = await _cli(
            "check", "--log-level", "DEBUG", "-c", str(_config(tmp_path, sim, STAGE.format(phase=3)))
        )
        sha256 = await _sim_sha256(sim)
    assert code == 0, err
    assert "timezone       Europe/Paris" in out
    assert "stage          heater: on above 1500 W, off below 200 W, phase 3, 0 action(s)" in out
    assert "warning        stage heater has no on/off action" in out
    assert f"certificate    SHA-256 {sha256} (not pinned: set gateway.cert_fingerprint to it)" in out
    # --log-level after the sub-command; DEBUG shows each request's path, status and time
    assert "GET /info: HTTP 200 in " in err


@pytest.mark.parametrize(
    ("scenario", "extra", "message"),
    [
        (
            "three-phase-battery",
            '[site]\nphases = "single"',
            "site.phases = 'single' but the gateway measures 3",
        ),
        ("single-phase", STAGE.format(phase=2), "control.stages[0].phase = 2 but the site has 1 phase(s)"),
    ],
)
async def test_check_refuses_what_the_gateway_contradicts(
    tmp_path: Path, scenario: str, extra: str, message: str
) -> None:
    async with run_simulator(load_scenario_source(scenario, seed=3)) as sim:
        config = _config(tmp_path, sim, extra)
        if "[site]" in extra:  # one [site] table only
            config.write_text(config.read_text().replace('[site]\ntimezone = "Europe/Paris"\n', ""))
        code, _out, err = await _cli("check", "-c", str(config))
    assert code == 2
    assert message in err


async def test_check_refuses_a_state_dir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
        config = _config(tmp_path, sim, state_dir=tmp_path / "a-file" / "state")
        code, _out, err = await _cli("check", "-c", str(config))
    assert code == 2
    assert "storage.state_dir" in err
    assert "cannot be created" in err


async def test_check_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `enphase-secure check | head -0`
    try:
        async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
            code, _out, err = await _cli("check", "-c", str(_config(tmp_path, sim)), stdout=write_end)
    finally:
        os.close(write_end)
    assert "Traceback" not in err
    assert code == 0


async def test_demo_on_a_busy_port_says_so(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        listen = f"127.0.0.1:{busy.getsockname()[1]}"
        code, _out, err = await _cli("demo", "--listen", listen)
    assert code == 2
    assert f"demo --listen '{listen}': that port is in use" in err


def test_snapshot_table_never_prints_minus_zero() -> None:
    snapshot = Snapshot(
        time=datetime(2026, 6, 1, 12, tzinfo=UTC),
        gateway=GatewayIdentity(serial="1", firmware="8.2", part_number=None),
        phase_mode="three",
        phase_count=3,
        production=EnergyFlow(power_w=-0.4, phases_w=(-0.2, -0.1, -0.1), lifetime_wh=-0.3),
        consumption=EnergyFlow(power_w=0.0),
        net_consumption=EnergyFlow(power_w=-0.49),
        grid=Grid(import_w=-0.0),
        storage=None,
        staleness=Staleness(stale=False, age_s=0.0, reason=None),
    )
    table = human_table(snapshot)
    assert re.search(r"-0(?!\d)", table) is None
    assert "0 W" in table


@pytest.mark.parametrize(
    ("gateway", "key"),
    [
        ({"timeout_s": "10"}, "gateway.timeout_s"),
        ({"host": "192.0.2.1:99999"}, "the port must be between 1 and 65535"),
    ],
)
def test_strict_types_and_ports(gateway: dict[str, object], key: str) -> None:
    data = {"host": "192.0.2.1", "token_mode": "manual", "token": "x", **gateway}
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config({"gateway": data})
