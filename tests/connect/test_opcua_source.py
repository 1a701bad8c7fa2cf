"""The OPC UA source: decoding on a batch, config checks, and end to end against real asyncua servers.

End-to-end tests run the real source and the real IngestWriter against a TwinServer on loopback
(one per module, in a thread) and read what reached the DuckDB store; the restart test runs the
server in a child process that it freezes, kills and starts again on the same port.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from pydantic import ValidationError

from opcua_servers import ThreadedTwin, TwinProcess, opcua_plant, threaded_twin
from smartfactory.connect.live import EventBatch
from smartfactory.connect.opcua import OpcUaConfig, OpcUaSource
from smartfactory.connect.opcua.decode import Decoder, micros
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.errors import UserError
from smartfactory.model.events import EventType
from smartfactory.store.quarantine import Quarantine
from smartfactory.store.telemetry import TelemetryStore

PLANT = opcua_plant()
GOOD = 0
BAD_NODE = ua.StatusCodes.BadNodeIdUnknown
NOW = datetime.now(UTC).replace(microsecond=0)
NOW_US = micros(NOW)
S = 1_000_000


def config(**fields: Any) -> OpcUaConfig:
    """A config for the test plant; nodes by NodeId unless given."""
    fields.setdefault("endpoint", "opc.tcp://127.0.0.1:4840")
    fields.setdefault(
        "nodes",
        [
            {"node": "ns=2;s=M1A.temp", "equipment": "M1A", "signal": "temp"},
            {"node": "ns=2;s=M1A.spindle_speed", "equipment": "M1A", "signal": "spindle_speed"},
            {"node": "ns=2;s=M1A.door_open", "equipment": "M1A", "signal": "door_open"},
            {"node": "ns=2;s=M1A.state", "equipment": "M1A", "signal": "state"},
            {"node": "ns=2;s=M1A.good_count", "equipment": "M1A", "signal": "good_count"},
            {"node": "ns=2;s=M1A.scrap_count", "equipment": "M1A", "signal": "scrap_count"},
        ],
    )
    return OpcUaConfig.model_validate(fields)


class Decoding:
    """A decoder on the test plant with one target per signal name."""

    def __init__(self, **fields: Any) -> None:
        self.decoder = Decoder("opcua:test", config(**fields), PLANT)
        self.batch = EventBatch()
        self.by_signal = {t.entry.signal: t for t in self.decoder.targets}

    def value(
        self,
        signal: str,
        value: object,
        status: int = GOOD,
        source: datetime | None = NOW,
        server: datetime | None = None,
        now_us: int = NOW_US,
    ) -> int:
        return self.decoder.value(self.batch, self.by_signal[signal], value, status, source, server, now_us)

    def reasons(self) -> list[str]:
        return [r.reason for r in self.batch.rejected]


# --- decoding, on a batch --------------------------------------------------------------------


def test_values_become_measurements_stamped_with_the_source_time() -> None:
    d = Decoding()
    assert d.value("temp", 21.5) == 1
    assert d.value("spindle_speed", 8000) == 1
    assert d.value("door_open", True) == 1
    assert d.batch.m_signal == ["temp", "spindle_speed", "door_open"]
    assert d.batch.m_value == [21.5, 8000.0, 1.0]
    assert d.batch.m_ts == [NOW_US] * 3


def test_the_time_falls_back_to_the_server_time_then_to_the_receive_time() -> None:
    d = Decoding()
    d.value("temp", 1.0, source=None, server=NOW - timedelta(seconds=5))
    d.value("temp", 2.0, source=None, server=None)
    assert d.batch.m_ts == [NOW_US - 5 * S, NOW_US]


@pytest.mark.parametrize(
    ("signal", "value", "status", "source", "reason"),
    [
        ("temp", 1.0, BAD_NODE, NOW, "bad status: BadNodeIdUnknown"),
        (
            "temp",
            1.0,
            ua.StatusCodes.UncertainLastUsableValue,
            NOW,
            "uncertain status: UncertainLastUsableValue",
        ),
        ("temp", "hot", GOOD, NOW, "wrong type: str 'hot' where temp is a number"),
        ("temp", True, GOOD, NOW, "wrong type: bool True where temp is a number"),
        ("temp", math.nan, GOOD, NOW, "nan: temp is nan"),
        ("temp", math.inf, GOOD, NOW, "nan: temp is inf"),
        ("temp", 900.0, GOOD, NOW, "out of range: temp = 900 is outside its measuring range [-50, 500]"),
        ("spindle_speed", 8000.5, GOOD, NOW, "wrong type: 8000.5 where spindle_speed is an integer"),
        ("door_open", 2, GOOD, NOW, "wrong type: 2 where door_open is a bool (0 or 1)"),
        ("temp", 1.0, GOOD, NOW + timedelta(hours=2), "future timestamp"),
        ("temp", 1.0, GOOD, NOW - timedelta(days=31), "old timestamp"),
        ("state", "dancing", GOOD, NOW, "unknown state: 'dancing'"),
        ("state", 7, GOOD, NOW, "unknown state code: 7 is not in state_codes (known: 1=running)"),
        ("state", 1.5, GOOD, NOW, "wrong type: float 1.5 where state is a name or a code"),
        ("good_count", 2.5, GOOD, NOW, "wrong type: float 2.5 where good_count is an integer counter"),
        ("good_count", -1, GOOD, NOW, "out of range: good_count = -1 is negative"),
    ],
)
def test_what_cannot_be_stored_is_rejected_with_its_reason_and_raw_value(
    signal: str, value: object, status: int, source: datetime, reason: str
) -> None:
    d = Decoding(state_codes={1: "running"})
    assert d.value(signal, value, status, source) == 0
    assert d.batch.points == 0
    [rejected] = d.batch.rejected
    assert rejected.source == "opcua:test"
    assert rejected.reason.startswith(reason)
    raw = json.loads(rejected.raw)
    assert raw["node"] == f"ns=2;s=M1A.{signal}"
    assert raw["signal"] == signal
    assert raw["status"] == ua.StatusCode(ua.UInt32(status)).name
    assert raw["time"] == datetime.fromtimestamp(micros(source) / 1e6, UTC).isoformat()


def test_a_node_the_server_has_no_value_for_yet_is_neither_stored_nor_rejected() -> None:
    d = Decoding()
    assert d.value("temp", None, ua.StatusCodes.BadWaitingForInitialData) == 0
    assert d.batch.points == 0 and not d.batch.rejected


def test_states_by_name_and_by_code() -> None:
    d = Decoding(state_codes={1: "running", 2: "idle", 6: "unplanned_down"})
    d.value("state", "running", source=NOW)
    d.value("state", 6, source=NOW + timedelta(seconds=1))
    d.value("state", "2", source=NOW + timedelta(seconds=2))
    assert [(c[1], c[2]) for c in d.batch.changes] == [
        (NOW_US, "running"),
        (NOW_US + S, "unplanned_down"),
        (NOW_US + 2 * S, "idle"),
    ]


def test_counters_become_count_increments_and_a_reset_is_a_restart_from_zero() -> None:
    d = Decoding()
    readings = [(100, 0), (103, 1), (103, 2), (2, 3), (5, 4)]  # 103 → 2: the PLC reset its counter
    for value, second in readings:
        d.value("good_count", value, source=NOW + timedelta(seconds=second))
        d.decoder.flush_counts(d.batch)
    assert [(c[0], c[4]) for c in d.batch.counts] == [
        (NOW_US + S, 3),
        (NOW_US + 3 * S, 2),
        (NOW_US + 4 * S, 3),
    ]


def test_good_and_scrap_counters_at_the_same_time_make_one_row_and_rows_never_share_a_key() -> None:
    d = Decoding()
    d.value("good_count", 10)
    d.value("scrap_count", 1)
    d.decoder.flush_counts(d.batch)  # baselines: nothing counted yet
    d.value("good_count", 12)
    d.value("scrap_count", 2)
    d.decoder.flush_counts(d.batch)
    d.value("good_count", 13)  # same source time again, in a later publish
    d.decoder.flush_counts(d.batch)
    assert [(c[0], c[1], c[4], c[5]) for c in d.batch.counts] == [
        (NOW_US, "M1A", 2, 1),
        (NOW_US + 1, "M1A", 1, 0),
    ]


def test_a_lost_connection_puts_monitored_states_in_no_data_and_the_next_state_is_not_older() -> None:
    d = Decoding()
    d.value("state", "running", source=NOW)
    d.decoder.lost(d.batch, NOW_US + 10 * S)
    d.decoder.state_floor_us = NOW_US + 20 * S  # reconnected here
    d.value("state", "running", source=NOW)  # the initial value after resubscribing, still dated NOW
    assert [(c[0], c[1], c[2]) for c in d.batch.changes] == [
        ("M1A", NOW_US, "running"),
        ("M1A", NOW_US + 10 * S, "no_data"),
        ("M1A", NOW_US + 20 * S, "running"),
    ]


# --- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"nodes": [{"equipment": "M1A", "signal": "temp"}]}, "give exactly one of node"),
        (
            {
                "nodes": [
                    {"node": "ns=2;s=a", "browse_path": "0:Objects", "equipment": "M1A", "signal": "temp"}
                ]
            },
            "give exactly one of node",
        ),
        ({"nodes": [{"node": "ns=x;s", "equipment": "M1A", "signal": "temp"}]}, "is not a NodeId"),
        ({"nodes": [{"browse_path": "Objects/2:M1A", "equipment": "M1A", "signal": "temp"}]}, "['Objects']"),
        ({"endpoint": "http://x:1"}, "is not an OPC UA endpoint"),
        ({"security": "Basic256Sha256"}, "needs certificate and private_key"),
        ({"certificate": "c.der"}, "need security = 'Basic256Sha256'"),
        ({"state_codes": {1: "dancing"}}, "state_codes.1"),
        (
            {
                "nodes": [
                    {"node": "ns=2;s=a", "equipment": "M1A", "signal": "temp"},
                    {"node": "ns=2;s=b", "equipment": "M1A", "signal": "temp"},
                ]
            },
            "nodes[1] feeds M1A.temp again",
        ),
    ],
)
def test_config_mistakes_are_named(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config(**fields)
    assert message in str(caught.value)


def test_setup_names_nodes_whose_equipment_or_signal_the_plant_lacks(tmp_path: Path) -> None:
    bad = config(
        nodes=[
            {"node": "ns=2;s=a", "equipment": "M9", "signal": "temp"},
            {"node": "ns=2;s=b", "equipment": "M2A", "signal": "spindle_speed"},
            {"node": "ns=2;s=c", "equipment": "M2A", "signal": "state"},
        ]
    )
    source = OpcUaSource("plc", bad, PLANT, IngestWriter(tmp_path))
    with pytest.raises(UserError) as caught:
        asyncio.run(source.setup())
    text = str(caught.value)
    assert "nodes[0].equipment" in text and "unknown equipment 'M9'" in text
    assert "nodes[1].signal" in text and "equipment 'M2A' has no signal 'spindle_speed'" in text
    assert "nodes[2]" not in text


# --- end to end, against a real server -------------------------------------------------------


@pytest.fixture(name="twin", scope="module")
def fixture_twin() -> Iterator[ThreadedTwin]:
    with threaded_twin() as twin:
        yield twin


async def until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


class Running:
    """A source and a writer running against a server, inside one asyncio.run."""

    def __init__(self, folder: Path, cfg: OpcUaConfig) -> None:
        self.writer = IngestWriter(folder, max_delay_s=0.05)
        self.source = OpcUaSource("plc", cfg, PLANT, self.writer)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        await self.writer.start()
        await self.source.setup()
        self.task = asyncio.create_task(self.source.run())
        await until(lambda: self.source.status.connected, what="the first connection")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task
        await self.writer.stop()
        await self.source.close()


def read(folder: Path, event_type: EventType) -> list[dict[str, Any]]:
    with TelemetryStore.open(folder, "read") as store:
        rows: list[dict[str, Any]] = store.table(event_type).to_pylist()
        return rows


def quarantined(folder: Path) -> list[tuple[str, str, dict[str, Any]]]:
    with TelemetryStore.open(folder, "read") as store:
        return [
            (e.source, e.reason, json.loads(e.raw_text()))
            for e in Quarantine(store.connection, create=False).list()
        ]


def at(moment: datetime) -> datetime:
    """The store's naive UTC form of an aware datetime."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_values_arrive_by_node_id_and_browse_path_with_their_source_times(
    twin: ThreadedTwin, tmp_path: Path
) -> None:
    server = twin.server
    cfg = config(
        endpoint=twin.endpoint,
        sampling_ms=50,
        watchdog_s=0.5,
        state_codes={1: "running", 2: "idle"},
        nodes=[
            {"node": server.node_id("M2A", "temp"), "equipment": "M2A", "signal": "temp"},
            {"browse_path": server.browse_path("M2A", "state"), "equipment": "M2A", "signal": "state"},
            {
                "browse_path": server.browse_path("M2A", "good_count"),
                "equipment": "M2A",
                "signal": "good_count",
            },
            {
                "browse_path": server.browse_path("M2A", "scrap_count"),
                "equipment": "M2A",
                "signal": "scrap_count",
            },
        ],
    )
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    twin.write("M2A", "good_count", 40, t0)

    async def main() -> OpcUaSource:
        async with Running(tmp_path, cfg) as run:
            status = run.source.status
            assert run.source.decoder is not None
            counters = run.source.decoder.counters
            await until(lambda: counters.get(("M2A", "good_count")) == 40, what="the initial values")
            twin.write("M2A", "temp", 21.5, t0 + timedelta(seconds=1))
            twin.write("M2A", "state", "running", t0 + timedelta(seconds=2))
            twin.write("M2A", "good_count", 41, t0 + timedelta(seconds=3))
            await until(lambda: status.points >= 3, what="three values")
            twin.write("M2A", "state", "idle", t0 + timedelta(seconds=4))
            twin.write("M2A", "good_count", 44, t0 + timedelta(seconds=5))
            twin.write("M2A", "scrap_count", 1, t0 + timedelta(seconds=5))
            await until(lambda: counters.get(("M2A", "scrap_count")) == 1, what="the scrap counter")
            twin.write("M2A", "good_count", 2, t0 + timedelta(seconds=6))  # the PLC reset its counter
            await until(lambda: counters.get(("M2A", "good_count")) == 2, what="the count after the reset")
            return run.source

    source = asyncio.run(main())
    assert source.status.rejected == 0 and source.status.reconnects == 0
    assert [(r["ts"], r["value"]) for r in read(tmp_path, EventType.measurements)] == [
        (at(t0 + timedelta(seconds=1)), 21.5)
    ]
    # good and scrap of the same second are one row, or two a microsecond apart when they came in
    # separate publish responses; either way nothing is lost
    per_second: dict[datetime, tuple[int, int]] = {}
    for row in read(tmp_path, EventType.counts):
        second = row["ts"].replace(microsecond=0)
        good, scrap = per_second.get(second, (0, 0))
        per_second[second] = (good + row["good"], scrap + row["scrap"])
    assert per_second == {
        at(t0 + timedelta(seconds=3)): (1, 0),
        at(t0 + timedelta(seconds=5)): (3, 1),
        at(t0 + timedelta(seconds=6)): (2, 0),
    }
    states = read(tmp_path, EventType.states)
    assert [(r["start"], r["end"], r["state"]) for r in states] == [
        (at(t0 + timedelta(seconds=2)), at(t0 + timedelta(seconds=4)), "running")
    ]


