"""One store contract, every engine: DuckDB (embedded) and PostgreSQL (server) behave the same.

Each test runs once per engine through the ``engine`` / ``event_store`` fixtures (``conftest.py``);
the tests at the end compare the two engines directly (Parquet export, KPIs of a simulated plant).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_results import assert_same_kpis
from smartfactory.kpi import compute_result
from smartfactory.model.events import KEYS, SCHEMAS, TIME_COLUMN, EventType
from smartfactory.model.plant_file import load_plant
from smartfactory.simulate import MemorySink, simulate
from smartfactory.store import EventStore, PgTelemetryStore, TelemetryStore
from smartfactory.store.integrity import OPEN_STATES_SCHEMA, WriteReport
from smartfactory.store.quarantine import Rejected
from store_engines import Engine, quarantine_of

T0 = datetime(2026, 3, 2, 8, 0)
Row = dict[str, Any]


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _table(kind: EventType, rows: list[Row]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[kind])


def _state(eq: str, a: float, b: float, state: str = "running", **more: Any) -> Row:
    return {"equipment": eq, "start": _at(a), "end": _at(b), "state": state, "reason": None} | {
        "order_id": None,
        "product": None,
        **more,
    }


def _point(m: float, eq: str = "M1", sig: str = "temp", value: float = 1.0) -> Row:
    return {"ts": _at(m), "equipment": eq, "signal": sig, "value": value}


# Every type with the values a store gets wrong first: NULL against empty text, quotes, commas
# and line breaks in text, Chinese, microseconds, float digits, the int32 edge.
ODD_TEXT = 'a "quoted", text\nover two lines; 机床 · ü'
SAMPLES: dict[EventType, list[Row]] = {
    EventType.states: [
        _state("M1", 0, 30, "running", order_id="O-1", product="P1"),
        _state("M1", 30, 31.000001, "unplanned_down", reason="U.FAIL"),
        _state("机床-2", 0, 45, "setup", reason="", order_id=ODD_TEXT, product=""),
    ],
    EventType.counts: [
        {"ts": _at(1), "equipment": "M1", "order_id": "O-1", "product": "P1"}
        | {"good": 1, "scrap": 0, "rework": 0, "part_id": None},
        {"ts": _at(1.5), "equipment": "M1", "order_id": None, "product": None}
        | {"good": 2_147_483_647, "scrap": -2_147_483_648, "rework": 3, "part_id": ""},
        {"ts": _at(0.000001), "equipment": "机床-2", "order_id": ODD_TEXT, "product": "P2"}
        | {"good": 0, "scrap": 1, "rework": 0, "part_id": "SN-0001"},
    ],
    EventType.measurements: [
        _point(0, value=0.1 + 0.2),
        _point(0, sig="energy_kwh", value=1e-300),
        _point(0.5, value=-0.0),
        _point(1, value=1.7976931348623157e308),
        _point(2, value=5e-324),
        _point(3, eq="机床-2", sig="直径", value=-123456.789012345),
    ],
    EventType.alarms: [
        {"ts": _at(2), "equipment": "M1", "code": "E42", "severity": "major", "action": "raised"}
        | {"message": ODD_TEXT},
        {"ts": _at(2), "equipment": "M1", "code": "E42", "severity": "major", "action": "cleared"}
        | {"message": None},
        {"ts": _at(9), "equipment": "机床-2", "code": "W1", "severity": "warning", "action": "raised"}
        | {"message": ""},
    ],
}


def _by_key(kind: EventType, rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in KEYS[kind]))


def _quarantined(store: EventStore) -> list[Row]:
    return [
        {"reason": e.reason, "source": e.source, **json.loads(e.raw)} for e in quarantine_of(store).list()
    ]


def _json(value: Any) -> Any:
    """A value as the quarantine's JSON holds it (times as text)."""
    return str(value) if isinstance(value, datetime) else value


def _write_all(store: EventStore) -> None:
    for kind, rows in SAMPLES.items():
        assert store.write_report(kind, _table(kind, rows)) == WriteReport(stored=len(rows))


# --- round trip and reads --------------------------------------------------------------------


