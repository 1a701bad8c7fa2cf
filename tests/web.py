"""Shared setup of the web tests: a small simulated store with one user per role, and clients.

``build_store`` simulates the demo plant for 3 days into a folder (the session fixture
``web_server`` of ``tests/conftest.py`` opens one ``Workspace`` on such a store);
``app_for(workspace)`` builds an app over it; ``signed_in`` returns a TestClient logged in as
a role, with ``client.csrf`` set.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from smartfactory.app.accounts import add_user
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.cli.options import DEMO_PLANT, DEMO_START
from smartfactory.cli.simulate import run_into_store
from smartfactory.model.plant_file import load_plant
from smartfactory.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
DAYS = 3.0
PASSWORDS = {role: f"{role.value}-password-1" for role in Role}


def build_store(folder: Path, days: float = DAYS, seed: int = 7) -> Path:
    """The demo plant simulated for ``days`` into ``folder``, with users viewer, engineer, admin."""
    plant = load_plant(ROOT / DEMO_PLANT)
    begin = datetime.combine(DEMO_START, time())
    run_into_store(plant, ROOT / DEMO_PLANT, folder, begin, days, seed, [], quiet=True)
    workspace = Workspace(WorkspaceSettings(store=folder))
    try:
        for role in Role:
            add_user(workspace.registry, role.value, PASSWORDS[role], role, f"{role.value.title()} User")
    finally:
        workspace.close()
    return folder


def app_for(workspace: Workspace, **settings: object) -> FastAPI:
    """An app over an open workspace (the workspace is not closed with the app)."""
    return create_app(WorkspaceSettings(store=workspace.settings.store, **settings), workspace=workspace)  # type: ignore[arg-type]


class SignedIn(TestClient):
    """A TestClient with the session's CSRF token at hand."""

    csrf: str = ""


def signed_in(app: FastAPI, role: Role, lang: str = "en") -> SignedIn:
    """A client logged in through the form as the user of ``role``."""
    client = SignedIn(app, headers={"Accept-Language": lang})
    response = client.post(
        "/login",
        data={"username": role.value, "password": PASSWORDS[role], "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    client.csrf = me.json()["csrf_token"]
    return client
