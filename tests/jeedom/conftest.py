"""One real Jeedom for the session, the plugin installed into it from its zip as a user does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from jeedom_kit import PLUGIN, SETUP, Jeedom, build_zip, install_from_zip, simulator, wait_for

from loopback import free_port

if not SETUP.exists():
    pytest.skip(
        f"Jeedom test kit not found at {SETUP} (needed for the Jeedom integration tests)",
        allow_module_level=True,
    )


class Simulators:
    """`enphase-secure simulate` processes by scenario, started on first use, at a crawl (speed 0.001)
    so that Jeedom's values and the daemon's snapshot can be compared."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: dict[str, tuple[subprocess.Popen[str], dict[str, str]]] = {}

    def get(self, scenario: str) -> dict[str, str]:
        if scenario not in self.running:
            token = self.folder / f"{scenario}.token"
            proc, info = simulator("--scenario", scenario, "--speed", "0.001", "--token-file", str(token))
            info["token"] = token.read_text().strip()
            info["host"] = info["gateway"].removeprefix("https://")
            self.running[scenario] = (proc, info)
        return self.running[scenario][1]

    def stop(self) -> None:
        for proc, _ in self.running.values():
            proc.terminate()
            proc.wait(10)


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    """A fresh folder for the instance; kept (its logs to read) when ES_JEEDOM_KEEP is set."""
    tmp = Path(tempfile.mkdtemp(prefix="es-jeedom-"))
    tmp.chmod(0o755)  # www-data and mysql must enter it
    yield tmp
    if not os.environ.get("ES_JEEDOM_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def jeedom(workdir: Path) -> Iterator[Jeedom]:
    """Jeedom started by the kit; our plugin installed from `jeedom/build.sh`'s zip through the `url`
    source, update::doUpdate and activation, its dependencies installed by Jeedom."""
    kit = Jeedom(workdir / "jeedom", free_port())
    try:
        kit.setup("--config", "dontProtectTooFastLaunchDeamony=1")
        zip_dir = workdir / "zip"
        zip_dir.mkdir()
        install_from_zip(kit, build_zip(zip_dir / f"{PLUGIN}.zip"))
        kit.config("socketport", free_port())
        kit.rpc("config::save", key="log::level::enphasesecur", value={"200": "1"})
        wait_for(
            "the plugin's dependencies",
            lambda: kit.rpc("plugin::dependancyInfo", plugin_id=PLUGIN).get("state") == "ok",
            timeout=300,
            every=2,
        )
        yield kit
    finally:
        kit.stop()


@pytest.fixture(scope="session")
def sims(workdir: Path) -> Iterator[Simulators]:
    running = Simulators(workdir)
    yield running
    running.stop()
