"""The workspace: one object that owns the store folder, its connections, the plant and the cache.

Every command, route and page gets its data through a ``Workspace``: the CLI opens one per
command (``Workspace.open``), ``smartfactory serve`` one for the process. Nothing else opens
the registry or the telemetry file.

A read-only workspace over a store that another process owns (``smartfactory serve`` or
``ingest`` holding the telemetry file for writing, published in its owner file) opens no
telemetry connection: it reaches the store through that owner (``workspace.owner``), and the
use cases called with ``smartfactory.app.remote.call`` run there. The registry is opened
directly either way (SQLite lets several processes read it).

Over a PostgreSQL store (``--store postgresql://…``) there is no owner: every process connects
to the database itself, which handles concurrent writers and readers.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from smartfactory.app.cache import CACHE_ENV, ResultCache, VersionGate
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.plant import Plant
from smartfactory.store import EventStore, PgTelemetryStore, Registry, StoreFolder, TelemetryStore
from smartfactory.store.closing import Closing
from smartfactory.store.owner import OwnerInfo, read_owner

Mode = Literal["write", "read"]

# a writer takes the telemetry file's lock a moment before it publishes its owner file: a
# reader finding the file locked but no owner yet looks again for this long
OWNER_WAIT_S = 3.0

# PostgreSQL connections a workspace keeps open between uses (more are opened while busy)
MAX_IDLE_CONNECTIONS = 8


@dataclass(frozen=True)
class WorkspaceSettings:
    """Where the data is and how a server runs; ``smartfactory serve`` fills these from its options."""

    store: Path | str  # a store folder, or a ``postgresql://`` URL (telemetry and registry there)
    registry_url: str | None = None  # default: the SQLite registry in the folder (or the URL's database)
    secure_cookies: bool = False  # set when served over TLS (directly or behind a proxy)
    session_hours: float = 12.0
    login_failures: int = 5  # failed log-ins allowed per name and per address in the window
    login_window_s: float = 300.0
    # > 0 while the store changes all the time (``serve --ingest``): the overview and the KPI API may
    # answer a result computed from data up to this many seconds old while one refresh runs
    live_lag_s: float = 0.0


class Workspace(Closing):
    """One registry engine and one DuckDB database, a cursor per use; the plant and the result cache.

    ``mode="write"`` makes this process the store's one writer (a server that acknowledges
    alarms and records scenario runs); ``mode="read"`` opens the telemetry read-only (the CLI's
    queries), or goes through the store's owner when another process holds it (``owner``).
    ``plant`` overrides the stored plant (``--plant`` of the CLI).
    """

    def __init__(
        self,
        settings: WorkspaceSettings,
        mode: Mode = "write",
        plant: Plant | None = None,
        via_owner: bool | None = None,
    ) -> None:
        self.settings = settings
        self.mode = mode
        self.folder = StoreFolder.at(settings.store, settings.registry_url)
        self.owner: OwnerInfo | None = None  # set: the store is reached through this process
        self._borrowed = False  # a view of another workspace (with_plant) closes nothing
        self._root: TelemetryStore | None = None
        # PostgreSQL: one connection per concurrent use, kept for the next (a request's thread
        # then never waits on another's query, nor shares its Ibis connection)
        self._idle: list[PgTelemetryStore] = []
        self._idle_lock = threading.Lock()
        # the telemetry first: a read-only open of a folder that is not a store fails before
        # the registry would create the folder and an empty SQLite file in it
        if self.folder.telemetry_url is not None:
            # opened now: a missing or newer store fails here, and a writer creates the tables
            self._idle.append(PgTelemetryStore.open(self.folder.telemetry_url, mode))
        else:
            self._root = self._open_telemetry(mode, via_owner if via_owner is not None else mode == "read")
        try:
            self.registry: Registry = self.folder.open_registry()
        except BaseException:
            self._close_telemetry()
            raise
        self._plant: Plant | None = plant
        self._plant_given = plant is not None
        self._plant_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.cache = ResultCache(
            enabled=os.environ.get(CACHE_ENV, "on").lower() not in ("off", "0", "no"),
            lag_s=settings.live_lag_s,
        )
        self.version_gate = VersionGate(self)

    @classmethod
    def open(
        cls,
        store: str | Path,
        *,
        mode: Mode = "read",
        registry_url: str | None = None,
        plant: Plant | None = None,
        via_owner: bool | None = None,
    ) -> Workspace:
        """A workspace over a store folder or URL, for one command (read-only unless ``mode="write"``).

        ``via_owner`` (the default for reading): when another process owns the store, go through it.
        """
        settings = WorkspaceSettings(store=store, registry_url=registry_url)
        return cls(settings, mode=mode, plant=plant, via_owner=via_owner)

    def _open_telemetry(self, mode: Mode, via_owner: bool) -> TelemetryStore | None:
        """The telemetry file, or None (and ``owner`` set) when a live owner in another process holds it."""
        if not via_owner:
            return self.folder.open_telemetry(mode)
        deadline = time.monotonic() + OWNER_WAIT_S
        while True:
            owner = read_owner(self.folder.path)
            if owner is not None and owner.pid != os.getpid():
                self.owner = owner
                return None
            try:
                return self.folder.open_telemetry(mode)
            except StoreLockedError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    @property
    def on_server(self) -> bool:
        """Whether the telemetry is a PostgreSQL store (no folder, no owner file)."""
        return self.folder.telemetry_url is not None

    @property
    def store_path(self) -> Path:
        """The store folder (a UserError for a PostgreSQL store, which has none)."""
        if self.folder.telemetry_url is not None:
            raise UserError(
                f"this works on an embedded store folder only, not yet on {self.folder.location}; "
                "give --store a folder"
            )
        return self.folder.path

    @property
    def given_plant(self) -> Plant | None:
        """The plant given to this workspace (``--plant``), or None when it uses the stored plant."""
        return self._plant if self._plant_given else None

    def with_plant(self, plant: Plant) -> Workspace:
        """This workspace with ``plant`` for the stored one (a caller's ``--plant``); its close is a no-op."""
        view = copy.copy(self)
        view._plant, view._plant_given, view._plant_lock = plant, True, threading.Lock()
        view._borrowed = True
        # results for another plant never enter the shared cache
        view.cache = ResultCache(enabled=False)
        view.version_gate = VersionGate(view)
        return view

    @contextmanager
    def telemetry(self) -> Iterator[EventStore]:
        """A store on its own cursor (PostgreSQL: its own connection), for one request's thread."""
        if self.folder.telemetry_url is not None:
            with self._idle_lock:
                store = self._idle.pop() if self._idle else None
            if store is None:
                store = PgTelemetryStore.open(self.folder.telemetry_url, self.mode)
            try:
                yield store
            finally:
                kept = False
                # a connection that broke, or was left inside a transaction, is not used again
                if store.reusable():
                    with self._idle_lock:
                        if len(self._idle) < MAX_IDLE_CONNECTIONS:
                            self._idle.append(store)
                            kept = True
                if not kept:
                    store.close()
            return
        if self._root is None:
            assert self.owner is not None  # no telemetry of its own only when it goes through an owner
            raise StoreLockedError(
                f"telemetry store {self.folder.telemetry_path} is owned by process {self.owner.pid} "
                f"({self.owner.command}); this command cannot go through it yet: stop that process, "
                "or run the command there"
            )
        cursor = self._root.connection.cursor()
        try:
            yield TelemetryStore(cursor, self._root.path, self.mode)
        finally:
            cursor.close()

    @contextmanager
    def writing(self) -> Iterator[EventStore]:
        """A store for writing; writes from this process are serialised."""
        with self._write_lock, self.telemetry() as store:
            yield store

    def plant(self) -> Plant:
        """The plant (given, or saved in the registry; cached: ``forget_plant`` after saving another)."""
        with self._plant_lock:
            if self._plant is None:
                self._plant = self.folder.required(self.registry.get_plant())
            return self._plant

    def forget_plant(self) -> None:
        """Drop the cached plant so the next use reads the registry again."""
        with self._plant_lock:
            if not self._plant_given:
                self._plant = None

    def close(self) -> None:
        """Checkpoint and close the store and the registry."""
        if self._borrowed:
            return
        self.cache.settle()  # a background refresh reads the store: it ends first
        self._close_telemetry()
        self.registry.close()

    def _close_telemetry(self) -> None:
        if self._root is not None:
            self._root.close()
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for store in idle:
            store.close()
