"""Fixtures of the store tests: every telemetry store engine behind one interface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartfactory.store import EventStore
from store_engines import ENGINES, Engine, duckdb_opener, postgres_opener


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Each telemetry store engine in turn (PostgreSQL from ``postgres_url``: skipped without a server
    unless ``SMARTFACTORY_REQUIRE_SERVICES=1``)."""
    if request.param == "postgresql":
        opener = postgres_opener(request.getfixturevalue("postgres_url"))
    else:
        opener = duckdb_opener(tmp_path)
    engine = Engine(request.param, opener)
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture
def event_store(engine: Engine) -> EventStore:
    """An empty telemetry store of each engine."""
    return engine.fresh()
