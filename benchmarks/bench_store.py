"""Store write rate: ``TelemetryStore.write`` against a raw DuckDB insert of the same rows.

A measurements table (5,000,000 rows: increasing µs timestamps, 12 equipment, 5 signals, float
values, exactly ``SCHEMAS[EventType.measurements]``) is built once, outside the timers. Each
run, in fresh files under a temp folder:

* store, batched: ``TelemetryStore.write`` in slices of 100,000 rows, then CHECKPOINT;
* store, re-write: the same slices again into that store, all duplicates (0 rows stored);
* raw, batched (the floor): ``INSERT INTO measurements SELECT * FROM tbl`` of the same slices
  into a fresh DuckDB file with the store's DDL, no dedupe, then CHECKPOINT;
* store and raw, whole table: one write of all rows each, then CHECKPOINT.

Median of 3 runs. ``ratio`` is store wall time ÷ raw wall time. Target: ≤ 1.5×.

Run alone: ``.venv/bin/python benchmarks/bench_store.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from common import Row, environment, markdown, median_of, rate, spread, times, verdict
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.store import TelemetryStore
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
}


@dataclass
class Sizes:
    rows: int
    batch: int
    repeats: int


FULL = Sizes(rows=5_000_000, batch=100_000, repeats=3)
QUICK = Sizes(rows=200_000, batch=20_000, repeats=1)


def measurements(n: int, seed: int = 0) -> pa.Table:
    """``n`` measurement rows with unique keys and strictly increasing timestamps."""
    i = np.arange(n, dtype=np.int64)
    equipment = pa.array([f"EQ-{k + 1:02d}" for k in range(EQUIPMENT)], pa.string())
    signals = pa.array(list(SIGNALS), pa.string())
    return pa.table(
        [
            pa.array(ORIGIN_US + i * STEP_US, pa.timestamp("us")),
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

    samples: dict[str, list[float]] = {k: [] for k in ("store", "again", "raw", "store_all", "raw_all")}
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
            f"re-write same {sizes.batch:,}-row batches (all duplicates, 0 stored)",
            rate(n / m["again"]),
            f"raw INSERT: {rate(n / m['raw'])}",
            times(m["again"] / m["raw"]),
        ),
    ]
    notes = [
        f"table built once in {build_s:.2f} s ({table.nbytes / 1e6:,.0f} MB in Arrow), "
        f"{len(parts)} batches; every write is followed by CHECKPOINT inside the timer",
        *(f"{NAMES[k]}: {spread(v)} ({len(v)} runs)" for k, v in samples.items()),
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
