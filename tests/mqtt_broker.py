"""A real Mosquitto for the tests (stoppable, restartable on its port), and Home Assistant's reading of
device-based discovery configs."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from enphase_secure.actions.mqtt import MqttBroker
from enphase_secure.simulator.tls import self_signed_certificate
from loopback import free_port

MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto")


class Mosquitto:
    """A Mosquitto broker on a free 127.0.0.1 port (Debian package ``mosquitto``), stoppable and
    restartable on the same port (to test a broker that goes away and comes back)."""

    def __init__(self, folder: Path, *, tls: bool = False, users: dict[str, str] | None = None) -> None:
        executable = next((p for p in map(shutil.which, MOSQUITTO_CANDIDATES) if p), None)
        if executable is None:
            pytest.fail("mosquitto is not installed (apt-get install -y mosquitto)")
        self._executable = executable
        self._folder = folder
        self.port = free_port()
        self.broker = MqttBroker(host="127.0.0.1", port=self.port)
        self.ca_file: Path | None = None  # with tls: the broker's self-signed certificate, its own CA
        if tls:
            certificate, key = self_signed_certificate(
                "127.0.0.1", now=datetime.now(UTC), ip_address="127.0.0.1"
            )
            self.ca_file = folder / "broker.pem"
            self.ca_file.write_bytes(certificate)
            (folder / "broker.key").write_bytes(key)
        self._users = users or {}  # name -> password: then no anonymous client
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = self._folder / "mosquitto.conf"
        # started as root, mosquitto would switch to its own user, which cannot read the test's files
        anonymous = "false" if self._users else "true"
        lines = [f"listener {self.port} 127.0.0.1", f"allow_anonymous {anonymous}", "persistence false"]
        if self._users:
            passwords = self._folder / "passwords"
            passwords.write_text("")
            for name, password in self._users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password], check=True)
            lines.append(f"password_file {passwords}")
        lines.append(f"user {getpass.getuser()}")
        if self.ca_file is not None:
            lines += [f"certfile {self.ca_file}", f"keyfile {self._folder / 'broker.key'}"]
        config.write_text("\n".join(lines) + "\n")
        log_path = self._folder / "mosquitto.log"
        with log_path.open("a") as log:
            self._process = subprocess.Popen(
                [self._executable, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not start: {log_path.read_text()}")
                time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
            self._process = None


SHARED_DISCOVERY_OPTIONS = ("state_topic", "availability", "qos")


def ha_entities(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Device-based discovery configs (topic -> payload) as Home Assistant reads them: unique id ->
    the component with the device's shared options it does not override, its device and topic."""
    entities = {}
    for topic, config in configs.items():
        shared = {k: config[k] for k in SHARED_DISCOVERY_OPTIONS if k in config}
        for object_id, component in config.get("components", {}).items():
            if len(component) == 1:  # platform alone: a component being removed
                continue
            entities[component["unique_id"]] = {
                **shared,
                **component,
                "device": config["device"],
                "origin": config["origin"],
                "config_topic": topic,
                "object_id": object_id,
            }
    return entities
