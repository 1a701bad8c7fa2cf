"""The MQTT source end to end: MqttPublisher → Mosquitto → MqttSource → IngestWriter → the store."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from mqtt_broker import PrivateBroker
from plants import mqtt_plant
from smartfactory.connect.mqtt import MqttConfig, MqttPublisher, MqttSource
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant import Plant
from smartfactory.simulate.run import simulate
from smartfactory.simulate.sinks import MemorySink
from smartfactory.store.quarantine import Quarantine
from smartfactory.store.telemetry import TelemetryStore

CENTURY_S = 100 * 365 * 86400.0  # the twin's fixed 2026 dates must never count as too old


@pytest.fixture(scope="module", name="plant")
def fixture_plant() -> Plant:
    return mqtt_plant()


@pytest.fixture(scope="module", name="twin")
def fixture_twin(plant: Plant) -> MemorySink:
    """Half a day of the twin: states, counts and measurements of two machines."""
    sink = MemorySink()
    simulate(plant, sink, start=datetime(2026, 3, 2), days=0.5, seed=3)
    return sink


def config(url: str, **fields: Any) -> MqttConfig:
    prefix = f"t{secrets.token_hex(4)}"
    base: dict[str, Any] = {
        "url": url,
        "topic": f"{prefix}/{{enterprise}}/{{site}}/{{area}}/{{line}}/{{equipment}}/{{signal}}",
        "client_id": f"sf-test-{prefix}",
        "session_expiry_s": 120,
        "max_age_s": CENTURY_S,
    }
    return MqttConfig.model_validate(base | fields)


class Ingester:
    """A source and a writer running on the test's event loop until the block ends."""

    def __init__(self, plant: Plant, config: MqttConfig, folder: Path) -> None:
        self.writer = IngestWriter(folder, max_delay_s=0.05)
        self.source = MqttSource("mqtt", config, plant, self.writer)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Ingester:
        await self.source.setup()
        await self.writer.start()
        self.task = asyncio.create_task(self.source.run())
        await self.until(lambda: self.source.status.connected, 10)
        return self

    async def until(self, done: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if self.task is not None and self.task.done():
                self.task.result()
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; status {self.source.status}, writer {self.writer.stats}")
            await asyncio.sleep(0.02)

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.writer.stop()
        await self.source.close()


def stored(folder: Path, event_type: EventType) -> list[dict[str, Any]]:
    with TelemetryStore.open(folder, "read") as store:
        return sorted(store.table(event_type).to_pylist(), key=_key)


def quarantined(folder: Path) -> list[tuple[str, str, bytes]]:
    with TelemetryStore.open(folder, "read") as store:
        return [(q.source, q.reason, q.raw) for q in Quarantine(store.connection, create=False).list()]


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(v) for v in row.values())


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=_key)


def publish(
    publisher: MqttPublisher, twin: MemorySink, types: tuple[EventType, ...] = tuple(EventType)
) -> int:
    points = sum(publisher.write(t, twin.table(t)) for t in types)
    publisher.close()
    return points


def test_json_events_arrive_in_the_store_as_published(
    plant: Plant, twin: MemorySink, mqtt_url: str, tmp_path: Path
) -> None:
    cfg = config(mqtt_url)
    alarms = pa.table(
        {
            "ts": pa.array(
                [datetime(2026, 3, 2, 9, 0, 0, 123456), datetime(2026, 3, 2, 9, 5)], pa.timestamp("us")
            ),
            "equipment": ["M1A", "M2A"],
            "code": ["A1", "A2"],
            "severity": ["major", "warning"],
            "action": ["raised", "cleared"],
            "message": ["spindle hot", None],
        },
        schema=SCHEMAS[EventType.alarms],
    )
    twin_points = sum(twin.table(t).num_rows for t in EventType)

    async def main() -> None:
        async with Ingester(plant, cfg, tmp_path) as ingester:
            publisher = MqttPublisher(plant, mqtt_url, topic=cfg.topic, batch_points=7)
            sent = await asyncio.to_thread(
                lambda: publisher.write(EventType.alarms, alarms) + publish(publisher, twin)
            )
            assert sent == twin_points + 2
            await ingester.until(lambda: ingester.writer.stats.points >= sent, 20)
            await ingester.writer.flush()
            assert ingester.source.status.rejected == 0
            assert ingester.source.status.points == sent
            assert ingester.source.status.messages == publisher.messages

    asyncio.run(main())
    for event_type in (EventType.measurements, EventType.counts, EventType.states):
        assert stored(tmp_path, event_type) == rows(twin.table(event_type)), event_type
    assert stored(tmp_path, EventType.alarms) == rows(alarms)
    assert quarantined(tmp_path) == []


