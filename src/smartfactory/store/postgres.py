"""The telemetry store on PostgreSQL: the server store, for several writers and readers at once.

The same interface and the same integrity rules (``store/integrity.py``) as the DuckDB
``TelemetryStore``, chosen by a URL (``postgresql://user@host/db``):

* one table per event type, **partitioned by month** on its time column; partitions are created
  on demand before a write that needs them, a default partition catches anything else;
* the event key is the table's **primary key** (it includes the partition column), so the
  database itself never holds two rows with one key;
* a write is one **COPY** (CSV written by Arrow). A batch whose keys are unique, whose series
  have no stored row inside its time span and (states) whose intervals overlap nothing is
  copied straight into the table: the common case of live ingest, about the cost of a plain
  COPY. Any other batch is copied into a temporary staging table, classified there (duplicate,
  conflict, overlap) and its new rows moved with one ``INSERT … SELECT … ON CONFLICT DO
  NOTHING``; the refused rows go to the ``quarantine`` table in the same transaction;
* writers of the same equipment are serialised by transaction-level advisory locks (one per
  event type and equipment), so concurrent ingest processes of different lines never wait for
  each other and two writers can never store overlapping states between them.
"""

from __future__ import annotations

import builtins
import io
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
from psycopg import sql
from psycopg.pq import TransactionStatus

from smartfactory.model.errors import UserError
from smartfactory.model.events import KEYS, SCHEMAS, TIME_COLUMN, EventType
from smartfactory.store.closing import Closing
from smartfactory.store.integrity import OPEN_STATES_SCHEMA, WriteReport, conflict, conform, split_overlaps
from smartfactory.store.quarantine import QuarantineEntry, QuarantineReader, Rejected

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

# Bump with a new entry in _MIGRATIONS when the tables change; a store remembers its version.
SCHEMA_VERSION = 3

# writes are counted in this many rows per event type, picked by the writer's backend id: the
# count moves in the writer's transaction (exact), and concurrent writers rarely share a row
_WRITE_SLOTS = 64

_PG_TYPES = {
    pa.string(): "text",
    pa.timestamp("us"): "timestamp",
    pa.int32(): "integer",
    pa.float64(): "double precision",
}

# advisory lock classes (the first int of the two-int form): schema changes, and one per event type
_DDL_LOCK = 0x5F0000
_WRITE_LOCK = {t: 0x5F0001 + i for i, t in enumerate(EventType)}

# a row's fate in the staging table (the column ``_verdict``)
_NEW, _DUPLICATE, _CONFLICT_BATCH, _CONFLICT_STORED, _OVERLAP = 0, 1, 2, 3, 4


class QuarantineBook(Protocol):
    """What both quarantines offer (``store/quarantine.py`` on DuckDB, ``PgQuarantine`` here)."""

    def add(
        self,
        rejected: Iterable[Rejected],
        mapping_hash: str | None = None,
        received_at: datetime | None = None,
    ) -> int:
        """Quarantine rows; return how many were new."""
        ...

    def list(
        self, source: str | None = None, reason: str | None = None, limit: int | None = None
    ) -> builtins.list[QuarantineEntry]:
        """Quarantined rows, oldest first."""
        ...

    def show(self, entry_id: int) -> QuarantineEntry | None:
        """One quarantined row by id, or None."""
        ...

    def exists(self) -> bool:
        """Whether the quarantine table exists."""
        ...

    def count(self, source: str | None = None) -> dict[str, int]:
        """Quarantined rows by reason kind."""
        ...

    def remove(self, ids: Sequence[int]) -> int:
        """Delete quarantined rows by id."""
        ...


class EventStore(Protocol):
    """The telemetry interface both stores share (DuckDB ``TelemetryStore``, ``PgTelemetryStore``)."""

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Store a batch; return the rows stored."""
        ...

    def write_report(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> WriteReport:
        """Store a batch under the integrity rules and say what became of each row."""
        ...

    def transaction(self) -> AbstractContextManager[Any]:
        """One transaction around several writes."""
        ...

    def table(
        self, event_type: EventType, start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """Events of one type in ``[start, end)``, ordered by time."""
        ...

    def count(self, event_type: EventType) -> int:
        """Number of stored events of one type."""
        ...

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """Earliest and latest event time."""
        ...

    def export_parquet(
        self,
        folder: str | Path,
        event_types: list[EventType] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[str, Path]:
        """Write tables as Parquet partitioned by day."""
        ...

    def ibis_backend(self) -> Any:
        """An Ibis backend over the store's tables (what the KPI engine runs on)."""
        ...

    @property
    def location(self) -> str:
        """Where the store is, for messages and provenance (a URL without its password)."""
        ...

    def query(self, sql: str, params: dict[str, Any] | None = None, /) -> pa.Table:
        """Read-only SQL both engines run (``$name`` parameters); the result as Arrow."""
        ...

    def load_open_states(self) -> pa.Table:
        """Every equipment's open state kept by live ingest (``OPEN_STATES_SCHEMA``)."""
        ...

    def save_open_states(self, rows: pa.Table) -> None:
        """Insert or replace open states by equipment (inside the caller's transaction, if any)."""
        ...

    def quarantine(self) -> QuarantineBook:
        """The store's quarantine."""
        ...

    def flush(self) -> None:
        """Make what was written durable."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


def is_postgres_url(location: str | Path) -> bool:
    """Whether a ``--store`` value names a PostgreSQL database rather than a folder."""
    text = str(location)
    return text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def conninfo(url: str) -> str:
    """The libpq form of a store URL (SQLAlchemy's ``postgresql+psycopg://`` accepted too)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    info = psycopg.conninfo.conninfo_to_dict(conninfo(url))
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{info.get('host', '')}{port}/{info.get('dbname', '')}"


# --- DDL ------------------------------------------------------------------------------------


def _ident(*parts: str) -> sql.Identifier:
    return sql.Identifier(*parts)


def _table_ddl(event_type: EventType) -> list[sql.Composed]:
    schema = SCHEMAS[event_type]
    name = event_type.value
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            _ident(f.name), sql.SQL(_PG_TYPES[f.type]), sql.SQL("" if f.nullable else " NOT NULL")
        )
        for f in schema
    )
    keys = sql.SQL(", ").join(_ident(k) for k in KEYS[event_type])
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY ({})) PARTITION BY RANGE ({})").format(
            _ident(name), columns, keys, _ident(TIME_COLUMN[event_type])
        ),
        # the safety net: a row no monthly partition takes (the store creates them before each
        # write, so this stays empty unless rows arrive by another way)
        sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT").format(
            _ident(f"{name}_default"), _ident(name)
        ),
    ]


