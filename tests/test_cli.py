from __future__ import annotations

import subprocess
import sys

import pytest

from enphase_secure import __version__
from enphase_secure.cli import COMMANDS, main


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "frobnicate" in capsys.readouterr().err


def test_every_design_command_is_registered() -> None:
    assert set(COMMANDS) == {"run", "demo", "simulate", "snapshot", "token", "check"}


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "enphase_secure.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for name in COMMANDS:
        assert name in done.stdout
