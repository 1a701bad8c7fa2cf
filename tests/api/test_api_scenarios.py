"""The scenarios API: the library, runs started in the background and recorded like the CLI's,
failed runs recorded failed, one run of a scenario at a time, roles, and the latest schedule."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smartfactory.app import scenarios as service
from smartfactory.app.accounts import add_user
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.model.plant_file import load_plant
from smartfactory.scenarios import SCENARIOS, scenario_class
from smartfactory.store import REGISTRY_FILE, Registry, list_scenario_runs
from web import PASSWORDS, ROOT, app_for, build_store, signed_in

PLANT_FILE = ROOT / "examples" / "plants" / "discrete_machining.toml"
API = "/api/v1/scenarios"


def plant_only_store(folder: Path) -> Path:
    """A store with the plant and the users but no events: too little data for any scenario."""
    plant = load_plant(PLANT_FILE)
    with Registry.open(folder / REGISTRY_FILE) as registry:
        registry.save_plant(plant, str(PLANT_FILE), hashlib.sha256(PLANT_FILE.read_bytes()).hexdigest())
    workspace = Workspace(WorkspaceSettings(store=folder))
    try:
        for role in Role:
            add_user(workspace.registry, role.value, PASSWORDS[role], role, role.value.title())
    finally:
        workspace.close()
    return folder


@pytest.fixture(scope="module")
def scenario_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A day and a half of the demo plant (the twin records its orders), for these tests only."""
    workspace = Workspace(
        WorkspaceSettings(store=build_store(tmp_path_factory.mktemp("scenarios"), days=1.5))
    )
    yield workspace
    service.wait_for_runs(workspace, 60)
    workspace.close()


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[Workspace]:
    """A workspace over a store with the plant and no events."""
    workspace = Workspace(WorkspaceSettings(store=plant_only_store(tmp_path)))
    yield workspace
    service.wait_for_runs(workspace, 60)
    workspace.close()


def finished(workspace: Workspace, response: Any) -> dict[str, Any]:
    """Wait for the run a POST started and return it as the API shows it."""
    assert response.status_code == 202, response.text
    service.wait_for_runs(workspace, 120)
    return service.run(workspace, response.json()["id"]).model_dump(mode="json")  # type: ignore[union-attr]


def test_the_library_lists_every_scenario_with_its_official_scenario(scenario_server: Workspace) -> None:
    client = signed_in(app_for(scenario_server), Role.viewer)
    response = client.get(API)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [r["name"] for r in rows] == list(SCENARIOS)
    for row in rows:
        card = scenario_class(row["name"]).card
        assert row["official_scenario"]["id"] == card.official_scenarios[0]
        assert [o["id"] for o in row["official_scenarios"]] == list(card.official_scenarios)
        name = row["official_scenario"]["name"]
        assert name["en"] != name["zh"] and any("\u4e00" <= ch <= "\u9fff" for ch in name["zh"])
        assert row["uses_ai"] is card.uses_ai
        assert row["title"] == {"en": card.title.en, "zh": card.title.zh}
    scheduling = next(r for r in rows if r["name"] == "scheduling")
    assert scheduling["official_scenario"]["name"]["zh"] == "车间智能排产"
    one = client.get(f"{API}/scheduling")
    assert one.status_code == 200 and one.json()["name"] == "scheduling"


def test_a_scheduling_run_is_recorded_and_its_schedule_served(scenario_server: Workspace) -> None:
    engineer = signed_in(app_for(scenario_server), Role.engineer)
    response = engineer.post(f"{API}/scheduling/runs", headers={"X-CSRF-Token": engineer.csrf})
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "running" and started["scenario"] == "scheduling"
    assert response.headers["location"] == f"{API}/runs/{started['id']}"
    service.wait_for_runs(scenario_server, 120)

    run = engineer.get(response.headers["location"]).json()
    assert run["status"] == "finished", run["notes"]
    assert run["official_scenario"] == "shop_floor_scheduling" and run["uses_ai"] is False
    assert {"makespan_h", "tardiness_h", "on_time_rate", "run_s"} <= set(run["metrics"])
    assert run["artefacts"]["table"] == "schedules" and run["artefacts"]["rows"] > 0
    listed = engineer.get(f"{API}/runs", params={"scenario": "scheduling", "limit": 5}).json()
    assert listed[0]["id"] == started["id"]
    assert engineer.get(f"{API}/scheduling").json()["last_run"]["status"] == "finished"
    with Registry.open(Path(scenario_server.settings.store) / REGISTRY_FILE) as registry:
        record = next(r for r in list_scenario_runs(registry) if r["id"] == started["id"])
    assert record["status"] == "finished" and record["artefacts"] == run["artefacts"]

    schedule = engineer.get(f"{API}/schedule/latest")
    assert schedule.status_code == 200, schedule.text
    view = schedule.json()
    assert view["run_id"] == started["id"] and view["schedule_id"] == run["artefacts"]["run_id"]
    assert view["makespan_h"] == run["metrics"]["makespan_h"]
    assert view["tardiness_h"] == run["metrics"]["tardiness_h"]
    machines = {e.id for e in scenario_server.plant().equipment}
    operations = [r for r in view["rows"] if r["kind"] == "run"]
    assert len(operations) == run["artefacts"]["rows"]
    for row in view["rows"]:
        assert row["machine"] in machines and row["order"] and row["operation"].startswith("OP")
        assert row["start"] < row["end"] and row["start"] >= view["planned_from"]


