"""The workspace: one object that owns the store folder, its connections, the plant and the cache.

Every command, route and page gets its data through a ``Workspace``: the CLI opens one per
command (``Workspace.open``), ``smartfactory serve`` one for the process. Nothing else opens
the registry or the telemetry file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from smartfactory.app.cache import CACHE_ENV, ResultCache, VersionGate
from smartfactory.model.plant import Plant
from smartfactory.store import Registry, StoreFolder, TelemetryStore
from smartfactory.store.closing import Closing

Mode = Literal["write", "read"]


@dataclass(frozen=True)
class WorkspaceSettings:
    """Where the data is and how a server runs; ``smartfactory serve`` fills these from its options."""

    store: Path
    registry_url: str | None = None  # default: the SQLite registry in the store folder
    secure_cookies: bool = False  # set when served over TLS (directly or behind a proxy)
    session_hours: float = 12.0
    login_failures: int = 5  # failed log-ins allowed per name and per address in the window
    login_window_s: float = 300.0


class Workspace(Closing):
    """One registry engine and one DuckDB database, a cursor per use; the plant and the result cache.

    ``mode="write"`` makes this process the store's one writer (a server that acknowledges
    alarms and records scenario runs); ``mode="read"`` opens the telemetry read-only (the CLI's
    queries). ``plant`` overrides the stored plant (``--plant`` of the CLI).
    """

    def __init__(self, settings: WorkspaceSettings, mode: Mode = "write", plant: Plant | None = None) -> None:
        self.settings = settings
        self.mode = mode
        self.folder = StoreFolder(Path(settings.store), settings.registry_url)
        # the telemetry first: a read-only open of a folder that is not a store fails before
        # the registry would create the folder and an empty SQLite file in it
        self._root = self.folder.open_telemetry(mode)
        try:
            self.registry: Registry = self.folder.open_registry()
        except BaseException:
            self._root.close()
            raise
        self._plant: Plant | None = plant
        self._plant_given = plant is not None
        self._plant_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.cache = ResultCache(enabled=os.environ.get(CACHE_ENV, "on").lower() not in ("off", "0", "no"))
        self.version_gate = VersionGate(self)

    @classmethod
    def open(
        cls,
        store: str | Path,
        *,
        mode: Mode = "read",
        registry_url: str | None = None,
        plant: Plant | None = None,
    ) -> Workspace:
        """A workspace over a store folder, for one command (read-only unless ``mode="write"``)."""
        return cls(WorkspaceSettings(store=Path(store), registry_url=registry_url), mode=mode, plant=plant)

    @property
    def store_path(self) -> Path:
        """The store folder."""
        return self.folder.path

    @contextmanager
    def telemetry(self) -> Iterator[TelemetryStore]:
        """A store on its own cursor, for one request's thread."""
        cursor = self._root.connection.cursor()
        try:
            yield TelemetryStore(cursor, self._root.path, self.mode)
        finally:
            cursor.close()

    @contextmanager
    def writing(self) -> Iterator[TelemetryStore]:
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
        self._root.close()
        self.registry.close()
