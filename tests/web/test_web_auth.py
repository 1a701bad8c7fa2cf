"""Signing in and staying safe: passwords, sessions, cookies, CSRF, rate limits, tokens, redirects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from smartfactory.api.auth.deps import SESSION_COOKIE
from smartfactory.api.auth.ratelimit import LoginLimiter
from smartfactory.app import accounts
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token, start_session
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.store.registry import ApiTokenRow, UserRow, WebSessionRow
from smartfactory.web.app import create_app
from web import PASSWORDS, app_for
from web_accounts import light_server as open_light_server
from web_accounts import session_client, token_client


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One light workspace for this module; tests that change a user use their own names."""
    with open_light_server(tmp_path_factory.mktemp("auth-store")) as opened:
        yield opened


def _login(client: TestClient, username: str, password: str, next: str = "/") -> object:
    return client.post(
        "/login",
        data={"username": username, "password": password, "next": next},
        follow_redirects=False,
    )


def _set_cookie(response: object) -> str:
    headers = response.headers  # type: ignore[attr-defined]
    cookies = [
        v for k, v in headers.multi_items() if k.lower() == "set-cookie" and v.startswith(SESSION_COOKIE)
    ]
    assert len(cookies) == 1, headers
    return str(cookies[0])


def _sessions_of(workspace: Workspace, username: str) -> int:
    with Session(workspace.registry.engine) as session:
        rows = session.scalars(select(WebSessionRow.id).where(WebSessionRow.username == username))
        return len(list(rows))


# --- log-in ---------------------------------------------------------------------------------


def test_a_right_password_starts_a_session_with_a_safe_cookie(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace))
    response = _login(client, "viewer", PASSWORDS[Role.viewer], next="/equipment?x=1")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/equipment?x=1"  # type: ignore[attr-defined]
    cookie = _set_cookie(response).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http, secure_cookies off
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "viewer"
    assert me.json()["role"] == "viewer"
    assert me.json()["csrf_token"]


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("viewer", "wrong-password-1"),
        ("nobody", PASSWORDS[Role.viewer]),
        ("", ""),
        ("bad name!", "x" * 9),
        ("viewer", PASSWORDS[Role.viewer].upper()),
    ],
)
def test_a_wrong_password_or_name_is_refused_alike(
    workspace: Workspace, username: str, password: str
) -> None:
    client = TestClient(app_for(workspace))
    response = _login(client, username, password)
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong user name or password." in response.text  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert client.get("/api/v1/me").status_code == 401


def test_the_log_in_errors_are_in_chinese_for_chinese_users(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace), headers={"Accept-Language": "zh-CN"})
    response = _login(client, "viewer", "wrong-password-1")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert "用户名或密码错误" in response.text  # type: ignore[attr-defined]


def test_passwords_are_stored_as_argon2id_hashes_only(workspace: Workspace) -> None:
    with Session(workspace.registry.engine) as session:
        rows = list(session.scalars(select(UserRow)))
    assert {r.username for r in rows} >= {"viewer", "engineer", "admin"}
    for row in rows:
        if row.username not in {r.value for r in Role}:
            continue
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORDS[Role(row.username)] not in row.password_hash
        assert PasswordHasher().verify(row.password_hash, PASSWORDS[Role(row.username)])
    # the user objects the app passes around never carry the hash
    user = accounts.get_user(workspace.registry, "viewer")
    assert user is not None
    assert not any("argon2" in str(v) for v in vars(user).values())


def test_cookies_are_secure_when_configured_or_served_over_https(
    workspace: Workspace, tmp_path: Path
) -> None:
    # as `smartfactory serve --secure-cookies` does it: the workspace's own settings say so
    secure = Workspace(WorkspaceSettings(store=tmp_path, secure_cookies=True))
    try:
        accounts.add_user(secure.registry, "viewer", PASSWORDS[Role.viewer], Role.viewer)
        configured = TestClient(create_app(secure.settings, workspace=secure))
        response = _login(configured, "viewer", PASSWORDS[Role.viewer])
        assert "secure" in _set_cookie(response).lower()
    finally:
        secure.close()
    over_tls = TestClient(app_for(workspace), base_url="https://testserver")
    response = _login(over_tls, "viewer", PASSWORDS[Role.viewer])
    assert "secure" in _set_cookie(response).lower()


# --- rate limiting ----------------------------------------------------------------------------


