"""The ingest writer: commits what live sources decode, then acknowledges it; spools when it cannot.

One writer per ingest process owns the telemetry store. Sources fill :attr:`IngestWriter.batch`;
the writer swaps in a fresh batch and commits the full one in a worker thread (DuckDB does the
work outside the GIL), so decoding goes on while a commit runs. A batch is one transaction:
events, closed states, open states and quarantined payloads together. Its acks run only after
the commit — or after the batch is fsynced to the spool when the store cannot take writes — so
a source that redelivers unacknowledged messages after a crash loses nothing.

``share_store=True`` closes the store after each commit, so other processes (an import, a KPI
report) can open it between commits; while one holds it, batches go to the spool and are
replayed in order when the store is free again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from smartfactory.connect.live import EventBatch
from smartfactory.connect.open_states import OpenStates
from smartfactory.connect.spool import Spool
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.events import EventType
from smartfactory.store.quarantine import Quarantine, Rejected
from smartfactory.store.telemetry import TelemetryStore

logger = logging.getLogger(__name__)

SPOOL_FOLDER = "spool"

_REJECTED_SCHEMA = pa.schema([("source", pa.string()), ("reason", pa.string()), ("raw", pa.binary())])


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
    stored: int = 0
    quarantined: int = 0
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
        share_store: bool = False,
        retry_s: float = 1.0,
    ) -> None:
        if max_rows <= 0 or max_delay_s <= 0:
            raise UserError("the ingest writer needs max_rows > 0 and max_delay_s > 0")
        self.folder = Path(store_folder)
        self.max_rows = max_rows
        self.max_delay_s = max_delay_s
        self.max_backlog_rows = max_backlog_rows or 4 * max_rows
        self.share_store = share_store
        self.retry_s = retry_s
        self.batch = EventBatch()
        self.stats = WriterStats()
        self.spool = Spool(self.folder / SPOOL_FOLDER)
        self.stats.spool_pending = self.spool.pending()
        self.open_states = OpenStates()
        self._store: TelemetryStore | None = None
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
        """Open the store (or note it is busy) and start committing in the background."""
        if self._task is not None:
            return
        if not self.share_store:
            try:
                await asyncio.to_thread(self._open)
            except StoreUnavailable as exc:
                self._unavailable(exc)
        self._task = asyncio.create_task(self._loop(), name="ingest-writer")

    async def flush(self) -> None:
        """Commit the current batch now (and replay the spool first where possible)."""
        await self._commit_current()

    async def stop(self) -> None:
        """Commit what is left, run its acks, close the store."""
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
        self.stats.stored += outcome.stored
        self.stats.quarantined += outcome.quarantined
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
            self._release()
            return outcome
        if self.stats.spool_pending:
            # keep the order: nothing newer may reach the store before what waits in the spool
            self._to_spool(tables)
            outcome.spooled = True
            return outcome
        try:
            stored, quarantined = self._commit(tables)
            outcome.stored += stored
            outcome.quarantined += quarantined
            self.stats.store_available = True
        except StoreUnavailable as exc:
            self._unavailable(exc)
            self._to_spool(tables)
            outcome.spooled = True
        self._release()
        return outcome

    def _commit(self, tables: dict[str, pa.Table]) -> tuple[int, int]:
        store = self._open()
        connection = store.connection
        try:
            connection.execute("BEGIN TRANSACTION")
            stored = 0
            quarantined_rows: list[Rejected] = []
            changed = {}
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
                    stored += store.write(event_type, table)
            if "rejected" in tables:
                quarantined_rows.extend(
                    Rejected(r["source"], r["reason"], r["raw"]) for r in tables["rejected"].to_pylist()
                )
            quarantined = Quarantine(connection).add(quarantined_rows) if quarantined_rows else 0
            self.open_states.save(connection, changed)
            connection.execute("COMMIT")
        except (duckdb.IOException, OSError) as exc:
            self._rollback(connection)
            self._drop_store()
            raise StoreUnavailable(str(exc)) from exc
        except BaseException:
            self._rollback(connection)
            raise
        self.open_states.commit(changed)
        return stored, quarantined

    def _replay(self, outcome: _Outcome) -> None:
        """Commit every spooled segment, oldest first, counting into ``outcome`` as it goes."""
        for segment in self.spool.segments():
            rows, rejected = self._commit(segment.tables())
            # removed only once committed: a crash here replays it again, which stores nothing twice
            self.spool.remove(segment)
            self.stats.spool_pending = self.spool.pending()
            outcome.replayed += 1
            outcome.stored += rows
            outcome.quarantined += rejected

    def _to_spool(self, tables: dict[str, pa.Table]) -> None:
        self.spool.append(tables)
        self.stats.spool_pending = self.spool.pending()

    def _unavailable(self, exc: Exception) -> None:
        self.stats.store_available = False
        self.stats.last_error = str(exc)
        self._next_retry = time.monotonic() + self.retry_s
        logger.warning("store unavailable, spooling: %s", exc)

    def _open(self) -> TelemetryStore:
        if self._store is not None:
            return self._store
        try:
            store = TelemetryStore.open(self.folder, "write")
        except StoreLockedError as exc:
            raise StoreUnavailable(str(exc)) from exc
        except UserError as exc:
            raise StoreUnavailable(str(exc)) from exc
        self.open_states.load(store.connection)
        Quarantine(store.connection)
        self._store = store
        return store

    def _release(self) -> None:
        if self.share_store:
            self._close()

    def _close(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            except duckdb.Error as exc:
                logger.warning("closing the store: %s", exc)
            self._store = None

    def _drop_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(duckdb.Error):
                store.connection.close()

    @staticmethod
    def _rollback(connection: duckdb.DuckDBPyConnection) -> None:
        with contextlib.suppress(duckdb.Error):
            connection.execute("ROLLBACK")


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
