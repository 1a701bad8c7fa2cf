"""Stores with the demo answers imported, for the assessment API and page tests.

One store is built per test session (``build_store`` + the demo answers); every test that writes
gets its own copy (``open_copy``), and the tests that only read share one copy (``shared_reader``).
"""

from __future__ import annotations

import atexit
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartfactory.app import answers as answer_service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from web import ROOT, app_for, build_store, signed_in

DEMO_ANSWERS = ROOT / "examples" / "factories" / "b_discrete_midsize" / "answers.yaml"
# the demo answers reach advanced; answering no to this one drops the plant to basic, yes lifts it back
LEVEL_KEY = "G25-ADV-BENCH"
_SEEDED: dict[str, Path] = {}
_READER: dict[str, Workspace] = {}


def seeded_folder(factory: pytest.TempPathFactory) -> Path:
    """A 3-day store with the users and the demo answers imported (built once per test session)."""
    if "folder" not in _SEEDED:
        folder = build_store(factory.mktemp("assessment-store"))
        workspace = Workspace(WorkspaceSettings(store=folder))
        try:
            answer_service.import_answers(workspace, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
        finally:
            workspace.close()
        _SEEDED["folder"] = folder
    return _SEEDED["folder"]


def open_copy(factory: pytest.TempPathFactory, target: Path) -> Workspace:
    """A workspace over a fresh copy of the seeded store."""
    shutil.copytree(seeded_folder(factory), target)
    return Workspace(WorkspaceSettings(store=target))


def shared_reader(factory: pytest.TempPathFactory) -> Workspace:
    """One workspace over a copy of the seeded store that the tests only read (shared by the modules).

    Its assessments are kept by the service, so the page and the API tests measure the live
    evidence once per language rather than once per test.
    """
    if "reader" not in _READER:
        workspace = open_copy(factory, factory.mktemp("read") / "store")
        atexit.register(workspace.close)
        _READER["reader"] = workspace
    return _READER["reader"]


def client(workspace: Workspace, role: Role, lang: str = "en") -> TestClient:
    """A signed-in client of ``role`` over ``workspace``."""
    return signed_in(app_for(workspace), role, lang)
