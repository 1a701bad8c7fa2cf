"""Authorisation: every route needs a sign-in, and each role gets exactly what the table allows.

The rules (issue 7, "Users and security"):

- every route except the log-in page (GET and POST /login) and the static files (/static/*)
  needs a browser session or an API token: anonymous API calls get 401 problem details, anonymous
  page visits a 303 to /login?next=…;
- GET (reading anything: pages, API, /docs, /openapi.json) and POST /logout → viewer;
- changing what the plant records — alarm acknowledge/clear, self-assessment answers, submitting
  or importing them, running an assessment, scenario runs → engineer;
- users (API and the admin pages) and replacing the plant (PUT /api/v1/plant) → admin.

``MINIMUM_ROLE`` lists every route with the least role allowed. A route added to the app without
an entry here fails ``test_the_table_covers_every_route``, and one without a sign-in dependency
fails ``test_every_route_refuses_the_anonymous`` — add the dependency and the entry together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from smartfactory.api.routes.owner import owner_token_required
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.store.owner import OwnerInfo, new_token
from web import app_for
from web_accounts import light_server, session_client, token_client

V, E, A = Role.viewer, Role.engineer, Role.admin

PUBLIC = {("GET", "/login"), ("POST", "/login")}
# the store owner's endpoint for other processes on this machine: only the owner token opens it,
# never a user's session or API token (see test_the_owner_routes_take_only_the_owner_token)
OWNER_ROUTES = {
    ("POST", "/_owner/v1/call/{name}"),
    ("GET", "/_owner/v1/status"),
    # live ingestion handed over by `smartfactory ingest` next to the owner (api/routes/ingest.py)
    ("POST", "/_owner/v1/ingest"),
    ("GET", "/_owner/v1/ingest/{run_id}"),
    ("DELETE", "/_owner/v1/ingest/{run_id}"),
}
MOUNTS = {"/static"}  # the vendored JavaScript, CSS and icons: public on purpose

MINIMUM_ROLE: dict[tuple[str, str], Role] = {
    # --- API: who am I, the plant
    ("GET", "/api/v1/me"): V,
    ("GET", "/api/v1/plant"): V,
    ("GET", "/api/v1/plant/hierarchy"): V,
    ("PUT", "/api/v1/plant"): A,
    # --- API: telemetry
    ("GET", "/api/v1/equipment/{equipment_id}/signals"): V,
    ("GET", "/api/v1/telemetry"): V,
    ("GET", "/api/v1/states"): V,
    ("GET", "/api/v1/counts"): V,
    # --- API: KPIs
    ("GET", "/api/v1/kpis"): V,
    ("GET", "/api/v1/kpis/catalogue"): V,
    ("GET", "/api/v1/kpis/losses"): V,
    # --- API: freshness
    ("GET", "/api/v1/freshness"): V,
    # --- API: live ingestion (serve --ingest)
    ("GET", "/api/v1/ingest/status"): V,
    # --- API: alarms
    ("GET", "/api/v1/alarms"): V,
    ("POST", "/api/v1/alarms/{equipment}/{code}/acknowledge"): E,
    ("POST", "/api/v1/alarms/{equipment}/{code}/clear"): E,
    # --- API: assessments and answers
    ("GET", "/api/v1/assessments/current"): V,
    ("GET", "/api/v1/assessments/current/report.html"): V,
    ("GET", "/api/v1/assessments/questionnaire"): V,
    ("GET", "/api/v1/assessments/answers"): V,
    ("PUT", "/api/v1/assessments/answers/{key}"): E,
    ("PUT", "/api/v1/assessments/answers"): E,
    ("GET", "/api/v1/assessments"): V,
    ("POST", "/api/v1/assessments"): E,
    ("GET", "/api/v1/assessments/{assessment_id}"): V,
    # --- API: scenarios
    ("GET", "/api/v1/scenarios"): V,
    ("GET", "/api/v1/scenarios/runs"): V,
    ("GET", "/api/v1/scenarios/runs/{run_id}"): V,
    ("GET", "/api/v1/scenarios/schedule/latest"): V,
    ("GET", "/api/v1/scenarios/{name}"): V,
    ("POST", "/api/v1/scenarios/{name}/runs"): E,
    # --- API: users
    ("GET", "/api/v1/users"): A,
    ("POST", "/api/v1/users"): A,
    ("DELETE", "/api/v1/users/{username}"): A,
    ("PUT", "/api/v1/users/{username}/role"): A,
    ("PUT", "/api/v1/users/{username}/password"): A,
    # --- API documentation
    ("GET", "/openapi.json"): V,
    ("GET", "/docs"): V,
    # --- pages
    ("POST", "/logout"): V,
    ("GET", "/"): V,
    ("GET", "/overview/live"): V,
    ("GET", "/overview/freshness"): V,
    ("GET", "/equipment"): V,
    ("GET", "/equipment/{equipment_id}"): V,
    ("GET", "/equipment/{equipment_id}/kpis"): V,
    ("POST", "/equipment/{equipment_id}/alarms/{code}/{action}"): E,
    ("GET", "/assessment"): V,
    ("GET", "/assessment/roadmap"): V,
    ("GET", "/self-assessment"): V,
    ("PUT", "/self-assessment/answers/{key}"): E,
    ("POST", "/self-assessment/submit"): E,
    ("POST", "/self-assessment/import"): E,
    ("GET", "/scenarios"): V,
    ("GET", "/scenarios/rows/{name}"): V,
    ("POST", "/scenarios/{name}/run"): E,
    ("GET", "/admin/users"): A,
    ("POST", "/admin/users"): A,
    ("POST", "/admin/users/{username}/role"): A,
    ("POST", "/admin/users/{username}/password"): A,
    ("POST", "/admin/users/{username}/delete"): A,
}

# a value for path parameters that names nothing, so no request changes what is stored
HARMLESS = "zz-none"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A light workspace (the demo plant and one user per role, no events): requests stay cheap."""
    with light_server(tmp_path_factory.mktemp("authz-store")) as opened:
        yield opened


