"""Reliability of `smartfactory ingest` as a real process against a real Mosquitto (issue 5).

* the broker restarted in the middle of a 200,000-point stream: every point stored exactly once;
* the ingester killed with SIGKILL mid-stream and restarted: nothing lost, nothing duplicated;
* 10,000 malformed payloads mixed into a valid stream: each quarantined with its reason, every
  valid point stored, the ingester still up;
* the store locked by another process for 30 s: points spooled, then replayed in order.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import orjson
import pyarrow as pa
import pytest

from mqtt_broker import PrivateBroker
from plants import MachineSpec, PlantSpec
from smartfactory.connect.mqtt import MqttPublisher
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store import StoreFolder
from smartfactory.store.telemetry import TelemetryStore

EQUIPMENT = ("M1A", "M2A")
LOCK_S = float(os.environ.get("SMARTFACTORY_TEST_LOCK_S", "30"))
RUN = [sys.executable, "-c", "from smartfactory.cli.main import run; run()"]


def plant_text(url: str) -> str:
    spec = PlantSpec(cells=[[MachineSpec(cycle_s=60)], [MachineSpec(cycle_s=60)]], buffers=[5, 5])
    return spec.toml() + textwrap.dedent(
        f"""
        [[source]]
        id = "uns"
        kind = "mqtt"
        url = "{url}"
        client_id = "reliability-{secrets.token_hex(4)}"
        """
    )


class Ingester:
    """`smartfactory ingest` in a child process; its status lines tell how much is stored."""

    def __init__(self, plant_file: Path, store: Path | str, *extra: str) -> None:
        self.args = [*RUN, "ingest", "--plant", str(plant_file), "--store", str(store)]
        self.args += ["--status-every", "0.2", *extra]
        self.process: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.base = 0  # stored by earlier processes

    def start(self) -> None:
        self.base = self.stored()
        self.lines = []
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.lines.append(line)

    def stored(self) -> int:
        """Rows stored so far, by every process of this ingester."""
        for line in reversed(self.lines):
            found = re.search(r"([\d,]+) stored", line)
            if found:
                return self.base + int(found.group(1).replace(",", ""))
        return self.base

    def connected(self) -> bool:
        return any(" 1/1 sources connected" in line for line in self.lines)

    def wait(self, predicate: str, condition: object, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():  # type: ignore[operator]
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"the ingester exited ({self.process.returncode}): {''.join(self.lines)[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {predicate}: {''.join(self.lines[-5:])}")
            time.sleep(0.05)

    def stop(self) -> str:
        """SIGTERM, as a service manager stops it; returns stdout; it must exit 0."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        assert self.process.returncode == 0, "".join(self.lines)[-3000:]
        return out

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)


@pytest.fixture(name="setup")
def fixture_setup(
    private_broker: PrivateBroker, tmp_path: Path
) -> Iterator[tuple[PrivateBroker, Path, Path, Plant]]:
    plant_file = tmp_path / "plant.toml"
    plant_file.write_text(plant_text(private_broker.url), encoding="utf-8")
    plant = parse_plant(plant_file.read_text(encoding="utf-8"), str(plant_file))
    yield private_broker, plant_file, tmp_path / "store", plant


