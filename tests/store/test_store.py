"""The telemetry store: idempotent writes, Parquet round trip, one writer, bad batches."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from plants import MachineSpec, PlantSpec
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant_file import parse_plant
from smartfactory.simulate import MemorySink, simulate
from smartfactory.store import TelemetryStore, summarise
from smartfactory.store.owner import publish_owner, withdraw_owner


def _measurements(n: int, offset_s: int = 0) -> pa.Table:
    base = int(datetime(2026, 3, 2).timestamp() * 1e6)
    return pa.table(
        {
            "ts": pa.array([base + (offset_s + i) * 1_000_000 for i in range(n)], pa.timestamp("us")),
            "equipment": ["M1"] * n,
            "signal": ["temp"] * n,
            "value": [float(i) for i in range(n)],
        },
        schema=SCHEMAS[EventType.measurements],
    )


def _events() -> MemorySink:
    spec = PlantSpec(
        cells=[[MachineSpec(cycle_s=60, weibull_scale_h=2.0, base_logit=-2.0)], [MachineSpec(cycle_s=50)]],
        buffers=[4, 1],
        quantity=300,
    )
    sink = MemorySink()
    simulate(parse_plant(spec.toml(), "t.toml"), sink, start=datetime(2026, 3, 2), days=1, seed=3)
    return sink


def test_writing_the_same_events_twice_stores_them_once(tmp_path: Path) -> None:
    sink = _events()
    with TelemetryStore.open(tmp_path) as store:
        for kind in EventType:
            table = sink.table(kind)
            assert store.write(kind, table) == table.num_rows
            assert store.write(kind, table) == 0
            # a batch overlapping what is stored adds only the new rows
            assert store.write(kind, pa.concat_tables([table.slice(0, 3), table.slice(0, 3)])) == 0
            assert store.count(kind) == table.num_rows


def test_duplicates_inside_one_batch_are_stored_once(tmp_path: Path) -> None:
    batch = _measurements(10)
    with TelemetryStore.open(tmp_path) as store:
        assert store.write(EventType.measurements, pa.concat_tables([batch, batch])) == 10
        assert store.write(EventType.measurements, _measurements(10, offset_s=5)) == 5
        assert store.count(EventType.measurements) == 15


def test_parquet_export_round_trip(tmp_path: Path) -> None:
    sink = _events()
    with TelemetryStore.open(tmp_path / "store") as store:
        for kind in EventType:
            store.write(kind, sink.table(kind))
        written = store.export_parquet(tmp_path / "export")
        for kind in EventType:
            original = store.table(kind)
            assert original.num_rows > 0, f"the test plant should emit {kind.value}"
            back = ds.dataset(written[kind.value], format="parquet", partitioning="hive").to_table()
            assert back.num_rows == original.num_rows
            columns = SCHEMAS[kind].names
            key = [(c, "ascending") for c in columns]
            assert back.select(columns).sort_by(key).to_pylist() == original.sort_by(key).to_pylist()
        days = sorted(p.name for p in (tmp_path / "export" / "states").iterdir())
        assert days[0].startswith("day=2026-03-0")


def test_period_query_is_half_open(tmp_path: Path) -> None:
    with TelemetryStore.open(tmp_path) as store:
        store.write(EventType.measurements, _measurements(100))
        first = store.table(EventType.measurements).column("ts")[0].as_py()
        got = store.table(EventType.measurements, start=first, end=first.replace(second=first.second + 10))
        assert got.num_rows == 10


def test_a_second_writer_process_gets_a_clear_error(tmp_path: Path) -> None:
    with TelemetryStore.open(tmp_path):
        code = f"from smartfactory.store import TelemetryStore\nTelemetryStore.open({str(tmp_path)!r})\n"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "StoreLockedError" in done.stderr
    assert "one writer process" in done.stderr
    assert "process" in done.stderr


def test_a_second_writer_is_told_which_command_owns_the_store(tmp_path: Path) -> None:
    with TelemetryStore.open(tmp_path):
        publish_owner(tmp_path, "http://127.0.0.1:9", "smartfactory ingest --plant p.toml")
        code = f"from smartfactory.store import TelemetryStore\nTelemetryStore.open({str(tmp_path)!r})\n"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        withdraw_owner(tmp_path)
    assert done.returncode != 0
    assert f"owned by `smartfactory ingest --plant p.toml` (process {os.getpid()})" in done.stderr
    assert "smartfactory serve --ingest" in done.stderr


def test_store_locked_error_is_a_user_error() -> None:
    assert issubclass(StoreLockedError, UserError)


def test_read_only_store_refuses_writes_and_missing_store_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no telemetry store"):
        TelemetryStore.open(tmp_path / "nowhere", mode="read")
    TelemetryStore.open(tmp_path).close()
    with TelemetryStore.open(tmp_path, mode="read") as store, pytest.raises(UserError, match="read-only"):
        store.write(EventType.measurements, _measurements(1))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["signal"]), "missing \\['signal'\\]"),
        (lambda t: t.append_column("extra", pa.array([1] * t.num_rows)), "unknown \\['extra'\\]"),
        (
            lambda t: t.set_column(3, "value", pa.array(["x"] * t.num_rows)),
            "wrong types",
        ),
        (
            lambda t: t.set_column(1, "equipment", pa.array([None] * t.num_rows, pa.string())),
            "nulls in required column 'equipment'",
        ),
    ],
)
def test_a_bad_batch_is_refused_and_nothing_stored_is_lost(
    tmp_path: Path, change: Callable[[pa.Table], pa.Table], message: str
) -> None:
    with TelemetryStore.open(tmp_path) as store:
        store.write(EventType.measurements, _measurements(5))
        with pytest.raises(UserError, match=message):
            store.write(EventType.measurements, change(_measurements(5, offset_s=100)))
        assert store.count(EventType.measurements) == 5


def test_summary_matches_the_twin_truth(tmp_path: Path) -> None:
    spec = PlantSpec(cells=[[MachineSpec(cycle_s=60, weibull_scale_h=2.0)]], buffers=[2], quantity=500)
    plant = parse_plant(spec.toml(), "t.toml")
    with TelemetryStore.open(tmp_path) as store:
        result = simulate(plant, store, start=datetime(2026, 3, 2), days=1, seed=1)
        rows, _ = summarise(store, plant)
    truth = result.machines["M1A"]
    (row,) = rows
    for state, seconds in truth.state_seconds.items():
        assert row.hours[state] == pytest.approx(seconds / 3600.0, abs=1e-6)
    assert (row.good, row.scrap, row.rework, row.failures) == (
        truth.good,
        truth.scrap,
        truth.rework,
        truth.failures,
    )