def test_five_failures_for_a_name_lock_it_even_for_the_right_password(workspace: Workspace) -> None:
    app = app_for(workspace, login_failures=5, login_window_s=300.0)
    client = TestClient(app)
    for _ in range(5):
        assert _login(client, "engineer", "wrong-password-1").status_code == 401  # type: ignore[attr-defined]
    locked = _login(client, "engineer", PASSWORDS[Role.engineer])
    assert locked.status_code == 429  # type: ignore[attr-defined]
    retry = int(locked.headers["retry-after"])  # type: ignore[attr-defined]
    assert 1 <= retry <= 301
    assert SESSION_COOKIE not in locked.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    # the name is locked however it is spelt
    assert _login(client, "ENGINEER", "wrong-password-1").status_code == 429  # type: ignore[attr-defined]
    # API tokens do not go through the log-in form, so they keep working
    assert token_client(app, "engineer").get("/api/v1/me").status_code == 200


def test_five_failures_from_an_address_lock_every_name_from_it(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace, login_failures=5, login_window_s=300.0))
    for i in range(5):
        assert _login(client, f"guess{i}", "wrong-password-1").status_code == 401  # type: ignore[attr-defined]
    assert _login(client, "viewer", PASSWORDS[Role.viewer]).status_code == 429  # type: ignore[attr-defined]


def test_the_lock_ends_with_the_window(workspace: Workspace) -> None:
    now = [1000.0]
    app = app_for(workspace)
    app.state.login_limiter = LoginLimiter(limit=2, window_s=60.0, clock=lambda: now[0])
    client = TestClient(app)
    for _ in range(2):
        _login(client, "viewer", "wrong-password-1")
    locked = _login(client, "viewer", PASSWORDS[Role.viewer])
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert locked.headers["retry-after"] == "61"  # type: ignore[attr-defined]
    now[0] += 30
    assert _login(client, "viewer", PASSWORDS[Role.viewer]).status_code == 429  # type: ignore[attr-defined]
    now[0] += 31
    assert _login(client, "viewer", PASSWORDS[Role.viewer]).status_code == 303  # type: ignore[attr-defined]


def test_the_limiter_forgets_old_keys_and_stays_bounded() -> None:
    limiter = LoginLimiter(limit=3, window_s=60.0, max_keys=50)
    for i in range(500):
        limiter.failed(f"made-up-{i}", None)
    assert len(limiter._failures) <= 50
    now = [0.0]
    quick = LoginLimiter(limit=3, window_s=0.05, clock=lambda: now[0])
    quick.failed("a", "1.2.3.4")
    now[0] += 0.06
    assert quick.retry_after("a", "1.2.3.4") == 0
    assert quick._failures == {}  # nothing kept for keys without failures in the window
    assert quick.retry_after("never-failed", "5.6.7.8") == 0
    assert quick._failures == {}


# --- sessions -------------------------------------------------------------------------------


def test_an_expired_session_is_refused(workspace: Workspace) -> None:
    app = app_for(workspace)
    client = session_client(app, "viewer")
    assert client.get("/api/v1/me").status_code == 200
    with Session(workspace.registry.engine) as session, session.begin():
        session.execute(
            update(WebSessionRow)
            .where(WebSessionRow.username == "viewer")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/docs", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")


def test_log_out_ends_the_session_on_the_server(workspace: Workspace) -> None:
    app = app_for(workspace)
    client = TestClient(app)
    assert _login(client, "engineer", PASSWORDS[Role.engineer]).status_code == 303  # type: ignore[attr-defined]
    token = client.cookies[SESSION_COOKIE]
    csrf = client.get("/api/v1/me").json()["csrf_token"]
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    # the old cookie, replayed, no longer works: the session is gone from the registry
    replay = TestClient(app)
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/api/v1/me").status_code == 401


def test_a_new_password_ends_every_session_of_the_user(workspace: Workspace) -> None:
    app = app_for(workspace)
    accounts.add_user(workspace.registry, "pw-change", "first-password-1", Role.viewer)
    one, two = session_client(app, "pw-change"), session_client(app, "pw-change")
    other = session_client(app, "viewer")
    accounts.set_password(workspace.registry, "pw-change", "second-password-2")
    assert one.get("/api/v1/me").status_code == 401
    assert two.get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/me").status_code == 200
    assert _sessions_of(workspace, "pw-change") == 0


def test_a_role_change_applies_to_the_next_request(workspace: Workspace) -> None:
    app = app_for(workspace)
    accounts.add_user(workspace.registry, "promoted", "first-password-1", Role.viewer)
    client = session_client(app, "promoted")
    assert client.get("/api/v1/users").status_code == 403
    accounts.set_role(workspace.registry, "promoted", Role.admin)
    assert client.get("/api/v1/users").status_code == 200
    accounts.set_role(workspace.registry, "promoted", Role.viewer)
    assert client.get("/api/v1/users").status_code == 403