_QUARANTINE_DDL = sql.Composed(
    [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS quarantine ("
            "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "received_at timestamp NOT NULL, source text NOT NULL, reason text NOT NULL, "
            "raw bytea NOT NULL, mapping_hash text)"
        )
    ]
)


def _migration_1() -> list[sql.Composed]:
    statements: list[sql.Composed] = []
    for event_type in EventType:
        statements.extend(_table_ddl(event_type))
    statements.append(_QUARANTINE_DDL)
    return statements


def _statements(*texts: str) -> Callable[[], list[sql.Composable]]:
    """A migration of plain SQL statements."""
    return lambda: [sql.SQL(text) for text in texts]


# 2: what ``version`` reads: a count of the writes that stored rows, kept in their transaction
_MIGRATION_2 = _statements(
    "CREATE TABLE IF NOT EXISTS telemetry_writes (event_type text NOT NULL, "
    "slot integer NOT NULL, writes bigint NOT NULL, PRIMARY KEY (event_type, slot))"
)
# 3: the open state per equipment that live ingest keeps (``connect/open_states.py``)
_MIGRATION_3 = _statements(
    "CREATE TABLE IF NOT EXISTS open_states (equipment text PRIMARY KEY, "
    "start timestamp NOT NULL, state text NOT NULL, reason text, order_id text, product text)"
)

_MIGRATIONS: dict[int, Callable[[], list[Any]]] = {1: _migration_1, 2: _MIGRATION_2, 3: _MIGRATION_3}


# --- the store ------------------------------------------------------------------------------