def test_every_event_type_comes_back_with_its_exact_values_and_types(event_store: EventStore) -> None:
    _write_all(event_store)
    for kind, rows in SAMPLES.items():
        got = event_store.table(kind)
        assert got.schema.names == SCHEMAS[kind].names
        assert [f.type for f in got.schema] == [f.type for f in SCHEMAS[kind]], kind
        assert _by_key(kind, got.to_pylist()) == _by_key(kind, rows), kind
        # -0.0 == 0.0 in Python: the sign must survive too
        if kind == EventType.measurements:
            values = {(r["signal"], r["ts"]): r["value"] for r in got.to_pylist()}
            assert str(values[("temp", _at(0.5))]) == "-0.0"


def test_rows_come_back_in_time_order_whatever_the_write_order(event_store: EventStore) -> None:
    rows = [_point(m, eq, sig, value=m) for m in range(30) for eq in ("M2", "M1") for sig in ("a", "b")]
    random.Random(7).shuffle(rows)
    for i in range(0, len(rows), 17):
        event_store.write(EventType.measurements, _table(EventType.measurements, rows[i : i + 17]))
    got = event_store.table(EventType.measurements).to_pylist()
    assert len(got) == len(rows)
    # time first, then equipment (ties of one machine in any order)
    assert [(r["ts"], r["equipment"]) for r in got] == sorted((r["ts"], r["equipment"]) for r in rows)


def test_period_filters_are_half_open_on_the_time_column(event_store: EventStore) -> None:
    event_store.write(EventType.measurements, _table(EventType.measurements, [_point(m) for m in range(10)]))
    states = [_state("M1", 0, 10), _state("M1", 10, 20), _state("M1", 20, 30)]
    event_store.write(EventType.states, _table(EventType.states, states))
    got = event_store.table(EventType.measurements, start=_at(2), end=_at(5))
    assert got["ts"].to_pylist() == [_at(2), _at(3), _at(4)]
    assert event_store.table(EventType.measurements, start=_at(8)).num_rows == 2
    assert event_store.table(EventType.measurements, end=_at(1)).num_rows == 1
    # states by their start: the one running across the bound belongs to where it started
    assert event_store.table(EventType.states, start=_at(5), end=_at(20))["start"].to_pylist() == [_at(10)]


def test_count_and_time_range(event_store: EventStore) -> None:
    assert event_store.time_range() == (None, None)
    assert all(event_store.count(kind) == 0 for kind in EventType)
    _write_all(event_store)
    for kind, rows in SAMPLES.items():
        assert event_store.count(kind) == len(rows)
    # from the first state start or point to the last state end or point (alarms do not count)
    assert event_store.time_range() == (_at(0), _at(45))


# --- integrity -------------------------------------------------------------------------------


def test_writing_everything_again_is_a_no_op(event_store: EventStore) -> None:
    _write_all(event_store)
    for kind, rows in SAMPLES.items():
        again = _table(kind, rows + rows[:1])
        assert event_store.write_report(kind, again) == WriteReport(duplicates=len(rows) + 1), kind
        assert event_store.count(kind) == len(rows)
    assert _quarantined(event_store) == []


@pytest.mark.parametrize("kind", list(EventType))
def test_a_conflict_is_quarantined_with_both_values(event_store: EventStore, kind: EventType) -> None:
    first = SAMPLES[kind][0]
    column = {
        EventType.states: "end",
        EventType.counts: "good",
        EventType.measurements: "value",
        EventType.alarms: "severity",
    }[kind]
    other = {"end": _at(45), "good": 7, "value": 9.5, "severity": "critical"}[column]
    changed = first | {column: other}
    assert event_store.write(kind, _table(kind, [first])) == 1
    assert event_store.write_report(kind, _table(kind, [changed])) == WriteReport(conflicts=1)
    assert event_store.table(kind).to_pylist() == [first]
    [entry] = _quarantined(event_store)
    assert entry["source"] == f"store:{kind.value}"
    assert entry["reason"].startswith(f"conflict: {kind.value} (")
    assert "is stored with" in entry["reason"]
    assert entry["stored"][0][column] == _json(first[column])
    assert entry["sent"][column] == _json(other)
    assert entry["key"] == {k: _json(first[k]) for k in KEYS[kind]}


