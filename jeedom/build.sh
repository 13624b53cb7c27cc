#!/bin/sh
# jeedom/build.sh OUT.zip: the plugin as Jeedom installs it (one top folder enphasesecur/), carrying the
# project's Python package (resources/enphase-secure/: src/ and pyproject.toml) and the docs.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 OUT.zip" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
exec python3 - "$here" "$1" <<'PY'
import sys, zipfile
from pathlib import Path

plugin, out = Path(sys.argv[1]), Path(sys.argv[2])
repo = plugin.parent
top = "enphasesecur"


def files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


entries = [(p, f"{top}/{p.relative_to(plugin)}") for p in files(plugin) if p.name not in ("build.sh", "phpcs.xml")]
entries += [(p, f"{top}/resources/enphase-secure/{p.relative_to(repo)}") for p in files(repo / "src")]
entries += [(repo / name, f"{top}/resources/enphase-secure/{name}") for name in ("pyproject.toml", "README.md")]
entries += [(p, f"{top}/{p.relative_to(repo)}") for p in files(repo / "docs") if p.suffix == ".md"]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for path, name in entries:
        archive.write(path, name)
print(f"{out}: {len(entries)} files")
PY
