"""MQTT JSON payloads and topic templates, decoded straight into an EventBatch (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from plants import mqtt_plant
from smartfactory.connect.live import EventBatch
from smartfactory.connect.mqtt.config import MqttConfig, parse_broker_url
from smartfactory.connect.mqtt.json_payload import JsonDecoder
from smartfactory.connect.mqtt.topics import Target, TopicResolver, TopicTemplate
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
NOW_US = int(NOW * 1_000_000)
T = "ent/site/area/L/M1A"


@pytest.fixture(scope="module", name="plant")
def fixture_plant() -> Plant:
    return mqtt_plant()


@pytest.fixture(name="decoder")
def fixture_decoder(plant: Plant) -> JsonDecoder:
    template = TopicTemplate.parse("{enterprise}/{site}/{area}/{line}/{equipment}/{signal}")
    return JsonDecoder(TopicResolver(template, plant), max_future_s=3600, max_age_s=86400, clock=lambda: NOW)


def decode(decoder: JsonDecoder, topic: str, payload: object) -> EventBatch:
    batch = EventBatch()
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    decoder.decode(batch, topic, raw)
    return batch


def reasons(batch: EventBatch) -> list[str]:
    return [r.reason for r in batch.rejected]


# --- topic templates ---------------------------------------------------------------------


def test_the_default_template_subscribes_one_wildcard_per_placeholder() -> None:
    template = TopicTemplate.parse("{enterprise}/{site}/{area}/{line}/{equipment}/{signal}")
    assert template.subscription() == "+/+/+/+/+/+"
    custom = TopicTemplate.parse("factory/v1/{line}/{equipment}/{signal}")
    assert custom.subscription() == "factory/v1/+/+/+"
    assert custom.match("factory/v1/L/M1A/temp") == {"line": "L", "equipment": "M1A", "signal": "temp"}
    assert custom.match("factory/v2/L/M1A/temp") is None
    assert custom.match("factory/v1/L/M1A") is None
    assert custom.match("factory/v1/L//temp") is None
    assert custom.format(line="L", equipment="M1A", signal="temp") == "factory/v1/L/M1A/temp"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{plant}/{equipment}/{signal}", "unknown placeholder {plant}; allowed: {enterprise}"),
        ("x/{line}-a/{equipment}/{signal}", "mixes text and a placeholder"),
        ("x/+/{equipment}/{signal}", "holds a wildcard"),
        ("x//{equipment}/{signal}", "is empty"),
        ("x/{equipment}", "needs the placeholder(s) {signal}"),
        ("{signal}/{line}", "needs the placeholder(s) {equipment}"),
        ("{equipment}/{equipment}/{signal}", "placeholder {equipment} appears twice"),
    ],
)
def test_a_bad_template_is_a_user_error_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(UserError, match="source 'm': topic") as caught:
        TopicTemplate.parse(text, where="source 'm': topic")
    assert message in str(caught.value)


def test_a_topic_resolves_to_its_target_and_checks_the_hierarchy(plant: Plant) -> None:
    template = TopicTemplate.parse("{enterprise}/{site}/{area}/{line}/{work_cell}/{equipment}/{signal}")
    resolver = TopicResolver(template, plant)
    target = resolver.resolve("ent/site/area/L/C1/M1A/pressure")
    assert target == Target("M1A", "pressure", "measurement", low=0.0, high=10.0)
    assert resolver.resolve("ent/site/area/L/C1/M1A/pressure") is target  # cached
    assert resolver.resolve("ent/site/area/L/C2/M2A/state") == Target("M2A", "state", "state")
    assert resolver.resolve("ent/site/area/L/C1/M1A/energy_kwh") == Target("M1A", "energy_kwh", "measurement")
    assert resolver.resolve("ent/site/area/L/C2/M1A/temp") == (
        "bad topic: work_cell 'C2' in the topic is not the work_cell of equipment 'M1A' ('C1')"
    )
    assert resolver.resolve("ent/site/area/L2/C1/M1A/temp") == (
        "bad topic: line 'L2' in the topic is not the line of equipment 'M1A' ('L')"
    )
    assert resolver.resolve("ent/site/area/L/C1/M9/temp") == "unknown equipment: 'M9' is not in the plant"
    unknown = resolver.resolve("ent/site/area/L/C1/M1A/speed")
    assert isinstance(unknown, str)
    assert unknown.startswith("unknown signal: 'speed' is not a signal of 'M1A'; signals: alarm, count,")
    assert resolver.resolve("ent/site/M1A/temp") == (
        "bad topic: 'ent/site/M1A/temp' does not match the template "
        "'{enterprise}/{site}/{area}/{line}/{work_cell}/{equipment}/{signal}'"
    )


# --- config ------------------------------------------------------------------------------


def test_the_config_checks_url_format_and_tls_fields() -> None:
    assert parse_broker_url("mqtt://broker") == parse_broker_url("mqtt://broker:1883")
    assert parse_broker_url("mqtts://broker").port == 8883
    assert parse_broker_url("mqtts://broker").tls
    config = MqttConfig(url="mqtt://127.0.0.1:1883")
    assert (config.format, config.qos, config.protocol) == ("json", 1, "5")
    bad = [
        ({"url": "http://x"}, "must start with mqtt:// or mqtts://"),
        ({"url": "mqtt://x:99999"}, "bad port"),
        ({"url": "mqtt://x/path"}, "may only hold a host and a port"),
        ({"url": "mqtt://x", "format": "sparkplug"}, "needs group_id"),
        ({"url": "mqtt://x", "ca": "ca.pem"}, "for mqtts:// urls only"),
        ({"url": "mqtts://x", "cert": "c.pem"}, "give cert and key together"),
        ({"url": "mqtt://x", "qos": 3}, "Input should be 0, 1 or 2"),
        ({"url": "mqtt://x", "state_codes": {"1": "busy"}}, "state_codes maps 1 to 'busy'"),
        ({"url": "mqtt://x", "subscriptions": ["a/#/b"]}, "not a valid MQTT topic filter"),
        ({"url": "mqtt://x", "topics": "a"}, "Extra inputs are not permitted"),
    ]
    for fields, message in bad:
        with pytest.raises(ValidationError, match=message):
            MqttConfig.model_validate(fields)


# --- measurements ------------------------------------------------------------------------


def test_one_point_with_an_iso_time_or_epoch_milliseconds(decoder: JsonDecoder) -> None:
    batch = decode(decoder, f"{T}/temp", {"ts": "2026-03-02T15:59:00.250+08:00", "value": 21.5})
    assert (batch.m_equipment, batch.m_signal, batch.m_value) == (["M1A"], ["temp"], [21.5])
    assert batch.m_ts == [NOW_US - 60_000_000 + 250_000]
    batch = decode(decoder, f"{T}/temp", {"ts": (NOW_US - 1_000) / 1000, "value": 3})
    assert batch.m_ts == [NOW_US - 1_000]
    assert batch.m_value == [3.0]
    batch = decode(decoder, f"{T}/temp", {"ts": "2026-03-02T08:00:00Z", "value": -1})
    assert batch.m_ts == [NOW_US]
    assert not batch.rejected


def test_a_list_is_a_batch_of_points(decoder: JsonDecoder) -> None:
    points = [{"ts": (NOW_US // 1000) - 100 + i, "value": i / 10} for i in range(100)]
    batch = decode(decoder, f"{T}/temp", points)
    assert batch.m_value == [i / 10 for i in range(100)]
    assert batch.m_ts == [NOW_US - 100_000 + i * 1000 for i in range(100)]


def test_a_bare_number_is_stamped_with_the_receive_time(decoder: JsonDecoder) -> None:
    batch = decode(decoder, f"{T}/temp", b"42.5")
    assert (batch.m_ts, batch.m_value) == ([NOW_US], [42.5])
    batch = decode(decoder, f"{T}/door_open", b"true")
    assert batch.m_value == [1.0]


def test_signal_types_and_measuring_ranges_are_enforced(decoder: JsonDecoder) -> None:
    ts = "2026-03-02T08:00:00Z"
    good = [("door_open", False, 0.0), ("door_open", 1, 1.0), ("parts", 7.0, 7.0), ("pressure", 10, 10.0)]
    for signal, value, stored in good:
        batch = decode(decoder, f"{T}/{signal}", {"ts": ts, "value": value})
        assert batch.m_value == [stored], signal
    bad: list[tuple[str, object, str]] = [
        ("door_open", 0.5, "bad value: door_open is a bool signal; got 0.5"),
        ("parts", 7.5, "bad value: parts is an int signal; got 7.5"),
        ("temp", True, "bad value: temp is a float signal; got True"),
        ("temp", "hot", "bad value: temp = 'hot' is not a number"),
        ("pressure", 10.5, "out of range: pressure = 10.5 is outside its measuring range [0.0, 10.0]"),
        ("pressure", -0.1, "out of range: pressure = -0.1 is outside its measuring range [0.0, 10.0]"),
    ]
    for signal, wrong, reason in bad:
        batch = decode(decoder, f"{T}/{signal}", {"ts": ts, "value": wrong})
        assert reasons(batch) == [reason]
        assert batch.points == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "bad json: "),
        (b'{"ts": "2026-03-02T08:00:00Z", "value": NaN}', "bad json: "),
        (b'{"ts": "2026-03-02T08:00:00Z", "value": 1e999}', "bad json: number is infinity"),
        (b'{"ts": "2026-03-02T08:00:00Z"}', "bad shape: value is missing"),
        (b'{"value": 1}', "bad shape: ts is missing"),
        (
            b'{"ts": "2026-03-02T08:00:00Z", "value": 1, "unit": "C"}',
            "bad shape: unknown field(s) unit; allowed: ts, value",
        ),
        (
            b'{"ts": "2026-03-02T08:00:00", "value": 1}',
            "bad time: ts '2026-03-02T08:00:00' has no UTC offset; add Z or +08:00",
        ),
        (b'{"ts": "yesterday", "value": 1}', "bad time: ts 'yesterday' is not ISO-8601"),
        (b'{"ts": true, "value": 1}', "bad time: ts True is neither ISO-8601 text nor epoch milliseconds"),
        (
            b'{"ts": "2026-03-02T10:00:01Z", "value": 1}',
            "future time: '2026-03-02T10:00:01Z' is 7,201 s ahead of now (max_future_s)",
        ),
        (
            b'{"ts": "2026-02-28T08:00:00Z", "value": 1}',
            "old time: '2026-02-28T08:00:00Z' is 172,800 s old (max_age_s)",
        ),
        (b'"21.5"', "bad shape: a point must be an object; got str"),
        (b"[]", "bad shape: empty list"),
        (b"null", "bad shape: a point must be an object; got NoneType"),
    ],
)
def test_every_malformed_point_is_rejected_with_its_reason(
    decoder: JsonDecoder, payload: bytes, reason: str
) -> None:
    batch = decode(decoder, f"{T}/temp", payload)
    assert batch.points == 0
    assert len(batch.rejected) == 1
    assert batch.rejected[0].reason.startswith(reason), batch.rejected[0].reason
    assert batch.rejected[0].source == f"{T}/temp"
    assert batch.rejected[0].raw == payload


def test_a_list_stores_its_good_items_and_rejects_only_the_bad_ones(decoder: JsonDecoder) -> None:
    items = [
        {"ts": "2026-03-02T07:00:00Z", "value": 1.0},
        {"ts": "2026-03-02T07:00:01Z", "value": "x"},
        5,
        {"ts": "2026-03-02T07:00:02Z", "value": 2.0},
    ]
    batch = decode(decoder, f"{T}/temp", items)
    assert batch.m_value == [1.0, 2.0]
    assert [(r.reason, r.raw) for r in batch.rejected] == [
        ("bad value: temp = 'x' is not a number", orjson.dumps(items[1])),
        ("bad shape: a point must be an object; got int", b"5"),
    ]


def test_topics_that_do_not_resolve_are_rejected_before_parsing(decoder: JsonDecoder) -> None:
    batch = decode(decoder, "ent/site/area/L/M9/temp", b"not even json")
    assert reasons(batch) == ["unknown equipment: 'M9' is not in the plant"]
    batch = decode(decoder, "ent/site/area/L/M1A/temp/extra", b"1")
    assert reasons(batch)[0].startswith("bad topic: ")


# --- reserved signals --------------------------------------------------------------------


def test_state_changes_and_finished_intervals(decoder: JsonDecoder) -> None:
    change = {"ts": "2026-03-02T07:00:00Z", "state": "unplanned_down", "reason": "U.FAIL", "order_id": "O1"}
    interval = {
        "start": "2026-03-02T06:00:00Z",
        "end": "2026-03-02T07:00:00Z",
        "state": "running",
        "product": "P0",
    }
    batch = decode(decoder, f"{T}/state", [change, interval])
    hour = 3600 * 1_000_000
    assert batch.changes == [("M1A", NOW_US - hour, "unplanned_down", "U.FAIL", "O1", None)]
    assert batch.states == [("M1A", NOW_US - 2 * hour, NOW_US - hour, "running", None, None, "P0")]
    bad = [
        (
            {"ts": "2026-03-02T07:00:00Z", "state": "broken"},
            "bad state: 'broken' is not one of blocked, idle,",
        ),
        ({"ts": "2026-03-02T07:00:00Z"}, "bad shape: state is missing"),
        (
            {"ts": "2026-03-02T07:00:00Z", "state": "idle", "reason": 5},
            "bad value: reason must be text; got 5",
        ),
        ({**interval, "end": interval["start"]}, "bad time: end '2026-03-02T06:00:00Z' is not after start"),
        ({"start": interval["start"], "state": "idle"}, "bad shape: end is missing"),
    ]
    for item, reason in bad:
        batch = decode(decoder, f"{T}/state", item)
        assert batch.points == 0
        assert reasons(batch)[0].startswith(reason), reasons(batch)


def test_counts(decoder: JsonDecoder) -> None:
    item = {
        "ts": "2026-03-02T07:00:00Z",
        "good": 2,
        "scrap": 1,
        "order_id": "O1",
        "product": "P0",
        "part_id": "A-1",
    }
    batch = decode(decoder, f"{T}/count", item)
    assert batch.counts == [(NOW_US - 3600 * 1_000_000, "M1A", "O1", "P0", 2, 1, 0, "A-1")]
    bad = [
        ({"ts": "2026-03-02T07:00:00Z", "good": -1}, "bad count: good = -1 is negative or too large"),
        ({"ts": "2026-03-02T07:00:00Z", "good": 1.5}, "bad count: good = 1.5 is not a whole number"),
        ({"ts": "2026-03-02T07:00:00Z", "good": "1"}, "bad count: good = '1' is not a whole number"),
        ({"ts": "2026-03-02T07:00:00Z"}, "bad shape: a count needs at least one of good, scrap, rework"),
        ({"ts": "2026-03-02T07:00:00Z", "good": 1, "bad": 1}, "bad shape: unknown field(s) bad"),
    ]
    for payload, reason in bad:
        batch = decode(decoder, f"{T}/count", payload)
        assert batch.points == 0
        assert reasons(batch)[0].startswith(reason), reasons(batch)


def test_alarms(decoder: JsonDecoder) -> None:
    item = {
        "ts": "2026-03-02T07:00:00Z",
        "code": "A17",
        "severity": "major",
        "action": "raised",
        "message": "hot",
    }
    batch = decode(decoder, f"{T}/alarm", item)
    assert batch.alarms == [(NOW_US - 3600 * 1_000_000, "M1A", "A17", "major", "raised", "hot")]
    bad = [
        (
            {**item, "severity": "fatal"},
            "bad severity: 'fatal' is not one of critical, major, minor, warning",
        ),
        ({**item, "action": "fixed"}, "bad action: 'fixed' is not one of acknowledged, cleared, raised"),
        ({**item, "code": ""}, "bad shape: code must be non-empty text; got ''"),
        ({k: v for k, v in item.items() if k != "action"}, "bad shape: action is missing"),
    ]
    for payload, reason in bad:
        batch = decode(decoder, f"{T}/alarm", payload)
        assert reasons(batch) == [reason]


# --- the whole-list path for batches of points -------------------------------------------------


def _one_by_one(decoder: JsonDecoder, topic: str, items: list[object]) -> EventBatch:
    """The reference: each item decoded as its own message."""
    batch = EventBatch()
    for item in items:
        decoder.decode(batch, topic, orjson.dumps(item))
    return batch


@pytest.mark.parametrize(
    ("signal", "items"),
    [
        ("temp", [{"ts": NOW_US // 1000 - k, "value": 20.0 + k} for k in range(50)]),
        ("temp", [{"ts": NOW_US // 1000 - k, "value": k} for k in range(5)]),  # ints are numbers too
        ("pressure", [{"ts": NOW_US // 1000 - 1, "value": 3.5}, {"ts": NOW_US // 1000 - 2, "value": 11.0}]),
        (
            "temp",
            [{"ts": NOW_US // 1000 - 1, "value": 1.0}, {"ts": NOW_US // 1000 + 7_200_000, "value": 2.0}],
        ),
        ("temp", [{"ts": NOW_US // 1000 - 1, "value": 1.0}, {"ts": "2026-03-02T07:00:00Z", "value": 2.0}]),
        ("temp", [{"ts": NOW_US // 1000 - 1, "value": 1.0}, {"ts": NOW_US // 1000 - 2, "value": "x"}]),
        (
            "temp",
            [{"ts": NOW_US // 1000 - 1, "value": 1.0}, {"ts": NOW_US // 1000 - 2, "value": 2.0, "q": 1}],
        ),
        ("temp", [{"ts": NOW_US // 1000 - 1, "value": 1.0}, {"ts": NOW_US // 1000 - 2}]),
        ("parts", [{"ts": NOW_US // 1000 - 1, "value": 3}, {"ts": NOW_US // 1000 - 2, "value": 2.5}]),
        ("door_open", [{"ts": NOW_US // 1000 - 1, "value": True}]),
    ],
)
def test_a_list_of_points_gives_what_its_items_give_one_by_one(
    decoder: JsonDecoder, signal: str, items: list[object]
) -> None:
    topic = f"{T}/{signal}"
    whole = decode(decoder, topic, items)
    single = _one_by_one(decoder, topic, items)
    assert (whole.m_equipment, whole.m_signal, whole.m_ts, whole.m_value) == (
        single.m_equipment,
        single.m_signal,
        single.m_ts,
        single.m_value,
    )
    assert reasons(whole) == reasons(single)
    assert all(type(v) is float for v in whole.m_value)
