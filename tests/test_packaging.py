"""The systemd unit: valid for systemd, restarts on a crash but not on a config error, hardened."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from enphase_secure.cli import EXIT_USAGE
from enphase_secure.config import DEFAULT_STATE_DIR

UNIT = Path(__file__).parent.parent / "packaging" / "enphase-secure.service"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_unit_restarts_on_failure_only_and_is_hardened() -> None:
    service = _service()
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == str(EXIT_USAGE)
    assert int(service["LimitNOFILE"]) >= 1024
    assert service["ReadWritePaths"] == str(DEFAULT_STATE_DIR)  # the config's default state_dir
    assert service["StateDirectory"] == DEFAULT_STATE_DIR.name
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert service[key] == "true", key
    assert service["ProtectSystem"] == "strict"
    assert service["ExecStart"].startswith("/opt/enphase-secure/.venv/bin/enphase-secure run -c ")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # the install path does not exist on a test machine: point ExecStart at a real program
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/enphase-secure/.venv/bin/enphase-secure", "/bin/true"))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
