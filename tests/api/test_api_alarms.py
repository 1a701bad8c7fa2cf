"""The alarms API: lives from events, acknowledge and clear, conflicts, roles and CSRF.

These tests write alarm events, so they run on their own store (not the shared web_server).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from smartfactory.app import alarms as service
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.model.events import Severity
from web import SignedIn, app_for, build_store, signed_in

RAISED = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = build_store(tmp_path_factory.mktemp("alarm-store"), days=1.0)
    opened = Workspace(WorkspaceSettings(store=folder))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def app(workspace: Workspace) -> FastAPI:
    return app_for(workspace)


@pytest.fixture(scope="module")
def engineer(app: FastAPI) -> Iterator[SignedIn]:
    with signed_in(app, Role.engineer) as client:
        yield client


@pytest.fixture(scope="module")
def viewer(app: FastAPI) -> Iterator[SignedIn]:
    with signed_in(app, Role.viewer) as client:
        yield client


def stored_alarm_rows(workspace: Workspace) -> int:
    with workspace.telemetry() as store:
        return int(store.query("SELECT count(*) AS n FROM alarms").to_pylist()[0]["n"])


def raise_one(workspace: Workspace, code: str, at: datetime = RAISED) -> None:
    service.raise_alarm(workspace, "OP10-M1", code, Severity.major, f"OP10-M1: {code} for a test", at)


def act(client: SignedIn, code: str, action: str, equipment: str = "OP10-M1") -> object:
    return client.post(f"/api/v1/alarms/{equipment}/{code}/{action}", headers={"X-CSRF-Token": client.csrf})


def test_the_twins_alarms_are_listed_as_lives(viewer: SignedIn) -> None:
    response = viewer.get("/api/v1/alarms", params={"limit": 2000})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["alarms"], "the twin raises alarms in the demo plant"
    for alarm in body["alarms"]:
        assert alarm["state"] in ("raised", "acknowledged", "cleared")
        assert alarm["active"] == (alarm["cleared_at"] is None)
        if alarm["acknowledged_at"]:
            assert alarm["raised_at"] <= alarm["acknowledged_at"]
        if alarm["cleared_at"]:
            assert alarm["raised_at"] <= alarm["cleared_at"]
    raised = [a["raised_at"] for a in body["alarms"]]
    assert raised == sorted(raised, reverse=True)
    assert body["total"] == len(body["alarms"]) and not body["truncated"]


def test_acknowledge_then_clear_write_events_and_change_the_state(
    workspace: Workspace, engineer: SignedIn, viewer: SignedIn
) -> None:
    raise_one(workspace, "T.ACK")
    before = stored_alarm_rows(workspace)
    response = act(engineer, "T.ACK", "acknowledge")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    alarm = response.json()  # type: ignore[attr-defined]
    assert alarm["state"] == "acknowledged" and alarm["active"]
    assert alarm["acknowledged_by"] == "engineer" and alarm["severity"] == "major"
    assert stored_alarm_rows(workspace) == before + 1
    active = viewer.get("/api/v1/alarms", params={"equipment": "OP10-M1", "state": "active"}).json()
    assert [a["code"] for a in active["alarms"]] == ["T.ACK"]
    assert active["alarms"][0]["state"] == "acknowledged"

    response = act(engineer, "T.ACK", "clear")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    alarm = response.json()  # type: ignore[attr-defined]
    assert alarm["state"] == "cleared" and not alarm["active"] and alarm["cleared_by"] == "engineer"
    assert stored_alarm_rows(workspace) == before + 2
    assert viewer.get("/api/v1/alarms", params={"state": "active"}).json()["alarms"] == []


def test_a_second_acknowledge_is_a_conflict_and_writes_nothing(
    workspace: Workspace, engineer: SignedIn
) -> None:
    raise_one(workspace, "T.TWICE")
    assert act(engineer, "T.TWICE", "acknowledge").status_code == 200  # type: ignore[attr-defined]
    before = stored_alarm_rows(workspace)
    response = act(engineer, "T.TWICE", "acknowledge")
    assert response.status_code == 409  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert problem["errors"][0]["field"] == "path.code" and "already acknowledged" in problem["detail"]
    assert (problem["type"], problem["title"]) == ("/problems/conflict", "Conflict")
    assert stored_alarm_rows(workspace) == before


def test_a_cleared_alarm_cannot_be_cleared_again(workspace: Workspace, engineer: SignedIn) -> None:
    raise_one(workspace, "T.GONE")
    assert act(engineer, "T.GONE", "clear").status_code == 200  # type: ignore[attr-defined]
    before = stored_alarm_rows(workspace)
    response = act(engineer, "T.GONE", "clear")
    assert response.status_code == 409, response.text  # type: ignore[attr-defined]
    assert "not active" in response.json()["detail"]  # type: ignore[attr-defined]
    assert stored_alarm_rows(workspace) == before


def test_an_alarm_back_to_normal_unacknowledged_is_acknowledged_once(
    workspace: Workspace, engineer: SignedIn
) -> None:
    # ISA-18.2 "returned to normal, unacknowledged": it still awaits its acknowledgement
    raise_one(workspace, "T.RTN")
    assert act(engineer, "T.RTN", "clear").status_code == 200  # type: ignore[attr-defined]
    response = act(engineer, "T.RTN", "acknowledge")
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    alarm = response.json()  # type: ignore[attr-defined]
    assert alarm["state"] == "cleared" and alarm["acknowledged_by"] == "engineer" and not alarm["active"]
    before = stored_alarm_rows(workspace)
    again = act(engineer, "T.RTN", "acknowledge")
    assert again.status_code == 409 and "already acknowledged" in again.json()["detail"]  # type: ignore[attr-defined]
    assert stored_alarm_rows(workspace) == before


def test_a_viewer_cannot_acknowledge(workspace: Workspace, viewer: SignedIn) -> None:
    raise_one(workspace, "T.VIEWER")
    before = stored_alarm_rows(workspace)
    response = act(viewer, "T.VIEWER", "acknowledge")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert stored_alarm_rows(workspace) == before


def test_a_cookie_session_needs_the_csrf_token(workspace: Workspace, engineer: SignedIn) -> None:
    raise_one(workspace, "T.CSRF")
    before = stored_alarm_rows(workspace)
    assert engineer.post("/api/v1/alarms/OP10-M1/T.CSRF/acknowledge").status_code == 403
    response = engineer.post("/api/v1/alarms/OP10-M1/T.CSRF/acknowledge", headers={"X-CSRF-Token": "wrong"})
    assert response.status_code == 403
    assert stored_alarm_rows(workspace) == before


def test_an_api_token_acknowledges_without_csrf(workspace: Workspace, app: FastAPI) -> None:
    raise_one(workspace, "T.TOKEN")
    token = issue_token(workspace.registry, "engineer", "alarm test")
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    response = client.post("/api/v1/alarms/OP10-M1/T.TOKEN/acknowledge")
    assert response.status_code == 200, response.text
    assert response.json()["acknowledged_by"] == "engineer"
    assert TestClient(app).post("/api/v1/alarms/OP10-M1/T.TOKEN/clear").status_code == 401


def test_unknown_alarms_are_404_naming_the_field(workspace: Workspace, engineer: SignedIn) -> None:
    before = stored_alarm_rows(workspace)
    response = act(engineer, "T.ANY", "acknowledge", equipment="NOPE")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert response.json()["errors"][0]["field"] == "path.equipment"  # type: ignore[attr-defined]
    response = act(engineer, "NEVER.RAISED", "clear")
    assert response.status_code == 404  # type: ignore[attr-defined]
    assert response.json()["errors"][0]["field"] == "path.code"  # type: ignore[attr-defined]
    response = act(engineer, "X" * 129, "clear")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json()["errors"][0]["field"] == "path.code"  # type: ignore[attr-defined]
    assert stored_alarm_rows(workspace) == before


def test_a_repeated_raise_is_one_life_and_a_raise_after_clear_a_new_one(workspace: Workspace) -> None:
    first = RAISED - timedelta(hours=2)
    raise_one(workspace, "T.LIFE", first)
    raise_one(workspace, "T.LIFE", first + timedelta(minutes=5))  # a repeat while active
    service.clear(workspace, "OP10-M1", "T.LIFE", "admin")
    raise_one(workspace, "T.LIFE", datetime.now(UTC) + timedelta(days=1))  # after the clear
    with workspace.telemetry() as store:
        lives = service.list_alarms(store, workspace.plant(), "OP10-M1", limit=2000).alarms
    mine = [a for a in lives if a.code == "T.LIFE"]
    assert [a.state for a in mine] == ["raised", "cleared"]
    assert mine[1].raised_at == first and mine[1].cleared_by == "admin"


def test_the_period_keeps_alarms_alive_in_it(workspace: Workspace, viewer: SignedIn) -> None:
    raise_one(workspace, "T.PERIOD", datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    inside = viewer.get(
        "/api/v1/alarms",
        params={"equipment": "OP10-M1", "start": "2026-03-02T13:30", "end": "2026-03-02T13:31"},
    ).json()
    assert "T.PERIOD" in [a["code"] for a in inside["alarms"]]  # raised before, still active
    before = viewer.get(
        "/api/v1/alarms", params={"equipment": "OP10-M1", "start": "2026-03-01", "end": "2026-03-02T12:59"}
    ).json()
    assert "T.PERIOD" not in [a["code"] for a in before["alarms"]]
    assert len(viewer.get("/api/v1/alarms", params={"limit": 1}).json()["alarms"]) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "open"}, "query.state"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "2001"}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
        ({"equipment": "NOPE"}, "query.equipment"),
        ({"start": "soon"}, "query.start"),
        ({"start": "2026-03-03", "end": "2026-03-02"}, "query.end"),
    ],
)
def test_bad_list_parameters_are_problems_naming_the_field(
    viewer: SignedIn, params: dict[str, str], field: str
) -> None:
    response = viewer.get("/api/v1/alarms", params=params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
