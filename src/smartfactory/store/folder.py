"""The store folder: the one place that knows where the telemetry file and the registry live.

Every command, scenario and server reaches the stored data through a ``StoreFolder`` (the
application layer's ``Workspace`` holds one), so the file names, the registry URL override and
"read the stored plant" are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.store.postgres import EventStore, PgTelemetryStore, is_postgres_url, shown_url
from smartfactory.store.registry import Registry
from smartfactory.store.telemetry import TELEMETRY_FILE, TelemetryStore

REGISTRY_FILE = "registry.sqlite"


@dataclass(frozen=True)
class StoreFolder:
    """A store folder (DuckDB telemetry + SQLite registry), or a registry at a server URL.

    With ``telemetry_url`` (``StoreFolder.at("postgresql://…")``) the telemetry is the PostgreSQL
    store in that database, and so is the registry unless another URL is given.
    """

    path: Path
    registry_url: str | None = None  # default: the SQLite registry in the folder
    telemetry_url: str | None = None  # default: the DuckDB file in the folder

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def at(cls, location: str | Path, registry_url: str | None = None) -> StoreFolder:
        """The store a ``--store`` value names: a folder, or a ``postgresql://`` database for both parts."""
        if is_postgres_url(location):
            # no folder: telemetry and registry live in the database
            return cls(Path(), registry_url or str(location), telemetry_url=str(location))
        return cls(Path(location), registry_url)

    @property
    def location(self) -> str:
        """Where the store is, for messages: the folder, or the database URL without its password."""
        return shown_url(self.telemetry_url) if self.telemetry_url else str(self.path)

    @property
    def telemetry_path(self) -> Path:
        """The DuckDB file."""
        return self.path / TELEMETRY_FILE

    @property
    def registry_path(self) -> Path:
        """The SQLite registry file (unused when a registry URL is given)."""
        return self.path / REGISTRY_FILE

    @property
    def registry_location(self) -> str | Path:
        """What ``Registry.open`` is given: the URL when set, else the SQLite file."""
        return self.registry_url or self.registry_path

    def has_registry(self) -> bool:
        """Whether a registry exists (a server URL always counts)."""
        return self.registry_url is not None or self.registry_path.exists()

    def open_registry(self) -> Registry:
        """The registry, created and migrated when new."""
        if self.registry_url is None:
            self.path.mkdir(parents=True, exist_ok=True)
        return Registry.open(self.registry_location)

    def open_telemetry(self, mode: Literal["write", "read"] = "read") -> TelemetryStore:
        """The DuckDB telemetry store (``write``: the one writer process; ``read``: read-only)."""
        if self.telemetry_url is not None:
            raise UserError(
                f"this command works on an embedded store folder only, not on {self.location}; "
                "give --store a folder"
            )
        return TelemetryStore.open(self.path, mode=mode)

    def open_events(self, mode: Literal["write", "read"] = "read") -> EventStore:
        """The telemetry store, DuckDB in the folder or PostgreSQL at the telemetry URL."""
        if self.telemetry_url is not None:
            return PgTelemetryStore.open(self.telemetry_url, mode=mode)
        return TelemetryStore.open(self.path, mode=mode)

    def stored_plant(self) -> Plant | None:
        """The plant saved in the registry, or None when there is no registry or no plant."""
        if not self.has_registry():
            return None
        with self.open_registry() as registry:
            return registry.get_plant()

    def plant(self, given: Plant | None = None) -> Plant:
        """``given`` if set, else the stored plant; a UserError naming the fix when there is none."""
        return given if given is not None else self.required(self.stored_plant())

    def required(self, found: Plant | None) -> Plant:
        """``found`` (read from this folder's registry by the caller), or a UserError naming the fix."""
        if found is None:
            raise UserError(
                f"the store {self.location} holds no plant (registry {self.registry_location}); give a plant "
                "file (--plant), or run `smartfactory simulate` or `smartfactory ingest` into it first"
            )
        return found