class PgTelemetryStore(Closing):
    """Events in PostgreSQL: monthly partitions, COPY writes under the integrity rules, Arrow reads."""

    def __init__(self, connection: psycopg.Connection[Any], url: str, mode: str) -> None:
        self.connection = connection
        self.url = url
        self.mode = mode
        # one connection per store: threads of this process take turns on it, a transaction
        # (with its writes) at a time
        self._lock = threading.RLock()
        self._partitions: dict[EventType, set[tuple[int, int]]] | None = None
        self._stages: set[EventType] = set()
        self._ibis: BaseBackend | None = None
        self._ibis_connection: psycopg.Connection[Any] | None = None

    @classmethod
    def open(cls, url: str, mode: Literal["write", "read"] = "write") -> PgTelemetryStore:
        """Open the store in the database at ``url``; ``write`` creates and upgrades its tables."""
        connection = _connect(url)
        store = cls(connection, url, mode)
        try:
            version = store._version()
            if mode == "write":
                store._migrate(version)
            elif version is None:
                raise UserError(
                    f"no telemetry store in {shown_url(url)}; run `smartfactory simulate` or "
                    "`smartfactory ingest` with --store pointing there first"
                )
            elif version > SCHEMA_VERSION:
                raise UserError(_newer(url, version))
        except BaseException:
            connection.close()
            raise
        return store

    def _version(self) -> int | None:
        row = self.connection.execute("SELECT to_regclass('telemetry_schema') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return None
        found = self.connection.execute("SELECT max(version) FROM telemetry_schema").fetchone()
        return int(found[0]) if found and found[0] is not None else 0

    def _migrate(self, version: int | None) -> None:
        if version is not None and version >= SCHEMA_VERSION:
            if version > SCHEMA_VERSION:
                raise UserError(_newer(self.url, version))
            return
        with self.connection.transaction():
            # two processes opening a new database at once: one creates, the other waits and finds it done
            self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            self.connection.execute("CREATE TABLE IF NOT EXISTS telemetry_schema (version integer NOT NULL)")
            row = self.connection.execute("SELECT coalesce(max(version), 0) FROM telemetry_schema").fetchone()
            current = int(row[0]) if row else 0
            for step in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]():
                    self.connection.execute(statement)
                # one row: the version the tables are at
                self.connection.execute("DELETE FROM telemetry_schema")
                self.connection.execute("INSERT INTO telemetry_schema (version) VALUES (%s)", (step,))

    # --- writing ----------------------------------------------------------------------

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Store a batch of events; return how many rows were stored (see ``write_report``)."""
        return self.write_report(event_type, batch).stored

    def write_report(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> WriteReport:
        """Store a batch under the integrity rules (``store/integrity.py``); say what became of each row."""
        if self.mode != "write":
            raise UserError(f"telemetry store {shown_url(self.url)} is open read-only")
        table = conform(event_type, batch)
        if table.num_rows == 0:
            return WriteReport()
        with self._lock:
            self._ensure_partitions(event_type, table)
            with self.transaction():
                report, refused = _PgWrite(self.connection, event_type, table, self._stage(event_type)).run()
                if refused:
                    self.quarantine().add(refused)
                if report.stored:
                    self.connection.execute(
                        "INSERT INTO telemetry_writes (event_type, slot, writes) "
                        "VALUES (%s, pg_backend_pid() %% %s, 1) ON CONFLICT (event_type, slot) "
                        "DO UPDATE SET writes = telemetry_writes.writes + 1",
                        (event_type.value, _WRITE_SLOTS),
                    )
        return report

    def version(self) -> tuple[int, ...]:
        """The committed writes per event type (in ``EventType`` order): changes with every stored row.

        Read from a table of at most a few hundred rows that each write updates in its own
        transaction, so it moves exactly when the rows become visible, and costs nothing like a count.
        """
        try:
            with self._lock:
                rows = dict(
                    self.connection.execute(
                        "SELECT event_type, sum(writes) FROM telemetry_writes GROUP BY event_type"
                    ).fetchall()
                )
        except psycopg.errors.UndefinedTable:
            # a schema 1 store, opened read-only before a writer upgraded it: counting is as exact
            return tuple(self.count(t) for t in EventType)
        return tuple(int(rows.get(t.value, 0)) for t in EventType)

    @contextmanager
    def transaction(self) -> Iterator[PgTelemetryStore]:
        """One transaction: everything written inside is committed together or not at all.

        Nested use becomes a savepoint of the outer transaction. Other threads of this process
        wait until it ends (they share the connection).
        """
        with self._lock:
            try:
                with self.connection.transaction():
                    yield self
            except BaseException:
                # partitions and staging tables created inside may have been rolled back
                self._partitions = None
                self._stages.clear()
                raise

    def _stage(self, event_type: EventType) -> sql.Identifier:
        name = f"_stage_{event_type.value}"
        if event_type not in self._stages:
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(_ident(f.name), sql.SQL(_PG_TYPES[f.type]))
                for f in SCHEMAS[event_type]
            )
            self.connection.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS {} ({}, _seq bigint NOT NULL, "
                    "_verdict smallint NOT NULL DEFAULT 0, _first bigint) ON COMMIT DELETE ROWS"
                ).format(_ident(name), columns)
            )
            self._stages.add(event_type)
        return _ident(name)

    def _ensure_partitions(self, event_type: EventType, table: pa.Table) -> None:
        """Create the monthly partitions the batch needs (known ones cost nothing)."""
        if self._partitions is None:
            self._partitions = self._existing_partitions()
        bounds = pc.min_max(table[TIME_COLUMN[event_type]])
        # and the month after: live ingest then finds next month's partition made, instead of
        # making it (a strong lock on the table) at midnight under load
        needed = _months(bounds["min"].as_py(), _next_month(bounds["max"].as_py()))
        known = self._partitions.setdefault(event_type, set())
        missing = [m for m in needed if m not in known]
        if not missing:
            return
        # a partition is created in a short transaction of its own when it can be: it takes a
        # strong lock on the parent table, which should not be held for a whole write
        with self.connection.transaction():
            self.connection.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            for year, month in missing:
                _create_partition(self.connection, event_type, year, month)
        known.update(missing)

    def _existing_partitions(self) -> dict[EventType, set[tuple[int, int]]]:
        rows = self.connection.execute(
            "SELECT parent.relname, child.relname FROM pg_inherits i "
            "JOIN pg_class parent ON parent.oid = i.inhparent JOIN pg_class child ON child.oid = i.inhrelid "
            "WHERE parent.relnamespace = current_schema()::regnamespace"
        ).fetchall()
        found: dict[EventType, set[tuple[int, int]]] = {t: set() for t in EventType}
        for parent, child in rows:
            if parent in EventType.__members__ and child.startswith(f"{parent}_p"):
                stamp = child[len(parent) + 2 :]
                if len(stamp) == 6 and stamp.isdigit():
                    found[EventType(parent)].add((int(stamp[:4]), int(stamp[4:])))
        return found

    def load_open_states(self) -> pa.Table:
        """Every equipment's open state kept by live ingest (``OPEN_STATES_SCHEMA``)."""
        with self._lock:
            row = self.connection.execute("SELECT to_regclass('open_states') IS NOT NULL").fetchone()
            if not row or not row[0]:  # a store read-only below schema 3
                return OPEN_STATES_SCHEMA.empty_table()
            return self._read(
                sql.SQL(
                    "SELECT equipment, start, state, reason, order_id, product FROM open_states "
                    'ORDER BY equipment COLLATE "C"'
                ),
                OPEN_STATES_SCHEMA,
            )

    def save_open_states(self, rows: pa.Table) -> None:
        """Insert or replace open states by equipment (inside the caller's transaction, if any)."""
        if self.mode != "write":
            raise UserError(f"telemetry store {shown_url(self.url)} is open read-only")
        if rows.num_rows == 0:
            return
        values = rows.cast(OPEN_STATES_SCHEMA).to_pylist()
        with self.transaction(), self.connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO open_states (equipment, start, state, reason, order_id, product) "
                "VALUES (%(equipment)s, %(start)s, %(state)s, %(reason)s, %(order_id)s, %(product)s) "
                "ON CONFLICT (equipment) DO UPDATE SET start = excluded.start, state = excluded.state, "
                "reason = excluded.reason, order_id = excluded.order_id, product = excluded.product",
                values,
            )

    def quarantine(self) -> PgQuarantine:
        """The store's quarantine table (refused rows, and what sources could not decode)."""
        return PgQuarantine(self.connection, self._lock)

    def close(self) -> None:
        """Close the connections (everything committed is already durable)."""
        with self._lock:
            if self._ibis_connection is not None:
                self._ibis_connection.close()
                self._ibis_connection = None
                self._ibis = None
            self.connection.close()

    @property
    def location(self) -> str:
        """The database URL without its password."""
        return shown_url(self.url)

    def reusable(self) -> bool:
        """Whether the connection is open, unbroken and outside a transaction (fit for the next user)."""
        info = self.connection
        return not info.closed and not info.broken and info.info.transaction_status == TransactionStatus.IDLE

    def flush(self) -> None:
        """Nothing to do: a committed write is durable in PostgreSQL."""

    # --- reading ----------------------------------------------------------------------

    def table(
        self, event_type: EventType, start: datetime | None = None, end: datetime | None = None
    ) -> pa.Table:
        """Events of one type, optionally in ``[start, end)`` (UTC), ordered by time."""
        time_column = TIME_COLUMN[event_type]
        query = sql.SQL('SELECT * FROM {} {} ORDER BY {}, equipment COLLATE "C"').format(
            _ident(event_type.value), _period(time_column, start, end), _ident(time_column)
        )
        return self._read(query, SCHEMAS[event_type])

    def _read(self, query: sql.Composable, schema: pa.Schema) -> pa.Table:
        # COPY out as CSV and parse with Arrow: several times faster than fetching rows as tuples
        out = io.BytesIO()
        statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(query)
        with self._lock, self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in copy:
                out.write(chunk)
        if out.tell() == 0:
            return schema.empty_table()
        out.seek(0)
        return pacsv.read_csv(
            out,
            read_options=pacsv.ReadOptions(column_names=schema.names),
            convert_options=pacsv.ConvertOptions(
                column_types=schema,
                # PostgreSQL writes NULL unquoted and an empty text quoted; 'NaN' is a number
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        ).cast(schema)

    def count(self, event_type: EventType) -> int:
        """Number of stored events of one type."""
        with self._lock:
            row = self.connection.execute(sql.SQL("SELECT count(*) FROM {}").format(_ident(event_type.value)))
            found = row.fetchone()
        return int(found[0]) if found else 0

    def query(self, sql_text: str, params: dict[str, Any] | None = None) -> pa.Table:
        """Read-only SQL both engines run, with DuckDB's ``$name`` parameters; the result as Arrow."""
        text = _DOLLAR.sub(lambda m: f"%({m.group(1)})s", sql_text.replace("%", "%%"))
        with self._lock, self.connection.cursor() as cursor:
            cursor.execute(text, dict(params or {}))
            columns = [(d.name, _ARROW_OF_OID.get(d.type_code)) for d in cursor.description or []]
            rows = cursor.fetchall()
        arrays = []
        for i, (_name, kind) in enumerate(columns):
            values = [row[i] for row in rows]
            if kind == pa.float64():
                values = [None if v is None else float(v) for v in values]  # numeric sums come as Decimal
            arrays.append(pa.array(values, type=kind) if kind is not None or values else pa.array([]))
        return pa.Table.from_arrays(arrays, names=[name for name, _ in columns])

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """Earliest and latest event time across all tables (UTC)."""
        with self._lock:
            row = self.connection.execute(
                "SELECT min(lo), max(hi) FROM ("
                'SELECT min("start") lo, max("end") hi FROM states UNION ALL '
                "SELECT min(ts), max(ts) FROM counts UNION ALL "
                "SELECT min(ts), max(ts) FROM measurements) t"
            ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def ibis_backend(self) -> BaseBackend:
        """An Ibis PostgreSQL backend on the same database (its own connection), for the KPI engine."""
        import ibis

        with self._lock:
            if self._ibis is None:
                # its own connection: Ibis runs its own transactions and rolls back on errors,
                # which must never touch a write of this store
                self._ibis_connection = _connect(self.url)
                self._ibis = ibis.postgres.from_connection(self._ibis_connection)
            return self._ibis

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
            table = self.table(event_type, start, end)
            day = pc.cast(table[TIME_COLUMN[event_type]], pa.date32())
            target = folder / event_type.value
            target.mkdir(parents=True, exist_ok=True)
            if table.num_rows:
                ds.write_dataset(
                    table.append_column("day", day),
                    target,
                    format="parquet",
                    partitioning=ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive"),
                    existing_data_behavior="overwrite_or_ignore",
                    basename_template="data_{i}.parquet",
                )
            out[event_type.value] = target
        return out


class PgQuarantine(QuarantineReader):
    """The ``quarantine`` table of a PostgreSQL store (the same rules as ``store/quarantine.py``)."""

    _BINARY = ' COLLATE "C"'

    def __init__(self, connection: psycopg.Connection[Any], lock: threading.RLock | None = None) -> None:
        self.connection = connection
        self._lock = lock or threading.RLock()

    def exists(self) -> bool:
        """Whether the table exists."""
        with self._lock:
            row = self.connection.execute("SELECT to_regclass('quarantine') IS NOT NULL").fetchone()
        return bool(row and row[0])

    def _added(self, items: builtins.list[Rejected], mapping_hash: str | None, when: datetime) -> int:
        raws = [r.raw.encode("utf-8") if isinstance(r.raw, str) else r.raw for r in items]
        with self._lock, self.connection.transaction():
            cursor = self.connection.execute(
                "INSERT INTO quarantine (received_at, source, reason, raw, mapping_hash) "
                "SELECT %(when)s, source, reason, raw, %(hash)s FROM ("
                "SELECT DISTINCT ON (source, raw) source, reason, raw, seq "
                "FROM unnest(%(sources)s::text[], %(reasons)s::text[], %(raws)s::bytea[]) "
                "WITH ORDINALITY AS b(source, reason, raw, seq) "
                "WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.source = b.source AND q.raw = b.raw "
                "AND q.mapping_hash IS NOT DISTINCT FROM %(hash)s) ORDER BY source, raw, seq) n ORDER BY seq",
                {
                    "when": when,
                    "hash": mapping_hash,
                    "sources": [r.source for r in items],
                    "reasons": [r.reason for r in items],
                    "raws": raws,
                },
            )
            return cursor.rowcount

    def _rows(self, sql: str, params: dict[str, Any]) -> builtins.list[tuple[Any, ...]]:
        with self._lock:
            return self.connection.execute(sql, params).fetchall()

    def _param(self, name: str) -> str:
        return f"%({name})s"

    def _removed(self, ids: builtins.list[int]) -> int:
        with self._lock, self.connection.transaction():
            return self.connection.execute("DELETE FROM quarantine WHERE id = ANY(%s)", (ids,)).rowcount


# --- one write ------------------------------------------------------------------------------


class _PgWrite:
    """One batch through the integrity rules, inside the caller's transaction.

    The common case (keys unique in the batch, no stored row of its series in its time span,
    no overlap) is one probe and one COPY into the table. Other batches go through the staging
    table and the classification, in the DuckDB store's order: identical rows of the batch are
    duplicates, later rows with an earlier row's key conflicts; then the remaining rows against
    the stored ones; then, for states, the overlaps.
    """

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        event_type: EventType,
        table: pa.Table,
        stage: sql.Identifier,
    ) -> None:
        self.connection = connection
        self.event_type = event_type
        self.table = table
        self.stage = stage
        self.target = _ident(event_type.value)
        self.names = SCHEMAS[event_type].names
        self.keys = KEYS[event_type]
        self.values = [c for c in self.names if c not in self.keys]
        self.time_column = TIME_COLUMN[event_type]
        self._analyzed = False
        self.unique_keys = False  # until _fits_in_batch has looked
        bounds = pc.min_max(table[self.time_column])
        self.lo: datetime = bounds["min"].as_py()
        self.hi: datetime = bounds["max"].as_py()
        self.end_hi: datetime = pc.max(table["end"]).as_py() if event_type == EventType.states else self.hi

    def run(self) -> tuple[WriteReport, list[Rejected]]:
        self._lock_equipment()
        if self._fits_in_batch() and not self._meets_stored():
            # every key is new and no state can overlap: straight into the table
            try:
                with self.connection.transaction():
                    self._copy_into(self.target, self.table)
                return WriteReport(stored=self.table.num_rows), []
            except psycopg.errors.UniqueViolation:
                pass  # the database knows a key after all: classify like any other batch
        self._copy_into(
            self.stage, self.table.append_column("_seq", pa.array(range(self.table.num_rows), pa.int64()))
        )
        return self._classify()

    # --- the parts --------------------------------------------------------------------

    def _lock_equipment(self) -> None:
        # sorted, so two writers of overlapping sets of equipment take the locks in one order
        equipment = pc.unique(self.table["equipment"]).to_pylist()
        self.connection.execute(
            "SELECT pg_advisory_xact_lock(%s, h) FROM ("
            "SELECT DISTINCT hashtext(e) AS h FROM unnest(%s::text[]) AS e ORDER BY h) locks",
            (_WRITE_LOCK[self.event_type], equipment),
        ).fetchall()

    def _fits_in_batch(self) -> bool:
        """No key twice in the batch and, for states, no two of one equipment overlapping."""
        table = self.table
        self.unique_keys = table.group_by(list(self.keys)).aggregate([]).num_rows == table.num_rows
        if not self.unique_keys:
            return False
        if self.event_type != EventType.states or table.num_rows < 2:
            return True
        ordered = table.take(pc.sort_indices(table, [("equipment", "ascending"), ("start", "ascending")]))
        same = pc.equal(ordered["equipment"][1:], ordered["equipment"][:-1])
        overlaps = pc.and_(same, pc.greater(ordered["end"][:-1], ordered["start"][1:]))
        return not pc.any(overlaps).as_py()

    def _meets_stored(self) -> bool:
        """Whether any stored row of the batch's series lies in the batch's time span.

        A series is a key without its time (the equipment and signal of a measurement). Where no
        stored row of a series falls in its span, none can share a key with the batch; a stored
        state can also overlap the batch from before the span, so the last one before counts too.
        """
        series = [k for k in self.keys if k != self.time_column]
        states = self.event_type == EventType.states
        hi_column = "end" if states else self.time_column
        spans = self.table.group_by(series).aggregate([(self.time_column, "min"), (hi_column, "max")])
        names = [*series, "lo", "hi"]
        arrays = [spans[c].to_pylist() for c in series]
        arrays += [spans[f"{self.time_column}_min"].to_pylist(), spans[f"{hi_column}_max"].to_pylist()]
        k = sql.SQL(", ").join(_ident(n) for n in names)
        unnest = sql.SQL(", ").join(
            sql.SQL("%s::{}[]").format(sql.SQL("timestamp" if n in ("lo", "hi") else "text")) for n in names
        )
        same_series = sql.SQL("").join(sql.SQL(" AND t.{c} = k.{c}").format(c=_ident(c)) for c in series)
        time = _ident(self.time_column)
        if states:
            # a stored state starting inside the span, or the one before it still running at its start
            inside = sql.SQL("t.{t} >= k.lo AND t.{t} <= k.hi").format(t=time)
            before = sql.SQL(
                'OR (SELECT p."end" > k.lo FROM states p WHERE p.equipment = k.equipment AND p.start < k.lo '
                "ORDER BY p.start DESC LIMIT 1)"
            )
        else:
            inside = sql.SQL("t.{t} BETWEEN k.lo AND k.hi").format(t=time)
            before = sql.SQL("")
        row = self.connection.execute(
            sql.SQL(
                "SELECT EXISTS (SELECT 1 FROM unnest({unnest}) AS k({k}) WHERE EXISTS ("
                "SELECT 1 FROM {target} t WHERE {inside}{same} AND t.{t} BETWEEN %s AND %s) {before})"
            ).format(
                unnest=unnest, k=k, target=self.target, inside=inside, same=same_series, t=time, before=before
            ),
            [*arrays, self.lo, self.end_hi if states else self.hi],
        ).fetchone()
        return bool(row and row[0])

    def _copy_into(self, target: sql.Identifier, table: pa.Table) -> None:
        """COPY the rows in (as CSV written by Arrow: one pass in C++, no Python per row)."""
        if target == self.stage:
            # empty unless an earlier write of the same transaction used it (a commit empties it)
            self.connection.execute(sql.SQL("DELETE FROM {}").format(self.stage))
            self._analyzed = False
        data = io.BytesIO()
        pacsv.write_csv(table, data, pacsv.WriteOptions(include_header=False))
        columns = sql.SQL(", ").join(_ident(c) for c in table.column_names)
        with (
            self.connection.cursor() as cursor,
            cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, columns)) as copy,
        ):
            copy.write(data.getbuffer())

    def _analyze(self) -> None:
        # a temporary table has no statistics: without them the joins below get nested loops
        if not self._analyzed:
            self.connection.execute(sql.SQL("ANALYZE {}").format(self.stage))
            self._analyzed = True

    def _insert_new(self) -> int:
        columns = sql.SQL(", ").join(_ident(c) for c in self.names)
        # the advisory locks keep other writers of these series out: no conflict is expected,
        # DO NOTHING only keeps the database's own key check from aborting the transaction
        return self.connection.execute(
            sql.SQL(
                "INSERT INTO {} ({}) SELECT {} FROM {} WHERE _verdict = {} ON CONFLICT DO NOTHING"
            ).format(self.target, columns, columns, self.stage, sql.Literal(_NEW))
        ).rowcount

    def _classify(self) -> tuple[WriteReport, list[Rejected]]:
        self._analyze()
        report = WriteReport()
        refused: list[Rejected] = []
        if not self.unique_keys:
            self._mark_batch_repeats()
        self._mark_stored_keys()
        if self.event_type == EventType.states:
            refused.extend(self._mark_overlaps())
        report.stored = self._insert_new()
        counts = dict(
            self.connection.execute(
                sql.SQL("SELECT _verdict, count(*) FROM {} GROUP BY _verdict").format(self.stage)
            ).fetchall()
        )
        report.duplicates = int(counts.get(_DUPLICATE, 0))
        report.overlaps = int(counts.get(_OVERLAP, 0))
        conflicts = self._conflicts()
        report.conflicts = len(conflicts)
        return report, conflicts + refused

    def _mark_batch_repeats(self) -> None:
        """A row identical to an earlier one is a duplicate; a later row with an earlier key a conflict."""
        every = sql.SQL(", ").join(_ident(c) for c in self.names)
        keys = sql.SQL(", ").join(_ident(k) for k in self.keys)
        self.connection.execute(
            sql.SQL(
                "UPDATE {stage} s SET _verdict = CASE WHEN r.same > 1 THEN {dup} ELSE {conflict} END, "
                "_first = r.first FROM ("
                "SELECT _seq, row_number() OVER (PARTITION BY {every} ORDER BY _seq) AS same, "
                "first_value(_seq) OVER (PARTITION BY {keys} ORDER BY _seq) AS first FROM {stage}) r "
                "WHERE r._seq = s._seq AND (r.same > 1 OR r.first <> s._seq)"
            ).format(
                stage=self.stage,
                every=every,
                keys=keys,
                dup=sql.Literal(_DUPLICATE),
                conflict=sql.Literal(_CONFLICT_BATCH),
            )
        )

    def _mark_stored_keys(self) -> None:
        """The batch's new rows whose key is stored: duplicates when identical, else conflicts."""
        on = sql.SQL(" AND ").join(sql.SQL("s.{k} = t.{k}").format(k=_ident(k)) for k in self.keys)
        same = sql.SQL("ROW({}) IS NOT DISTINCT FROM ROW({})").format(
            sql.SQL(", ").join(sql.SQL("s.{}").format(_ident(c)) for c in self.values),
            sql.SQL(", ").join(sql.SQL("t.{}").format(_ident(c)) for c in self.values),
        )
        self.connection.execute(
            sql.SQL(
                "UPDATE {stage} s SET _verdict = CASE WHEN {same} THEN {dup} ELSE {conflict} END "
                "FROM {target} t WHERE s._verdict = {new} AND {on} "
                "AND t.{time} BETWEEN %(lo)s AND %(hi)s"
            ).format(
                stage=self.stage,
                target=self.target,
                same=same,
                on=on,
                time=_ident(self.time_column),
                dup=sql.Literal(_DUPLICATE),
                conflict=sql.Literal(_CONFLICT_STORED),
                new=sql.Literal(_NEW),
            ),
            {"lo": self.lo, "hi": self.hi},
        )

    def _overlap_suspects(self) -> list[str]:
        """Equipment whose new states may overlap (each other, or stored ones): checked one by one later.

        Sorted by start, any overlap shows between neighbours; of the stored states only those
        starting inside the batch's span and the last one before it can take part.
        """
        self._analyze()
        new = sql.SQL("AND _verdict = {}").format(sql.Literal(_NEW))
        rows = self.connection.execute(
            sql.SQL(
                'WITH b AS (SELECT equipment, min(start) AS lo, max("end") AS hi FROM {stage} '
                "WHERE true {new} GROUP BY equipment), "
                'near AS (SELECT t.equipment, t.start, t."end" FROM b JOIN states t '
                "ON t.equipment = b.equipment AND t.start >= b.lo AND t.start < b.hi "
                "AND t.start >= %(lo)s AND t.start < %(end_hi)s "
                'UNION ALL SELECT b.equipment, p.start, p."end" FROM b CROSS JOIN LATERAL ('
                'SELECT t.start, t."end" FROM states t WHERE t.equipment = b.equipment AND t.start < b.lo '
                "ORDER BY t.start DESC LIMIT 1) p), "
                'u AS (SELECT equipment, start, "end" FROM {stage} WHERE true {new} UNION ALL '
                'SELECT equipment, start, "end" FROM near) '
                'SELECT DISTINCT equipment FROM (SELECT equipment, start, lag("end") OVER ('
                'PARTITION BY equipment ORDER BY start, "end") AS before_end FROM u) x '
                "WHERE before_end > start"
            ).format(stage=self.stage, new=new),
            {"lo": self.lo, "end_hi": self.end_hi},
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _mark_overlaps(self) -> list[Rejected]:
        """New states overlapping stored ones or each other: the earlier kept, the others refused."""
        suspects = self._overlap_suspects()
        if not suspects:
            return []
        fresh = self._rows(
            sql.SQL("SELECT {}, _seq FROM {} WHERE _verdict = {} AND equipment = ANY(%(eq)s)").format(
                self._columns("s"), sql.SQL("{} s").format(self.stage), sql.Literal(_NEW)
            ),
            {"eq": suspects},
            seq=True,
        )
        lo = min(r["start"] for r, _ in fresh)
        stored = [
            row
            for row, _ in self._rows(
                # stored states never overlap each other, so none before the last one starting
                # at or before ``lo`` can reach into the batch's span
                sql.SQL(
                    "WITH b AS (SELECT e AS equipment, coalesce((SELECT max(p.start) FROM states p "
                    "WHERE p.equipment = e AND p.start <= %(lo)s), %(lo)s) AS lo "
                    "FROM unnest(%(eq)s::text[]) AS e) "
                    "SELECT {cols} FROM b JOIN states t ON t.equipment = b.equipment "
                    'AND t.start >= b.lo AND t.start < %(hi)s WHERE t."end" > %(lo)s'
                ).format(cols=self._columns("t")),
                {"eq": suspects, "lo": lo, "hi": max(r["end"] for r, _ in fresh)},
            )
        ]
        rows = [r for r, _ in fresh]
        seq_of = {id(r): s for r, s in fresh}
        kept, refused = split_overlaps(rows, stored)
        kept_ids = {id(r) for r in kept}
        out = [seq_of[id(r)] for r in rows if id(r) not in kept_ids]
        self.connection.execute(
            sql.SQL("UPDATE {} SET _verdict = {} WHERE _seq = ANY(%s)").format(
                self.stage, sql.Literal(_OVERLAP)
            ),
            (out,),
        )
        return refused

    def _conflicts(self) -> list[Rejected]:
        """The quarantine rows of the conflicts: the sent row with the first or the stored one."""
        on = sql.SQL(" AND ").join(sql.SQL("s.{k} = t.{k}").format(k=_ident(k)) for k in self.keys)
        query = sql.SQL(
            "SELECT {sent}, {kept}, 0, s._seq FROM {stage} s JOIN {stage} t ON t._seq = s._first "
            "WHERE s._verdict = {in_batch} UNION ALL "
            "SELECT {sent}, {kept}, 1, s._seq FROM {stage} s JOIN {target} t ON {on} "
            "AND t.{time} BETWEEN %(lo)s AND %(hi)s WHERE s._verdict = {stored}"
        ).format(
            sent=self._columns("s"),
            kept=self._columns("t"),
            stage=self.stage,
            target=self.target,
            on=on,
            time=_ident(self.time_column),
            in_batch=sql.Literal(_CONFLICT_BATCH),
            stored=sql.Literal(_CONFLICT_STORED),
        )
        # the DuckDB store's order: conflicts within the batch first, then those with stored rows
        rows = sorted(
            self.connection.execute(query, {"lo": self.lo, "hi": self.hi}).fetchall(), key=lambda r: r[-2:]
        )
        width = len(self.names)
        out = []
        for row in rows:
            sent = dict(zip(self.names, row[:width], strict=True))
            kept = dict(zip(self.names, row[width : 2 * width], strict=True))
            where = "sent earlier in the same batch" if row[-2] == 0 else "is stored"
            out.append(conflict(self.event_type, kept, sent, where))
        return out

    def _columns(self, alias: str) -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL("{}.{}").format(_ident(alias), _ident(c)) for c in self.names)

    def _rows(
        self, query: sql.Composed, params: Mapping[str, Any], *, seq: bool = False
    ) -> list[tuple[dict[str, Any], int]]:
        width = len(self.names)
        return [
            (dict(zip(self.names, r[:width], strict=True)), int(r[width]) if seq else -1)
            for r in self.connection.execute(query, params).fetchall()
        ]


