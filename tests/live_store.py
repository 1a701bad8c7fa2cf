"""Helpers of the live-store tests: a plant with an MQTT source on its own topics, `serve` and
`ingest` as real processes, an API token, and a twin publishing to the source's topics.

    from live_store import LivePlant, Process, api_token, measurement, twin_sink
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from plants import MachineSpec, PlantSpec
from smartfactory.app.accounts import add_user
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token
from smartfactory.connect.mqtt import MqttPublisher
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store import StoreFolder

RUN = [sys.executable, "-c", "from smartfactory.cli.main import run; run()"]
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class LivePlant:
    """A two-machine plant file whose MQTT source listens on topics of its own (a unique prefix)."""

    folder: Path
    mqtt_url: str
    prefix: str = field(default_factory=lambda: f"live-{secrets.token_hex(4)}")

    @property
    def topic(self) -> str:
        return f"{self.prefix}/{{line}}/{{equipment}}/{{signal}}"

    @property
    def text(self) -> str:
        return self.text_for("ingest")

    def text_for(self, client: str) -> str:
        """The plant file, its source connecting as ``<prefix>-<client>``."""
        spec = PlantSpec(cells=[[MachineSpec(cycle_s=60)], [MachineSpec(cycle_s=60)]], buffers=[5, 5])
        return spec.toml() + textwrap.dedent(
            f"""
            [[source]]
            id = "uns"
            kind = "mqtt"
            url = "{self.mqtt_url}"
            client_id = "{self.prefix}-{client}"
            session_expiry_s = 60
            topic = "{self.topic}"
            """
        )

    def write(self, client: str = "ingest") -> Path:
        """The plant file in the folder (one per client id)."""
        path = self.folder / f"plant-{client}.toml"
        path.write_text(self.text_for(client), encoding="utf-8")
        return path

    def plant(self) -> Plant:
        return parse_plant(self.text)

    def publisher(self) -> MqttPublisher:
        """A publisher on this plant's topics (its own client id)."""
        return MqttPublisher(
            self.plant(), self.mqtt_url, topic=self.topic, client_id=f"{self.prefix}-twin", close_timeout_s=60
        )


def api_token(store: Path) -> str:
    """A viewer's API token in the store's registry (made before the server starts)."""
    with StoreFolder(store).open_registry() as registry:
        add_user(registry, "viewer", "viewer-password-123", Role.viewer, "Viewer")
        return issue_token(registry, "viewer", "live test")


class Process:
    """A `smartfactory` command in a child process; its stderr lines are collected as they come."""

    def __init__(self, *args: str) -> None:
        self.args = [*RUN, *args]
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "200"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, what: str, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"{self.args[3:5]} exited ({self.process.returncode}): {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.log()}")
            time.sleep(0.05)

    def stored(self) -> int:
        """What the last status line of an `ingest` says is stored."""
        for line in reversed(self.lines):
            found = re.search(r"([\d,]+) stored", line)
            if found:
                return int(found.group(1).replace(",", ""))
        return 0

    def log(self) -> str:
        return "".join(self.lines)[-3000:]

    def stop(self, timeout_s: float = 60.0, signalled: bool = False) -> str:
        """SIGTERM, as a service manager stops it; returns stdout; it must exit 0.

        ``signalled``: it may also end by the signal itself, as uvicorn does once it has shut
        down gracefully (it raises the signal it caught again).
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout_s)
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        allowed = (0, -signal.SIGTERM) if signalled else (0,)
        assert self.process.returncode in allowed, f"exit {self.process.returncode}: {self.log()}"
        return out

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Api:
    """The API of a `serve` process, as the viewer of ``api_token``."""

    def __init__(self, port: int, token: str) -> None:
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def answers(self) -> bool:
        try:
            return self.client.get("/api/v1/ingest/status").status_code == 200
        except httpx.TransportError:
            return False


def measurement(equipment: str, at: datetime, value: float) -> pa.Table:
    """One ``temp`` measurement."""
    ts = int(at.timestamp() * 1_000_000)
    return pa.table(
        [pa.array([ts], pa.int64()).cast(pa.timestamp("us")), [equipment], ["temp"], [value]],
        schema=SCHEMAS[EventType.measurements],
    )


def good_count(equipment: str, at: datetime, good: int) -> pa.Table:
    """One count event of ``good`` parts."""
    ts = int(at.timestamp() * 1_000_000)
    return pa.table(
        [
            pa.array([ts], pa.int64()).cast(pa.timestamp("us")),
            [equipment],
            [None],
            [None],
            [good],
            [0],
            [0],
            [None],
        ],
        schema=SCHEMAS[EventType.counts],
    )


def now() -> datetime:
    """Now (UTC), to the millisecond: what survives a JSON payload."""
    at = datetime.now(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def dumps(value: object) -> str:
    return json.dumps(value, default=str)
