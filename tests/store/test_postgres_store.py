"""What only the PostgreSQL store has: partitions, keys in the database, concurrent writers, the URL.

The behaviour both stores share is in ``test_store_conformance.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest

from smartfactory.kpi import compute_result
from smartfactory.model.errors import UserError
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant_file import load_plant
from smartfactory.simulate import simulate
from smartfactory.store import PgTelemetryStore, StoreFolder, TelemetryStore, is_postgres_url
from smartfactory.store.integrity import WriteReport
from smartfactory.store.postgres import SCHEMA_VERSION, conninfo

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 30, 22, 0)


def _states(*rows: tuple[str, datetime, datetime]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"equipment": eq, "start": a, "end": b, "state": "running", "reason": None}
            | {"order_id": None, "product": None}
            for eq, a, b in rows
        ],
        schema=SCHEMAS[EventType.states],
    )


def _points(*times: datetime, equipment: str = "M1") -> pa.Table:
    return pa.Table.from_pylist(
        [{"ts": t, "equipment": equipment, "signal": "temp", "value": 1.5} for t in times],
        schema=SCHEMAS[EventType.measurements],
    )


def _sql(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        cursor = connection.execute(query)
        return cursor.fetchall() if cursor.description else []


def test_monthly_partitions_are_made_when_a_write_needs_them(postgres_url: str) -> None:
    with PgTelemetryStore.open(postgres_url) as store:
        # one batch across a month boundary, another two months later
        store.write(EventType.measurements, _points(T0, T0 + timedelta(days=3)))
        store.write(EventType.measurements, _points(datetime(2026, 5, 20)))
    parts = _sql(
        postgres_url,
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'measurements'::regclass ORDER BY 1",
    )
    assert [name for name, _ in parts] == [
        "measurements_default",
        "measurements_p202603",
        "measurements_p202604",
        "measurements_p202605",
        "measurements_p202606",  # made ahead, for live ingest crossing the month
    ]
    assert dict(parts)["measurements_p202604"] == (
        "FOR VALUES FROM ('2026-04-01 00:00:00') TO ('2026-05-01 00:00:00')"
    )
    assert _sql(postgres_url, "SELECT count(*) FROM measurements_default") == [(0,)]
    assert _sql(postgres_url, "SELECT count(*) FROM measurements_p202604") == [(1,)]


def test_the_database_itself_refuses_a_second_row_with_a_key(postgres_url: str) -> None:
    with PgTelemetryStore.open(postgres_url) as store:
        store.write(EventType.states, _states(("M1", T0, T0 + timedelta(hours=1))))
    with pytest.raises(psycopg.errors.UniqueViolation):
        _sql(
            postgres_url,
            'INSERT INTO states (equipment, start, "end", state) '
            "VALUES ('M1', '2026-03-30 22:00', '2026-03-30 22:30', 'idle')",
        )


def test_rows_the_default_partition_caught_move_into_their_new_month(postgres_url: str) -> None:
    PgTelemetryStore.open(postgres_url).close()
    # written around the store: no partition for 2030 yet, so the default one takes the row
    _sql(postgres_url, "INSERT INTO measurements VALUES ('2030-01-05', 'M1', 'temp', 2.5)")
    assert _sql(postgres_url, "SELECT count(*) FROM measurements_default") == [(1,)]
    with PgTelemetryStore.open(postgres_url) as store:
        report = store.write_report(
            EventType.measurements, _points(datetime(2030, 1, 5), datetime(2030, 1, 6))
        )
        # the stray row is a stored row like any other: same key, other value → conflict
        assert report == WriteReport(stored=1, conflicts=1)
        assert store.count(EventType.measurements) == 2
    assert _sql(postgres_url, "SELECT count(*) FROM measurements_default") == [(0,)]
    assert _sql(postgres_url, "SELECT count(*) FROM measurements_p203001") == [(2,)]


def test_concurrent_writers_never_store_overlapping_states(postgres_url: str) -> None:
    stores = [PgTelemetryStore.open(postgres_url) for _ in range(4)]
    try:
        for round_ in range(5):
            start = T0 + timedelta(hours=round_)
            barrier = threading.Barrier(len(stores))
            reports: list[WriteReport] = []

            def write(
                store: PgTelemetryStore,
                i: int,
                start: datetime = start,
                barrier: threading.Barrier = barrier,
                reports: list[WriteReport] = reports,
            ) -> None:
                # each writer its own interval, all overlapping each other
                batch = _states(("M1", start + timedelta(minutes=i), start + timedelta(minutes=30 + i)))
                barrier.wait()
                reports.append(store.write_report(EventType.states, batch))

            threads = [threading.Thread(target=write, args=(s, i)) for i, s in enumerate(stores)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert sorted((r.stored, r.overlaps) for r in reports) == [(0, 1)] * 3 + [(1, 0)], round_
        rows = stores[0].table(EventType.states).to_pylist()
        assert len(rows) == 5
        for a, b in itertools.pairwise(rows):
            assert a["end"] <= b["start"]
        assert stores[0].quarantine().count() == {"overlap": 15}
    finally:
        for s in stores:
            s.close()


def test_read_mode_and_missing_stores_are_named(postgres_url: str) -> None:
    with pytest.raises(UserError, match="no telemetry store in postgresql://"):
        PgTelemetryStore.open(postgres_url, mode="read")
    PgTelemetryStore.open(postgres_url).close()
    with PgTelemetryStore.open(postgres_url, mode="read") as store:
        with pytest.raises(UserError, match="read-only"):
            store.write(EventType.measurements, _points(T0))
        assert store.count(EventType.measurements) == 0


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(UserError) as caught:
        PgTelemetryStore.open(url)
    text = str(caught.value)
    assert text.startswith("cannot open telemetry store postgresql://someone@127.0.0.1:1/nowhere: ")
    assert "s3cret" not in text and "\n" not in text


def test_a_store_written_by_a_newer_version_is_refused(postgres_url: str) -> None:
    PgTelemetryStore.open(postgres_url).close()
    _sql(postgres_url, f"INSERT INTO telemetry_schema VALUES ({SCHEMA_VERSION + 1})")
    for mode in ("read", "write"):
        with pytest.raises(UserError, match="newer than this smartfactory"):
            PgTelemetryStore.open(postgres_url, mode=mode)


def test_opening_twice_at_once_creates_the_tables_once(postgres_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_it() -> None:
        barrier.wait()
        try:
            PgTelemetryStore.open(postgres_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert _sql(postgres_url, "SELECT version FROM telemetry_schema") == [(SCHEMA_VERSION,)]


PLANT_FILE = Path(__file__).resolve().parents[2] / "examples" / "plants" / "discrete_machining.toml"


def test_a_store_url_holds_telemetry_and_registry(postgres_url: str, tmp_path: Path) -> None:
    assert is_postgres_url(postgres_url) and not is_postgres_url(tmp_path)
    folder = StoreFolder.at(postgres_url)
    assert folder.registry_url == folder.telemetry_url == postgres_url
    assert "@" in folder.location and folder.location.startswith("postgresql://")
    assert StoreFolder.at(tmp_path) == StoreFolder(tmp_path)
    with pytest.raises(UserError, match="embedded store folder only"):
        folder.open_telemetry("write")
    plant = load_plant(PLANT_FILE)
    with folder.open_registry() as registry:
        registry.save_plant(plant, str(PLANT_FILE), hashlib.sha256(PLANT_FILE.read_bytes()).hexdigest())
    store = folder.open_events("write")
    assert isinstance(store, PgTelemetryStore)
    with store:
        simulate(plant, store, start=datetime(2026, 3, 2), days=1, seed=5)
        assert store.count(EventType.states) > 0
        # the plant comes from the registry in the same database
        result = compute_result(store, datetime(2026, 3, 2), datetime(2026, 3, 3), by="equipment", per="day")
        assert result.table.num_rows == len(plant.equipment) == 12
        values = [r["availability"] for r in result.rows() if r["availability"] is not None]
        assert len(values) == 11 and all(0 < v <= 1 for v in values)  # one machine is not networked
    embedded = StoreFolder(tmp_path / "embedded").open_events("write")
    assert isinstance(embedded, TelemetryStore)
    embedded.close()


def test_values_survive_a_server_configured_otherwise(postgres_url: str) -> None:
    name = _sql(postgres_url, "SELECT current_database()")[0][0]
    _sql(postgres_url, f'ALTER DATABASE "{name}" SET extra_float_digits = -15')
    _sql(postgres_url, f"ALTER DATABASE \"{name}\" SET DateStyle = 'SQL, DMY'")
    values = [0.1 + 0.2, 1 / 3, 2.5e-300]
    at = datetime(2026, 3, 4, 5, 6, 7, 891011)
    with PgTelemetryStore.open(postgres_url) as store:
        batch = pa.Table.from_pylist(
            [
                {"ts": at + timedelta(seconds=i), "equipment": "M1", "signal": "temp", "value": v}
                for i, v in enumerate(values)
            ],
            schema=SCHEMAS[EventType.measurements],
        )
        store.write(EventType.measurements, batch)
        got = store.table(EventType.measurements)
        assert got["value"].to_pylist() == values
        assert got["ts"][0].as_py() == at
        on_ibis = store.ibis_backend().table("measurements").order_by("ts").to_pyarrow()
        assert on_ibis["value"].to_pylist() == values
