"""The plugin's files: PHP that parses, dependencies that match the package, the zip Jeedom installs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "jeedom"
PHP_FILES = sorted(PLUGIN.rglob("*.php"))


def test_there_is_php_to_check() -> None:
    assert {p.relative_to(PLUGIN).as_posix() for p in PHP_FILES} >= {
        "core/class/enphasesecur.class.php",
        "core/php/jeeEnphasesecur.php",
        "plugin_info/install.php",
        "plugin_info/configuration.php",
    }


@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: p.relative_to(PLUGIN).as_posix())
def test_php_lint(path: Path) -> None:
    php = shutil.which("php")
    assert php, "php-cli is needed for php -l (scripts/test installs it)"
    done = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()


def test_plugin_dependencies_are_the_package_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    packages = json.loads((PLUGIN / "plugin_info" / "packages.json").read_text())
    assert {name.lower() for name in packages["pip3"]} == {_name(r) for r in project["dependencies"]}


def test_info_json_declares_the_original_id_daemon_and_dependencies() -> None:
    info = json.loads((PLUGIN / "plugin_info" / "info.json").read_text())
    assert info["id"] == "enphasesecur"
    assert info["hasOwnDeamon"] is True
    assert info["hasDependency"] is True
    for doc in info["documentation"].values():
        assert (REPO / doc).is_file()


def test_build_zip_has_one_top_folder_with_the_plugin_and_the_package(tmp_path: Path) -> None:
    out = tmp_path / "enphasesecur.zip"
    subprocess.run([str(PLUGIN / "build.sh"), str(out)], check=True, capture_output=True)
    names = zipfile.ZipFile(out).namelist()
    assert {n.split("/")[0] for n in names} == {"enphasesecur"}
    for needed in (
        "plugin_info/info.json",
        "plugin_info/packages.json",
        "core/class/enphasesecur.class.php",
        "resources/enphase-secure/pyproject.toml",
        "resources/enphase-secure/src/enphase_secure/__main__.py",
        "resources/enphase-secure/src/enphase_secure/outputs/figures.py",
        "docs/fr_FR/jeedom.md",
    ):
        assert f"enphasesecur/{needed}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith("build.sh")]


def test_phpcs_static_check() -> None:
    phpcs = shutil.which("phpcs")
    assert phpcs, "phpcs is needed (Debian package php-codesniffer; scripts/test installs it)"
    done = subprocess.run(
        [phpcs, "--standard=" + str(PLUGIN / "phpcs.xml"), "--report=emacs", str(PLUGIN)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