# --- helpers --------------------------------------------------------------------------------


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        connection = psycopg.connect(conninfo(url), autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot open telemetry store {shown_url(url)}: {reason}") from None
    # pin what the text forms depend on, whatever the server's configuration says: naive UTC
    # timestamps in ISO form, and doubles printed to the shortest exact digits
    connection.execute("SET TIME ZONE 'UTC'")
    connection.execute("SET DateStyle = 'ISO, YMD'")
    connection.execute("SET extra_float_digits = 1")
    return connection


_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

# the Arrow type of a result column by its PostgreSQL type oid (others: what Arrow infers)
_ARROW_OF_OID = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int32(),
    23: pa.int32(),
    25: pa.string(),
    1043: pa.string(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    1114: pa.timestamp("us"),
}


def _newer(url: str, version: int) -> str:
    return (
        f"telemetry store {shown_url(url)} has schema version {version}, newer than this smartfactory "
        f"({SCHEMA_VERSION}); upgrade smartfactory"
    )


def _months(lo: datetime, hi: datetime) -> list[tuple[int, int]]:
    out = []
    year, month = lo.year, lo.month
    while (year, month) <= (hi.year, hi.month):
        out.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _next_month(moment: datetime) -> datetime:
    return (
        datetime(moment.year + 1, 1, 1) if moment.month == 12 else datetime(moment.year, moment.month + 1, 1)
    )


def _create_partition(
    connection: psycopg.Connection[Any], event_type: EventType, year: int, month: int
) -> None:
    """The month's partition; rows the default partition holds for that month move into it."""
    name = event_type.value
    part = _ident(f"{name}_p{year:04d}{month:02d}")
    lo = date(year, month, 1)
    hi = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    time = _ident(TIME_COLUMN[event_type])
    default = _ident(f"{name}_default")
    exists = connection.execute(
        "SELECT to_regclass(%s) IS NOT NULL", (part.as_string(connection),)
    ).fetchone()
    if exists and exists[0]:
        return
    stray = connection.execute(
        sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE {} >= %s AND {} < %s)").format(default, time, time),
        (lo, hi),
    ).fetchone()
    if stray and stray[0]:
        # the safety net caught rows of this month: move them into the new partition, since
        # PostgreSQL refuses a partition whose rows the default partition already holds
        connection.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                part, _ident(name)
            )
        )
        connection.execute(
            sql.SQL(
                "WITH moved AS (DELETE FROM {} WHERE {} >= %s AND {} < %s RETURNING *) "
                "INSERT INTO {} SELECT * FROM moved"
            ).format(default, time, time, part),
            (lo, hi),
        )
        connection.execute(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                _ident(name), part, sql.Literal(lo.isoformat()), sql.Literal(hi.isoformat())
            )
        )
        return
    connection.execute(
        sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
            part, _ident(name), sql.Literal(lo.isoformat()), sql.Literal(hi.isoformat())
        )
    )


def _period(column: str, start: datetime | None, end: datetime | None) -> sql.Composable:
    clauses: list[sql.Composable] = []
    if start is not None:
        clauses.append(sql.SQL("{} >= {}").format(_ident(column), sql.Literal(start)))
    if end is not None:
        clauses.append(sql.SQL("{} < {}").format(_ident(column), sql.Literal(end)))
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("")
