"""Helpers of the users-and-security tests: a light workspace (plant and users, no telemetry) and
clients signed in without the cost of a password check.

    from web_accounts import light_server, session_client, token_client
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from smartfactory.api.auth.deps import SESSION_COOKIE
from smartfactory.app.accounts import add_user
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token, start_session
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.model.plant_file import load_plant
from web import PASSWORDS, ROOT

DEMO_PLANT_FILE = ROOT / "examples" / "plants" / "discrete_machining.toml"


@contextmanager
def light_server(folder: Path) -> Iterator[Workspace]:
    """A workspace over ``folder`` holding the demo plant and users viewer, engineer, admin (no events)."""
    workspace = Workspace(WorkspaceSettings(store=folder))
    try:
        text = DEMO_PLANT_FILE.read_bytes()
        workspace.registry.save_plant(
            load_plant(DEMO_PLANT_FILE), str(DEMO_PLANT_FILE), hashlib.sha256(text).hexdigest()
        )
        for role in Role:
            add_user(workspace.registry, role.value, PASSWORDS[role], role, f"{role.value.title()} User")
        yield workspace
    finally:
        workspace.close()


class Client(TestClient):
    """A TestClient with its session's CSRF token (empty for token clients)."""

    csrf: str = ""
    token: str = ""


def session_client(app: FastAPI, username: str, lang: str = "en", **kwargs: object) -> Client:
    """A client with a fresh browser session of ``username`` (no password check: fast)."""
    workspace: Workspace = app.state.workspace
    token, csrf = start_session(workspace.registry, username, "testclient", 1.0)
    client = Client(app, headers={"Accept-Language": lang}, **kwargs)  # type: ignore[arg-type]
    client.cookies.set(SESSION_COOKIE, token)
    client.csrf = csrf
    client.token = token
    return client


def token_client(app: FastAPI, username: str, lang: str = "en", **kwargs: object) -> Client:
    """A client sending a new API token of ``username`` as a bearer token."""
    workspace: Workspace = app.state.workspace
    token = issue_token(workspace.registry, username, "test")
    client = Client(
        app,
        headers={"Accept-Language": lang, "Authorization": f"Bearer {token}"},
        **kwargs,  # type: ignore[arg-type]
    )
    client.token = token
    return client