def test_a_conflict_inside_one_batch_keeps_the_first_value(event_store: EventStore) -> None:
    batch = [_point(0, value=1.0), _point(0, value=1.0), _point(0, value=2.0), _point(0, value=2.0)]
    # identical rows are duplicates (even of a refused one); the other value is a conflict
    report = event_store.write_report(EventType.measurements, _table(EventType.measurements, batch))
    assert report == WriteReport(stored=1, duplicates=2, conflicts=1)
    assert event_store.table(EventType.measurements)["value"].to_pylist() == [1.0]
    [entry] = _quarantined(event_store)
    assert "sent earlier in the same batch" in entry["reason"]
    assert (entry["stored"][0]["value"], entry["sent"]["value"]) == (1.0, 2.0)


def test_overlapping_states_are_refused_and_touching_ones_kept(event_store: EventStore) -> None:
    assert event_store.write(EventType.states, _table(EventType.states, [_state("M1", 0, 30)])) == 1
    report = event_store.write_report(
        EventType.states,
        _table(
            EventType.states,
            [
                _state("M1", 30, 40, "idle"),  # touches the stored one: fine
                _state("M1", 20, 35, "setup"),  # overlaps the stored state and the one above
                _state("M2", 10, 20),  # another machine
                _state("M1", 45, 60),
                _state("M1", 50, 55, "idle"),  # overlaps an earlier row of the same batch
                _state("M1", 60, 70, "idle"),  # touches the one before
            ],
        ),
    )
    assert report == WriteReport(stored=4, overlaps=2)
    stored = [(r["equipment"], r["start"], r["end"]) for r in event_store.table(EventType.states).to_pylist()]
    assert sorted(stored) == [
        ("M1", _at(0), _at(30)),
        ("M1", _at(30), _at(40)),
        ("M1", _at(45), _at(60)),
        ("M1", _at(60), _at(70)),
        ("M2", _at(10), _at(20)),
    ]
    entries = sorted(_quarantined(event_store), key=lambda e: e["sent"]["start"])
    assert [e["reason"].split(":")[0] for e in entries] == ["overlap", "overlap"]
    assert "08:20:00 to 2026-03-02 08:35:00 (setup) overlap the stored" in entries[0]["reason"]
    assert entries[0]["stored"][0]["start"] == str(_at(0))
    assert entries[1]["sent"]["start"] == str(_at(50))
    # an exact duplicate is a duplicate, the same start with another end a conflict
    again = [_state("M1", 0, 30), _state("M1", 30, 45, "idle")]
    assert event_store.write_report(EventType.states, _table(EventType.states, again)) == WriteReport(
        duplicates=1, conflicts=1
    )


def test_a_rolled_back_transaction_leaves_nothing(event_store: EventStore) -> None:
    with pytest.raises(RuntimeError), event_store.transaction():
        event_store.write(EventType.measurements, _table(EventType.measurements, [_point(0)]))
        # a refused row goes to the quarantine in the same transaction: rolled back with it
        event_store.write(
            EventType.states, _table(EventType.states, [_state("M1", 0, 30), _state("M1", 10, 20)])
        )
        # a month no write needed before: its partition (on PostgreSQL) goes with the transaction
        event_store.write(
            EventType.counts,
            _table(EventType.counts, [SAMPLES[EventType.counts][0] | {"ts": T0.replace(year=2031)}]),
        )
        raise RuntimeError("the batch failed half-way")
    assert [event_store.count(kind) for kind in EventType] == [0, 0, 0, 0]
    assert _quarantined(event_store) == []
    with event_store.transaction():
        assert event_store.write(EventType.measurements, _table(EventType.measurements, [_point(0)])) == 1
        later = SAMPLES[EventType.counts][0] | {"ts": T0.replace(year=2031)}
        assert event_store.write(EventType.counts, _table(EventType.counts, [later])) == 1
    assert event_store.count(EventType.measurements) == 1
    assert event_store.table(EventType.counts)["ts"].to_pylist() == [T0.replace(year=2031)]


