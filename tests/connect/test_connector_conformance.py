"""One checklist, every live connector (MQTT, OPC UA, Modbus TCP), each against its real server.

Like Home Assistant's integration quality scale: a connector is only done when it passes all of
these, through the real :class:`IngestWriter` into a DuckDB store:

* values arrive with their source timestamps (Modbus has none: the poll time, inside the window);
* a bad payload is quarantined with its reason and the source goes on;
* it reconnects by itself after its server restarts on the same address;
* while another process holds the store, points are spooled, then replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from modbus_devices import Device, encode_words
from mqtt_broker import PrivateBroker, free_port
from plants import MachineSpec, PlantSpec
from services import missing_service
from smartfactory.connect.live import LiveSource
from smartfactory.connect.sources import source_class
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.events import EventType
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store.quarantine import Quarantine
from smartfactory.store.telemetry import TelemetryStore

KINDS = ["mqtt", "opcua", "modbus"]


def conformance_plant() -> Plant:
    """Two machines (M1A, M2A), each with a ``temp`` signal in °C, normal 10–60."""
    spec = PlantSpec(cells=[[MachineSpec(cycle_s=60)], [MachineSpec(cycle_s=60)]], buffers=[5, 5])
    return parse_plant(spec.toml(), "conformance.toml")


class Harness(Protocol):
    """A real server of one kind that the checklist drives."""

    kind: str
    source_timestamps: bool

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def restart(self) -> None: ...
    def settings(self) -> dict[str, Any]: ...
    async def send(self, value: float, at: datetime) -> None: ...
    async def send_bad(self) -> None: ...


class MqttHarness:
    kind = "mqtt"
    source_timestamps = True

    def __init__(self, folder: Path) -> None:
        import shutil

        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            missing_service("mosquitto is not installed (needed to start a private broker)")
        self.broker = PrivateBroker(binary, folder / "mosquitto")
        self.n = 0

    async def start(self) -> None:
        await asyncio.to_thread(self.broker.start)

    async def stop(self) -> None:
        await asyncio.to_thread(self.broker.stop)

    async def restart(self) -> None:
        await self.start()

    def settings(self) -> dict[str, Any]:
        return {"url": self.broker.url, "client_id": f"conformance-{self.broker.port}"}

    def _publish(self, topic: str, payload: bytes) -> None:
        self.n += 1
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"conformance-pub-{self.n}")
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        try:
            client.publish(topic, payload, qos=1).wait_for_publish(10)
        finally:
            client.loop_stop()
            client.disconnect()

    async def send(self, value: float, at: datetime) -> None:
        payload = orjson.dumps({"ts": at.isoformat(), "value": value})
        await asyncio.to_thread(self._publish, "ent/site/area/L/M1A/temp", payload)

    async def send_bad(self) -> None:
        await asyncio.to_thread(self._publish, "ent/site/area/L/M1A/temp", b'{"ts": "yesterday", "value": ')


class OpcUaHarness:
    kind = "opcua"
    source_timestamps = True

    def __init__(self, folder: Path) -> None:
        self.plant = conformance_plant()
        self.endpoint = f"opc.tcp://127.0.0.1:{free_port()}/conformance"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: Any = None

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    async def start(self) -> None:
        from smartfactory.connect.opcua.server import TwinServer

        self.server = TwinServer(self.plant, self.endpoint)
        await asyncio.to_thread(self._call, self.server.start())

    async def stop(self) -> None:
        await asyncio.to_thread(self._call, self.server.stop())

    async def restart(self) -> None:
        await self.start()

    def settings(self) -> dict[str, Any]:
        from smartfactory.connect.opcua.server import TwinServer

        node = TwinServer(self.plant, self.endpoint).node_id("M1A", "temp")
        return {
            "endpoint": self.endpoint,
            "sampling_ms": 50,
            "watchdog_s": 0.5,
            "nodes": [{"node": node, "equipment": "M1A", "signal": "temp"}],
        }

    async def send(self, value: float, at: datetime) -> None:
        await asyncio.to_thread(self._call, self.server.write("M1A", "temp", value, at))

    async def send_bad(self) -> None:
        from asyncua import ua

        node = ua.NodeId.from_string(self.server.node_id("M1A", "temp"))
        status = ua.StatusCode(ua.UInt32(ua.StatusCodes.BadSensorFailure))
        bad = ua.DataValue(ua.Variant(0.0), status, SourceTimestamp=datetime.now(UTC))  # type: ignore[arg-type]  # annotated DateTime, takes a datetime
        await asyncio.to_thread(self._call, self.server.server.write_attribute_value(node, bad))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class ModbusHarness:
    kind = "modbus"
    source_timestamps = False  # Modbus carries no time: the poll time is the timestamp

    def __init__(self, folder: Path) -> None:
        self.device = Device(free_port())

    async def start(self) -> None:
        await self.device.start()

    async def stop(self) -> None:
        await self.device.stop()

    async def restart(self) -> None:
        await self.start()

    def settings(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.device.port,
            "poll_s": 0.05,
            "timeout_s": 1.0,
            "registers": [{"equipment": "M1A", "signal": "temp", "table": "holding", "address": 0,
                           "data_type": "float32"}],
        }  # fmt: skip

    async def send(self, value: float, at: datetime) -> None:
        await self.device.set_words("holding", 0, encode_words(value, "float32"))

    async def send_bad(self) -> None:
        await self.device.set_words("holding", 0, encode_words(math.nan, "float32"))


HARNESSES: dict[str, Callable[[Path], Harness]] = {
    "mqtt": MqttHarness,
    "opcua": OpcUaHarness,
    "modbus": ModbusHarness,
}


class Run:
    """A harness's server, the kind's source and a real writer into ``folder``."""

    def __init__(self, harness: Harness, folder: Path) -> None:
        self.harness = harness
        self.folder = folder
        self.writer = IngestWriter(folder, max_delay_s=0.05, retry_s=0.1)
        cls = source_class(harness.kind)
        self.source: LiveSource = cls(
            "conformance",
            cls.config_schema.model_validate(harness.settings()),
            conformance_plant(),
            self.writer,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.source.setup()
        await self.writer.start()
        self.task = asyncio.create_task(self.source.run())
        await until(lambda: self.source.status.connected, "connected")

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.writer.stop()
        await self.source.close()

    def values(self) -> list[tuple[datetime, float]]:
        with TelemetryStore.open(self.folder, "read") as store:
            rows = store.query(
                "SELECT ts, value FROM measurements WHERE equipment = 'M1A' AND signal = 'temp' ORDER BY ts"
            ).to_pylist()
        return [(r["ts"], r["value"]) for r in rows]

    def quarantined(self) -> list[str]:
        with TelemetryStore.open(self.folder, "read") as store:
            return [e.reason for e in Quarantine(store.connection, create=False).list()]


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(kind: str, folder: Path, **options: Any) -> AsyncIterator[Run]:
    harness = HARNESSES[kind](folder / "server")
    await harness.start()
    run = Run(harness, folder / "store", **options)
    try:
        await run.start()
        yield run
    finally:
        with contextlib.suppress(Exception):
            await run.stop()
        with contextlib.suppress(Exception):
            await harness.stop()
        close = getattr(harness, "close", None)
        if close is not None:
            close()


def stored(run: Run) -> Callable[[], bool]:
    start = run.writer.stats.stored
    return lambda: run.writer.stats.stored > start


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=(datetime.now(UTC).microsecond // 1000) * 1000)


@pytest.mark.parametrize("kind", KINDS)
def test_values_arrive_with_their_source_timestamps(kind: str, tmp_path: Path) -> None:
    sent: list[tuple[datetime, float]] = []

    async def main() -> Run:
        async with running(kind, tmp_path) as run:
            for k, value in enumerate((21.5, 22.5, 23.5)):
                at = now() - timedelta(seconds=60 - k * 10)
                before = datetime.now(UTC)
                await run.harness.send(value, at)
                await until(functools.partial(_stored, run, value), f"{value} stored")
                sent.append((at if run.harness.source_timestamps else before, value))
            return run

    run = asyncio.run(main())
    values = run.values()
    for at, value in sent:
        times = [ts for ts, v in values if v == value]
        assert times, f"{value} not stored: {values}"
        moment = at.replace(tzinfo=None)
        if run.harness.source_timestamps:
            assert moment in times  # the source's own time, not the receive time
        else:
            assert min(times) >= moment - timedelta(seconds=0.2)


def _stored(run: Run, value: float) -> bool:
    """The source has polled and ``value`` is committed."""
    return run.source.status.points > 0 and _has(run, value)


def _has(run: Run, value: float) -> bool:
    # the writer's own connection sees what it committed; nothing else may open the file now
    store = run.writer._store
    if store is None:
        return False
    assert isinstance(store, TelemetryStore)  # the conformance runs write to a folder
    cursor = store.connection.cursor()  # its own connection: a commit may be running in a thread
    try:
        rows = cursor.execute(
            "SELECT count(*) FROM measurements WHERE equipment = 'M1A' AND value = $v", {"v": value}
        ).fetchall()
    finally:
        cursor.close()
    return bool(rows and rows[0][0])


@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_payload_is_quarantined_and_the_source_goes_on(kind: str, tmp_path: Path) -> None:
    async def main() -> Run:
        async with running(kind, tmp_path) as run:
            await run.harness.send_bad()
            await until(lambda: run.writer.stats.quarantined > 0, "the bad payload quarantined")
            await run.harness.send(31.5, now() - timedelta(seconds=5))
            await until(lambda: _has(run, 31.5), "the next good value stored")
            assert run.source.status.connected
            return run

    run = asyncio.run(main())
    reasons = run.quarantined()
    assert reasons and all(":" in r for r in reasons), reasons


@pytest.mark.parametrize("kind", KINDS)
def test_it_reconnects_after_the_server_restarts(kind: str, tmp_path: Path) -> None:
    async def main() -> Run:
        async with running(kind, tmp_path) as run:
            await run.harness.send(41.5, now() - timedelta(seconds=20))
            await until(lambda: _has(run, 41.5), "the first value stored")
            await run.harness.stop()
            await until(lambda: not run.source.status.connected, "the loss noticed", 30)
            await asyncio.sleep(0.5)
            await run.harness.restart()
            await until(lambda: run.source.status.connected, "reconnected by itself", 30)
            await run.harness.send(42.5, now() - timedelta(seconds=1))
            await until(lambda: _has(run, 42.5), "a value after the restart stored", 30)
            assert run.source.status.reconnects >= 1
            return run

    run = asyncio.run(main())
    assert {41.5, 42.5} <= {v for _, v in run.values()}


HOLD = textwrap.dedent(
    """
    import sys
    from smartfactory.store.telemetry import TelemetryStore
    store = TelemetryStore.open(sys.argv[1], "write")
    print("locked", flush=True)
    sys.stdin.readline()
    store.close()
    """
)


@pytest.mark.parametrize("kind", KINDS)
def test_points_are_spooled_while_the_store_is_locked_then_replayed(kind: str, tmp_path: Path) -> None:
    store_folder = tmp_path / "store"
    TelemetryStore.open(store_folder, "write").close()

    async def main() -> Run:
        # another process holds the store when the writer starts: it cannot open it, so it spools
        holder = await asyncio.to_thread(_lock, store_folder)
        async with running(kind, tmp_path) as run:
            try:
                assert not run.writer.stats.store_available
                await run.harness.send(51.5, now() - timedelta(seconds=3))
                await until(lambda: run.writer.stats.spooled_points > 0, "points spooled")
            finally:
                assert holder.stdin is not None
                holder.stdin.write("\n")
                holder.stdin.flush()
                await asyncio.to_thread(holder.wait, 10)
            await until(
                lambda: run.writer.stats.spool_pending == 0 and run.writer.stats.stored > 0, "replayed"
            )
            return run

    run = asyncio.run(main())
    assert 51.5 in {v for _, v in run.values()}
    assert not list((store_folder / "spool").glob("seg-*"))


def _lock(folder: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_every_kind_has_a_harness() -> None:
    from smartfactory.connect.sources import KINDS as DECLARED

    assert set(DECLARED) == set(HARNESSES) == set(KINDS)
    assert all(EventType.measurements for _ in KINDS)
