from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from simulator_helpers import BATTERY_FOLDER, bearer, simulate

from enphase_secure.cli import main


async def test_simulate_replay_prints_one_line_and_serves(
    fixtures_dir: Path, tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    token_file = tmp_path / "token"
    flags = [
        "--replay",
        str(fixtures_dir / BATTERY_FOLDER),
        "--token-file",
        str(token_file),
        "--fault",
        "status:status=503:count=1:paths=/ivp/meters",
    ]
    async with simulate(*flags) as ready:
        gateway, cloud, serial = ready.groups()
        assert serial == "123456789012"
        assert token_file.stat().st_mode & 0o077 == 0
        token = token_file.read_text().strip()
        async with http.get(f"{gateway}/ivp/meters", headers=bearer(token)) as response:
            assert response.status == 503
        async with http.get(f"{gateway}/ivp/meters", headers=bearer(token)) as response:
            assert response.status == 200
            assert await response.read() == (fixtures_dir / BATTERY_FOLDER / "ivp_meters").read_bytes()
        form = {"user[email]": "owner@example.com", "user[password]": "owner-password"}
        async with http.post(f"{cloud}/login/login.json?", data=form) as response:
            assert "session_id" in await response.json()


async def test_simulate_defaults_to_a_live_scenario(http: aiohttp.ClientSession) -> None:
    async with simulate("--speed", "60") as ready:
        gateway = ready.group(1)
        async with http.get(f"{gateway}/info") as response:
            assert response.status == 200
            assert f"<sn>{ready.group(3)}</sn>" in await response.text()


async def test_simulate_start_now_serves_recent_reports(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """With --start now a daemon on the real clock reads reports of now, not of the scenario's date."""
    token_file = tmp_path / "token"
    before = time.time()
    async with simulate("--start", "now", "--token-file", str(token_file)) as ready:
        gateway = ready.group(1)
        headers = bearer(token_file.read_text().strip())
        async with http.get(f"{gateway}/api/v1/production/inverters", headers=headers) as response:
            reports = await response.json()
    assert reports
    # from the last 15 min by day; at night the inverters are asleep since sunset, like real ones
    assert all(before - 86400 <= r["lastReportDate"] <= time.time() + 1 for r in reports)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--listen", "nowhere"], "--listen"),
        (["--fault", "meltdown"], "kind"),
        (["--replay", "/nonexistent/captures"], "--replay"),
        (["--cert", "/nonexistent/cert.pem"], "--key"),
        (["--speed", "0"], "--speed"),
        (["--token-lifetime", "0"], "--token-lifetime"),
        (["--start", "yesterday"], "--start 'yesterday': give scenario, now or an ISO 8601 time"),
        (["--start", "2026-06-21T12:00:00"], "offset"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *flags]) == 2
    assert message in capsys.readouterr().err
