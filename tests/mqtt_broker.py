"""MQTT brokers for tests: the shared one from the environment, and a private Mosquitto to restart.

Plain helpers; the fixtures built on them are in conftest.py files: ``mqtt_url`` in
``tests/conftest.py`` (the CLI and connector tests use it), ``private_broker`` in
``tests/connect/conftest.py``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services import missing_service
from smartfactory.connect.mqtt.config import parse_broker_url

MQTT_ENV = "SMARTFACTORY_TEST_MQTT"
DEFAULT_MQTT = "mqtt://127.0.0.1:1883"

_unreachable: dict[str, str] = {}


def _accepts(host: str, port: int, timeout_s: float = 2.0) -> str | None:
    """None when something listens at host:port, else the error."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return str(exc)


def shared_broker_url() -> str:
    """The shared broker's URL (``SMARTFACTORY_TEST_MQTT``, default mqtt://127.0.0.1:1883)."""
    url = os.environ.get(MQTT_ENV) or DEFAULT_MQTT
    if url not in _unreachable:
        address = parse_broker_url(url)
        error = _accepts(address.host, address.port)
        if error is not None:
            _unreachable[url] = f"MQTT broker at {url} is not reachable ({MQTT_ENV}): {error}"
    if url in _unreachable:
        missing_service(_unreachable[url])
    return url


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    """A Mosquitto of the test's own, on a free loopback port, with persistence; stop and start it."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = folder / "mosquitto.conf"
        data = folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.log = folder / "mosquitto.log"
        # unlimited queues and in-flight windows: a slow or absent ingester must not lose messages.
        # `user`: started as root, mosquitto switches to the user "mosquitto", which cannot write
        # the test's folder, and would silently run without its persistence file
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {data}/\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            f"log_dest file {self.log}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while _accepts("127.0.0.1", self.port, 0.2) is not None:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}: {error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not listen on port {self.port} within 10 s")
            time.sleep(0.05)

    def saved(self) -> bool:
        """Whether the broker has written its persistence file (it does on a clean stop)."""
        return any(self.folder.joinpath("data").iterdir())

    def stop(self) -> None:
        """Stop it the way a service manager does (SIGTERM: it saves its persistence file)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextmanager
def private_mosquitto(folder: Path) -> Iterator[PrivateBroker]:
    """A running private Mosquitto keeping its files in ``folder`` (stopped at the end)."""
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if binary is None:
        missing_service("mosquitto is not installed (needed to start a private broker)")
    broker = PrivateBroker(binary, folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