def test_bad_values_and_unknown_nodes_are_quarantined_and_the_source_keeps_going(
    twin: ThreadedTwin, tmp_path: Path
) -> None:
    server = twin.server
    text_node = twin.add_variable("speed_text", "8000 rpm", ua.VariantType.String)
    cfg = config(
        endpoint=twin.endpoint,
        sampling_ms=50,
        watchdog_s=0.5,
        nodes=[
            {"node": server.node_id("M1A", "temp"), "equipment": "M1A", "signal": "temp"},
            {"node": text_node, "equipment": "M1A", "signal": "spindle_speed"},
            {"node": "ns=2;s=M2A.no_such_node", "equipment": "M2A", "signal": "temp"},
            {
                "browse_path": "0:Objects/2:ent/2:nowhere/2:door_open",
                "equipment": "M1A",
                "signal": "door_open",
            },
        ],
    )
    t0 = datetime.now(UTC) - timedelta(minutes=1)

    async def main() -> OpcUaSource:
        async with Running(tmp_path, cfg) as run:
            status = run.source.status
            # the two unknown nodes and the text's initial value
            await until(lambda: status.rejected >= 3, what="the unknown nodes and the wrong type")
            twin.write("M1A", "temp", 20.0, t0)
            await until(lambda: status.points >= 1, what="the first value")
            bad = ua.StatusCode(ua.UInt32(ua.StatusCodes.BadSensorFailure))
            twin.raw(
                "M1A",
                "temp",
                ua.DataValue(ua.Variant(0.0), bad, SourceTimestamp=t0 + timedelta(seconds=2)),  # type: ignore[arg-type]  # annotated DateTime, takes a datetime
            )
            await until(lambda: status.rejected >= 4, what="the bad status")
            twin.write("M1A", "temp", 23.0, t0 + timedelta(seconds=3))
            await until(lambda: status.points >= 2, what="a good value after the bad ones")
            return run.source

    source = asyncio.run(main())
    assert source.status.reconnects == 0
    assert [r["value"] for r in read(tmp_path, EventType.measurements)] == [20.0, 23.0]
    found = sorted(
        (reason.split(":")[0], raw["node"], raw["signal"]) for _, reason, raw in quarantined(tmp_path)
    )
    assert found == [
        ("bad status", "ns=2;s=M1A.temp", "temp"),
        ("unknown node", "0:Objects/2:ent/2:nowhere/2:door_open", "door_open"),
        ("unknown node", "ns=2;s=M2A.no_such_node", "temp"),
        ("wrong type", text_node, "spindle_speed"),
    ]
    assert {source_name for source_name, _, _ in quarantined(tmp_path)} == {"opcua:plc"}


