"""The telemetry store: one DuckDB file holding states, counts, measurements and alarms.

DuckDB allows one writer *process* per file (many threads inside it are fine). The store
makes that explicit: open it with ``mode="write"`` in exactly one process; a second writer
gets a StoreLockedError that says who holds it.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.events import KEYS, SCHEMAS, TIME_COLUMN, EventType
from smartfactory.store.closing import Closing

TELEMETRY_FILE = "telemetry.duckdb"

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.int32(): "INTEGER",
    pa.float64(): "DOUBLE",
}


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

    @classmethod
    def open(cls, folder: str | Path, mode: Literal["write", "read"] = "write") -> TelemetryStore:
        """Open (creating in write mode) the telemetry file under ``folder``."""
        folder = Path(folder)
        path = folder / TELEMETRY_FILE
        if mode == "read" and not path.exists():
            raise UserError(f"no telemetry store at {path}; run `smartfactory simulate` or `ingest` first")
        if mode == "write":
            folder.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(str(path), read_only=mode == "read")
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                pid = re.search(r"PID (\d+)", text)
                holder = f"process {pid.group(1)}" if pid else "another process"
                raise StoreLockedError(
                    f"telemetry store {path} is open for writing by {holder}; DuckDB allows one "
                    "writer process per store: stop that process, or write through it"
                ) from None
            raise UserError(f"cannot open telemetry store {path}: {text}") from None
        store = cls(connection, path, mode)
        if mode == "write":
            for event_type in EventType:
                connection.execute(_create_sql(event_type))
        return store

    # --- writing ----------------------------------------------------------------------

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Store a batch of events; rows whose key is already stored are skipped."""
        if self.mode != "write":
            raise UserError(f"telemetry store {self.path} is open read-only")
        table = self._conform(event_type, batch)
        if table.num_rows == 0:
            return 0
        keys = KEYS[event_type]
        time_column = TIME_COLUMN[event_type]
        bounds = pc.min_max(table[time_column])
        key_list = ", ".join(f'"{k}"' for k in keys)
        # Dedupe inside the batch and against stored rows of the same time range only: the
        # zone maps prune the rest, so a write costs about the batch, not the table.
        sql = (
            f"INSERT INTO {event_type.value} "
            f"SELECT DISTINCT ON ({key_list}) b.* FROM _batch b ANTI JOIN ("
            f"SELECT {key_list} FROM {event_type.value} "
            f'WHERE "{time_column}" BETWEEN $lo AND $hi) s USING ({key_list})'
        )
        self.connection.register("_batch", table)
        try:
            result = _one(
                self.connection.execute(sql, {"lo": bounds["min"].as_py(), "hi": bounds["max"].as_py()})
            )
        finally:
            self.connection.unregister("_batch")
        return int(result[0]) if result else 0

    def _conform(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> pa.Table:
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        schema = SCHEMAS[event_type]
        missing = [n for n in schema.names if n not in table.column_names]
        extra = [n for n in table.column_names if n not in schema.names]
        if missing or extra:
            raise UserError(
                f"{event_type.value} batch does not match the event schema: "
                f"missing {missing}, unknown {extra}; columns are {schema.names}"
            )
        table = table.select(schema.names)
        for field in schema:
            if not field.nullable and table[field.name].null_count:
                raise UserError(f"{event_type.value} batch has nulls in required column {field.name!r}")
        try:
            return table.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise UserError(f"{event_type.value} batch has wrong types: {exc}") from None

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
