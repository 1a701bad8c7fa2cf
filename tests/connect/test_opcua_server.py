"""The twin as a real OPC UA server: its address space, the sink the simulator drives, browsing it
for a mapping, and one Basic256Sha256 connection. Checked with a plain asyncua client and with the
OPC UA source over loopback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from asyncua import Client, ua

from opcua_servers import PLANT as PLANT_TEXT
from opcua_servers import ThreadedTwin, opcua_plant, threaded_twin
from smartfactory.connect.opcua import OpcUaConfig, OpcUaSource, browse_mapping
from smartfactory.connect.opcua.security import application_uri, make_self_signed
from smartfactory.connect.opcua.server import namespace_uri
from smartfactory.connect.sources import source_settings_problems
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant_file import parse_plant
from smartfactory.simulate import MemorySink, simulate
from smartfactory.store.telemetry import TelemetryStore

PLANT = opcua_plant()


@pytest.fixture(name="twin", scope="module")
def fixture_twin() -> Iterator[ThreadedTwin]:
    with threaded_twin(PLANT) as twin:
        yield twin


def value_of(data: ua.DataValue) -> Any:
    """The value a DataValue holds."""
    assert data.Value is not None
    return data.Value.Value


def status_of(data: ua.DataValue) -> ua.StatusCode:
    """The status code of a DataValue."""
    assert data.StatusCode is not None
    return data.StatusCode


def stamp_of(data: ua.DataValue) -> datetime:
    """The source timestamp of a DataValue, naive UTC."""
    assert data.SourceTimestamp is not None
    return data.SourceTimestamp.replace(tzinfo=None)


async def read_values(endpoint: str, node_ids: list[str]) -> list[ua.DataValue]:
    """DataValues of nodes, read by a plain asyncua client."""
    async with Client(endpoint) as client:
        return await client.uaclient.read_attributes(
            [ua.NodeId.from_string(n) for n in node_ids], ua.AttributeIds.Value
        )


def test_the_address_space_follows_the_isa95_hierarchy(twin: ThreadedTwin) -> None:
    server = twin.server
    assert server.browse_path("M1A", "temp") == "0:Objects/2:ent/2:site/2:area/2:L/2:C1/2:M1A/2:temp"
    assert server.node_id("M1A", "temp") == "ns=2;s=M1A.temp"
    assert server.variables() == [
        *[
            ("M1A", s)
            for s in (
                "temp",
                "spindle_speed",
                "door_open",
                "state",
                "good_count",
                "scrap_count",
                "rework_count",
            )
        ],
        *[("M2A", s) for s in ("temp", "state", "good_count", "scrap_count", "rework_count")],
    ]

    async def main() -> tuple[int, list[ua.NodeId], list[ua.VariantType], list[ua.DataValue]]:
        async with Client(twin.endpoint) as client:
            ns = await client.get_namespace_index(namespace_uri(PLANT))
            paths = [server.browse_path("M2A", s) for s in ("temp", "state", "good_count")]
            resolved = [await client.nodes.root.get_child(p.split("/")) for p in paths]
            types = [await node.read_data_type_as_variant_type() for node in resolved]
            values = [await node.read_data_value(raise_on_bad_status=False) for node in resolved]
            return ns, [n.nodeid for n in resolved], types, values

    ns, node_ids, types, values = asyncio.run(main())
    assert ns == server.ns == 2
    assert [n.to_string() for n in node_ids] == [
        "ns=2;s=M2A.temp",
        "ns=2;s=M2A.state",
        "ns=2;s=M2A.good_count",
    ]
    assert types == [ua.VariantType.Double, ua.VariantType.String, ua.VariantType.UInt64]
    # nothing written yet: the signals wait for their first value, the counters start at 0
    assert status_of(values[0]).name == "BadWaitingForInitialData"
    assert status_of(values[1]).name == "BadWaitingForInitialData"
    assert status_of(values[2]).is_good() and value_of(values[2]) == 0


def table(event_type: EventType, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[event_type])


def test_the_sink_writes_twin_tables_from_another_thread(twin: ThreadedTwin) -> None:
    sink = twin.server.sink(twin.loop)
    t0 = datetime(2026, 3, 2, 8, 0, 0)
    states = table(
        EventType.states,
        [
            {"equipment": "M1A", "start": t0, "end": t0 + timedelta(minutes=5), "state": "running"},
            {
                "equipment": "M1A",
                "start": t0 + timedelta(minutes=5),
                "end": t0 + timedelta(minutes=7),
                "state": "idle",
            },
            {"equipment": "nowhere", "start": t0, "end": t0 + timedelta(minutes=1), "state": "idle"},
        ],
    )
    counts = table(
        EventType.counts,
        [
            {
                "ts": t0 + timedelta(seconds=30 * i),
                "equipment": "M1A",
                "good": int(i != 2),
                "scrap": int(i == 2),
                "rework": 0,
            }
            for i in range(4)
        ],
    )
    measurements = table(
        EventType.measurements,
        [
            {"ts": t0 + timedelta(minutes=2), "equipment": "M1A", "signal": "temp", "value": 41.0},
            {"ts": t0 + timedelta(minutes=1), "equipment": "M1A", "signal": "temp", "value": 39.0},
            {"ts": t0, "equipment": "M1A", "signal": "no_such_signal", "value": 1.0},
        ],
    )
    written: list[int] = []

    def simulator_thread() -> None:
        for event_type, rows in ((EventType.states, states), (EventType.counts, counts)):
            written.append(sink.write(event_type, rows))
        written.append(sink.write(EventType.measurements, measurements.to_batches()[0]))
        written.append(sink.write(EventType.alarms, SCHEMAS[EventType.alarms].empty_table()))

    thread = threading.Thread(target=simulator_thread)
    thread.start()
    thread.join(30)
    assert written == [2, 4, 2, 0]  # rows of unknown equipment or signals are skipped
    names = ["state", "good_count", "scrap_count", "temp"]
    values = asyncio.run(read_values(twin.endpoint, [twin.server.node_id("M1A", n) for n in names]))
    got = {n: (value_of(v), stamp_of(v)) for n, v in zip(names, values, strict=True)}
    assert got == {
        "state": ("idle", t0 + timedelta(minutes=5)),
        "good_count": (3, t0 + timedelta(seconds=90)),
        "scrap_count": (1, t0 + timedelta(seconds=60)),
        "temp": (41.0, t0 + timedelta(minutes=2)),  # the latest, though it came first
    }


def test_the_simulator_drives_the_server_through_the_sink(twin: ThreadedTwin) -> None:
    before = value_of(asyncio.run(read_values(twin.endpoint, [twin.server.node_id("M2A", "good_count")]))[0])
    memory = MemorySink()
    start = datetime(2026, 3, 2, 8, 0)

    class Both:
        """The twin's events to the server and to memory, to compare."""

        def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
            memory.write(event_type, batch)
            return sink.write(event_type, batch)

        def close(self) -> None:
            sink.close()

    sink = twin.server.sink(twin.loop)
    result = simulate(PLANT, Both(), start=start, days=0.25, seed=3)
    assert sink.written > 0 and result is not None
    counts = memory.table(EventType.counts).to_pylist()
    produced = sum(r["good"] for r in counts if r["equipment"] == "M2A")
    after = asyncio.run(read_values(twin.endpoint, [twin.server.node_id("M2A", "good_count")]))[0]
    assert produced > 0
    assert value_of(after) == before + produced