@pytest.fixture(scope="module")
def app(workspace: Workspace) -> FastAPI:
    """The whole app."""
    return app_for(workspace)


def _route_entries(app: FastAPI) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, route) for every route of the app; mounts are checked, not listed."""
    try:  # FastAPI ≥ 0.160 keeps included routers as lazy branches
        from fastapi.routing import iter_route_contexts

        contexts: list[Any] = list(iter_route_contexts(app.routes))
    except ImportError:  # pragma: no cover - older FastAPI lists the routes flat
        contexts = list(app.routes)
    for context in contexts:
        original = getattr(context, "original_route", context)
        if isinstance(original, Mount):
            assert context.path in MOUNTS, f"an unexpected mount {context.path}: is it meant to be public?"
            continue
        assert isinstance(original, APIRoute), (
            f"{type(original).__name__} {getattr(context, 'path', '?')}: only FastAPI routes, whose "
            "dependencies this test can check, may serve requests"
        )
        for method in sorted(context.methods or ()):
            yield method, context.path_format, context


def _routes(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, path) for method, path, _ in _route_entries(app)}


def _url(template: str) -> str:
    return re.sub(r"\{[^}]+\}", HARMLESS, template)


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/_owner/")) or path == "/openapi.json"


def _declared_roles(dependant: Any) -> list[Role]:
    """The roles the sign-in dependencies of a route (at any depth) ask for."""
    found: list[Role] = []
    for sub in dependant.dependencies:
        role = getattr(sub.call, "required_role", None)
        if isinstance(role, Role):
            found.append(role)
        found.extend(_declared_roles(sub))
    return found


def _calls(dependant: Any, dependency: Any) -> bool:
    """Whether a route's dependencies (at any depth) include ``dependency``."""
    return any(sub.call is dependency or _calls(sub, dependency) for sub in dependant.dependencies)


# --- every route needs a sign-in ----------------------------------------------------------------


def test_the_table_covers_every_route(app: FastAPI) -> None:
    routes = _routes(app)
    missing = sorted(routes - set(MINIMUM_ROLE) - PUBLIC - OWNER_ROUTES)
    stale = sorted((set(MINIMUM_ROLE) | OWNER_ROUTES) - routes)
    assert not missing, f"routes without an entry in MINIMUM_ROLE (add them with their role): {missing}"
    assert not stale, f"MINIMUM_ROLE or OWNER_ROUTES list routes the app does not have: {stale}"
    assert routes >= PUBLIC


