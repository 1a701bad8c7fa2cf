"""The result cache of a workspace, and the snapshots requests read through it.

Every result is cached per workspace, keyed by the query and a fingerprint of the store (its
event counts and the plant object), read before the computation: a write changes the counts, so
the next request computes again and nothing stale is served. Events are only ever inserted (the
store dedupes on insert), so a count that did not change means the rows did not change.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import run_in_threadpool

from smartfactory.app.i18n import language, use_language
from smartfactory.model.plant import Plant
from smartfactory.model.text import Lang
from smartfactory.store import EventStore, PgTelemetryStore, TelemetryStore

if TYPE_CHECKING:
    from smartfactory.app.workspace import Workspace

logger = logging.getLogger(__name__)

CACHE_ENV = "SMARTFACTORY_RESULT_CACHE"  # "off" computes every request (the benchmark's baseline)
T = TypeVar("T")


class _Missing:
    """Not in the cache."""


MISSING: Any = _Missing()


class ResultCache:
    """Results by key for one store version; concurrent misses of one key compute it once."""

    def __init__(self, size: int = 512, enabled: bool = True, lag_s: float = 0.0) -> None:
        self.size = size
        self.enabled = enabled
        # > 0 on a store that changes all the time (``serve --ingest``): a result computed from a
        # snapshot at most this old may answer while one refresh per key recomputes it
        self.lag_s = lag_s
        self._latest: OrderedDict[tuple[Any, ...], tuple[Any, Any, float]] = OrderedDict()
        self._refreshing: set[tuple[Any, ...]] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._plant: Plant | None = None  # held, so the id in the version is not reused
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(
        self,
        version: tuple[Any, ...],
        plant: Plant,
        key: tuple[Any, ...],
        compute: Callable[[], T],
        taken_at: float | None = None,
    ) -> T:
        """The cached value of ``key`` at this store version, computing it when missing.

        ``taken_at``: when the snapshot the value is computed from was taken (for ``recent``).
        """
        if not self.enabled:
            return compute()
        with self._lock:
            if version != self._version:
                # another store version: everything cached belongs to the old one
                self._version, self._plant = version, plant
                self._entries.clear()
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]  # type: ignore[no-any-return]
            gate = self._computing.setdefault((version, key), threading.Lock())
        with gate:
            with self._lock:
                if version == self._version and key in self._entries:
                    self.hits += 1
                    return self._entries[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                self.misses += 1
                self._computing.pop((version, key), None)
                # a result computed under an older version is answered, never kept
                if version == self._version:
                    self._entries[key] = value
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
                if taken_at is not None:
                    self._keep_latest(key, value, version, taken_at)
        return value

    def _keep_latest(
        self, key: tuple[Any, ...], value: Any, version: tuple[Any, ...], taken_at: float
    ) -> None:
        held = self._latest.get(key)
        if held is None or held[2] <= taken_at:
            self._latest[key] = (value, version, taken_at)
            self._latest.move_to_end(key)
            while len(self._latest) > self.size:
                self._latest.popitem(last=False)

    def recent(self, key: tuple[Any, ...], plant_id: Any, now: float | None = None) -> Any:
        """The newest value of ``key`` computed for this plant from a snapshot at most ``lag_s`` old."""
        if not self.enabled or self.lag_s <= 0:
            return MISSING
        with self._lock:
            held = self._latest.get(key)
        if held is None or held[1][0] != plant_id:
            return MISSING
        age = (time.monotonic() if now is None else now) - held[2]
        return held[0] if age <= self.lag_s else MISSING

    def refresh(self, key: tuple[Any, ...], job: Callable[[], object]) -> None:
        """Run ``job`` in the background unless a refresh of ``key`` is already running (one at a time)."""
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
            if self._pool is None:
                # one worker: refreshes queue instead of competing for the cores with the ingest
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-refresh")
            pool = self._pool

        def run() -> None:
            try:
                job()
            except Exception:
                logger.exception("refreshing %s failed; the next request computes it", key[:1])
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        pool.submit(run)

    def settle(self) -> None:
        """Wait for the refreshes under way (tests; closing the workspace)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def peek(self, version: tuple[Any, ...], key: tuple[Any, ...]) -> Any:
        """The cached value of ``key`` at this store version, or ``MISSING`` (computes nothing)."""
        if not self.enabled:
            return MISSING
        with self._lock:
            if version != self._version or key not in self._entries:
                return MISSING
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._version, self._plant = None, None
            self._entries.clear()
            self._latest.clear()


def store_version(store: EventStore) -> tuple[int, ...]:
    """What changes with every stored event: one small query (under a millisecond).

    DuckDB: the event counts of the tables KPIs read (answered from its table statistics).
    PostgreSQL: the per-table write counters the store keeps in each write's transaction (a
    count there would scan the tables on every request).
    """
    if isinstance(store, PgTelemetryStore):
        return store.version()
    assert isinstance(store, TelemetryStore)
    rows = store.connection.execute(
        "SELECT (SELECT count(*) FROM states), (SELECT count(*) FROM counts), "
        "(SELECT count(*) FROM measurements)"
    ).fetchall()
    return tuple(int(v) for v in rows[0])


