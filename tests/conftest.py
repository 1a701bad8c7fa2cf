"""Shared test setup.

The tests live in one folder per package (``tests/kpi``, ``tests/web``, ...); the helper modules
in this folder (``plants``, ``services``, ``web``, ...) are imported by bare name, so this folder
goes on ``sys.path``. Fixtures that tests of more than one folder use are defined here; those of
a single folder in that folder's ``conftest.py``. Test modules never import each other.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

if TYPE_CHECKING:
    from smartfactory.app.workspace import Workspace


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test (skips without a server)."""
    from services import fresh_postgres_database

    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def mqtt_url() -> str:
    """The shared MQTT broker's URL (``SMARTFACTORY_TEST_MQTT``; skips when none answers)."""
    from mqtt_broker import shared_broker_url

    return shared_broker_url()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace over a 3-day store, shared by the API and web tests (read mostly; writes are alarms)."""
    from smartfactory.app.workspace import Workspace, WorkspaceSettings
    from web import build_store

    workspace = Workspace(WorkspaceSettings(store=build_store(tmp_path_factory.mktemp("web-store"))))
    yield workspace
    workspace.close()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The ``gate`` scenario in the library for one test: its run lasts until the test sets the event."""
    from scenario_gate import install_gate

    yield from install_gate(monkeypatch)
