"""Store write rate: ``TelemetryStore.write`` against a raw DuckDB insert of the same rows.

A measurements table (5,000,000 rows: increasing µs timestamps, 12 equipment, 5 signals, float
values, exactly ``SCHEMAS[EventType.measurements]``) is built once, outside the timers. Each
run, in fresh files under a temp folder:

* store, batched: ``TelemetryStore.write`` in slices of 100,000 rows, then CHECKPOINT;
* store, re-write: the same slices again into that store, all duplicates (0 rows stored);
* raw, batched (the floor): ``INSERT INTO measurements SELECT * FROM tbl`` of the same slices
  into a fresh DuckDB file with the store's DDL, no dedupe, then CHECKPOINT;
* store and raw, whole table: one write of all rows each, then CHECKPOINT;
* store and raw, snapshot batches: the same number of rows where every equipment's every signal is
  read at one instant (60 rows share a timestamp), in the same slices: the store must hash the
  keys to prove them unique (with strictly increasing times the times prove it).

Median of 3 runs. ``ratio`` is store wall time ÷ raw wall time. Target: ≤ 1.5×.

PostgreSQL rows (when a server answers at ``SMARTFACTORY_BENCH_POSTGRES``, else
``SMARTFACTORY_TEST_POSTGRES``, else postgres@127.0.0.1:5432): the first 1,000,000 rows of the
same table (``--quick``: all of it), in the same slices, each run in a fresh database:

* store, batched: ``PgTelemetryStore.write`` per slice (COPY into a staging table, dedupe and
  integrity checks, insert into the monthly partitions), then its re-write (all duplicates);
* plain COPY (the baseline): ``COPY measurements FROM STDIN`` of the same slices, CSV written by
  Arrow as the store does, one transaction per slice, into the same partitioned table (the
  store's DDL, partitions made beforehand), no dedupe.

The ratio is reported without a target (the issue asks for the figure on PostgreSQL).

Run alone: ``.venv/bin/python benchmarks/bench_store.py [--quick]``.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from common import Row, environment, markdown, median_of, rate, spread, times, verdict
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.store import PgTelemetryStore, TelemetryStore
from smartfactory.store.postgres import _create_partition, _months, conninfo, shown_url
from smartfactory.store.telemetry import _create_sql

TARGET = 1.5
EQUIPMENT = 12
SIGNALS = ("spindle_temp", "vibration_rms", "motor_current", "coolant_pressure", "spindle_speed")
ORIGIN_US = 1_772_409_600_000_000  # 2026-03-02 00:00 UTC
STEP_US = 20_000  # one reading every 20 ms across the plant; each series every 1.2 s
NAMES = {
    "store": "wall, store batched",
    "again": "wall, store re-write",
    "raw": "wall, raw batched",
    "store_all": "wall, store whole table",
    "raw_all": "wall, raw whole table",
    "store_snap": "wall, store batched, 60 readings per timestamp",
    "raw_snap": "wall, raw batched, 60 readings per timestamp",
}


@dataclass
class Sizes:
    rows: int
    batch: int
    repeats: int
    pg_rows: int  # the PostgreSQL rows write this many of the same rows, in the same slices


FULL = Sizes(rows=5_000_000, batch=100_000, repeats=3, pg_rows=1_000_000)
QUICK = Sizes(rows=200_000, batch=20_000, repeats=1, pg_rows=200_000)
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def measurements(n: int, seed: int = 0, snapshots: bool = False) -> pa.Table:
    """``n`` measurement rows with unique keys and strictly increasing timestamps.

    ``snapshots``: every equipment's every signal read at the same instant (60 rows share a
    timestamp, as a PLC scan or an OPC UA subscription delivers them), so the store cannot prove
    the keys unique from the times alone and hashes them.
    """
    i = np.arange(n, dtype=np.int64)
    equipment = pa.array([f"EQ-{k + 1:02d}" for k in range(EQUIPMENT)], pa.string())
    signals = pa.array(list(SIGNALS), pa.string())
    group = EQUIPMENT * len(SIGNALS)
    ts = ORIGIN_US + (i // group) * group * STEP_US if snapshots else ORIGIN_US + i * STEP_US
    return pa.table(
        [
            pa.array(ts, pa.timestamp("us")),
            equipment.take(pa.array(i % EQUIPMENT)),
            signals.take(pa.array((i // EQUIPMENT) % len(SIGNALS))),
            pa.array(np.random.default_rng(seed).normal(50.0, 5.0, n), pa.float64()),
        ],
        schema=SCHEMAS[EventType.measurements],
    )


def slices(table: pa.Table, batch: int) -> list[pa.Table]:
    return [table.slice(offset, batch) for offset in range(0, table.num_rows, batch)]


def timed(action: Callable[[], object]) -> float:
    clock = time.perf_counter()
    action()
    return time.perf_counter() - clock


def store_write(folder: Path, parts: list[pa.Table], expect: int, rewrite: bool) -> tuple[float, float]:
    """Wall seconds of the store write, and (``rewrite``) of writing the same batches again."""
    store = TelemetryStore.open(folder, mode="write")
    try:
        written = 0

        def write_all() -> None:
            nonlocal written
            for part in parts:
                written += store.write(EventType.measurements, part)
            store.flush()

        first = timed(write_all)
        _check("store, batched", written, expect, _stored(store), expect)
        again = float("nan")
        if rewrite:
            written = 0
            again = timed(write_all)
            _check("store, re-write", written, 0, _stored(store), expect)
    finally:
        store.close()
    return first, again


def _stored(store: TelemetryStore) -> int:
    # not store.count(): with duckdb 2.0 its fetchone() leaves the result open and the next
    # write on the connection raises ResourceInUseException
    return int(store.query("SELECT count(*) AS n FROM measurements")["n"][0].as_py())


def raw_insert(file: Path, parts: list[pa.Table], expect: int) -> float:
    """Wall seconds of plain DuckDB inserts of the same batches, no dedupe."""
    connection = duckdb.connect(str(file))
    try:
        connection.execute(_create_sql(EventType.measurements))

        def insert_all() -> None:
            for part in parts:
                connection.register("tbl", part)
                try:
                    connection.execute("INSERT INTO measurements SELECT * FROM tbl")
                finally:
                    connection.unregister("tbl")
            connection.execute("CHECKPOINT")

        seconds = timed(insert_all)
        row = connection.execute("SELECT count(*) FROM measurements").fetchone()
        _check("raw, batched", expect, expect, int(row[0]) if row else 0, expect)
    finally:
        connection.close()
    return seconds


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_server() -> tuple[str | None, str]:
    """The admin URL of a reachable server, or None and why not."""
    url = (
        os.environ.get("SMARTFACTORY_BENCH_POSTGRES")
        or os.environ.get("SMARTFACTORY_TEST_POSTGRES")
        or PG_DEFAULT
    )
    try:
        psycopg.connect(conninfo(url), connect_timeout=5).close()
    except psycopg.Error as exc:
        return (
            None,
            f"PostgreSQL rows skipped: no server at {shown_url(url)} ({str(exc).strip().splitlines()[0]})",
        )
    return url, ""


class FreshDatabase:
    """A new, empty database on the server, dropped on exit."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"sf_bench_{secrets.token_hex(6)}"
        info = psycopg.conninfo.conninfo_to_dict(conninfo(admin_url))
        info["dbname"] = self.name
        self.url = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})

    def __enter__(self) -> str:
        with psycopg.connect(conninfo(self.admin_url), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        return self.url

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(conninfo(self.admin_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def pg_store_write(url: str, parts: list[pa.Table], expect: int) -> tuple[float, float]:
    """Wall seconds of ``PgTelemetryStore.write`` of the slices, and of writing them again."""
    with PgTelemetryStore.open(url, mode="write") as store:
        written = 0

        def write_all() -> None:
            nonlocal written
            for part in parts:
                written += store.write(EventType.measurements, part)

        first = timed(write_all)
        _check("postgres store, batched", written, expect, store.count(EventType.measurements), expect)
        written = 0
        again = timed(write_all)
        _check("postgres store, re-write", written, 0, store.count(EventType.measurements), expect)
    return first, again


def pg_plain_copy(url: str, parts: list[pa.Table], expect: int) -> float:
    """Wall seconds of plain COPYs of the slices into the store's partitioned table, no dedupe."""
    PgTelemetryStore.open(url, mode="write").close()  # the store's DDL
    with psycopg.connect(url, autocommit=True) as connection:
        times_ = pa.chunked_array([p["ts"] for p in parts])
        bounds = pc.min_max(times_)
        with connection.transaction():
            for year, month in _months(bounds["min"].as_py(), bounds["max"].as_py()):
                _create_partition(connection, EventType.measurements, year, month)

        def copy_all() -> None:
            for part in parts:
                data = io.BytesIO()
                pacsv.write_csv(part, data, pacsv.WriteOptions(include_header=False))
                with (
                    connection.cursor() as cursor,
                    cursor.copy(
                        "COPY measurements (ts, equipment, signal, value) FROM STDIN (FORMAT csv)"
                    ) as copy,
                ):
                    copy.write(data.getbuffer())

        seconds = timed(copy_all)
        row = connection.execute("SELECT count(*) FROM measurements").fetchone()
        _check("plain COPY", expect, expect, int(row[0]) if row else 0, expect)
    return seconds


def run_postgres(sizes: Sizes, table: pa.Table) -> tuple[list[Row], list[str]]:
    """The PostgreSQL rows and their notes (one note saying why when no server answers)."""
    admin_url, why = postgres_server()
    if admin_url is None:
        return [], [why]
    subset = table.slice(0, min(sizes.pg_rows, table.num_rows))
    parts = slices(subset, sizes.batch)
    n = subset.num_rows
    samples: dict[str, list[float]] = {"store": [], "again": [], "copy": []}
    for run_no in range(sizes.repeats):
        order = ("store", "copy") if run_no % 2 == 0 else ("copy", "store")
        for side in order:
            with FreshDatabase(admin_url) as url:
                if side == "store":
                    first, again = pg_store_write(url, parts, n)
                    samples["store"].append(first)
                    samples["again"].append(again)
                else:
                    samples["copy"].append(pg_plain_copy(url, parts, n))
    m = {k: median_of(v) for k, v in samples.items()}
    label = f"postgres measurements {n:,} rows"
    rows = [
        Row(
            label,
            f"PgTelemetryStore.write, {sizes.batch:,}-row batches",
            rate(n / m["store"]),
            f"plain COPY: {rate(n / m['copy'])}",
            times(m["store"] / m["copy"]),
        ),
        Row(
            label,
            f"re-write same {sizes.batch:,}-row batches (all duplicates, 0 stored)",
            rate(n / m["again"]),
            f"plain COPY: {rate(n / m['copy'])}",
            times(m["again"] / m["copy"]),
        ),
    ]
    with psycopg.connect(conninfo(admin_url)) as connection:
        version = connection.execute("SHOW server_version").fetchone()
    notes = [
        f"PostgreSQL {version[0] if version else '?'} at {shown_url(admin_url)}, a fresh database per run; "
        "ratio = store wall time ÷ plain COPY wall time into the same partitioned table",
        f"postgres store batched: {spread(samples['store'])}; re-write: {spread(samples['again'])}; "
        f"plain COPY: {spread(samples['copy'])} ({len(samples['copy'])} runs)",
    ]
    return rows, notes


def _check(what: str, written: int, expect_written: int, stored: int, expect_stored: int) -> None:
    if written != expect_written or stored != expect_stored:
        raise RuntimeError(
            f"{what}: write reported {written:,} rows (expected {expect_written:,}), "
            f"table holds {stored:,} (expected {expect_stored:,})"
        )


def run(quick: bool = False) -> str:
    """Run the benchmark and return its table (with notes) as markdown text."""
    sizes = QUICK if quick else FULL
    clock = time.perf_counter()
    table = measurements(sizes.rows)
    build_s = time.perf_counter() - clock
    parts = slices(table, sizes.batch)
    n = table.num_rows

    snap_parts = slices(measurements(sizes.rows, snapshots=True), sizes.batch)
    samples: dict[str, list[float]] = {
        k: [] for k in ("store", "again", "raw", "store_all", "raw_all", "store_snap", "raw_snap")
    }
    for run_no in range(sizes.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
            folder = Path(tmp)
            # alternate which side goes first so neither always gets the warmer cache
            order = ("store", "raw") if run_no % 2 == 0 else ("raw", "store")
            for side in order:
                if side == "store":
                    first, again = store_write(folder / f"store-{run_no}", parts, n, rewrite=True)
                    samples["store"].append(first)
                    samples["again"].append(again)
                else:
                    samples["raw"].append(raw_insert(folder / f"raw-{run_no}.duckdb", parts, n))
            for side in order:
                if side == "store":
                    whole, _ = store_write(folder / f"store-all-{run_no}", [table], n, rewrite=False)
                    samples["store_all"].append(whole)
                else:
                    samples["raw_all"].append(raw_insert(folder / f"raw-all-{run_no}.duckdb", [table], n))
            for side in order:
                if side == "store":
                    snap, _ = store_write(folder / f"store-snap-{run_no}", snap_parts, n, rewrite=False)
                    samples["store_snap"].append(snap)
                else:
                    samples["raw_snap"].append(
                        raw_insert(folder / f"raw-snap-{run_no}.duckdb", snap_parts, n)
                    )

    m = {k: median_of(v) for k, v in samples.items()}
    label = f"store measurements {n:,} rows"
    rows = [
        Row(
            label,
            f"TelemetryStore.write, {sizes.batch:,}-row batches",
            rate(n / m["store"]),
            f"raw INSERT: {rate(n / m['raw'])}",
            times(m["store"] / m["raw"]),
            f"≤ {TARGET:g}×",
            verdict(m["store"] / m["raw"] <= TARGET),
        ),
        Row(
            label,
            "TelemetryStore.write, whole table",
            rate(n / m["store_all"]),
            f"raw INSERT: {rate(n / m['raw_all'])}",
            times(m["store_all"] / m["raw_all"]),
            f"≤ {TARGET:g}×",
            verdict(m["store_all"] / m["raw_all"] <= TARGET),
        ),
        Row(
            label,
            f"TelemetryStore.write, {sizes.batch:,}-row batches, 60 readings per timestamp",
            rate(n / m["store_snap"]),
            f"raw INSERT: {rate(n / m['raw_snap'])}",
            times(m["store_snap"] / m["raw_snap"]),
            f"≤ {TARGET:g}×",
            verdict(m["store_snap"] / m["raw_snap"] <= TARGET),
        ),
        Row(
            label,
            f"re-write same {sizes.batch:,}-row batches (all duplicates, 0 stored)",
            rate(n / m["again"]),
            f"raw INSERT: {rate(n / m['raw'])}",
            times(m["again"] / m["raw"]),
        ),
    ]
    pg_rows, pg_notes = run_postgres(sizes, table)
    rows += pg_rows
    notes = [
        f"table built once in {build_s:.2f} s ({table.nbytes / 1e6:,.0f} MB in Arrow), "
        f"{len(parts)} batches; every write is followed by CHECKPOINT inside the timer",
        *(f"{NAMES[k]}: {spread(v)} ({len(v)} runs)" for k, v in samples.items()),
        *pg_notes,
    ]
    header = (
        f"### Store write rate ({n:,} measurement rows, median of {sizes.repeats})\n\n"
        "ratio = store wall time ÷ raw DuckDB wall time (lower is better)\n"
    )
    return header + "\n" + markdown(rows) + "\n\n" + "\n".join(f"- {x}" for x in notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (smoke test)")
    args = parser.parse_args(argv)
    print(environment())
    print(run(args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