def test_the_quarantine_adds_lists_counts_and_removes(event_store: EventStore) -> None:
    q = quarantine_of(event_store)
    rows = [
        Rejected("a.csv:2", "bad time: 'x'", '{"t": "x"}'),
        Rejected("a.csv:3", "bad count: good is NaN", b"\xfe\xff"),
        Rejected("plant/line/m1/temp", "bad time: empty", "{}"),
    ]
    assert q.add(rows, "h1", received_at=datetime(2026, 3, 2, 8)) == 3
    assert q.add(rows, "h1") == 0  # the same rows again: nothing new
    assert q.add(rows[:1], "h2") == 1  # rejected by another mapping: kept apart
    entries = q.list()
    assert [e.source for e in entries] == ["a.csv:2", "a.csv:3", "plant/line/m1/temp", "a.csv:2"]
    assert [e.source for e in q.list(source="a.csv")] == ["a.csv:2", "a.csv:3", "a.csv:2"]
    assert [e.source for e in q.list(reason="bad time", limit=1)] == ["a.csv:2"]
    assert q.count() == {"bad time": 3, "bad count": 1}
    assert q.count(source="plant/") == {"bad time": 1}
    one = q.show(entries[1].id)
    assert one is not None and one.raw == b"\xfe\xff" and one.raw_text() == "\\xfe\\xff"
    assert one.received_at == datetime(2026, 3, 2, 8) and one.mapping_hash == "h1"
    assert q.show(999) is None
    assert q.remove([entries[0].id, entries[1].id]) == 2
    assert q.count() == {"bad time": 2}


# --- any order, any redelivery ---------------------------------------------------------------


_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _batched(draw: st.DrawFn, rows: list[Any]) -> list[list[Any]]:
    """``rows`` with some sent again, shuffled and cut into batches."""
    again = draw(st.lists(st.sampled_from(rows), max_size=len(rows)))
    sent = draw(st.permutations(rows + again))
    cuts = sorted(draw(st.lists(st.integers(0, len(sent)), max_size=4)))
    return [sent[a:b] for a, b in zip([0, *cuts], [*cuts, len(sent)], strict=True)]


@st.composite
def _clean_streams(draw: st.DrawFn) -> tuple[list[Row], list[list[Row]], list[list[Row]]]:
    """Rows without conflicts or overlaps, and two ways of sending them (orders, batches, repeats)."""
    rows: list[Row] = []
    for eq in ("M1", "M2"):
        t = 0
        for gap, length in draw(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 20)), max_size=8)):
            t += gap
            rows.append(_state(eq, t, t + length, draw(st.sampled_from(["running", "idle"]))))
            t += length
    keys = st.tuples(st.integers(0, 50), st.sampled_from(["M1", "M2"]), st.sampled_from(["temp", "rpm"]))
    for m, eq, sig in draw(st.lists(keys, max_size=15, unique=True)):
        rows.append(_point(m, eq, sig, value=float(m) / 3))
    if not rows:
        rows.append(_point(0))
    return rows, _batched(draw, rows), _batched(draw, rows)


def _kind(row: Row) -> EventType:
    return EventType.states if "state" in row else EventType.measurements


def _send(store: EventStore, stream: list[list[Row]]) -> WriteReport:
    total = WriteReport()
    for batch in stream:
        for kind in (EventType.states, EventType.measurements):
            part = [r for r in batch if _kind(r) == kind]
            if part:
                total += store.write_report(kind, _table(kind, part))
    return total


def _stored(store: EventStore) -> dict[EventType, list[Row]]:
    return {k: _by_key(k, store.table(k).to_pylist()) for k in (EventType.states, EventType.measurements)}


@_SETTINGS
@given(streams=_clean_streams())
def test_what_is_stored_does_not_depend_on_the_order(
    engine: Engine, streams: tuple[list[Row], list[list[Row]], list[list[Row]]]
) -> None:
    rows, one, other = streams
    first, second = engine.fresh(), engine.fresh()
    a, b = _send(first, one), _send(second, other)
    expected = {
        k: _by_key(k, [r for r in rows if _kind(r) == k]) for k in (EventType.states, EventType.measurements)
    }
    assert _stored(first) == _stored(second) == expected
    assert a.stored == b.stored == len(rows)
    assert (a.refused, b.refused) == (0, 0)
    assert a.sent == sum(map(len, one)) and b.sent == sum(map(len, other))


