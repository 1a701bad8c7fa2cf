"""What a running server holds: its settings, the registry and the telemetry store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.store import REGISTRY_FILE, Registry, TelemetryStore


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs; ``smartfactory serve`` fills these from its options."""

    store: Path
    registry_url: str | None = None  # default: the SQLite registry in the store folder
    secure_cookies: bool = False  # set when served over TLS (directly or behind a proxy)
    session_hours: float = 12.0
    login_failures: int = 5  # failed log-ins allowed per name and per address in the window
    login_window_s: float = 300.0


class Server:
    """Shared by every request: one registry engine and one DuckDB database, a cursor per use."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        store = Path(settings.store)
        store.mkdir(parents=True, exist_ok=True)
        self.registry = Registry.open(settings.registry_url or store / REGISTRY_FILE)
        # one write-mode connection for the process: DuckDB allows one writer process, and
        # acknowledging an alarm writes; requests get their own cursor (a connection per thread)
        self._root = TelemetryStore.open(store, mode="write")
        self._plant: Plant | None = None
        self._plant_lock = threading.Lock()
        self._write_lock = threading.Lock()

    @contextmanager
    def telemetry(self) -> Iterator[TelemetryStore]:
        """A store on its own cursor, for one request's thread."""
        cursor = self._root.connection.cursor()
        try:
            yield TelemetryStore(cursor, self._root.path, "write")
        finally:
            cursor.close()

    @contextmanager
    def writing(self) -> Iterator[TelemetryStore]:
        """A store for writing; writes from the server are serialised."""
        with self._write_lock, self.telemetry() as store:
            yield store

    def plant(self) -> Plant:
        """The plant saved in the registry (cached; ``forget_plant`` after saving another)."""
        with self._plant_lock:
            if self._plant is None:
                found = self.registry.get_plant()
                if found is None:
                    raise UserError(
                        f"the store {self.settings.store} holds no plant; "
                        "run `smartfactory simulate` or `smartfactory ingest` into it first"
                    )
                self._plant = found
            return self._plant

    def forget_plant(self) -> None:
        """Drop the cached plant so the next request reads the registry again."""
        with self._plant_lock:
            self._plant = None

    def close(self) -> None:
        """Checkpoint and close the store and the registry."""
        self._root.close()
        self.registry.close()
