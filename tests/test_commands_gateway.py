"""`token`, `snapshot` and `check` end to end: the CLI in a subprocess against the in-process simulator."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import jwt

from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import Simulator, run_simulator

PASSWORD = "owner-password"


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "enphase_secure.cli",
        "--log-level",
        "DEBUG",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _config(
    tmp_path: Path, sim: Simulator, *, password: str = PASSWORD, extra: str = "", name: str = "config.toml"
) -> Path:
    (tmp_path / "password").write_text(password)
    path = tmp_path / name
    path.write_text(
        f"""
[gateway]
host = "{sim.host}"
token_mode = "auto"
username = "owner@example.com"
password_file = "{tmp_path / "password"}"
enlighten_url = "{sim.cloud_url}"
entrez_url = "{sim.cloud_url}"
{extra}
[storage]
state_dir = "{tmp_path / "state"}"
"""
    )
    return path


async def test_token_command_shows_owner_and_expiry_and_hides_the_token(tmp_path: Path) -> None:
    async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
        config = _config(tmp_path, sim)
        code, out, err = await _cli("token", "-c", str(config))
        assert code == 0, err
        assert "owner type   owner" in out
        assert f"serial       {sim.serial}" in out
        assert "days left    365.0" in out or "days left    364.9" in out
        cached = next((tmp_path / "state").iterdir()).read_text()
        assert cached not in out + err
        assert PASSWORD not in out + err
        code, out, _err = await _cli("token", "-c", str(config), "--print")
        assert code == 0
        printed = out.strip().splitlines()[-1]
        assert jwt.decode(printed, options={"verify_signature": False})["aud"] == sim.serial


async def test_token_command_wrong_password_exits_1_without_the_password(tmp_path: Path) -> None:
    async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
        code, out, err = await _cli("token", "-c", str(_config(tmp_path, sim, password="wrong-pass-123")))
        assert code == 1
        assert "refused gateway.username / gateway.password" in err
        assert "wrong-pass-123" not in out + err


async def test_snapshot_json_with_host_and_token_file(tmp_path: Path) -> None:
    async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
        token = sim.issue_token()
        (tmp_path / "token").write_text(token)
        code, out, err = await _cli(
            "snapshot", "--host", sim.host, "--token-file", str(tmp_path / "token"), "--json"
        )
        assert code == 0, err
        snapshot = json.loads(out)
        assert snapshot["gateway"]["serial"] == sim.serial
        assert snapshot["production"]["power_w"] is not None
        assert {m["type"] for m in snapshot["meters"]} == {"production", "net-consumption"}
        assert token not in out + err


async def test_snapshot_table_from_config(tmp_path: Path) -> None:
    async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
        code, out, err = await _cli("snapshot", "-c", str(_config(tmp_path, sim)))
        assert code == 0, err
        assert out.startswith(f"gateway {sim.serial}")
        assert "net consumption" in out


async def test_snapshot_without_token_is_a_usage_error(tmp_path: Path) -> None:
    code, _out, err = await _cli("snapshot", "--host", "127.0.0.1:1")
    assert code == 2
    assert "--token-file" in err


async def test_check_ok_then_bad_config_then_gateway_down(tmp_path: Path) -> None:
    async with run_simulator(load_scenario_source("single-phase", seed=3)) as sim:
        config = _config(tmp_path, sim)
        code, out, err = await _cli("check", "-c", str(config))
        assert code == 0, err
        assert f"serial {sim.serial}" in out
        assert "token          accepted by the gateway" in out
        assert "CT             production (eid" in out
        assert "CT             net-consumption (eid" in out
        assert "figure         exact import/export counters: available" in out
        assert "figure         battery state of charge: not available" in out
        bad = _config(tmp_path, sim, extra="timeout_s = -1\nhostt = 1", name="bad.toml")
        code, out, err = await _cli("check", "-c", str(bad))
        assert code == 2
        assert "gateway.timeout_s" in err
        assert "gateway.hostt: unknown key" in err
    code, _out, err = await _cli("check", "-c", str(config))
    assert code == 1
    assert "127.0.0.1" in err
    assert PASSWORD not in err
