from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
from simulator_helpers import bearer, capture_folders

from enphase_secure.errors import ConfigError
from enphase_secure.simulator.replay import LOG_SUFFIX, ReplaySource, capture_names
from enphase_secure.simulator.server import run_simulator


def request_path(file_name: str) -> str:
    """The request a capture file answers (inverse of the file naming; `_` inside names is ambiguous
    but maps back to the same file)."""
    if ".json_" in file_name:
        base, query = file_name.split(".json_", 1)
        key, _, value = query.partition("_")
        return f"/{base.replace('_', '/')}.json?{key}={value}"
    return "/" + file_name.replace("_", "/")


def served_files(folder: Path) -> list[Path]:
    files = (f for f in folder.iterdir() if f.is_file())
    return sorted(f for f in files if not f.name.endswith(LOG_SUFFIX) and not f.name.startswith("_"))


def test_capture_names_map_paths_and_queries() -> None:
    assert capture_names("/ivp/meters/readings", {}) == ["ivp_meters_readings"]
    assert capture_names("/production.json", {"details": "1"}) == [
        "production.json_details_1",
        "production.json",
    ]
    assert capture_names("/", {}) == []
    assert capture_names("/_readme", {}) == []
    assert capture_names("/info_log.json", {}) == []


@pytest.mark.parametrize("folder", capture_folders(), ids=lambda p: p.name)
async def test_every_capture_is_served_byte_identical(folder: Path, http: aiohttp.ClientSession) -> None:
    files = served_files(folder)
    assert files
    async with run_simulator(ReplaySource(folder)) as sim:
        headers = bearer(sim.issue_token())
        for file in files:
            log_file = file.with_name(file.name + LOG_SUFFIX)
            log = json.loads(log_file.read_bytes()) if log_file.is_file() else {"code": 200, "headers": {}}
            captured_type = {k.lower(): v for k, v in log["headers"].items()}.get("content-type")
            async with http.get(sim.gateway_url + request_path(file.name), headers=headers) as response:
                assert await response.read() == file.read_bytes(), file.name
                assert response.status == log["code"], file.name
                if log_file.is_file():
                    assert response.headers.get("Content-Type") == captured_type, file.name
        assert sim.requests.count() == len(files)


async def test_info_serial_and_fallbacks(fixtures_dir: Path, http: aiohttp.ClientSession) -> None:
    folder = fixtures_dir / "7.6.175_with_cts"
    source = ReplaySource(folder)
    assert source.serial == "122238082763"
    assert (folder / "production.json").is_file()
    assert not (folder / "production.json_details_1").exists()
    async with run_simulator(source) as sim:
        headers = bearer(sim.issue_token())
        async with http.get(f"{sim.gateway_url}/production.json?details=1", headers=headers) as response:
            assert response.status == 200
            assert await response.read() == (folder / "production.json").read_bytes()
        for missing in ("/ivp/livedata/status", "/_readme", "/info_log.json"):
            async with http.get(sim.gateway_url + missing, headers=headers) as response:
                assert response.status == 404, missing
                assert b"404 Not Found" in await response.read()


def test_replay_rejects_a_folder_without_info(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="info"):
        ReplaySource(tmp_path)
    with pytest.raises(ConfigError, match="not a folder"):
        ReplaySource(tmp_path / "missing")