def test_every_route_declares_the_role_of_the_table(app: FastAPI) -> None:
    wrong = []
    for method, path, context in _route_entries(app):
        declared = _declared_roles(context.dependant)
        if (method, path) in OWNER_ROUTES:
            assert not declared, f"{method} {path}: a user's role must not open an owner route"
            assert _calls(context.dependant, owner_token_required), f"{method} {path}: no owner token check"
            continue
        if (method, path) in PUBLIC:
            assert not declared, f"{method} {path} is public"
            continue
        if not declared:
            wrong.append(f"{method} {path}: no require_api/require_page dependency")
        elif max(declared, key=lambda r: r.rank) != MINIMUM_ROLE.get((method, path)):
            wrong.append(f"{method} {path}: needs {max(declared, key=lambda r: r.rank)}, table says "
                         f"{MINIMUM_ROLE.get((method, path))}")  # fmt: skip
    assert not wrong, "\n".join(wrong)


def test_every_route_refuses_the_anonymous(app: FastAPI) -> None:
    client = TestClient(app, raise_server_exceptions=False)
    wrong = []
    checked = 0
    for method, path, _ in _route_entries(app):
        if (method, path) in PUBLIC:
            continue
        url = _url(path)
        response = client.request(method, url, follow_redirects=False)
        checked += 1
        if _is_api(path):
            ok = response.status_code == 401 and response.headers.get("content-type", "").startswith(
                "application/problem+json"
            )
        else:
            ok = response.status_code == 303 and response.headers.get("location", "").startswith(
                "/login?next="
            )
        if not ok:
            wrong.append(f"{method} {url}: {response.status_code} {response.headers.get('location', '')}")
    assert checked >= len(MINIMUM_ROLE)
    assert not wrong, "answered without a sign-in:\n" + "\n".join(wrong)


def test_the_public_routes_and_static_files_need_no_sign_in(app: FastAPI) -> None:
    client = TestClient(app)
    assert client.get("/login").status_code == 200
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 401
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/vendor/htmx.min.js").status_code == 200
    assert client.get("/static/no-such-file.js").status_code == 404


def test_an_anonymous_visit_to_the_root_goes_to_the_log_in_page(app: FastAPI) -> None:
    response = TestClient(app).get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"


# --- each role against each route ---------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@pytest.mark.parametrize(
    ("method", "path"), sorted(MINIMUM_ROLE), ids=[f"{m} {p}" for m, p in sorted(MINIMUM_ROLE)]
)
def test_each_role_gets_exactly_what_the_table_allows(
    app: FastAPI, method: str, path: str, role: Role
) -> None:
    allowed = role.allows(MINIMUM_ROLE[(method, path)])
    # a fresh browser session per request: POST /logout ends the one it is sent with
    client = session_client(app, role.value, raise_server_exceptions=False)
    kwargs: dict[str, Any] = {"follow_redirects": False}
    if method not in ("GET", "HEAD", "OPTIONS"):
        kwargs["headers"] = {"X-CSRF-Token": client.csrf}
        kwargs["json"] = {}  # an empty body: allowed routes refuse it (422) instead of acting
    response = client.request(method, _url(path), **kwargs)
    if allowed:
        assert response.status_code not in (401, 403), (
            f"{role.value} should be allowed {method} {path}: {response.status_code} {response.text[:300]}"
        )
        if response.status_code == 303:
            assert not response.headers["location"].startswith("/login?next="), "signed out"
    else:
        assert response.status_code == 403, (
            f"{role.value} should be refused {method} {path}: {response.status_code} {response.text[:300]}"
        )
        if _is_api(path):
            assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_api_tokens_get_the_same_answers_as_sessions(app: FastAPI, role: Role) -> None:
    client = token_client(app, role.value, raise_server_exceptions=False)
    for (method, path), needed in sorted(MINIMUM_ROLE.items()):
        if not _is_api(path) or method == "GET":
            continue  # the reads are covered above; tokens matter most for writes (no CSRF token)
        response = client.request(method, _url(path), json={})
        if role.allows(needed):
            assert response.status_code not in (401, 403), (method, path, response.status_code)
        else:
            assert response.status_code == 403, (method, path, response.status_code)