def test_after_a_server_restart_the_subscription_comes_back_and_the_gap_is_no_data(
    twin_process: TwinProcess, tmp_path: Path
) -> None:
    cfg = config(
        endpoint=twin_process.endpoint,
        sampling_ms=50,
        watchdog_s=0.25,
        timeout_s=0.5,
        reconnect_max_s=0.5,
        nodes=[
            {
                "browse_path": "0:Objects/2:ent/2:site/2:area/2:L/2:C1/2:M1A/2:temp",
                "equipment": "M1A",
                "signal": "temp",
            },
            {
                "browse_path": "0:Objects/2:ent/2:site/2:area/2:L/2:C1/2:M1A/2:state",
                "equipment": "M1A",
                "signal": "state",
            },
            {"node": "ns=2;s=M1A.good_count", "equipment": "M1A", "signal": "good_count"},
        ],
    )
    marks: dict[str, datetime] = {}

    async def main() -> OpcUaSource:
        # the replacement builds its address space meanwhile; it listens only once the first is dead
        replacement = TwinProcess(twin_process.port)
        prepared = asyncio.create_task(asyncio.to_thread(replacement.prepare))
        async with Running(tmp_path, cfg) as run:
            status = run.source.status
            await until(lambda: status.points >= 10, what="values before the restart")
            marks["frozen"] = datetime.now(UTC)
            twin_process.freeze()  # hung: the socket is open, nothing answers
            await until(lambda: not status.connected, timeout=5, what="the watchdog to notice")
            marks["noticed"] = datetime.now(UTC)
            await prepared
            twin_process.kill()
            twin_process.process = replacement.process  # the fixture kills whichever runs
            await asyncio.to_thread(replacement.go)  # a new server on the same port
            marks["restarted"] = datetime.now(UTC)
            await until(lambda: status.reconnects == 1 and status.connected, timeout=10, what="the reconnect")
            points = status.points
            await until(lambda: status.points >= points + 10, what="values after the restart")
            return run.source

    source = asyncio.run(main())
    status = source.status
    assert status.reconnects == 1 and len(status.gaps) == 1
    lost, back = status.gaps[0]
    assert back > lost
    assert status.last_error is not None
    measurements = read(tmp_path, EventType.measurements)
    assert any(r["ts"] > at(marks["restarted"]) for r in measurements)
    assert any(r["ts"] < at(marks["frozen"]) for r in measurements)
    # the outage is an interval of no_data between the two running periods
    states = [(r["start"], r["end"], r["state"]) for r in read(tmp_path, EventType.states)]
    assert [s[2] for s in states] == ["running", "no_data"]
    no_data_start, no_data_end = states[1][0], states[1][1]
    assert states[0][1] == no_data_start
    assert at(marks["frozen"]) - timedelta(seconds=1) <= no_data_start <= at(marks["noticed"])
    assert no_data_end >= at(marks["restarted"])
    # the new server's counter started again from 1: a reset, counted, not a negative increment
    counts = read(tmp_path, EventType.counts)
    assert all(r["good"] > 0 for r in counts)
    assert any(r["ts"] > at(marks["restarted"]) for r in counts)