def test_a_run_with_too_little_data_is_recorded_failed_with_its_message(empty_server: Workspace) -> None:
    engineer = signed_in(app_for(empty_server), Role.engineer)
    run = finished(
        empty_server, engineer.post(f"{API}/anomaly/runs", headers={"X-CSRF-Token": engineer.csrf})
    )
    assert run["status"] == "failed" and run["finished_at"] is not None
    assert run["notes"].startswith("UserError: ") and len(run["notes"]) > len("UserError: ") + 10
    assert run["metrics"] == {} and run["artefacts"] == {}
    library = {r["name"]: r for r in engineer.get(API).json()}
    assert library["anomaly"]["last_run"]["status"] == "failed"
    assert library["anomaly"]["active"] is False
    # no schedule was ever made here
    missing = engineer.get(f"{API}/schedule/latest")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


def test_a_second_run_while_one_runs_is_a_conflict(scenario_server: Workspace, gate: threading.Event) -> None:
    engineer = signed_in(app_for(scenario_server), Role.engineer)
    headers = {"X-CSRF-Token": engineer.csrf}
    first = engineer.post(f"{API}/gate/runs", headers=headers)
    assert first.status_code == 202, first.text
    assert engineer.get(f"{API}/gate").json()["active"] is True
    second = engineer.post(f"{API}/gate/runs", headers=headers)
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert first.json()["id"] in second.json()["detail"]
    assert (second.json()["type"], second.json()["title"]) == ("/problems/conflict", "Already running")
    gate.set()
    run = finished(scenario_server, first)
    assert run["status"] == "finished" and run["metrics"]["waited"] == 1.0
    gated = [r for r in engineer.get(f"{API}/runs", params={"scenario": "gate"}).json()]
    assert [r["id"] for r in gated] == [first.json()["id"]]  # the refused one left no record
    again = engineer.post(f"{API}/gate/runs", headers=headers)
    assert finished(scenario_server, again)["status"] == "finished"


def test_a_viewer_cannot_start_a_run(scenario_server: Workspace) -> None:
    before = len(service.runs(scenario_server, limit=service.MAX_RUNS))
    viewer = signed_in(app_for(scenario_server), Role.viewer)
    refused = viewer.post(f"{API}/scheduling/runs", headers={"X-CSRF-Token": viewer.csrf})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    engineer = signed_in(app_for(scenario_server), Role.engineer)
    no_token = engineer.post(f"{API}/scheduling/runs")  # a browser session without its CSRF token
    assert no_token.status_code == 403
    assert len(service.runs(scenario_server, limit=service.MAX_RUNS)) == before


def test_unknown_names_and_bad_parameters_are_problems(scenario_server: Workspace) -> None:
    engineer = signed_in(app_for(scenario_server), Role.engineer)
    before = len(service.runs(scenario_server, limit=service.MAX_RUNS))
    for response, status in (
        (engineer.get(f"{API}/nope"), 404),
        (engineer.post(f"{API}/nope/runs", headers={"X-CSRF-Token": engineer.csrf}), 404),
        (engineer.get(f"{API}/runs/no-such-run"), 404),
        (engineer.get(f"{API}/runs", params={"scenario": "nope"}), 422),
        (engineer.get(f"{API}/runs", params={"limit": 0}), 422),
        (engineer.get(f"{API}/runs", params={"limit": "many"}), 422),
    ):
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
    bad = engineer.get(f"{API}/runs", params={"scenario": "nope"}).json()
    assert bad["errors"][0]["field"] == "query.scenario" and "scheduling" in bad["errors"][0]["message"]
    assert (bad["type"], bad["title"]) == ("/problems/invalid-input", "Invalid request")
    unknown = engineer.get(f"{API}/nope").json()
    assert "scheduling" in unknown["detail"]
    assert (unknown["type"], unknown["title"]) == ("/problems/not-found", "No such scenario")
    assert len(service.runs(scenario_server, limit=service.MAX_RUNS)) == before


def test_the_api_needs_a_sign_in(scenario_server: Workspace) -> None:
    from fastapi.testclient import TestClient

    anonymous = TestClient(app_for(scenario_server))
    assert anonymous.get(API).status_code == 401
    assert anonymous.post(f"{API}/scheduling/runs").status_code == 401