def test_sparkplug_events_arrive_with_millisecond_times_and_a_late_ingester_gets_a_rebirth(
    plant: Plant, twin: MemorySink, mqtt_url: str, tmp_path: Path
) -> None:
    group = f"g{secrets.token_hex(4)}"
    cfg = config(mqtt_url, format="sparkplug", group_id=group)
    counts = twin.table(EventType.counts)
    measurements = twin.table(EventType.measurements)
    states = twin.table(EventType.states)

    async def main() -> None:
        # the publisher is born before the ingester subscribes: its first data asks for a rebirth
        publisher = await asyncio.to_thread(
            MqttPublisher, plant, mqtt_url, sparkplug=True, group_id=group, batch_points=5
        )
        async with Ingester(plant, cfg, tmp_path) as ingester:
            early = measurements.slice(0, 10)
            await asyncio.to_thread(publisher.write, EventType.measurements, early)
            await ingester.until(lambda: ingester.source.status.rejected >= 1, 10)
            await asyncio.sleep(0.5)  # the rebirth request reaches the publisher, which births again
            rest = [
                (EventType.states, states),
                (EventType.counts, counts),
                (EventType.measurements, measurements),
            ]

            def publish_rest() -> None:
                for t, table in rest:
                    publisher.write(t, table)
                publisher.close()

            await asyncio.to_thread(publish_rest)
            expected = states.num_rows + counts.num_rows + measurements.num_rows
            await ingester.until(lambda: ingester.writer.stats.points >= expected, 20)

    asyncio.run(main())
    reasons = {reason.split(":")[0] for _, reason, _ in quarantined(tmp_path)}
    assert reasons == {"no birth"}

    def ms(row: dict[str, Any], *fields: str) -> dict[str, Any]:
        return {**row, **{f: row[f].replace(microsecond=row[f].microsecond // 1000 * 1000) for f in fields}}

    assert stored(tmp_path, EventType.measurements) == sorted(
        (ms(r, "ts") for r in measurements.to_pylist()), key=_key
    )
    assert stored(tmp_path, EventType.counts) == sorted((ms(r, "ts") for r in counts.to_pylist()), key=_key)
    # state changes become intervals; the last state of each machine stays open
    expected_states = [ms(r, "start", "end") for r in states.to_pylist()]
    last = {r["equipment"]: r for r in expected_states}
    closed = [r for r in expected_states if r is not last[r["equipment"]]]
    assert stored(tmp_path, EventType.states) == sorted(closed, key=_key)


def test_messages_published_while_the_ingester_is_away_arrive_when_it_returns(
    plant: Plant, twin: MemorySink, mqtt_url: str, tmp_path: Path
) -> None:
    cfg = config(mqtt_url)
    measurements = twin.table(EventType.measurements)

    async def main() -> None:
        async with Ingester(plant, cfg, tmp_path):
            pass  # the session and its subscription now exist at the broker
        publisher = MqttPublisher(plant, mqtt_url, topic=cfg.topic, batch_points=5)
        await asyncio.to_thread(publish, publisher, twin, (EventType.measurements,))
        async with Ingester(plant, cfg, tmp_path) as ingester:
            await ingester.until(lambda: ingester.writer.stats.points >= measurements.num_rows, 20)

    asyncio.run(main())
    assert stored(tmp_path, EventType.measurements) == rows(measurements)


def test_a_broker_restart_mid_stream_stores_every_point_exactly_once(
    plant: Plant, private_broker: PrivateBroker, tmp_path: Path
) -> None:
    cfg = config(private_broker.url)
    n = 10_000
    start_us = 1_772_409_600_000_000  # 2026-03-02T00:00:00Z
    stream = pa.table(
        {
            "ts": pa.array([start_us + i * 1000 for i in range(n)], pa.int64()).cast(pa.timestamp("us")),
            "equipment": ["M1A" if i % 2 else "M2A" for i in range(n)],
            "signal": ["temp"] * n,
            "value": [float(i) for i in range(n)],
        },
        schema=SCHEMAS[EventType.measurements],
    )

    async def main() -> None:
        async with Ingester(plant, cfg, tmp_path) as ingester:
            publisher = MqttPublisher(plant, private_broker.url, topic=cfg.topic, batch_points=1)
            failures: list[BaseException] = []

            def send() -> None:
                try:
                    for part in stream.to_batches(max_chunksize=500):
                        publisher.write(EventType.measurements, part)
                    publisher.close()
                except BaseException as exc:  # reported on the test's thread
                    failures.append(exc)

            thread = threading.Thread(target=send)
            thread.start()
            await ingester.until(lambda: ingester.writer.stats.points >= n // 4, 20)
            await asyncio.to_thread(private_broker.stop)
            assert private_broker.saved()  # what it queued for the ingester survives the restart
            await asyncio.sleep(0.3)
            await asyncio.to_thread(private_broker.start)
            await asyncio.to_thread(thread.join, 60)
            assert not failures, failures
            await ingester.until(lambda: _stored_count(ingester) >= n, 30)
            assert ingester.source.status.reconnects >= 1

    asyncio.run(main())
    with TelemetryStore.open(tmp_path, "read") as store:
        total, distinct = (
            store.query(
                "SELECT count(*) AS total, count(DISTINCT (equipment, signal, ts)) AS d FROM measurements"
            )
            .to_pylist()[0]
            .values()
        )
    assert (total, distinct) == (n, n)


def _stored_count(ingester: Ingester) -> int:
    return ingester.writer.stats.stored


def test_malformed_payloads_are_quarantined_and_valid_ones_stored(
    plant: Plant, twin: MemorySink, mqtt_url: str, tmp_path: Path
) -> None:
    cfg = config(mqtt_url)
    prefix = cfg.topic.split("/")[0]
    base = f"{prefix}/ent/site/area/L"
    bad = [
        (f"{base}/M1A/temp", b"{oops", "bad json"),
        (f"{base}/M1A/temp", b'{"ts": "2026-03-02T08:00:00", "value": 1}', "bad time"),
        (f"{base}/M1A/temp", b'{"ts": "2026-03-02T08:00:00Z", "value": "hot"}', "bad value"),
        (f"{base}/M9/temp", b"1", "unknown equipment"),
        (f"{base}/M1A/speed", b"1", "unknown signal"),
        (f"{base}/M1A/state", b'{"ts": "2026-03-02T08:00:00Z", "state": "asleep"}', "bad state"),
        (f"{prefix}/ent/site/area/L9/M1A/temp", b"1", "bad topic"),
    ]
    measurements = twin.table(EventType.measurements)

    async def main() -> None:
        async with Ingester(plant, cfg, tmp_path) as ingester:
            publisher = MqttPublisher(plant, mqtt_url, topic=cfg.topic)

            def send() -> None:
                for part in measurements.to_batches(max_chunksize=50):
                    publisher.write(EventType.measurements, part)
                    for topic, payload, _ in bad:
                        publisher.publish_raw(topic, payload)
                publisher.close()

            await asyncio.to_thread(send)
            await ingester.until(lambda: ingester.source.status.messages >= publisher.messages, 20)
            await ingester.writer.flush()
            assert ingester.source.status.connected

    asyncio.run(main())
    assert stored(tmp_path, EventType.measurements) == rows(measurements)
    found = quarantined(tmp_path)
    # identical payloads on one topic are kept once in the quarantine
    assert sorted((source, reason.split(":")[0], raw) for source, reason, raw in found) == sorted(
        (topic, kind, raw) for topic, raw, kind in bad
    )
