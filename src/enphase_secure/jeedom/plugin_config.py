"""The Jeedom plugin's configuration page (its config keys) mapped to the daemon's configuration.

The plugin (PHP) writes a 0600 JSON file: ``{"plugin": {key: value}, "jeedom": {"url", "apikey"},
"daemon": {"listen", "state_dir", "timezone"}}``. The keys of ``plugin`` are the original plugin's
(``ctoken``, ``user``, ``password``, ``ip``, ``serie``, ``token``, ``typereseau``, ``widget``,
``delais``, ``autoconso``, ``wattsautoconso1on/off``, ``cmdautoconso1on/off``) plus ours for stages
2..4 and their timings. Every error names the Jeedom key, in French (the page's language) and English.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import Config, parse_config
from ..errors import ConfigError

MAX_STAGES = 4
_CMD_ID = re.compile(r"^#?(\d+)#?$")
PHASES = {"mono": "single", "tri": "three", "auto": "auto"}
LAYOUTS = {"1": "single", "3": "split"}
TOKEN_MODES = {"auto": "auto", "manu": "manual"}
# stage keys of ours: Jeedom key suffix -> [[control.stages]] key
STAGE_NUMBERS = {
    "delaiautoconso{n}on": "start_delay_s",
    "delaiautoconso{n}off": "stop_delay_s",
    "minautoconso{n}on": "min_on_s",
    "minautoconso{n}off": "min_off_s",
    "prioriteautoconso{n}": "priority",
    "socautoconso{n}": "min_soc_pct",
}


def _text(plugin: Mapping[str, Any], key: str, default: str = "") -> str:
    value = plugin.get(key)
    return default if value is None else str(value).strip()


def _choice(plugin: Mapping[str, Any], key: str, choices: Mapping[str, str], default: str) -> str:
    value = _text(plugin, key, default) or default
    if value not in choices:
        raise ConfigError(
            f"{key} = {value!r} : valeur inconnue, attendu {' | '.join(choices)} "
            f"(unknown value, expected one of these)"
        )
    return choices[value]


def _number(plugin: Mapping[str, Any], key: str) -> float | None:
    text = _text(plugin, key).replace(",", ".")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{key} = {text!r} : un nombre est attendu (a number is expected)") from None


def _cmd_id(plugin: Mapping[str, Any], key: str) -> int | None:
    text = _text(plugin, key)
    if not text:
        return None
    match = _CMD_ID.match(text)
    if match is None:
        raise ConfigError(
            f"{key} = {text!r} : choisissez une commande action Jeedom (#id#) (pick a Jeedom action command)"
        )
    return int(match.group(1))


def _stage(plugin: Mapping[str, Any], n: int) -> dict[str, Any] | None:
    on_id, off_id = _cmd_id(plugin, f"cmdautoconso{n}on"), _cmd_id(plugin, f"cmdautoconso{n}off")
    start, stop = _number(plugin, f"wattsautoconso{n}on"), _number(plugin, f"wattsautoconso{n}off")
    if on_id is None and off_id is None and start is None and stop is None:
        return None
    if start is None or stop is None:
        missing = f"wattsautoconso{n}on" if start is None else f"wattsautoconso{n}off"
        raise ConfigError(
            f"{missing} : seuil manquant pour l'autoconsommation {n} (threshold missing for stage {n})"
        )
    stage: dict[str, Any] = {"name": f"autoconso{n}", "start_above_w": start, "stop_below_w": stop}
    for template, target in STAGE_NUMBERS.items():
        value = _number(plugin, template.format(n=n))
        if value is not None:
            stage[target] = int(value) if target == "priority" else value
    if on_id is not None:
        stage["on"] = {"jeedom": {"cmd_id": on_id}}
    if off_id is not None:
        stage["off"] = {"jeedom": {"cmd_id": off_id}}
    return stage


def _gateway(plugin: Mapping[str, Any]) -> dict[str, Any]:
    host = _text(plugin, "ip")
    if not host:
        raise ConfigError("ip : adresse IP de la passerelle manquante (gateway IP address missing)")
    gateway: dict[str, Any] = {"host": host, "token_mode": _choice(plugin, "ctoken", TOKEN_MODES, "auto")}
    if serial := _text(plugin, "serie"):
        gateway["serial"] = serial
    if gateway["token_mode"] == "auto":
        user, password = _text(plugin, "user"), _text(plugin, "password")
        if not user or not password:
            raise ConfigError(
                "user / password : le mode jeton automatique demande l'identifiant et le mot de passe "
                "Enlighten (automatic token mode needs the Enlighten login and password)"
            )
        gateway |= {"username": user, "password": password}
    else:
        token = _text(plugin, "token")
        if not token:
            raise ConfigError(
                "token : le mode jeton manuel demande un jeton collé depuis Enlighten "
                "(manual token mode needs a token pasted from Enlighten)"
            )
        gateway["token"] = token
    for key in ("enlighten_url", "entrez_url"):  # advanced: a local stand-in of the cloud
        if value := _text(plugin, key):
            gateway[key] = value
    return gateway


def config_data(document: Mapping[str, Any]) -> dict[str, Any]:
    """The daemon's configuration (the TOML document, as data) from the plugin's JSON file."""
    plugin: Mapping[str, Any] = document.get("plugin") or {}
    jeedom: Mapping[str, Any] = document.get("jeedom") or {}
    daemon: Mapping[str, Any] = document.get("daemon") or {}
    interval = _number(plugin, "delais") or 1.0
    if interval < 1:
        raise ConfigError(f"delais = {interval:g} : au moins 1 seconde (at least 1 second)")
    data: dict[str, Any] = {
        "gateway": _gateway(plugin),
        "polling": {"interval_s": interval},
        "site": {"phases": _choice(plugin, "typereseau", PHASES, "auto")},
        "publish": {
            "layout": _choice(plugin, "widget", LAYOUTS, "1"),
            "jeedom": {"url": str(jeedom.get("url", "")), "apikey": str(jeedom.get("apikey", ""))},
        },
    }
    if timezone := daemon.get("timezone"):
        data["site"]["timezone"] = str(timezone)
    if apikey := str(jeedom.get("apikey", "")):
        data["web"] = {"token": apikey}  # the plugin's key is the API token its manual commands send
    if listen := daemon.get("listen"):
        data.setdefault("web", {})["listen"] = str(listen)
    if state_dir := daemon.get("state_dir"):
        data["storage"] = {"state_dir": str(state_dir)}
    if _text(plugin, "autoconso", "non") == "oui":
        stages = [s for n in range(1, MAX_STAGES + 1) if (s := _stage(plugin, n)) is not None]
        if stages:
            data["control"] = {"stages": stages}
    return data


def load_plugin_config(path: Path) -> Config:
    """Read the plugin's JSON file; ConfigError naming the file and the Jeedom key at fault."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"cannot read the Jeedom plugin config {str(path)!r}: {err.strerror}") from None
    except ValueError as err:
        raise ConfigError(f"{path}: not JSON: {err}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: not a JSON object")
    try:
        return parse_config(config_data(document), source="configuration du plugin")
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
