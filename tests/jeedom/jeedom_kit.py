"""A real Jeedom 4.5.3 (../shared/jeedom) for the plugin's tests, driven as a user drives it: JSON-RPC
API, the UI's ajax endpoints, plugin installed from a zip served on loopback."""

from __future__ import annotations

import contextlib
import functools
import http.cookiejar
import http.server
import json
import os
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
KIT = REPO.parent / "shared" / "jeedom"
SETUP = KIT / "setup.sh"
PLUGIN = "enphasesecur"

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.5) -> T:
    """The first truthy answer of ``probe``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
        except Exception as err:  # a probe may fail while the thing is not there yet
            last = err
        else:
            if value:
                return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last})")


class RpcError(Exception):
    pass


@dataclass
class Jeedom:
    dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    cookies: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ctl(self) -> str:
        return str(self.dir / "jeedom-ctl")

    def setup(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(SETUP), str(self.port), "--dir", str(self.dir), *args],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"setup.sh failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        self.env = dict(
            line.split("=", 1) for line in (self.dir / "jeedom.env").read_text().splitlines() if "=" in line
        )
        return done

    def stop(self) -> None:
        subprocess.run(
            [str(KIT / "stop.sh"), "--dir", str(self.dir)], capture_output=True, timeout=120, check=False
        )

    def jctl(self, *args: str) -> str:
        done = subprocess.run([self.ctl, *args], capture_output=True, text=True, timeout=300, check=False)
        return done.stdout.strip()

    # --- JSON-RPC ------------------------------------------------------------------------------
    def rpc(self, method: str, **params: Any) -> Any:
        params.setdefault("apikey", self.env["JEEDOM_APIKEY"])
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(
            f"{self.url}/core/api/jeeApi.php", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            raise RpcError(f"{method}: {answer['error']}")
        return answer["result"]

    def config(self, key: str, value: Any, plugin: str = PLUGIN) -> None:
        self.rpc("config::save", key=key, value=value, plugin=plugin)

    def equipment(self) -> dict[str, dict[str, Any]]:
        """This plugin's equipment by logicalId, each with its commands by logicalId."""
        result = self.rpc("eqLogic::byType", type=PLUGIN)
        eqs = result if isinstance(result, list) else []
        out = {}
        for eq in eqs:
            cmds = self.rpc("cmd::byEqLogicId", eqLogic_id=int(eq["id"]))
            eq["cmds"] = {c["logicalId"]: c for c in (cmds if isinstance(cmds, list) else [])}
            out[eq["logicalId"]] = eq
        return out

    def values(self, ids: list[int]) -> dict[int, Any]:
        result = self.rpc("cmd::execCmd", id=ids)
        return {int(k): v["value"] for k, v in result.items()}

    def daemon(self) -> dict[str, Any]:
        info: dict[str, Any] = self.rpc("plugin::deamonInfo", plugin_id=PLUGIN)
        return info

    # --- the UI's ajax endpoints ---------------------------------------------------------------
    def ajax(self, endpoint: str, **form: Any) -> Any:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        if not any(c.name for c in self.cookies):
            self._post(opener, "user", action="login", username="admin", password="admin")
        return self._post(opener, endpoint, **form)

    def _post(self, opener: urllib.request.OpenerDirector, endpoint: str, **form: Any) -> Any:
        data = urllib.parse.urlencode(form).encode()
        with opener.open(f"{self.url}/core/ajax/{endpoint}.ajax.php", data=data, timeout=120) as resp:
            answer = json.loads(resp.read())
        if answer.get("state") != "ok":
            raise RpcError(f"ajax {endpoint} {form.get('action')}: {answer}")
        return answer.get("result")


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """A loopback HTTP server for the plugin zip (Jeedom's `url` source downloads it)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def build_zip(out: Path) -> Path:
    subprocess.run(
        [str(REPO / "jeedom" / "build.sh"), str(out)], check=True, capture_output=True, timeout=120
    )
    return out


def install_from_zip(jeedom: Jeedom, zip_path: Path) -> None:
    """As a user does: Jeedom's `url` source, update::doUpdate, then activation in the plugin page."""
    with serve_folder(zip_path.parent) as base:
        jeedom.rpc("config::save", key="url::enable", value=1)
        url = f"{base}/{zip_path.name}"
        jeedom.rpc(
            "plugin::install", logicalId=PLUGIN, type="plugin", source="url", configuration={"url": url}
        )
        jeedom.rpc("update::doUpdate", logicalId=PLUGIN)
    jeedom.ajax("plugin", action="toggle", id=PLUGIN, state=1)


def simulator(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`enphase-secure simulate ...` in the background; its gateway and cloud addresses."""
    exe = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "enphase-secure"
    proc = subprocess.Popen(
        [str(exe), "simulate", *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    info = dict(zip(line[::2], line[1::2], strict=False))
    if "gateway" not in info:
        proc.kill()
        raise AssertionError(f"simulator did not start: {line}")
    return proc, info
