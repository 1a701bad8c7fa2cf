"""The telemetry store: one DuckDB file holding states, counts, measurements and alarms.

DuckDB allows one writer *process* per file (many threads inside it are fine). The store
makes that explicit: open it with ``mode="write"`` in exactly one process; a second writer
gets a StoreLockedError that says who holds it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.events import KEYS, SCHEMAS, TIME_COLUMN, EventType
from smartfactory.store.closing import Closing
from smartfactory.store.integrity import OPEN_STATES_SCHEMA, WriteReport, conflict, conform, split_overlaps
from smartfactory.store.owner import read_owner
from smartfactory.store.quarantine import Quarantine, Rejected

TELEMETRY_FILE = "telemetry.duckdb"
READERS_WAIT_S = 5.0  # how long a writer waits for read-only openers of the file to finish

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
}


# the open state per equipment that live ingest keeps (``connect/open_states.py``)
_OPEN_STATES_DDL = (
    "CREATE TABLE IF NOT EXISTS open_states (equipment VARCHAR PRIMARY KEY, start TIMESTAMP NOT NULL, "
    "state VARCHAR NOT NULL, reason VARCHAR, order_id VARCHAR, product VARCHAR)"
)


def _create_sql(event_type: EventType) -> str:
    columns = ", ".join(
        f'"{f.name}" {_SQL_TYPES[f.type]}{"" if f.nullable else " NOT NULL"}' for f in SCHEMAS[event_type]
    )
    return f"CREATE TABLE IF NOT EXISTS {event_type.value} ({columns})"


class TelemetryStore(Closing):
    """Events in a DuckDB file: idempotent Arrow writes, period queries, Parquet export."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path, mode: str) -> None:
        self.connection = connection
        self.path = path
        self.mode = mode
        self._depth = 0  # nesting of transaction() on this connection

    @classmethod
    def open(cls, folder: str | Path, mode: Literal["write", "read"] = "write") -> TelemetryStore:
        """Open (creating in write mode) the telemetry file under ``folder``."""
        folder = Path(folder)
        path = folder / TELEMETRY_FILE
        if mode == "read" and not path.exists():
            raise UserError(f"no telemetry store at {path}; run `smartfactory simulate` or `ingest` first")
        if mode == "write":
            folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + READERS_WAIT_S
        while True:
            try:
                connection = duckdb.connect(str(path), read_only=mode == "read")
                break
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" not in text.lower():
                    raise UserError(f"cannot open telemetry store {path}: {text}") from None
                pid = re.search(r"PID (\d+)", text)
                holder = f"process {pid.group(1)}" if pid else "another process"
                # DuckDB adds this when the lock held is a reader's (shared): a command reading
                # for a moment, which a writer waits out
                if "read-only mode" not in text:
                    raise StoreLockedError(_held_by(path, holder)) from None
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"telemetry store {path} is being read by {holder}, still after "
                        f"{READERS_WAIT_S:g} s; try again when it has finished"
                    ) from None
                time.sleep(0.1)
        store = cls(connection, path, mode)
        if mode == "write":
            for event_type in EventType:
                connection.execute(_create_sql(event_type))
        return store

    # --- writing ----------------------------------------------------------------------

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Store a batch of events; return how many rows were stored (see ``write_report``)."""
        return self.write_report(event_type, batch).stored

    def write_report(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> WriteReport:
        """Store a batch under the integrity rules (``store/integrity.py``) and say what became of each row.

        Duplicates store nothing; conflicting values and overlapping states go to the quarantine
        in the same transaction as the stored rows.
        """
        if self.mode != "write":
            raise UserError(f"telemetry store {self.path} is open read-only")
        table = conform(event_type, batch)
        if table.num_rows == 0:
            return WriteReport()
        with self.transaction():
            report, refused = _Write(self.connection, event_type, table).run()
            if refused:
                Quarantine(self.connection).add(refused)
        return report

    @contextmanager
    def transaction(self) -> Iterator[TelemetryStore]:
        """One transaction, and this process's only writer of the file while it runs.

        Writes check what is stored before they insert, so two of them must not interleave:
        every writer in this process (ingest, imports, the server's own writes) takes the same
        lock. Nested use joins the outer transaction.
        """
        lock = _file_lock(self.path)
        with lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self.connection.execute("BEGIN TRANSACTION")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                with contextlib.suppress(duckdb.Error):
                    self.connection.execute("ROLLBACK")
                raise
            self._depth = 0
            self.connection.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint (when writing) and close the file."""
        if self.mode == "write":
            self.connection.execute("CHECKPOINT")
        self.connection.close()

    def flush(self) -> None:
        """Make everything written so far durable in the database file."""
        if self.mode == "write":
            self.connection.execute("CHECKPOINT")

    # --- reading ----------------------------------------------------------------------

    def table(
        self, event_type: EventType, start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """Events of one type, optionally in ``[start, end)`` (UTC), ordered by time."""
        time_column = TIME_COLUMN[event_type]
        where, params = _period(time_column, start, end)
        return self.connection.sql(
            f'SELECT * FROM {event_type.value} {where} ORDER BY "{time_column}", equipment',
            params=params,
        ).to_arrow_table()

    def count(self, event_type: EventType) -> int:
        """Number of stored events of one type."""
        row = _one(self.connection.execute(f"SELECT count(*) FROM {event_type.value}"))
        return int(row[0]) if row else 0

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Run read-only SQL against the store's tables; results as Arrow."""
        return self.connection.sql(sql, params=params or {}).to_arrow_table()

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """Earliest and latest event time across all tables (UTC)."""
        row = _one(
            self.connection.execute(
                "SELECT min(lo), max(hi) FROM ("
                'SELECT min("start") lo, max("end") hi FROM states UNION ALL '
                "SELECT min(ts), max(ts) FROM counts UNION ALL "
                "SELECT min(ts), max(ts) FROM measurements)"
            )
        )
        return (row[0], row[1]) if row else (None, None)

    # --- export -----------------------------------------------------------------------

    def export_parquet(
        self,
        folder: str | Path,
        event_types: list[EventType] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[str, Path]:
        """Write tables as Parquet partitioned by day: ``folder/<type>/day=YYYY-MM-DD/*.parquet``."""
        folder = Path(folder)
        out: dict[str, Path] = {}
        for event_type in event_types or list(EventType):
            time_column = TIME_COLUMN[event_type]
            where, params = _period(time_column, start, end)
            target = folder / event_type.value
            target.mkdir(parents=True, exist_ok=True)
            self.connection.execute(
                f'COPY (SELECT *, CAST("{time_column}" AS DATE) AS day FROM {event_type.value} {where}) '
                f"TO '{_quote(target)}' (FORMAT parquet, PARTITION_BY (day), OVERWRITE_OR_IGNORE true)",
                params,
            )
            out[event_type.value] = target
        return out

    @property
    def location(self) -> str:
        """The DuckDB file, for messages and provenance."""
        return str(self.path)

    def quarantine(self) -> Quarantine:
        """The store's quarantine table (created when writing)."""
        return Quarantine(self.connection, create=self.mode == "write")

    def load_open_states(self) -> pa.Table:
        """Every equipment's open state kept by live ingest (``OPEN_STATES_SCHEMA``)."""
        if self.mode == "write":
            self.connection.execute(_OPEN_STATES_DDL)
        else:
            # a read-only store that never had live state changes has no table
            tables = self.connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'open_states'"
            ).fetchall()
            if not tables or not tables[0][0]:
                return OPEN_STATES_SCHEMA.empty_table()
        found: pa.Table = self.connection.sql(
            "SELECT equipment, start, state, reason, order_id, product FROM open_states ORDER BY equipment"
        ).to_arrow_table()
        return found.cast(OPEN_STATES_SCHEMA)

    def save_open_states(self, rows: pa.Table) -> None:
        """Insert or replace open states by equipment (inside the caller's transaction, if any)."""
        if rows.num_rows == 0:
            return
        with self.transaction(), self._registered_table("_open_states", rows.cast(OPEN_STATES_SCHEMA)):
            self.connection.execute(_OPEN_STATES_DDL)
            self.connection.execute("INSERT OR REPLACE INTO open_states SELECT * FROM _open_states")

    @contextmanager
    def _registered_table(self, name: str, table: pa.Table) -> Iterator[None]:
        self.connection.register(name, table)
        try:
            yield
        finally:
            self.connection.unregister(name)

    def ibis_backend(self) -> Any:
        """An Ibis backend on this store's connection (what the KPI engine runs on)."""
        import ibis

        return ibis.duckdb.from_connection(self.connection)


def _held_by(path: Path, holder: str) -> str:
    """Why a write open failed, naming the owner's command when it published one."""
    owner = read_owner(path.parent)
    if owner is not None:
        return (
            f"telemetry store {path} is owned by `{owner.command}` (process {owner.pid}); other commands "
            "go through it, but a second writer cannot open the file: stop it first, or let one process "
            "do both (`smartfactory serve --ingest` runs the plant's sources itself)"
        )
    return (
        f"telemetry store {path} is open for writing by {holder}; DuckDB allows one writer process per "
        "store: stop that process, or write through it"
    )


_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def _file_lock(path: Path) -> threading.RLock:
    """The lock every writer of this file in this process takes (see ``TelemetryStore.transaction``)."""
    key = path.resolve()
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


class _Write:
    """One batch through the integrity rules: dedupe, conflicts, overlaps, then the insert.

    The common case (every key new and unique in the batch) costs one distinct count of the
    batch's keys and one anti-join insert; only batches that meet stored keys or repeat a key
    pay for the classification.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, event_type: EventType, table: pa.Table) -> None:
        self.connection = connection
        self.event_type = event_type
        self.table = table
        self.keys = KEYS[event_type]
        self.name = event_type.value
        self.time_column = TIME_COLUMN[event_type]

    def run(self) -> tuple[WriteReport, list[Rejected]]:
        report = WriteReport()
        refused: list[Rejected] = []
        table = self.table
        if self._repeats_keys(table):
            table, duplicates, in_batch = self._dedupe(table)
            report.duplicates += duplicates
            report.conflicts += len(in_batch)
            refused.extend(in_batch)
        if self.event_type == EventType.states:
            self._states(table, report, refused)
        else:
            self._points(table, report, refused)
        return report, refused

    # --- the parts --------------------------------------------------------------------

    def _repeats_keys(self, table: pa.Table) -> bool:
        # every key holds the time column, so strictly increasing times (one sensor's stream, a
        # sorted export) prove the keys unique without hashing them
        times = table[self.time_column].combine_chunks().cast(pa.int64()).to_numpy()
        if times.size < 2 or bool((times[1:] > times[:-1]).all()):
            return False
        keys = ", ".join(f'"{k}"' for k in self.keys)
        # distinct hashes prove distinct keys, and one 64-bit column is cheaper to count than the
        # key's columns; only a batch with a repeated hash (a repeated key, or a collision) pays
        # for the exact count
        with self._registered("_batch", table):
            hashes = _one(self.connection.execute(f"SELECT count(DISTINCT hash({keys})) FROM _batch"))
            if hashes is not None and int(hashes[0]) == table.num_rows:
                return False
            row = _one(self.connection.execute(f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM _batch)"))
        return row is not None and int(row[0]) < table.num_rows

    def _dedupe(self, table: pa.Table) -> tuple[pa.Table, int, list[Rejected]]:
        """Identical rows once; of rows sharing a key, the first kept and the others refused."""
        names = table.column_names
        columns = ", ".join(f'"{c}"' for c in names)
        keys = ", ".join(f'"{k}"' for k in self.keys)
        numbered = table.append_column("_seq", pa.array(range(table.num_rows), pa.int64()))
        sql = (
            f"SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY _seq) AS _rank FROM ("
            f"SELECT {columns}, min(_seq) AS _seq FROM _numbered GROUP BY ALL) ORDER BY _seq"
        )
        with self._registered("_numbered", numbered):
            distinct = self.connection.sql(sql).to_arrow_table()
        first = pc.equal(distinct["_rank"], 1)
        kept = distinct.filter(first).select(names).cast(table.schema)
        later = distinct.filter(pc.invert(first)).select(names)
        refused: list[Rejected] = []
        if later.num_rows:
            by_key = {tuple(r[k] for k in self.keys): r for r in kept.to_pylist()}
            for row in later.to_pylist():
                kept_row = by_key[tuple(row[k] for k in self.keys)]
                refused.append(conflict(self.event_type, kept_row, row, "sent earlier in the same batch"))
        return kept, table.num_rows - distinct.num_rows, refused

    def _points(self, table: pa.Table, report: WriteReport, refused: list[Rejected]) -> None:
        """Counts, measurements, alarms: insert the new keys, then classify the rest."""
        keys = ", ".join(f'"{k}"' for k in self.keys)
        lo, hi = self._bounds(table)
        # only stored rows of the batch's time range can share its keys: the zone maps prune
        # the rest, so a write costs about the batch, not the table
        sql = (
            f"INSERT INTO {self.name} SELECT b.* FROM _batch b ANTI JOIN ("
            f'SELECT {keys} FROM {self.name} WHERE "{self.time_column}" BETWEEN $lo AND $hi) s USING ({keys})'
        )
        with self._registered("_batch", table):
            if self._nothing_stored(lo, hi):
                # the usual live and import case: the batch's time range is new to the table
                sql = f"INSERT INTO {self.name} SELECT * FROM _batch"
            row = _one(self.connection.execute(sql, {"lo": lo, "hi": hi} if "$lo" in sql else None))
            inserted = int(row[0]) if row else 0
            report.stored += inserted
            if inserted == table.num_rows:
                return
            differing = self._differing(lo, hi)
        for sent, stored in differing:
            refused.append(conflict(self.event_type, stored, sent, "is stored"))
        report.conflicts += len(differing)
        report.duplicates += table.num_rows - inserted - len(differing)

    def _nothing_stored(self, lo: datetime, hi: datetime) -> bool:
        """Whether no stored row lies in ``[lo, hi]`` (the zone maps skip the rest of the table)."""
        row = _one(
            self.connection.execute(
                f'SELECT 1 FROM {self.name} WHERE "{self.time_column}" BETWEEN $lo AND $hi LIMIT 1',
                {"lo": lo, "hi": hi},
            )
        )
        return row is None

    def _differing(self, lo: datetime, hi: datetime) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Rows of ``_batch`` whose key is stored with other values: (sent, stored) pairs."""
        names = SCHEMAS[self.event_type].names
        values = [c for c in names if c not in self.keys]
        on = " AND ".join(f'b."{k}" = s."{k}"' for k in self.keys)
        differ = " OR ".join(f'b."{c}" IS DISTINCT FROM s."{c}"' for c in values)
        picked = ", ".join([*(f'b."{c}" AS "{c}"' for c in names), *(f's."{c}" AS "s.{c}"' for c in names)])
        sql = (
            f"SELECT {picked} FROM _batch b JOIN (SELECT * FROM {self.name} "
            f'WHERE "{self.time_column}" BETWEEN $lo AND $hi) s ON {on} WHERE {differ}'
        )
        rows = self.connection.sql(sql, params={"lo": lo, "hi": hi}).to_arrow_table().to_pylist()
        return [({c: r[c] for c in names}, {c: r[f"s.{c}"] for c in names}) for r in rows]

    def _states(self, table: pa.Table, report: WriteReport, refused: list[Rejected]) -> None:
        """States: same key → duplicate or conflict; a new key must not overlap its equipment's states."""
        lo, _ = self._bounds(table)
        end_hi = pc.max(table["end"]).as_py()
        equipment = pc.unique(table["equipment"]).to_pylist()
        rows = table.to_pylist()
        stored = (
            self.connection.sql(
                # touching states too: a zero-length state at ``lo`` still shares its key
                "SELECT * FROM states WHERE list_contains($eq, equipment) "
                'AND start <= $end_hi AND "end" >= $lo',
                params={"eq": equipment, "end_hi": end_hi, "lo": lo},
            )
            .to_arrow_table()
            .to_pylist()
        )
        by_key = {(s["equipment"], s["start"]): s for s in stored}
        fresh = []
        for row in rows:
            same = by_key.get((row["equipment"], row["start"]))
            if same is None:
                fresh.append(row)
            elif same == row:
                report.duplicates += 1
            else:
                report.conflicts += 1
                refused.append(conflict(self.event_type, same, row, "is stored"))
        kept, overlapping = split_overlaps(fresh, stored)
        report.overlaps += len(overlapping)
        refused.extend(overlapping)
        if not kept:
            return
        position = {id(r): i for i, r in enumerate(rows)}
        accepted = table.take(pa.array(sorted(position[id(r)] for r in kept), pa.int64()))
        with self._registered("_batch", accepted):
            self.connection.execute(f"INSERT INTO {self.name} SELECT * FROM _batch").fetchall()
        report.stored += accepted.num_rows

    # --- helpers ----------------------------------------------------------------------

    def _bounds(self, table: pa.Table) -> tuple[datetime, datetime]:
        bounds = pc.min_max(table[self.time_column])
        return bounds["min"].as_py(), bounds["max"].as_py()

    @contextmanager
    def _registered(self, name: str, table: pa.Table) -> Iterator[None]:
        self.connection.register(name, table)
        try:
            yield
        finally:
            self.connection.unregister(name)


def _period(column: str, start: datetime | None, end: datetime | None) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if start is not None:
        clauses.append(f'"{column}" >= $start')
        params["start"] = start
    if end is not None:
        clauses.append(f'"{column}" < $end')
        params["end"] = end
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _one(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    # fetch everything: DuckDB refuses new work on a connection with an unfinished result
    rows = cursor.fetchall()
    return rows[0] if rows else None


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
