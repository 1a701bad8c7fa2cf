"""Sparkplug B: the payload descriptor against Tahu's proto, encoding, and the decoder's session rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plants import mqtt_plant
from smartfactory.connect.live import EventBatch
from smartfactory.connect.mqtt import sparkplug as sp
from smartfactory.connect.mqtt.sparkplug import DataType, MetricValue, SparkplugDecoder
from smartfactory.model.plant import Plant

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
NOW_MS = int(NOW * 1000)
PROTO = Path(sp.__file__).with_name("sparkplug_b.proto")
G = "plantA"


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module", name="plant")
def fixture_plant() -> Plant:
    return mqtt_plant()


@pytest.fixture(name="monotonic")
def fixture_monotonic() -> Clock:
    return Clock()


@pytest.fixture(name="decoder")
def fixture_decoder(plant: Plant, monotonic: Clock) -> SparkplugDecoder:
    return SparkplugDecoder(
        plant,
        G,
        devices={"dev1": "M2A"},
        state_codes={"3": "unplanned_down"},
        max_future_s=3600,
        max_age_s=86400,
        rebirth_interval_s=5,
        clock=lambda: NOW,
        monotonic=monotonic,
    )


def _proto_fields() -> dict[str, dict[str, tuple[str, int]]]:
    """message path -> field name -> (type, number), read from the reference .proto text."""
    out: dict[str, dict[str, tuple[str, int]]] = {}
    stack: list[str] = []
    text = re.sub(r"/\*.*?\*/", "", PROTO.read_text(), flags=re.S)
    for line in text.splitlines():
        line = line.split("//")[0].strip()
        if m := re.match(r"message (\w+) \{", line):
            stack.append(m.group(1))
            out[".".join(stack)] = {}
        elif re.match(r"oneof \w+ \{", line):
            stack.append("")
        elif line.startswith("}"):
            stack.pop()
        elif m := re.match(r"(?:optional |repeated )?(\w+)\s+(\w+)\s*=\s*(\d+);", line):
            out[".".join(s for s in stack if s)][m.group(2)] = (m.group(1), int(m.group(3)))
    return out


def _descriptor_fields(descriptor: object, prefix: str, out: dict[str, dict[str, tuple[str, int]]]) -> None:
    scalar = {9: "string", 13: "uint32", 4: "uint64", 2: "float", 1: "double", 8: "bool", 12: "bytes"}
    path = f"{prefix}.{descriptor.name}" if prefix else descriptor.name  # type: ignore[attr-defined]
    out[path] = {
        f.name: (f.message_type.name if f.message_type else scalar[f.type], f.number)
        for f in descriptor.fields  # type: ignore[attr-defined]
    }
    for nested in descriptor.nested_types:  # type: ignore[attr-defined]
        _descriptor_fields(nested, path, out)


def test_the_descriptor_has_the_field_numbers_of_tahus_proto() -> None:
    ours: dict[str, dict[str, tuple[str, int]]] = {}
    _descriptor_fields(sp.Payload.DESCRIPTOR, "", ours)
    theirs = _proto_fields()
    assert set(ours) == set(theirs)
    for message, fields in theirs.items():
        assert ours[message] == fields, message
    assert len(theirs["Payload.Metric"]) == 19


def test_metrics_round_trip_with_signed_integers_and_properties() -> None:
    values = [
        MetricValue("a", 1, -5, DataType.Int8),
        MetricValue("b", 2, -70000, DataType.Int32),
        MetricValue("c", 3, -(2**40), DataType.Int64),
        MetricValue("d", 4, 2**63, DataType.UInt64),
        MetricValue("e", 5, 1.5, DataType.Float),
        MetricValue("f", 6, 0.1, DataType.Double),
        MetricValue("g", 7, True, DataType.Boolean),
        MetricValue("h", 8, "idle", DataType.String, 123, {"k": "v"}),
        MetricValue("i", 9, None, DataType.Double),
        MetricValue("j", 10, b"\x00\x01", DataType.Bytes),
    ]
    message = sp.Payload.FromString(sp.encode(values, seq=7, timestamp_ms=NOW_MS))
    assert (message.seq, message.timestamp) == (7, NOW_MS)
    assert [sp.metric_value(m) for m in message.metrics] == [
        -5,
        -70000,
        -(2**40),
        2**63,
        1.5,
        0.1,
        True,
        "idle",
        None,
        b"\x00\x01",
    ]
    assert [m.alias for m in message.metrics] == list(range(1, 11))
    assert sp.properties_of(message.metrics[7]) == {"k": "v"}
    assert message.metrics[7].timestamp == 123
    rebirth = sp.Payload.FromString(sp.rebirth_request(5))
    assert [(m.name, sp.metric_value(m)) for m in rebirth.metrics] == [("Node Control/Rebirth", True)]
    assert sp.topic(G, "DDATA", "L", "M1A") == "spBv1.0/plantA/DDATA/L/M1A"


def nbirth(seq: int = 0, bd_seq: int = 3) -> bytes:
    return sp.encode(
        [
            MetricValue("bdSeq", value=bd_seq, datatype=DataType.Int64),
            MetricValue("Node Control/Rebirth", value=False, datatype=DataType.Boolean),
        ],
        seq=seq,
        timestamp_ms=NOW_MS,
    )


def dbirth(seq: int) -> bytes:
    return sp.encode(
        [
            MetricValue("temp", 1, 20.0, DataType.Double),
            MetricValue("state", 2, "idle", DataType.String),
            MetricValue("good_count", 3, 10, DataType.Int64),
            MetricValue("scrap_count", 4, 1, DataType.Int64),
            MetricValue("pressure", 5, None, DataType.Double),
            MetricValue("alarm", 6, None, DataType.String),
        ],
        seq=seq,
        timestamp_ms=NOW_MS - 1000,
    )


def run(
    decoder: SparkplugDecoder, kind: str, payload: bytes, node: str = "edge1", device: str | None = None
) -> EventBatch:
    batch = EventBatch()
    decoder.decode(batch, sp.topic(G, kind, node, device), payload)
    return batch


def born(decoder: SparkplugDecoder) -> None:
    assert not run(decoder, "NBIRTH", nbirth()).rejected
    birth = run(decoder, "DBIRTH", dbirth(1), device="M1A")
    assert not birth.rejected
    assert birth.m_value == [20.0]  # birth values are data too; null ones are not
    assert birth.changes == [("M1A", (NOW_MS - 1000) * 1000, "idle", None, None, None)]
    assert birth.counts == []  # counters in a birth set the baseline


def test_data_by_alias_after_the_births(decoder: SparkplugDecoder) -> None:
    born(decoder)
    payload = sp.encode(
        [
            MetricValue(alias=1, value=21.5, datatype=DataType.Double, timestamp_ms=NOW_MS - 500),
            MetricValue(
                alias=2, value="unplanned_down", datatype=DataType.String, properties={"reason": "U.FAIL"}
            ),
            MetricValue(alias=3, value=13, datatype=DataType.Int64),
            MetricValue(alias=4, value=2, datatype=DataType.Int64),
            MetricValue(
                alias=6,
                value="too hot",
                datatype=DataType.String,
                properties={"code": "A1", "severity": "major", "action": "raised"},
            ),
        ],
        seq=2,
        timestamp_ms=NOW_MS,
    )
    batch = run(decoder, "DDATA", payload, device="M1A")
    assert not batch.rejected
    assert list(zip(batch.m_signal, batch.m_ts, batch.m_value, strict=True)) == [
        ("temp", (NOW_MS - 500) * 1000, 21.5)
    ]
    assert batch.changes == [("M1A", NOW_MS * 1000, "unplanned_down", "U.FAIL", None, None)]
    assert batch.counts == [(NOW_MS * 1000, "M1A", None, None, 3, 1, 0, None)]
    assert batch.alarms == [(NOW_MS * 1000, "M1A", "A1", "major", "raised", "too hot")]
    # a counter that goes down was reset: it counted its new value since
    batch = run(
        decoder,
        "DDATA",
        sp.encode([MetricValue(alias=3, value=4, datatype=DataType.Int64)], seq=3, timestamp_ms=NOW_MS),
        device="M1A",
    )
    assert batch.counts == [(NOW_MS * 1000, "M1A", None, None, 4, 0, 0, None)]


def test_data_before_a_birth_is_rejected_and_asks_for_a_rebirth_once(
    decoder: SparkplugDecoder, monotonic: Clock
) -> None:
    data = sp.encode([MetricValue(alias=1, value=1.0)], seq=5, timestamp_ms=NOW_MS)
    batch = run(decoder, "DDATA", data, device="M1A")
    assert [r.reason for r in batch.rejected] == [
        "no birth: DDATA from edge node 'edge1' before its NBIRTH; rebirth requested"
    ]
    assert batch.rejected[0].raw == data
    assert [t for t, _ in decoder.commands] == ["spBv1.0/plantA/NCMD/edge1"]
    request = sp.Payload.FromString(decoder.commands[0][1])
    assert [(m.name, sp.metric_value(m)) for m in request.metrics] == [("Node Control/Rebirth", True)]
    decoder.commands.clear()
    run(decoder, "DDATA", data, device="M1A")
    assert decoder.commands == []  # rate-limited
    monotonic.t += 5
    run(decoder, "NDATA", data)
    assert len(decoder.commands) == 1
    decoder.commands.clear()
    run(decoder, "NBIRTH", nbirth())
    batch = run(decoder, "DDATA", sp.encode([MetricValue(alias=1, value=1.0)], seq=1), device="M2A")
    assert [r.reason for r in batch.rejected] == [
        "no birth: DDATA from device 'M2A' of 'edge1' before its DBIRTH; rebirth requested"
    ]


def test_a_seq_gap_is_rejected_and_asks_for_a_rebirth(decoder: SparkplugDecoder) -> None:
    born(decoder)
    gap = sp.encode([MetricValue(alias=1, value=1.0)], seq=4, timestamp_ms=NOW_MS)
    batch = run(decoder, "DDATA", gap, device="M1A")
    assert [r.reason for r in batch.rejected] == [
        "seq gap: edge node 'edge1' sent seq 4, expected 2; rebirth requested"
    ]
    assert batch.points == 0
    assert [t for t, _ in decoder.commands] == ["spBv1.0/plantA/NCMD/edge1"]
    # the sequence continues from the message that showed the gap
    ok = run(
        decoder,
        "DDATA",
        sp.encode([MetricValue(alias=1, value=2.0)], seq=5, timestamp_ms=NOW_MS),
        device="M1A",
    )
    assert (ok.rejected, ok.m_value) == ([], [2.0])
    # behind the expected seq: a QoS 1 redelivery, decoded (the store dedupes it)
    again = run(
        decoder,
        "DDATA",
        sp.encode([MetricValue(alias=1, value=1.5)], seq=3, timestamp_ms=NOW_MS),
        device="M1A",
    )
    assert (again.rejected, again.m_value) == ([], [1.5])
    follow = run(
        decoder,
        "DDATA",
        sp.encode([MetricValue(alias=1, value=3.0)], seq=6, timestamp_ms=NOW_MS),
        device="M1A",
    )
    assert (follow.rejected, follow.m_value) == ([], [3.0])


def test_seq_wraps_after_255(decoder: SparkplugDecoder) -> None:
    born(decoder)
    for seq in [*range(2, 256), 0, 1]:
        batch = run(
            decoder,
            "DDATA",
            sp.encode([MetricValue(alias=1, value=float(seq))], seq=seq, timestamp_ms=NOW_MS),
            device="M1A",
        )
        assert not batch.rejected, seq


def test_an_unknown_alias_rejects_the_message_and_asks_for_a_rebirth(decoder: SparkplugDecoder) -> None:
    born(decoder)
    batch = run(
        decoder,
        "DDATA",
        sp.encode([MetricValue(alias=1, value=1.0), MetricValue(alias=99, value=1.0)], seq=2),
        device="M1A",
    )
    assert [r.reason for r in batch.rejected] == [
        "unknown alias: metric alias 99 was not in the birth; rebirth requested"
    ]
    assert batch.points == 0
    assert len(decoder.commands) == 1


def test_bad_metrics_are_rejected_one_by_one(decoder: SparkplugDecoder) -> None:
    born(decoder)
    payload = sp.encode(
        [
            MetricValue("temp", value=22.0, timestamp_ms=NOW_MS),
            MetricValue("speed", value=1.0, timestamp_ms=NOW_MS),
            MetricValue("pressure", value=99.0, timestamp_ms=NOW_MS),
            MetricValue("temp", value=1.0, timestamp_ms=NOW_MS + 7_200_000),
            MetricValue("state", value="exploded", datatype=DataType.String),
            MetricValue("state", value=3, datatype=DataType.Int32),
            MetricValue("state", value=4, datatype=DataType.Int32),
            MetricValue("good_count", value=-1, datatype=DataType.Int64),
            MetricValue(
                "alarm", value="x", datatype=DataType.String, properties={"code": "A", "severity": "bad"}
            ),
        ],
        seq=2,
        timestamp_ms=NOW_MS,
    )
    batch = run(decoder, "DDATA", payload, device="M1A")
    assert batch.m_value == [22.0]
    assert batch.changes == [("M1A", NOW_MS * 1000, "unplanned_down", None, None, None)]
    assert [r.reason for r in batch.rejected] == [
        "unknown signal: metric 'speed' is not a signal of 'M1A'",
        "out of range: pressure = 99.0 is outside its measuring range [0.0, 10.0]",
        "future time: 1772445600000 is 7,200 s ahead of now (max_future_s)",
        "bad state: 'exploded' is not one of blocked, idle, no_data, planned_stop, running, setup, starved, unplanned_down",
        "bad state: state code 4 is not in the source's state_codes",
        "bad count: good_count = -1 is not a non-negative whole counter",
        "bad severity: 'bad' is not one of critical, major, minor, warning",
    ]


def test_deaths_record_no_data_for_equipment_that_report_state(decoder: SparkplugDecoder) -> None:
    born(decoder)
    assert not run(
        decoder, "DBIRTH", sp.encode([MetricValue("temp", 1, 1.0)], seq=2, timestamp_ms=NOW_MS), device="dev1"
    ).rejected
    batch = run(decoder, "DDEATH", sp.encode([], seq=3, timestamp_ms=NOW_MS - 10), device="M1A")
    assert batch.changes == [("M1A", (NOW_MS - 10) * 1000, "no_data", None, None, None)]
    run(decoder, "DBIRTH", dbirth(4), device="M1A")
    stale = run(
        decoder, "NDEATH", sp.encode([MetricValue("bdSeq", value=2, datatype=DataType.Int64)], seq=None)
    )
    assert stale.changes == []  # an older session's will
    death = run(
        decoder, "NDEATH", sp.encode([MetricValue("bdSeq", value=3, datatype=DataType.Int64)], seq=None)
    )
    assert death.changes == [
        ("M1A", int(NOW * 1_000_000), "no_data", None, None, None)
    ]  # dev1 (M2A) reports no state
    after = run(decoder, "DDATA", sp.encode([MetricValue(alias=1, value=1.0)], seq=5), device="M1A")
    assert after.rejected[0].reason.startswith("no birth: ")


def test_devices_map_to_equipment_and_unknown_devices_are_rejected(decoder: SparkplugDecoder) -> None:
    born(decoder)
    batch = run(
        decoder,
        "DBIRTH",
        sp.encode([MetricValue("temp", 1, 30.0)], seq=2, timestamp_ms=NOW_MS),
        device="dev1",
    )
    assert (batch.m_equipment, batch.m_value) == (["M2A"], [30.0])
    batch = run(decoder, "DBIRTH", sp.encode([MetricValue("temp", 1, 30.0)], seq=3), device="robot9")
    assert batch.rejected[0].reason.startswith(
        "unknown equipment: device 'robot9' of edge node 'edge1' is no equipment"
    )


def test_bad_topics_and_bad_protobuf_are_rejected_and_commands_ignored(decoder: SparkplugDecoder) -> None:
    batch = EventBatch()
    decoder.decode(batch, "spBv1.0/other/DDATA/edge1/M1A", b"")
    decoder.decode(batch, "spBv1.0/plantA/DDATA/edge1", b"")
    decoder.decode(batch, "spBv1.0/plantA/NBIRTH/edge1", b"\xff\xff\xff")
    decoder.decode(batch, "spBv1.0/plantA/NCMD/edge1", b"\xff")
    assert [r.reason.split(":")[0] for r in batch.rejected] == ["bad topic", "bad topic", "bad protobuf"]