def test_each_log_in_gets_a_new_session_token(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace))
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker")
    response = _login(client, "viewer", PASSWORDS[Role.viewer])
    issued = _set_cookie(response).split(";")[0].split("=", 1)[1]
    assert issued and issued != "planted-by-an-attacker"
    fixated = TestClient(client.app)
    fixated.cookies.set(SESSION_COOKIE, "planted-by-an-attacker")
    assert fixated.get("/api/v1/me").status_code == 401


# --- CSRF -------------------------------------------------------------------------------------


def test_unsafe_api_calls_from_a_browser_session_need_the_csrf_token(workspace: Workspace) -> None:
    app = app_for(workspace)
    client = session_client(app, "admin")
    body = {"username": "csrf-victim", "password": "long-enough-1", "role": "admin"}
    missing = client.post("/api/v1/users", json=body)
    assert missing.status_code == 403
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    other_session = session_client(app, "admin")
    stolen = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": other_session.csrf})
    assert stolen.status_code == 403
    assert accounts.get_user(workspace.registry, "csrf-victim") is None  # nothing was done
    right = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": client.csrf})
    assert right.status_code == 201, right.text
    # safe methods need none
    assert client.get("/api/v1/users").status_code == 200


def test_forms_need_the_csrf_field(workspace: Workspace) -> None:
    app = app_for(workspace)
    client = session_client(app, "viewer")
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/api/v1/me").status_code == 200  # still signed in
    wrong = client.post("/logout", data={"csrf_token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 403
    done = client.post("/logout", data={"csrf_token": client.csrf}, follow_redirects=False)
    assert done.status_code == 303


def test_bearer_tokens_need_no_csrf_token(workspace: Workspace) -> None:
    app = app_for(workspace)
    client = token_client(app, "admin")
    created = client.post(
        "/api/v1/users", json={"username": "by-token", "password": "long-enough-1", "role": "viewer"}
    )
    assert created.status_code == 201, created.text
    assert client.delete("/api/v1/users/by-token").status_code == 204


# --- redirects after log-in -----------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
        "evil.example",
        "%2F%2Fevil.example",
    ],
)
def test_the_next_parameter_never_leaves_the_site(workspace: Workspace, target: str) -> None:
    app = app_for(workspace)
    client = TestClient(app)
    response = _login(client, "viewer", PASSWORDS[Role.viewer], next=target)
    assert response.status_code == 303  # type: ignore[attr-defined]
    _assert_same_site(response.headers["location"])  # type: ignore[attr-defined]
    # a signed-in visit to the log-in page redirects too
    again = client.get("/login", params={"next": target}, follow_redirects=False)
    assert again.status_code == 303
    _assert_same_site(again.headers["location"])


def _assert_same_site(location: str) -> None:
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location
    assert not any(c in location for c in "\t\r\n\\"), location