class NeedsStore(Exception):
    """A cached-only snapshot was asked for something it would have to read or compute."""


@dataclass(frozen=True)
class Snapshot:
    """What one request reads: the store on its own cursor, the plant and the store's version.

    A snapshot without a store (``cached_snapshot``) answers only from the cache: anything it
    would have to read or compute raises ``NeedsStore``.
    """

    workspace: Workspace
    store: EventStore | None
    plant: Plant
    version: tuple[Any, ...]
    taken_at: float = field(default_factory=time.monotonic)

    @property
    def db(self) -> EventStore:
        """The store (``NeedsStore`` for a cached-only snapshot)."""
        if self.store is None:
            raise NeedsStore
        return self.store

    def cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()`` cached under ``key`` at this snapshot's version."""
        if self.store is None:
            found = self.peek(key)
            if found is MISSING:
                raise NeedsStore
            return found  # type: ignore[no-any-return]
        return self.workspace.cache.get(self.version, self.plant, key, compute, self.taken_at)

    def cached_live(self, key: tuple[Any, ...], build: Callable[[Snapshot], T]) -> T:
        """``build(self)`` cached under ``key``; on a live store (``lag_s`` > 0) a result computed from a
        snapshot at most ``lag_s`` old answers at once while one refresh recomputes it in the background.

        Every commit of a live ingest changes the version; without this, each request would
        compute anew and many requests would compete for the cores with the ingest itself.
        """
        found = self.peek_live(key, build)
        if found is not MISSING:
            return found  # type: ignore[no-any-return]
        return self.cached(key, lambda: build(self))

    def peek_live(self, key: tuple[Any, ...], build: Callable[[Snapshot], Any]) -> Any:
        """``cached_live`` without computing: the value at this version, or a recent one (starting its
        refresh), or ``MISSING`` (for the event loop, which must not compute)."""
        cache = self.workspace.cache
        found = cache.peek(self.version, key)
        if found is not MISSING:
            return found
        recent = cache.recent(key, self.version[0])
        if recent is not MISSING:
            cache.refresh(key, functools.partial(_refresh, self.workspace, key, build, language()))
        return recent

    def peek(self, key: tuple[Any, ...]) -> Any:
        """The value cached under ``key`` at this snapshot's version, or ``MISSING``."""
        return self.workspace.cache.peek(self.version, key)

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """The first and the last stored event (UTC), cached per version like the results."""
        return self.cached(("time-range",), lambda: self.db.time_range())


def _refresh(
    workspace: Workspace, key: tuple[Any, ...], build: Callable[[Snapshot], Any], lang: Lang
) -> None:
    with use_language(lang), snapshot(workspace) as snap:
        snap.cached(key, lambda: build(snap))


def read_version(workspace: Workspace) -> tuple[Plant, tuple[Any, ...]]:
    """The plant and the store's version, read now (on the caller's thread)."""
    with workspace.telemetry() as store:
        plant = workspace.plant()
        return plant, (id(plant), *store_version(store))


@contextmanager
def snapshot(workspace: Workspace) -> Iterator[Snapshot]:
    """Open a snapshot for one request (the version is read before anything is computed)."""
    with workspace.telemetry() as store:
        plant = workspace.plant()
        version = (id(plant), *store_version(store))
        yield Snapshot(workspace, store, plant, version)


class VersionGate:
    """Reads the store's version for the event loop, one read for every request waiting on it.

    A request must see a version read after it arrived (then every write committed before it
    counts). Requests that arrive while a read is running wait for the next one, which starts
    when that one ends and serves all of them: under load one small query (in a thread, so the
    loop goes on) answers many requests instead of each blocking the loop for a millisecond.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = 0
        self._done = 0
        self._value: tuple[Plant, tuple[Any, ...]] | None = None
        self._running: asyncio.Future[None] | None = None

    async def read(self) -> tuple[Plant, tuple[Any, ...]]:
        """The plant and a version read after this call began."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests make one per client): start afresh
            self._loop, self._started, self._done, self._value, self._running = loop, 0, 0, None, None
        need = self._started + 1
        while self._done < need or self._value is None:
            if self._running is None:
                self._started += 1
                self._running = asyncio.ensure_future(self._read(self._started))
            await asyncio.shield(self._running)
        return self._value

    async def _read(self, seq: int) -> None:
        try:
            value = await run_in_threadpool(read_version, self.workspace)
            if seq > self._done:
                self._value, self._done = value, seq
        finally:
            self._running = None


async def cached_snapshot(workspace: Workspace) -> Snapshot:
    """A snapshot at the store's current version that answers from the cache only."""
    plant, version = await workspace.version_gate.read()
    return Snapshot(workspace, None, plant, version)
