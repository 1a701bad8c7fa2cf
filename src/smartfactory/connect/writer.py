"""The ingest writer: commits what live sources decode, then acknowledges it; spools when it cannot.

One writer per ingest process owns the telemetry store. Sources fill :attr:`IngestWriter.batch`;
the writer swaps in a fresh batch and commits the full one in a worker thread (DuckDB does the
work outside the GIL), so decoding goes on while a commit runs. A batch is one transaction:
events, closed states, open states and quarantined payloads together. Its acks run only after
the commit — or after the batch is fsynced to the spool when the store cannot take writes — so
a source that redelivers unacknowledged messages after a crash loses nothing.

The writer either opens the store itself — a folder (DuckDB) or a ``postgresql://`` URL, through
``StoreFolder.at(location).open_events("write")`` — or is given ``store``: how to reach a store
its caller already holds open (``Workspace.writing`` of ``smartfactory serve --ingest``), since
DuckDB allows one writer process per file and a second connection of the same process to the
file would be a second database. PostgreSQL has no such rule: several writers (one ``ingest`` per
line…) write to one database at once. When the store cannot take writes (held by another
process, an I/O error, a PostgreSQL server that is down), batches go to the spool and are replayed
in order once it can again. The spool is the folder's ``spool/``; for a URL, a local folder the
caller names, by default ``~/.smartfactory/spool/<hash>`` (``url_spool_folder``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa

from smartfactory.connect.live import EventBatch
from smartfactory.connect.open_states import OpenState, OpenStates
from smartfactory.connect.spool import Spool
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.events import EventType
from smartfactory.store.folder import StoreFolder
from smartfactory.store.integrity import WriteReport
from smartfactory.store.postgres import EventStore, is_postgres_url, shown_url
from smartfactory.store.quarantine import Rejected
from smartfactory.store.telemetry import TelemetryStore

logger = logging.getLogger(__name__)

SPOOL_FOLDER = "spool"

_REJECTED_SCHEMA = pa.schema([("source", pa.string()), ("reason", pa.string()), ("raw", pa.binary())])


StoreAccess = Callable[[], AbstractContextManager[EventStore]]
"""How a writer reaches a store its caller holds open: one ``with`` per commit (``Workspace.writing``)."""


# what a store that cannot take writes now raises: DuckDB's file errors, a PostgreSQL server
# that is down or a connection that broke
_UNAVAILABLE: tuple[type[Exception], ...] = (
    duckdb.IOException,
    OSError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

_UNAVAILABLE_TO_OPEN: tuple[type[Exception], ...] = (StoreLockedError, *_UNAVAILABLE)


def url_spool_folder(url: str, key: str = "") -> Path:
    """The default spool of a writer to a PostgreSQL store: local, one per database and ``key``.

    ``key`` tells apart writers to the same database (``ingest`` passes its source ids), which
    must not share a spool; the password is no part of the name.
    """
    digest = hashlib.sha256(f"{shown_url(url)}\n{key}".encode()).hexdigest()[:16]
    return Path.home() / ".smartfactory" / SPOOL_FOLDER / digest


class StoreUnavailable(Exception):
    """The store cannot take this write now (locked by another process, I/O error)."""


@dataclass
class WriterStats:
    """Counters since the writer started."""

    commits: int = 0
    messages: int = 0
    points: int = 0
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0  # same key, other value: quarantined with both values
    overlaps: int = 0  # states overlapping stored ones: quarantined
    quarantined: int = 0
    spooled_points: int = 0
    spooled_segments: int = 0
    replayed_segments: int = 0
    spool_pending: int = 0
    last_commit_s: float = 0.0
    lag_s: float = 0.0
    store_available: bool = True
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return dict(vars(self))


@dataclass
class _Outcome:
    rows: WriteReport = field(default_factory=WriteReport)  # what the store did with the events
    quarantined: int = 0  # payloads the sources or the open states refused
    spooled: bool = False
    replayed: int = 0


class IngestWriter:
    """Batches from live sources into the store (or the spool), then their acks."""

    def __init__(
        self,
        store_folder: str | Path,
        *,
        max_rows: int = 20_000,
        max_delay_s: float = 0.25,
        max_backlog_rows: int | None = None,
        store: StoreAccess | None = None,
        retry_s: float = 1.0,
        spool_folder: str | Path | None = None,
    ) -> None:
        if max_rows <= 0 or max_delay_s <= 0:
            raise UserError("the ingest writer needs max_rows > 0 and max_delay_s > 0")
        # a folder, or a postgresql:// URL (kept as written: a Path would fold its "//")
        self.location = str(store_folder)
        self.folder = Path() if is_postgres_url(self.location) else Path(store_folder)
        self.max_rows = max_rows
        self.max_delay_s = max_delay_s
        self.max_backlog_rows = max_backlog_rows or 4 * max_rows
        self.retry_s = retry_s
        self.batch = EventBatch()
        self.stats = WriterStats()
        if spool_folder is None:
            spool_folder = (
                url_spool_folder(self.location)
                if is_postgres_url(self.location)
                else self.folder / SPOOL_FOLDER
            )
        self.spool = Spool(spool_folder)
        self.stats.spool_pending = self.spool.pending()
        self.open_states = OpenStates()
        # given: the caller's store, never closed here; else the folder, opened by the writer
        self._access: StoreAccess = store if store is not None else self._own_store
        self._store: EventStore | None = None
        self._prepared = False  # the open states are loaded and the quarantine table exists
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._commit_lock = asyncio.Lock()
        self._stopping = False
        self._next_retry = 0.0

    # --- for sources ------------------------------------------------------------------

    async def room(self) -> None:
        """Return at once unless the batch is full and a commit is behind (backpressure)."""
        points = self.batch.points + len(self.batch.rejected)
        if points >= self.max_rows:
            self._wake.set()
        while self.batch.points + len(self.batch.rejected) >= self.max_backlog_rows:
            self._room.clear()
            self._wake.set()
            await self._room.wait()

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Reach the store (or note it is busy) and start committing in the background."""
        if self._task is not None:
            return
        try:
            await asyncio.to_thread(self._prepare_now)
        except StoreUnavailable as exc:
            self._unavailable(exc)
        self._task = asyncio.create_task(self._loop(), name="ingest-writer")

    async def flush(self) -> None:
        """Commit the current batch now (and replay the spool first where possible)."""
        await self._commit_current()

    async def stop(self) -> None:
        """Commit what is left, run its acks, close the store if the writer opened it."""
        self._stopping = True
        if self._task is not None:
            # never cancel: a commit in flight must finish before the store closes
            self._wake.set()
            await self._task
            self._task = None
        await self._commit_current(final=True)
        await asyncio.to_thread(self._close)

    async def __aenter__(self) -> IngestWriter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the loop ---------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.max_delay_s)
            self._wake.clear()
            await self._commit_current()

    async def _commit_current(self, final: bool = False) -> None:
        # one commit at a time, in batch order: flush() may race the background loop
        async with self._commit_lock:
            await self._commit_locked(final)

    async def _commit_locked(self, final: bool) -> None:
        batch = self.batch
        nothing_new = batch.empty()
        if nothing_new and not (self.stats.spool_pending and time.monotonic() >= self._next_retry):
            return
        self.batch = EventBatch()
        self._room.set()
        started = time.perf_counter()
        outcome = await asyncio.to_thread(self._persist, batch, final)
        self.stats.commits += 1
        self.stats.last_commit_s = time.perf_counter() - started
        self.stats.messages += batch.messages
        self.stats.points += batch.points
        self.stats.stored += outcome.rows.stored
        self.stats.duplicates += outcome.rows.duplicates
        self.stats.conflicts += outcome.rows.conflicts
        self.stats.overlaps += outcome.rows.overlaps
        # the store quarantines conflicts and overlaps itself, in the same transaction
        self.stats.quarantined += outcome.quarantined + outcome.rows.refused
        self.stats.replayed_segments += outcome.replayed
        if outcome.spooled:
            self.stats.spooled_points += batch.points
            self.stats.spooled_segments += 1
        if batch.oldest_received is not None:
            self.stats.lag_s = time.monotonic() - batch.oldest_received
        for ack in batch.acks:
            try:
                ack()
            except Exception as exc:  # a source that went away cannot be acked; it will redeliver
                logger.warning("ack failed: %s", exc)

    # --- in the worker thread ---------------------------------------------------------

    def _persist(self, batch: EventBatch, final: bool) -> _Outcome:
        outcome = _Outcome()
        tables = _batch_tables(batch)
        if self.stats.spool_pending and (final or time.monotonic() >= self._next_retry):
            try:
                self._replay(outcome)
                self.stats.store_available = True
            except StoreUnavailable as exc:
                self._unavailable(exc)
        if not tables:
            return outcome
        if self.stats.spool_pending:
            # keep the order: nothing newer may reach the store before what waits in the spool
            self._to_spool(tables)
            outcome.spooled = True
            return outcome
        try:
            self._commit(tables, outcome)
            self.stats.store_available = True
        except StoreUnavailable as exc:
            self._unavailable(exc)
            self._to_spool(tables)
            outcome.spooled = True
        return outcome

    def _commit(self, tables: dict[str, pa.Table], outcome: _Outcome) -> None:
        """One batch in one transaction (the store's: it keeps this process's other writers out too)."""
        rows = WriteReport()
        with ExitStack() as stack:
            store = self._enter(stack)
            try:
                with store.transaction():
                    quarantined, changed = self._write(store, tables, rows)
            except _UNAVAILABLE as exc:
                self._drop_store()
                raise StoreUnavailable(str(exc)) from exc
        self.open_states.commit(changed)
        outcome.rows += rows
        outcome.quarantined += quarantined

    def _write(
        self, store: EventStore, tables: dict[str, pa.Table], rows: WriteReport
    ) -> tuple[int, dict[str, OpenState]]:
        """One batch's writes inside the caller's transaction: (quarantined, changed open states)."""
        quarantined_rows: list[Rejected] = []
        changed: dict[str, OpenState] = {}
        if "changes" in tables:
            applied = self.open_states.apply(tables["changes"])
            quarantined_rows.extend(applied.rejected)
            changed = applied.changed
            if applied.intervals.num_rows:
                tables = dict(tables)
                tables[EventType.states.value] = (
                    pa.concat_tables([tables[EventType.states.value], applied.intervals])
                    if EventType.states.value in tables
                    else applied.intervals
                )
        for event_type in EventType:
            table = tables.get(event_type.value)
            if table is not None and table.num_rows:
                rows += store.write_report(event_type, table)
        if "rejected" in tables:
            quarantined_rows.extend(
                Rejected(r["source"], r["reason"], r["raw"]) for r in tables["rejected"].to_pylist()
            )
        quarantined = store.quarantine().add(quarantined_rows) if quarantined_rows else 0
        self.open_states.save(store, changed)
        return quarantined, changed

    def _replay(self, outcome: _Outcome) -> None:
        """Commit every spooled segment, oldest first, counting into ``outcome`` as it goes."""
        for segment in self.spool.segments():
            self._commit(segment.tables(), outcome)
            # removed only once committed: a crash here replays it again, which stores nothing twice
            self.spool.remove(segment)
            self.stats.spool_pending = self.spool.pending()
            outcome.replayed += 1

    def _to_spool(self, tables: dict[str, pa.Table]) -> None:
        self.spool.append(tables)
        self.stats.spool_pending = self.spool.pending()

    def _unavailable(self, exc: Exception) -> None:
        self.stats.store_available = False
        self.stats.last_error = str(exc)
        self._next_retry = time.monotonic() + self.retry_s
        logger.warning("store unavailable, spooling: %s", exc)

    def _enter(self, stack: ExitStack) -> EventStore:
        """The store for one commit, prepared on first use; StoreUnavailable when it cannot be had."""
        try:
            store = stack.enter_context(self._access())
            if not self._prepared:
                self.open_states.load(store)
                store.quarantine()  # creates the DuckDB table outside the first batch's transaction
                self._prepared = True
        except _UNAVAILABLE_TO_OPEN as exc:
            self._drop_store()
            raise StoreUnavailable(str(exc)) from exc
        except UserError as exc:  # e.g. a folder that cannot be created, a server that does not answer
            raise StoreUnavailable(str(exc)) from exc
        return store

    def _prepare_now(self) -> None:
        with ExitStack() as stack:
            self._enter(stack)

    @contextmanager
    def _own_store(self) -> Iterator[EventStore]:
        """The store (folder or URL), opened by this writer on first use and kept until ``stop``."""
        if self._store is None:
            self._store = StoreFolder.at(self.location).open_events("write")
            self._prepared = False
        yield self._store

    def _close(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            except (duckdb.Error, psycopg.Error) as exc:
                logger.warning("closing the store: %s", exc)
            self._store = None

    def _drop_store(self) -> None:
        # the open states are read again from what the store kept when it is next reached
        self._prepared = False
        store, self._store = self._store, None
        if isinstance(store, TelemetryStore):
            with contextlib.suppress(duckdb.Error):
                store.connection.close()  # no checkpoint: the file may be what failed
        elif store is not None:
            with contextlib.suppress(psycopg.Error):
                store.close()


def _batch_tables(batch: EventBatch) -> dict[str, pa.Table]:
    """A batch as named tables: the event types, ``changes`` and ``rejected`` (the spool's layout)."""
    tables: dict[str, pa.Table] = {t.value: table for t, table in batch.tables().items()}
    if batch.changes:
        tables["changes"] = batch.change_table()
    if batch.rejected:
        tables["rejected"] = pa.Table.from_pylist(
            [
                {
                    "source": r.source,
                    "reason": r.reason,
                    "raw": r.raw.encode("utf-8") if isinstance(r.raw, str) else bytes(r.raw),
                }
                for r in batch.rejected
            ],
            schema=_REJECTED_SCHEMA,
        )
    return tables