def test_a_page_sends_the_anonymous_to_the_log_in_page_and_back(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace))
    first = client.get("/admin/users?done=x", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/admin/users%3Fdone%3Dx"
    back = _login(client, "admin", PASSWORDS[Role.admin], next="/admin/users?done=x")
    assert back.headers["location"] == "/admin/users?done=x"  # type: ignore[attr-defined]


# --- API tokens -------------------------------------------------------------------------------


def test_api_tokens_are_kept_as_hashes_and_work_until_they_expire(workspace: Workspace) -> None:
    app = app_for(workspace)
    token = issue_token(workspace.registry, "viewer", "expiring", days=1)
    assert token.startswith("sft_")
    with Session(workspace.registry.engine) as session:
        ids = list(session.scalars(select(ApiTokenRow.id)))
    assert token not in ids and all(len(i) == 64 for i in ids)
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/me").json()["csrf_token"] is None
    with Session(workspace.registry.engine) as session, session.begin():
        session.execute(
            update(ApiTokenRow).where(ApiTokenRow.name == "expiring").values(expires_at=datetime.now(UTC))
        )
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401
    assert expired.headers["www-authenticate"] == "Bearer"


def test_the_token_of_a_removed_user_is_refused(workspace: Workspace) -> None:
    app = app_for(workspace)
    accounts.add_user(workspace.registry, "leaver", "first-password-1", Role.engineer)
    client = token_client(app, "leaver")
    browser = session_client(app, "leaver")
    assert client.get("/api/v1/me").status_code == 200
    accounts.remove_user(workspace.registry, "leaver")
    assert client.get("/api/v1/me").status_code == 401
    assert browser.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer sft_unknown",
        "Bearer ",
        "Bearer",
        "bearer sft_" + "A" * 5000,
        "Basic dmlld2VyOnZpZXdlci1wYXNzd29yZC0x",
        "Token abc",
        "Bearer \xff\xfe\x00",
        "   ",
    ],
)
def test_unknown_or_malformed_tokens_are_401_never_500(workspace: Workspace, authorization: str) -> None:
    client = TestClient(app_for(workspace), raise_server_exceptions=False)
    # as bytes: a raw header may hold any latin-1 octets
    response = client.get("/api/v1/me", headers={"Authorization": authorization.encode("latin-1")})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "cookie",
    [
        f"{SESSION_COOKIE}=",
        f"{SESSION_COOKIE}=not-a-session",
        f'{SESSION_COOKIE}="unterminated',
        f"{SESSION_COOKIE}={'x' * 8000}",
        f"{SESSION_COOKIE}=a; {SESSION_COOKIE}=b",
        f"{SESSION_COOKIE}=\xe9\xff",
        "garbage;;;==;",
        "sf_lang=xx; =;",
    ],
)
def test_malformed_cookies_are_signed_out_never_500(workspace: Workspace, cookie: str) -> None:
    client = TestClient(app_for(workspace), raise_server_exceptions=False)
    raw = {"Cookie": cookie.encode("latin-1")}
    api = client.get("/api/v1/me", headers=raw)
    assert api.status_code == 401
    page = client.get("/admin/users", headers=raw, follow_redirects=False)
    assert page.status_code == 303
    login = client.get("/login", headers=raw)
    assert login.status_code == 200


def test_a_long_or_odd_log_in_form_is_refused_without_500(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace), raise_server_exceptions=False)
    for data in (
        {"username": "v" * 5000, "password": "x"},
        {"username": "viewer", "password": "x" * 5000},
        {"username": "viewer\x00", "password": "viewer-password-1"},
        {},
    ):
        response = client.post("/login", data=data, follow_redirects=False)
        assert 400 <= response.status_code < 500, (data, response.status_code)
    garbled = client.post(
        "/login", content=b"\xff\xfe=\x00", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= garbled.status_code < 500


def test_session_tokens_are_kept_as_hashes(workspace: Workspace) -> None:
    token, _csrf = start_session(workspace.registry, "viewer", None, 1.0)
    with Session(workspace.registry.engine) as session:
        ids = list(session.scalars(select(WebSessionRow.id)))
    assert token not in ids


def test_docs_and_the_openapi_document_need_a_sign_in(workspace: Workspace, tmp_path: Path) -> None:
    app = app_for(workspace)
    anonymous = TestClient(app)
    assert anonymous.get("/openapi.json").status_code == 401
    docs = anonymous.get("/docs", follow_redirects=False)
    assert docs.status_code == 303
    assert docs.headers["location"] == "/login?next=/docs"
    viewer = session_client(app, "viewer")
    document = viewer.get("/openapi.json")
    assert document.status_code == 200
    assert "/api/v1/plant" in document.json()["paths"]
    assert "/openapi.json" not in document.json()["paths"]
    page = viewer.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text
    assert "/static/vendor/swagger-ui-bundle.js" in page.text


def test_an_htmx_request_without_a_session_reloads_the_whole_page_at_log_in(workspace: Workspace) -> None:
    client = TestClient(app_for(workspace))
    response = client.get(
        "/admin/users",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/equipment/m1?x=1"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/equipment/m1%3Fx%3D1"
    foreign = client.get(
        "/admin/users",
        headers={"HX-Request": "true", "HX-Current-URL": "http://evil.example//x"},
        follow_redirects=False,
    )
    _assert_same_site(foreign.headers["hx-redirect"])


def test_serve_says_when_no_one_can_sign_in_or_traffic_is_unencrypted(
    workspace: Workspace, tmp_path: Path
) -> None:
    from smartfactory.cli.serve import _warnings

    assert _warnings(workspace, "127.0.0.1", secure_cookies=False) == []
    exposed = _warnings(workspace, "0.0.0.0", secure_cookies=False)
    assert len(exposed) == 1 and "unencrypted" in exposed[0]
    assert _warnings(workspace, "0.0.0.0", secure_cookies=True) == []
    empty = Workspace(WorkspaceSettings(store=tmp_path))
    try:
        assert any("smartfactory user add" in line for line in _warnings(empty, "127.0.0.1", False))
    finally:
        empty.close()