_state_rows = st.lists(
    st.tuples(
        st.sampled_from(["M1", "M2"]),
        st.integers(0, 40),
        st.integers(0, 15),
        st.sampled_from(["running", "idle", "unplanned_down"]),
    ),
    min_size=1,
    max_size=25,
)


@st.composite
def _dirty_stream(draw: st.DrawFn) -> list[list[Row]]:
    """States that overlap and conflict, points that conflict, all sent again in any order."""
    rows = [_state(eq, a, a + n, state) for eq, a, n, state in draw(_state_rows)]
    points = st.tuples(st.integers(0, 5), st.sampled_from(["M1", "M2"]), st.sampled_from([1.0, 2.0]))
    rows += [_point(m, eq, value=v) for m, eq, v in draw(st.lists(points, max_size=15))]
    return _batched(draw, rows)


def _frozen(row: Row) -> tuple[Any, ...]:
    return tuple(sorted((k, str(v)) for k, v in row.items()))


@_SETTINGS
@given(stream=_dirty_stream())
def test_nothing_sent_is_lost_and_states_never_overlap(engine: Engine, stream: list[list[Row]]) -> None:
    store = engine.fresh()
    total = _send(store, stream)
    assert total.sent == sum(map(len, stream))
    stored = _stored(store)
    assert total.stored == sum(map(len, stored.values())) == sum(store.count(k) for k in stored)
    for eq, of_one in itertools.groupby(stored[EventType.states], key=lambda r: r["equipment"]):
        ordered = sorted(of_one, key=lambda r: r["start"])
        for x, y in itertools.pairwise(ordered):
            assert x["end"] <= y["start"], (eq, x, y)
    # one value per key
    for kind, rows in stored.items():
        keys = [tuple(r[k] for k in KEYS[kind]) for r in rows]
        assert len(keys) == len(set(keys))
    quarantined = _quarantined(store)
    kinds = {q["reason"].split(":")[0] for q in quarantined}
    assert kinds <= {"conflict", "overlap"}
    assert bool(quarantined) == bool(total.refused)
    # every row sent is stored (identical), or in the quarantine with its reason
    kept = {_frozen(r) for rows in stored.values() for r in rows}
    refused = {_frozen({k: v for k, v in q["sent"].items()}) for q in quarantined}
    for row in itertools.chain.from_iterable(stream):
        assert _frozen(row) in kept or _frozen(row) in refused, row


@st.composite
def _point_stream(draw: st.DrawFn) -> list[list[Row]]:
    """Points whose keys repeat with one of two values, sent in any order and batching."""
    keys = st.tuples(st.integers(0, 5), st.sampled_from(["M1", "M2"]), st.sampled_from(["temp", "rpm"]))
    sent = draw(st.lists(st.tuples(keys, st.sampled_from([1.0, 2.0])), min_size=1, max_size=20))
    return _batched(draw, [_point(m, eq, sig, value=v) for (m, eq, sig), v in sent])


@_SETTINGS
@given(stream=_point_stream())
def test_the_first_value_sent_for_a_key_stays(engine: Engine, stream: list[list[Row]]) -> None:
    first: dict[tuple[Any, ...], float] = {}
    for row in itertools.chain.from_iterable(stream):
        first.setdefault((row["ts"], row["equipment"], row["signal"]), row["value"])
    store = engine.fresh()
    total = _send(store, stream)
    stored = {
        (r["ts"], r["equipment"], r["signal"]): r["value"]
        for r in store.table(EventType.measurements).to_pylist()
    }
    assert stored == first
    assert total.stored == len(first)


# --- both engines side by side ---------------------------------------------------------------


@pytest.fixture
def both(tmp_path: Path, postgres_url: str) -> Iterator[tuple[TelemetryStore, PgTelemetryStore]]:
    """An empty DuckDB store and an empty PostgreSQL store."""
    with TelemetryStore.open(tmp_path / "duck") as duck, PgTelemetryStore.open(postgres_url) as pg:
        yield duck, pg


