"""The scenarios page: the library with the official scenarios in both languages, the runs, the
latest schedule as a Gantt chart, and the Run button whose row polls until the run ends."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator

import pytest

from smartfactory.app import scenarios as service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.scenarios import SCENARIOS
from web import app_for, build_store, signed_in

PAGE = "/scenarios"


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A day and a half of the demo plant with one scheduling run done."""
    workspace = Workspace(
        WorkspaceSettings(store=build_store(tmp_path_factory.mktemp("scheduled"), days=1.5))
    )
    service.start_run(workspace, "scheduling")
    service.wait_for_runs(workspace, 120)
    yield workspace
    service.wait_for_runs(workspace, 60)
    workspace.close()


def rows(html: str) -> dict[str, str]:
    """The library's rows by scenario name: name → the row's opening tag."""
    return {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr id="scenario-[^"]+" data-scenario="([^"]+)"[^>]*>', html)
    }


def test_the_page_shows_the_library_runs_and_the_schedule(scheduled: Workspace) -> None:
    viewer = signed_in(app_for(scheduled), Role.viewer)
    page = viewer.get(PAGE)
    assert page.status_code == 200, page.text
    html = page.text
    library = rows(html)
    assert list(library) == list(SCENARIOS)
    assert 'data-status="finished"' in library["scheduling"]
    assert 'data-status="never"' in library["quality"]
    assert "Intelligent shop-floor scheduling" in html and "shop_floor_scheduling" in html
    assert 'id="scenario-runs"' in html and 'data-status="finished"' in html
    # the Gantt chart: one custom series per order, a row per machine
    found = re.search(r'<script type="application/json" id="schedule-gantt">(.*?)</script>', html, re.S)
    assert found is not None
    option = json.loads(found.group(1))
    latest = service.latest_schedule(scheduled)
    assert latest is not None
    assert option["yAxis"]["data"] == latest.machines
    assert {s["name"] for s in option["series"]} >= {r.order for r in latest.rows}
    assert all(s["renderItem"] == "gantt" for s in option["series"])
    assert 'data-chart="schedule-gantt"' in html and 'id="schedule-rows"' in html
    # a viewer reads; only engineers get the Run buttons
    assert "hx-post" not in html and "/run" not in html


def test_an_engineer_runs_a_scenario_and_the_row_polls_until_it_ends(
    scheduled: Workspace, gate: threading.Event
) -> None:
    engineer = signed_in(app_for(scheduled), Role.engineer)
    page = engineer.get(PAGE).text
    assert 'hx-post="/scenarios/scheduling/run"' in page and 'hx-target="closest tr"' in page
    started = engineer.post(f"{PAGE}/gate/run", headers={"X-CSRF-Token": engineer.csrf, "HX-Request": "true"})
    assert started.status_code == 200, started.text
    row = rows(started.text)["gate"]
    assert 'data-status="running"' in row
    assert 'hx-trigger="every 2s"' in row and 'hx-get="/scenarios/rows/gate"' in row
    again = engineer.post(f"{PAGE}/gate/run", headers={"X-CSRF-Token": engineer.csrf, "HX-Request": "true"})
    assert 'role="alert"' in again.text and "already running" in again.text
    polled = engineer.get(f"{PAGE}/rows/gate", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in polled.text and "HX-Refresh" not in polled.headers
    gate.set()
    service.wait_for_runs(scheduled, 60)
    done = engineer.get(f"{PAGE}/rows/gate", headers={"HX-Request": "true"})
    row = rows(done.text)["gate"]
    assert 'data-status="finished"' in row and "hx-trigger" not in row
    assert done.headers["HX-Refresh"] == "true"  # the page reloads to show the run and its results


def test_without_javascript_the_run_form_posts_and_comes_back(
    scheduled: Workspace, gate: threading.Event
) -> None:
    engineer = signed_in(app_for(scheduled), Role.engineer)
    form = engineer.post(f"{PAGE}/gate/run", data={"csrf_token": engineer.csrf}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == PAGE
    busy = engineer.post(f"{PAGE}/gate/run", data={"csrf_token": engineer.csrf}, follow_redirects=False)
    assert busy.status_code == 409 and 'role="alert"' in busy.text
    gate.set()
    service.wait_for_runs(scheduled, 60)


def test_a_viewer_cannot_start_a_run_from_the_page(scheduled: Workspace) -> None:
    before = len(service.runs(scheduled, limit=service.MAX_RUNS))
    viewer = signed_in(app_for(scheduled), Role.viewer)
    refused = viewer.post(
        f"{PAGE}/scheduling/run", headers={"X-CSRF-Token": viewer.csrf, "HX-Request": "true"}
    )
    assert refused.status_code == 403
    assert len(service.runs(scheduled, limit=service.MAX_RUNS)) == before
    unknown = signed_in(app_for(scheduled), Role.engineer).get(f"{PAGE}/rows/nope")
    assert unknown.status_code == 404


def test_the_chinese_page_shows_chinese_labels(scheduled: Workspace) -> None:
    viewer = signed_in(app_for(scheduled), Role.viewer, lang="zh")
    html = viewer.get(PAGE).text
    for label in (
        "场景库",
        "官方典型场景",
        "使用人工智能",
        "最近一次运行",
        "最新排产计划",
        "运行记录",
        "总工期",
    ):
        assert label in html, label
    assert "车间智能排产" in html and "车间智能排产与动态调度" in html  # official name and card title
    assert "已完成" in html and "从未运行" in html
    assert "Scenario library" not in html and "Latest schedule" not in html