def test_browse_mapping_writes_a_source_table_that_parses_and_feeds_the_source(
    twin: ThreadedTwin, tmp_path: Path
) -> None:
    text = asyncio.run(browse_mapping(twin.endpoint, PLANT, source_id="twin"))
    # the plant file check validates the table with the source's own schema
    plant = parse_plant(PLANT_TEXT + "\n" + text, "browsed.toml", [source_settings_problems])
    [declared] = plant.sources
    assert (declared.id, declared.kind) == ("twin", "opcua")
    cfg = OpcUaConfig.model_validate(declared.settings())
    assert cfg.endpoint == twin.endpoint
    assert [(n.equipment, n.signal) for n in cfg.nodes] == twin.server.variables()
    assert all(n.browse_path == twin.server.browse_path(n.equipment, n.signal) for n in cfg.nodes)
    assert all(n.node is None for n in cfg.nodes)
    # round trip: the text of the config read back is the same config
    again = parse_plant(
        PLANT_TEXT + "\n" + asyncio.run(browse_mapping(twin.endpoint, plant, source_id="twin"))
    )
    assert OpcUaConfig.model_validate(again.sources[0].settings()) == cfg
    # and it works: a value written on the server reaches the store
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    cfg = cfg.model_copy(update={"sampling_ms": 50.0, "watchdog_s": 0.5})
    assert receive(tmp_path, cfg, plant, lambda: twin.write("M2A", "temp", 33.25, moment)) == [
        (moment.replace(tzinfo=None), "M2A", "temp", 33.25)
    ]