def points(n: int) -> pa.Table:
    """``n`` measurements of ``temp`` spread over the two machines, 1 ms apart, a day ago."""
    origin = (time.time_ns() // 1000) - 86_400_000_000
    per = n // len(EQUIPMENT)
    ts, eq, values = [], [], []
    for k, equipment in enumerate(EQUIPMENT):
        for i in range(per):
            ts.append(origin + i * 1000)
            eq.append(equipment)
            values.append(float(k * 1000 + i % 1000))
    return pa.table(
        [pa.array(ts, pa.int64()).cast(pa.timestamp("us")), eq, ["temp"] * len(ts), values],
        schema=SCHEMAS[EventType.measurements],
    )


def publish_in_background(plant: Plant, url: str, table: pa.Table, batch_points: int) -> threading.Thread:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            publisher = MqttPublisher(plant, url, batch_points=batch_points, close_timeout_s=120)
            try:
                for start in range(0, table.num_rows, 10_000):
                    publisher.write(EventType.measurements, table.slice(start, 10_000))
            finally:
                publisher.close()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def finished(thread: threading.Thread) -> None:
    thread.join(180)
    assert not thread.is_alive(), "the publisher did not finish"
    assert not thread.errors, thread.errors  # type: ignore[attr-defined]


def stored_exactly_once(store: Path | str, expected: pa.Table) -> None:
    with closing(StoreFolder.at(store).open_events("read")) as telemetry:
        rows = telemetry.query(
            "SELECT count(*) AS n, count(DISTINCT (equipment, signal, ts)) AS keys, sum(value) AS total "
            "FROM measurements"
        ).to_pylist()[0]
    assert rows["n"] == expected.num_rows == rows["keys"]
    assert rows["total"] == pytest.approx(sum(expected.column("value").to_pylist()))


def test_the_broker_restarts_mid_stream_and_every_point_is_stored_once(
    setup: tuple[PrivateBroker, Path, Path, Plant],
) -> None:
    broker, plant_file, store, plant = setup
    table = points(200_000)
    ingester = Ingester(plant_file, store)
    ingester.start()
    ingester.wait("connected", ingester.connected)
    publisher = publish_in_background(plant, broker.url, table, batch_points=10)
    ingester.wait("a third stored", lambda: ingester.stored() >= 60_000)
    broker.stop()
    time.sleep(1.0)
    broker.start()
    finished(publisher)
    ingester.wait("every point stored", lambda: ingester.stored() >= table.num_rows)
    ingester.stop()
    stored_exactly_once(store, table)


def test_the_ingester_killed_mid_stream_loses_and_duplicates_nothing(
    setup: tuple[PrivateBroker, Path, Path, Plant],
) -> None:
    broker, plant_file, store, plant = setup
    table = points(200_000)
    ingester = Ingester(plant_file, store)
    ingester.start()
    ingester.wait("connected", ingester.connected)
    publisher = publish_in_background(plant, broker.url, table, batch_points=10)
    ingester.wait("some stored", lambda: ingester.stored() >= 40_000)
    ingester.kill()  # SIGKILL: no drain, no acks for what was in flight
    ingester.start()  # same client id: the broker redelivers what was not acknowledged
    finished(publisher)
    ingester.wait("every point stored", lambda: ingester.stored() >= table.num_rows)
    ingester.stop()
    stored_exactly_once(store, table)


def malformed(i: int, now_ms: int) -> tuple[str, bytes, str]:
    """The i-th bad payload: (topic, payload, expected reason kind prefix); each one is distinct."""
    good_topic = "ent/site/area/L/M1A/temp"
    kind = i % 8
    if kind == 0:
        return good_topic, b'{"ts": %d, "value": ' % i, "bad json"
    if kind == 1:
        return good_topic, orjson.dumps({"ts": now_ms - i, "value": f"hot{i}"}), ""
    if kind == 2:
        return "ent/site/area/L/NOPE/temp", orjson.dumps({"ts": now_ms - i, "value": 1.0}), ""
    if kind == 3:
        return "ent/site/area/L/M1A/nope", orjson.dumps({"ts": now_ms - i, "value": 1.0}), ""
    if kind == 4:
        return good_topic, orjson.dumps({"ts": now_ms + 2 * 86_400_000 + i, "value": 1.0}), ""
    if kind == 5:
        return good_topic, orjson.dumps({"ts": now_ms - 100 * 86_400_000 - i, "value": 1.0}), ""
    if kind == 6:
        return good_topic, orjson.dumps({"ts": now_ms - i}), ""
    return "ent/site/area/L9/M1A/temp", orjson.dumps({"ts": now_ms - i, "value": 1.0}), ""


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_ten_thousand_malformed_payloads_are_quarantined_and_the_rest_stored(
    setup: tuple[PrivateBroker, Path, Path, Plant], engine: str, request: pytest.FixtureRequest
) -> None:
    broker, plant_file, folder, plant = setup
    valid = points(20_000)
    store: Path | str = folder
    extra: list[str] = []
    if engine == "postgresql":
        store = request.getfixturevalue("postgres_url")
        extra = ["--spool", str(folder.parent / "spool")]
    ingester = Ingester(plant_file, store, *extra)
    ingester.start()
    ingester.wait("connected", ingester.connected)
    publisher = MqttPublisher(plant, broker.url, batch_points=1, close_timeout_s=120)
    now_ms = time.time_ns() // 1_000_000
    try:
        for start in range(0, valid.num_rows, 2_000):
            publisher.write(EventType.measurements, valid.slice(start, 2_000))
            for i in range(start // 2, start // 2 + 1_000):
                publisher.publish_raw(*malformed(i, now_ms)[:2])
    finally:
        publisher.close()
    ingester.wait("every valid point stored", lambda: ingester.stored() >= valid.num_rows)
    time.sleep(1.0)
    assert ingester.process is not None and ingester.process.poll() is None  # still up
    ingester.stop()
    stored_exactly_once(store, valid)
    with closing(StoreFolder.at(store).open_events("read")) as telemetry:
        quarantine = telemetry.quarantine()
        entries = quarantine.list()
        kinds = quarantine.count()
    assert len(entries) == 10_000, kinds
    assert all(e.reason.strip() for e in entries)
    assert sum(kinds.values()) == 10_000 and len(kinds) >= 5, kinds
    bad_json = [e for e in entries if e.raw.startswith(b'{"ts": ') and not e.raw.endswith(b"}")]
    assert len(bad_json) == 1_250 and all(e.reason.startswith("bad json") for e in bad_json)


HOLD = textwrap.dedent(
    """
    import sys, time
    from smartfactory.model.errors import StoreLockedError
    from smartfactory.store.telemetry import TelemetryStore
    while True:
        try:
            store = TelemetryStore.open(sys.argv[1], "write")
            break
        except StoreLockedError:
            time.sleep(0.01)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    store.close()
    print("released", flush=True)
    """
)


def test_a_store_locked_for_30_s_is_spooled_then_replayed_in_order(
    setup: tuple[PrivateBroker, Path, Path, Plant],
) -> None:
    broker, plant_file, store, plant = setup
    # a process that is not the store's owner (an import, say) holds it when the ingester starts
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store), str(LOCK_S)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    locked_at = time.monotonic()
    ingester = Ingester(plant_file, store, "--json")
    ingester.start()
    ingester.wait("connected", ingester.connected)
    table = points(10_000)
    publisher = MqttPublisher(plant, broker.url, batch_points=50, close_timeout_s=60)
    origin_ms = time.time_ns() // 1_000_000 - 3_600_000
    try:
        publisher.write(EventType.measurements, table)
        # a machine going running/idle every 10 s: the intervals only come out right in order
        for k in range(20):
            state = "running" if k % 2 == 0 else "idle"
            payload = orjson.dumps({"ts": origin_ms + k * 10_000, "state": state})
            publisher.publish_raw("ent/site/area/L/M1A/state", payload)
            if k % 5 == 4:
                time.sleep(0.5)  # several commits, so several spool segments
    finally:
        publisher.close()
    assert time.monotonic() - locked_at < LOCK_S, "publishing took longer than the lock"
    assert holder.stdout.readline().strip() == "released"
    holder.wait(10)
    ingester.wait("every point stored", lambda: ingester.stored() >= table.num_rows + 19, timeout_s=60)
    status = orjson.loads(ingester.stop())
    assert status["spooled_points"] >= table.num_rows and status["spool_pending"] == 0
    stored_exactly_once(store, table)
    with TelemetryStore.open(store, "read") as telemetry:
        states = telemetry.table(EventType.states).to_pylist()
    assert len(states) == 19
    assert [s["state"] for s in states] == ["running" if k % 2 == 0 else "idle" for k in range(19)]
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(states))
    assert not list((store / "spool").glob("seg-*"))