def test_tables_roles_follow_the_rules() -> None:
    """Reads are for viewers; nothing a viewer may do changes what is stored (logout aside)."""
    for (method, path), role in MINIMUM_ROLE.items():
        if method == "GET":
            expected = A if path.startswith("/admin") or path == "/api/v1/users" else V
            assert role == expected, (method, path)
        elif (method, path) != ("POST", "/logout"):
            assert role in (E, A), (method, path)
        if "/users" in path:
            assert role == A, (method, path)


def test_no_entry_is_listed_twice() -> None:
    """A dict literal would silently keep the last of two entries for one route."""
    source = Path(__file__).read_text(encoding="utf-8")
    entries = re.findall(r'^\s+\("(GET|POST|PUT|DELETE|PATCH)", "([^"]+)"\):', source, flags=re.M)
    assert len(entries) == len(set(entries)) == len(MINIMUM_ROLE)


def test_the_walk_sees_a_route_added_without_a_sign_in(workspace: Workspace) -> None:
    """The checks above would catch a forgotten dependency: the walk sees routes added any way."""
    leaky = app_for(workspace)

    @leaky.get("/leak")
    def leak() -> dict[str, str]:
        return {"secret": "yes"}

    assert ("GET", "/leak") in _routes(leaky) - set(MINIMUM_ROLE) - PUBLIC
    assert TestClient(leaky).get("/leak").status_code == 200


# --- the store owner's endpoint -----------------------------------------------------------------

LOOPBACK_CLIENT = ("127.0.0.1", 50000)


@pytest.fixture(scope="module")
def owner_app(workspace: Workspace) -> Iterator[tuple[FastAPI, str]]:
    """The app serving as the store's owner (its token set as ``publish`` sets it, without the file)."""
    app = app_for(workspace)
    token = new_token()
    app.state.owner = OwnerInfo(os.getpid(), "http://127.0.0.1:1", token, "test", "2026-01-01T00:00:00+00:00")
    yield app, token


def _owner_request(client: TestClient, method: str, path: str) -> Any:
    # store_summary: a real use case, cheap on the light store (a plant, no events)
    url = path.replace("{name}", "store_summary")
    return client.request(method, url, json={} if method == "POST" else None)


@pytest.mark.parametrize(
    ("method", "path"), sorted(OWNER_ROUTES), ids=[f"{m} {p}" for m, p in sorted(OWNER_ROUTES)]
)
def test_the_owner_routes_take_only_the_owner_token(
    owner_app: tuple[FastAPI, str], method: str, path: str
) -> None:
    app, token = owner_app
    refused = {
        "no token": TestClient(app, client=LOOPBACK_CLIENT),
        "a wrong token": TestClient(
            app, client=LOOPBACK_CLIENT, headers={"Authorization": "Bearer " + "x" * len(token)}
        ),
        "an admin's session cookie": session_client(app, A.value, client=LOOPBACK_CLIENT),
        "an admin's API token": token_client(app, A.value, client=LOOPBACK_CLIENT),
        "the token from another machine": TestClient(
            app, client=("192.0.2.7", 50000), headers={"Authorization": f"Bearer {token}"}
        ),
    }
    for why, client in refused.items():
        response = _owner_request(client, method, path)
        assert response.status_code == 401, (why, response.status_code, response.text[:300])
        assert response.headers["content-type"].startswith("application/problem+json"), why
    allowed = TestClient(app, client=LOOPBACK_CLIENT, headers={"Authorization": f"Bearer {token}"})
    response = _owner_request(allowed, method, path)
    # past the token the ingest routes answer for the request itself: no such ingestion, no plant sent
    expected = (404, 422) if path.startswith("/_owner/v1/ingest") else (200,)
    assert response.status_code in expected, response.text[:300]


def test_the_owner_routes_are_closed_in_a_server_that_owns_nothing(app: FastAPI) -> None:
    """Without a published owner (``app.state.owner`` unset) no token at all opens them."""
    for method, path in sorted(OWNER_ROUTES):
        client = TestClient(app, client=LOOPBACK_CLIENT, headers={"Authorization": "Bearer "})
        assert _owner_request(client, method, path).status_code == 401, (method, path)
