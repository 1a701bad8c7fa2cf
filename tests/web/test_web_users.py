"""Managing users through the API and the admin page: rules, field-level errors, the last admin."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from smartfactory.app import accounts
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.store.registry import UserRow
from web_accounts import Client, session_client, token_client


def _admin(app: FastAPI, lang: str = "en") -> Client:
    client = session_client(app, "admin", lang)
    client.headers["X-CSRF-Token"] = client.csrf
    return client


def _rows(workspace: Workspace) -> list[tuple[str, str, str]]:
    with Session(workspace.registry.engine) as session:
        return [
            (r.username, r.role, r.password_hash)
            for r in session.scalars(select(UserRow).order_by(UserRow.username))
        ]


# --- API --------------------------------------------------------------------------------------


def test_an_admin_lists_adds_changes_and_removes_users(app: FastAPI, workspace: Workspace) -> None:
    client = _admin(app)
    listed = client.get("/api/v1/users")
    assert listed.status_code == 200
    assert [u["username"] for u in listed.json()] == ["admin", "engineer", "viewer"]
    assert all("password" not in str(u) and "hash" not in str(u) for u in listed.json())
    created = client.post(
        "/api/v1/users",
        json={
            "username": "li.wei@plant",
            "password": "long-enough-1",
            "role": "engineer",
            "display_name": " 李伟 ",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["display_name"] == "李伟"
    assert created.json()["role"] == "engineer"
    assert accounts.authenticate(workspace.registry, "li.wei@plant", "long-enough-1") is not None
    promoted = client.put("/api/v1/users/li.wei@plant/role", json={"role": "admin"})
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    new_password = client.put("/api/v1/users/li.wei@plant/password", json={"password": "another-one-2"})
    assert new_password.status_code == 204
    assert accounts.authenticate(workspace.registry, "li.wei@plant", "another-one-2") is not None
    assert accounts.authenticate(workspace.registry, "li.wei@plant", "long-enough-1") is None
    assert client.delete("/api/v1/users/li.wei@plant").status_code == 204
    assert accounts.get_user(workspace.registry, "li.wei@plant") is None


def test_bad_fields_are_all_reported_at_once_and_nothing_is_added(app: FastAPI, workspace: Workspace) -> None:
    client = _admin(app)
    before = _rows(workspace)
    response = client.post(
        "/api/v1/users", json={"username": "no spaces!", "password": "short", "role": "boss"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"body.username", "body.password", "body.role"}
    assert "letters, digits" in errors["body.username"]
    assert "8 to 1024 characters" in errors["body.password"]
    assert "viewer" in errors["body.role"] and "admin" in errors["body.role"]
    assert _rows(workspace) == before


def test_field_messages_are_in_chinese_for_chinese_users(app: FastAPI) -> None:
    client = _admin(app, lang="zh-CN")
    response = client.post("/api/v1/users", json={"username": "", "password": "short", "role": "viewer"})
    assert response.status_code == 422
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "字母" in messages and "字符" in messages


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "x"},
        {"username": "ok-name", "password": None, "role": "viewer"},
        {"username": "ok-name", "password": "long-enough-1", "role": "viewer", "display_name": "a\nb"},
        {"username": "ok-name", "password": "long-enough-1", "role": "viewer", "display_name": "x" * 201},
        {"username": "x" * 65, "password": "long-enough-1"},
        {"username": "ok-name", "password": "p" * 1025},
        {"username": ["list"], "password": "long-enough-1"},
    ],
)
def test_malformed_new_users_are_422(app: FastAPI, workspace: Workspace, body: dict[str, object]) -> None:
    before = _rows(workspace)
    response = _admin(app).post("/api/v1/users", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]
    assert _rows(workspace) == before


def test_a_taken_name_is_a_conflict(app: FastAPI, workspace: Workspace) -> None:
    before = _rows(workspace)
    response = _admin(app).post(
        "/api/v1/users", json={"username": "viewer", "password": "long-enough-1", "role": "admin"}
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "body.username"
    assert _rows(workspace) == before  # the viewer kept their role and password


def test_unknown_users_are_404(app: FastAPI, workspace: Workspace) -> None:
    client = _admin(app)
    before = _rows(workspace)
    assert client.delete("/api/v1/users/nobody").status_code == 404
    assert client.put("/api/v1/users/nobody/role", json={"role": "admin"}).status_code == 404
    assert client.put("/api/v1/users/nobody/password", json={"password": "long-enough-1"}).status_code == 404
    assert client.delete("/api/v1/users/" + "x" * 300).status_code == 422
    assert _rows(workspace) == before


def test_bad_roles_and_passwords_on_change_are_422(app: FastAPI, workspace: Workspace) -> None:
    client = _admin(app)
    before = _rows(workspace)
    bad_role = client.put("/api/v1/users/viewer/role", json={"role": "root"})
    assert bad_role.status_code == 422
    assert bad_role.json()["errors"][0]["field"] == "body.role"
    short = client.put("/api/v1/users/viewer/password", json={"password": "short"})
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "body.password"
    assert _rows(workspace) == before


def test_the_last_admin_cannot_be_removed_or_demoted(app: FastAPI, workspace: Workspace) -> None:
    client = _admin(app)
    removed = client.delete("/api/v1/users/admin")
    assert removed.status_code == 409
    assert "only admin" in removed.json()["detail"]
    demoted = client.put("/api/v1/users/admin/role", json={"role": "engineer"})
    assert demoted.status_code == 409
    assert accounts.get_user(workspace.registry, "admin").role == Role.admin  # type: ignore[union-attr]
    # staying admin is not a demotion
    assert client.put("/api/v1/users/admin/role", json={"role": "admin"}).status_code == 200
    # with a second admin, the first may step down
    accounts.add_user(workspace.registry, "second", "long-enough-1", Role.admin)
    assert client.put("/api/v1/users/admin/role", json={"role": "viewer"}).status_code == 200
    assert client.get("/api/v1/users").status_code == 403  # at once
    other = _admin_named(app, "second")
    assert other.delete("/api/v1/users/second").status_code == 409


def _admin_named(app: FastAPI, username: str) -> Client:
    client = session_client(app, username)
    client.headers["X-CSRF-Token"] = client.csrf
    return client


def test_a_password_set_by_an_admin_signs_the_user_out(app: FastAPI) -> None:
    viewer = session_client(app, "viewer")
    assert viewer.get("/api/v1/me").status_code == 200
    assert (
        _admin(app).put("/api/v1/users/viewer/password", json={"password": "brand-new-pass"}).status_code
        == 204
    )
    assert viewer.get("/api/v1/me").status_code == 401


def test_removing_a_user_ends_their_sessions_and_tokens(app: FastAPI) -> None:
    browser, script = session_client(app, "engineer"), token_client(app, "engineer")
    assert _admin(app).delete("/api/v1/users/engineer").status_code == 204
    assert browser.get("/api/v1/me").status_code == 401
    assert script.get("/api/v1/me").status_code == 401


def test_only_admins_manage_users(app: FastAPI, workspace: Workspace) -> None:
    before = _rows(workspace)
    for role in (Role.viewer, Role.engineer):
        client = token_client(app, role.value)
        assert client.get("/api/v1/users").status_code == 403
        body = {"username": "sneaky", "password": "long-enough-1", "role": "admin"}
        assert client.post("/api/v1/users", json=body).status_code == 403
        assert client.put(f"/api/v1/users/{role.value}/role", json={"role": "admin"}).status_code == 403
        assert client.delete("/api/v1/users/admin").status_code == 403
    assert _rows(workspace)[:3] == before[:3]


# --- admin page ----------------------------------------------------------------------------------


def _form(client: Client, url: str, **fields: str) -> object:
    return client.post(url, data={"csrf_token": client.csrf, **fields}, follow_redirects=False)


def test_the_users_page_lists_and_adds_users(app: FastAPI, workspace: Workspace) -> None:
    client = session_client(app, "admin")
    page = client.get("/admin/users")
    assert page.status_code == 200
    for name in ("admin", "engineer", "viewer"):
        assert f">{name}" in page.text
    assert 'href="/admin/users" aria-current="page"' in page.text  # the nav link, for admins
    assert page.text.count(f'value="{client.csrf}"') >= 1 + 3 * 3  # every form carries the token
    added = _form(client, "/admin/users", username="new-user", password="long-enough-1", role="engineer")
    assert added.status_code == 303  # type: ignore[attr-defined]
    assert added.headers["location"] == "/admin/users?done=added&user=new-user"  # type: ignore[attr-defined]
    assert accounts.get_user(workspace.registry, "new-user").role == Role.engineer  # type: ignore[union-attr]
    shown = client.get(added.headers["location"])  # type: ignore[attr-defined]
    assert "User new-user added." in shown.text


def test_the_users_page_shows_field_errors_in_the_users_language(app: FastAPI, workspace: Workspace) -> None:
    client = session_client(app, "admin", lang="zh-CN")
    before = _rows(workspace)
    response = _form(client, "/admin/users", username="bad name", password="short", role="boss")
    assert response.status_code == 422  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert 'aria-invalid="true"' in text
    assert "请使用 1–64 个字母" in text
    assert "请使用 8 到 1024 个字符" in text
    assert 'value="bad name"' in text  # what was typed stays, but never the password
    assert "short" not in text.replace("shortcut", "")
    assert _rows(workspace) == before


def test_the_users_page_changes_roles_and_passwords_and_removes(app: FastAPI, workspace: Workspace) -> None:
    client = session_client(app, "admin")
    assert _form(client, "/admin/users/viewer/role", role="engineer").status_code == 303  # type: ignore[attr-defined]
    assert accounts.get_user(workspace.registry, "viewer").role == Role.engineer  # type: ignore[union-attr]
    assert _form(client, "/admin/users/viewer/password", password="long-enough-2").status_code == 303  # type: ignore[attr-defined]
    assert accounts.authenticate(workspace.registry, "viewer", "long-enough-2") is not None
    short = _form(client, "/admin/users/viewer/password", password="short")
    assert short.status_code == 422  # type: ignore[attr-defined]
    assert "Use 8 to 1024 characters." in short.text  # type: ignore[attr-defined]
    assert _form(client, "/admin/users/viewer/delete").status_code == 303  # type: ignore[attr-defined]
    assert accounts.get_user(workspace.registry, "viewer") is None
    missing = _form(client, "/admin/users/viewer/delete")
    assert missing.status_code == 404  # type: ignore[attr-defined]
    last = _form(client, "/admin/users/admin/delete")
    assert last.status_code == 409  # type: ignore[attr-defined]
    assert "only admin" in last.text  # type: ignore[attr-defined]
    bad_role = _form(client, "/admin/users/engineer/role", role="root")
    assert bad_role.status_code == 422  # type: ignore[attr-defined]


def test_the_users_page_needs_the_csrf_field(app: FastAPI, workspace: Workspace) -> None:
    client = session_client(app, "admin")
    before = _rows(workspace)
    refused = client.post(
        "/admin/users", data={"username": "x-user", "password": "long-enough-1", "role": "admin"}
    )
    assert refused.status_code == 403
    assert client.post("/admin/users/viewer/delete", data={}).status_code == 403
    assert _rows(workspace) == before


def test_only_admins_see_the_users_page_and_its_link(app: FastAPI) -> None:
    for role in (Role.viewer, Role.engineer):
        client = session_client(app, role.value)
        page = client.get("/admin/users")
        assert page.status_code == 403
        assert 'href="/admin/users"' not in page.text
    anonymous = session_client(app, "viewer")
    anonymous.cookies.clear()
    assert anonymous.get("/admin/users", follow_redirects=False).status_code == 303


def test_the_confirmation_shows_only_a_user_name(app: FastAPI) -> None:
    client = session_client(app, "admin")
    crafted = client.get(
        "/admin/users", params={"done": "added", "user": "Call +86 000 to verify your account"}
    )
    assert crafted.status_code == 200
    assert "Call +86" not in crafted.text
    unknown = client.get("/admin/users", params={"done": "<b>x</b>", "user": "viewer"})
    assert "<b>x</b>" not in unknown.text