def test_browse_mapping_says_when_nothing_matches(twin: ThreadedTwin) -> None:
    text = asyncio.run(
        browse_mapping(twin.endpoint, PLANT, root="0:Objects/2:ent/2:site/2:area/2:L/2:C1/2:M1A/2:temp")
    )
    assert text.startswith("# nothing matched")
    assert "nodes = [\n]" in text


def receive(folder: Path, cfg: OpcUaConfig, plant: Any, write: Any) -> list[tuple[Any, ...]]:
    """Run the source until one measurement is stored after ``write()``; the measurements."""

    async def main() -> None:
        async with IngestWriter(folder, max_delay_s=0.05) as writer:
            source = OpcUaSource("twin", cfg, plant, writer)
            await source.setup()
            task = asyncio.create_task(source.run())
            deadline = time.monotonic() + 15
            while not source.status.connected:
                assert time.monotonic() < deadline, source.status.last_error
                await asyncio.sleep(0.02)
            await asyncio.to_thread(write)
            while not source.decoder or not source.status.points:
                assert time.monotonic() < deadline, source.status.last_error
                await asyncio.sleep(0.02)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await writer.flush()
            await source.close()

    asyncio.run(main())
    with TelemetryStore.open(folder, "read") as store:
        rows = store.table(EventType.measurements).to_pylist()
    return [(r["ts"], r["equipment"], r["signal"], r["value"]) for r in rows]


def test_a_basic256sha256_connection_with_self_signed_certificates(tmp_path: Path) -> None:
    server_files = make_self_signed(tmp_path / "server", "twin", "urn:smartfactory:test:twin")
    client_files = make_self_signed(tmp_path / "client", "ingest", "urn:smartfactory:test:ingest")
    assert application_uri(client_files.certificate) == "urn:smartfactory:test:ingest"
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=10)
    with threaded_twin(
        PLANT, certificate=server_files.certificate, private_key=server_files.private_key
    ) as twin:
        nodes = [{"node": twin.server.node_id("M1A", "temp"), "equipment": "M1A", "signal": "temp"}]
        secure = OpcUaConfig(
            endpoint=twin.endpoint,
            security="Basic256Sha256",
            mode="SignAndEncrypt",
            certificate=client_files.certificate,
            private_key=client_files.private_key,
            server_certificate=server_files.certificate,
            sampling_ms=50,
            watchdog_s=0.5,
            nodes=nodes,
        )
        assert receive(
            tmp_path / "store", secure, PLANT, lambda: twin.write("M1A", "temp", 42.0, moment)
        ) == [(moment.replace(tzinfo=None), "M1A", "temp", 42.0)]
        # the server offers no unsecured endpoint: a client without security is refused
        plain = OpcUaConfig(endpoint=twin.endpoint, timeout_s=1, nodes=nodes)

        async def refused() -> OpcUaSource:
            source = OpcUaSource("plain", plain, PLANT, IngestWriter(tmp_path / "plain"))
            await source.setup()
            task = asyncio.create_task(source.run())
            while source.status.last_error is None:
                await asyncio.sleep(0.02)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await source.close()
            return source

        source = asyncio.run(asyncio.wait_for(refused(), 15))
        assert not source.status.connected and source.status.points == 0