def _exported(folder: Path, kind: EventType) -> pa.Table:
    table = ds.dataset(folder / kind.value, format="parquet", partitioning="hive").to_table()
    return table.sort_by([(c, "ascending") for c in table.column_names])


@pytest.mark.postgres
def test_parquet_exports_are_the_same_on_both(
    tmp_path: Path, both: tuple[TelemetryStore, PgTelemetryStore]
) -> None:
    rows = [_point(m * 97.5, eq, "temp", value=m / 7) for m in range(60) for eq in ("M1", "M2")]
    exports = []
    for store in both:
        store.write(EventType.measurements, _table(EventType.measurements, rows))
        for kind in (EventType.states, EventType.counts, EventType.alarms):
            store.write(kind, _table(kind, SAMPLES[kind]))
        folder = tmp_path / type(store).__name__
        written = store.export_parquet(folder, start=T0, end=T0 + timedelta(days=3))
        assert sorted(written) == sorted(k.value for k in EventType)
        exports.append(folder)
    duck, pg = exports
    for kind in EventType:
        days = sorted(p.name for p in (duck / kind.value).iterdir())
        assert days == sorted(p.name for p in (pg / kind.value).iterdir()), kind
        a, b = _exported(duck, kind), _exported(pg, kind)
        sent = rows if kind == EventType.measurements else SAMPLES[kind]
        assert a.num_rows == sum(T0 <= r[TIME_COLUMN[kind]] < T0 + timedelta(days=3) for r in sent) > 0
        assert a.select(SCHEMAS[kind].names).to_pylist() == b.select(SCHEMAS[kind].names).to_pylist(), kind
        assert a.column("day").to_pylist() == b.column("day").to_pylist()
    assert sorted(p.name for p in (duck / "measurements").iterdir()) == [
        f"day={date(2026, 3, d).isoformat()}" for d in (2, 3, 4, 5)
    ]


PLANT_FILE = Path(__file__).resolve().parents[2] / "examples" / "plants" / "discrete_machining.toml"


@pytest.mark.postgres
def test_kpis_of_a_simulated_plant_are_the_same_on_both(
    both: tuple[TelemetryStore, PgTelemetryStore],
) -> None:
    plant = load_plant(PLANT_FILE)
    start = datetime(2026, 3, 2)  # Monday 00:00 in Asia/Shanghai
    sink = MemorySink()
    simulate(plant, sink, start=start, days=2, seed=3)
    duck, pg = both
    for kind, batches in sink.batches.items():
        for batch in batches:  # batch by batch, as the twin writes a store
            assert duck.write(kind, batch) == pg.write(kind, batch) == batch.num_rows
    assert [pg.count(k) for k in EventType] == [duck.count(k) for k in EventType]
    for by, per in [("equipment", "day"), ("line", "shift"), ("site", "window")]:
        on_duck = compute_result(duck, start, date(2026, 3, 4), plant=plant, by=by, per=per)
        on_pg = compute_result(pg, start, date(2026, 3, 4), plant=plant, by=by, per=per)
        assert on_duck.table.num_rows > 0
        assert_same_kpis(on_duck, on_pg)


def test_open_states_are_kept_and_replaced_by_equipment(event_store: EventStore) -> None:
    """What live ingest keeps between runs: one open state per equipment, the last one saved wins."""
    assert event_store.load_open_states().num_rows == 0

    def rows(*items: tuple[str, float, str, str | None]) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {"equipment": e, "start": _at(m), "state": s, "reason": r, "order_id": None, "product": None}
                for e, m, s, r in items
            ],
            schema=OPEN_STATES_SCHEMA,
        )

    with event_store.transaction():
        event_store.save_open_states(rows(("M1", 0, "running", None), ("M2", 1, "idle", None)))
    event_store.save_open_states(rows(("M1", 5, "unplanned_down", "BRK")))
    found = event_store.load_open_states()
    assert found.schema == OPEN_STATES_SCHEMA
    assert [(r["equipment"], r["start"], r["state"], r["reason"]) for r in found.to_pylist()] == [
        ("M1", _at(5), "unplanned_down", "BRK"),
        ("M2", _at(1), "idle", None),
    ]
