"""The telemetry store engines behind one interface, for the store conformance suite.

Plain helpers; the fixtures built on them (``engine``, ``event_store``) are in ``tests/store/conftest.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from smartfactory.store import EventStore, PgTelemetryStore, TelemetryStore
from smartfactory.store.postgres import QuarantineBook, conninfo
from smartfactory.store.quarantine import Quarantine

ENGINES = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Engine:
    """One telemetry store engine: opens empty stores of its kind and reads their quarantine."""

    name: str
    _open: Callable[[], EventStore]
    _opened: list[EventStore] = field(default_factory=list)

    def fresh(self) -> EventStore:
        """An empty store, closed at the end of the test."""
        store = self._open()
        self._opened.append(store)
        return store

    def close(self) -> None:
        """Close every store this engine opened."""
        for store in self._opened:
            store.close()


def quarantine_of(store: EventStore) -> QuarantineBook:
    """The quarantine table of a store, whichever engine it runs on."""
    if isinstance(store, PgTelemetryStore):
        return store.quarantine()
    assert isinstance(store, TelemetryStore)
    return Quarantine(store.connection)


def postgres_opener(url: str) -> Callable[[], EventStore]:
    """Empty stores in one database, each in a schema of its own (so two can live side by side)."""

    def fresh() -> EventStore:
        schema = f"s_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo(url), autocommit=True) as admin:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        sep = "&" if "?" in url else "?"
        return PgTelemetryStore.open(f"{url}{sep}options=-csearch_path%3D{schema}", mode="write")

    return fresh


def duckdb_opener(folder: Path) -> Callable[[], EventStore]:
    def fresh() -> EventStore:
        return TelemetryStore.open(folder / uuid.uuid4().hex, mode="write")

    return fresh
