"""The equipment pages: machines by line, one machine's charts, states, alarms, KPIs, scenarios.

Read-only tests use the shared ``web_server``; those that acknowledge alarms or record scenario
runs use their own store.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from smartfactory.app import alarms as alarm_service
from smartfactory.app import equipment as equipment_service
from smartfactory.app.i18n import percent, use_language
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.kpi import compute_result
from smartfactory.model.events import Severity
from smartfactory.store import TelemetryStore
from smartfactory.store.scenario_runs import record_scenario_run
from smartfactory.web.pages.equipment import PAGE_POINTS
from web import SignedIn, app_for, build_store, signed_in

DAY = {"start": "2026-03-02T00:00", "end": "2026-03-03T00:00"}


def scripts(page: str) -> dict[str, Any]:
    """The JSON blocks of a page (chart options), by id."""
    found = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', page, re.S)
    return {name: json.loads(body) for name, body in found}


def alarm_rows(page: str) -> list[tuple[str, str]]:
    """``(EQUIPMENT/CODE, state)`` of every alarm row."""
    return re.findall(r'<tr data-alarm="([^"]+)" data-state="([^"]+)">', page)


@pytest.fixture(scope="module")
def shared(web_server: Workspace) -> FastAPI:
    return app_for(web_server)


@pytest.fixture(scope="module")
def viewer(shared: FastAPI) -> Iterator[SignedIn]:
    with signed_in(shared, Role.viewer) as client:
        yield client


# --- the list -------------------------------------------------------------------------------


def test_the_list_groups_machines_by_line_with_state_and_alarms(
    viewer: SignedIn,
    web_server: Workspace,
) -> None:
    response = viewer.get("/equipment")
    assert response.status_code == 200
    page = response.text
    plant = web_server.plant()
    for line in plant.lines:
        assert f'id="line-{line.id}"' in page and line.name.en in page
    for machine in plant.equipment:
        assert f'<tr data-equipment="{machine.id}"' in page
        assert f'href="/equipment/{machine.id}"' in page
    assert 'data-equipment="OP10-M1" data-state="running"' in page
    assert "States as of Mar 5, 2026" in page


# --- one machine ----------------------------------------------------------------------------


def test_signal_charts_zoom_through_the_telemetry_api(viewer: SignedIn, web_server: Workspace) -> None:
    response = viewer.get("/equipment/OP10-M1", params=DAY)
    assert response.status_code == 200, response.text
    page = response.text
    options = scripts(page)
    urls = dict(re.findall(r'data-chart="(signal-\d+)" data-zoom-url="([^"]+)"', page))
    signals = [s.name for s in web_server.plant().equipment_by_id()["OP10-M1"].signals] + ["energy_kwh"]
    assert len(urls) == len(signals)
    for chart, url in urls.items():
        option = options[chart]
        assert option["useUTC"] is True and option["xAxis"]["type"] == "time"
        assert {z["type"] for z in option["dataZoom"]} == {"inside", "slider"}
        (series,) = option["series"]
        assert len(series["data"]) <= PAGE_POINTS
        # the zoom handler adds start, end (plant wall clock, no offset) and points
        zoomed = viewer.get(
            html.unescape(url) + "&start=2026-03-02T10:00:00.000&end=2026-03-02T11:00:00.000&points=300"
        )
        assert zoomed.status_code == 200, zoomed.text
        (again,) = zoomed.json()["series"]
        assert again["signal"] == series["signal"] and len(again["data"]) <= 300
        if again["data"]:
            lo = datetime(2026, 3, 2, 10, tzinfo=UTC).timestamp() * 1000
            assert lo <= again["data"][0][0] < lo + 3_600_000
    assert option["xAxis"]["min"] == datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000


def test_the_state_timeline_is_a_gantt_of_the_period(viewer: SignedIn) -> None:
    page = viewer.get("/equipment/OP10-M1", params=DAY).text
    gantt = scripts(page)["states-chart"]
    kinds = {s["name"] for s in gantt["series"]}
    assert "Running" in kinds
    assert all(s["renderItem"] == "gantt" for s in gantt["series"])
    assert 'data-chart="states-chart" data-chart-group="equipment-OP10-M1"' in page
    hours = [float(h) for h in re.findall(r'<td class="num">([\d.]+)</td>', page)[:8]]
    assert sum(hours) == pytest.approx(24, abs=0.05)


def test_the_twins_alarms_are_rows_with_stable_markup(viewer: SignedIn) -> None:
    page = viewer.get("/equipment/OP10-M1", params=DAY).text
    rows = alarm_rows(page)
    assert ("OP10-M1/U.MECH.AXIS", "cleared") in rows
    assert all(
        key.startswith("OP10-M1/") and state in ("raised", "acknowledged", "cleared") for key, state in rows
    )
    assert "Axis / ball screw failure" in page
    assert "hx-post" not in page  # a viewer gets no buttons


def test_the_kpis_are_the_kpi_engines_for_the_latest_day(viewer: SignedIn, web_server: Workspace) -> None:
    page = viewer.get("/equipment/OP10-M1").text
    assert 'hx-get="/equipment/OP10-M1/kpis" hx-trigger="load"' in page
    fragment = viewer.get("/equipment/OP10-M1/kpis")
    assert fragment.status_code == 200
    with web_server.telemetry() as store:
        result = compute_result(
            store,
            date(2026, 3, 4),
            date(2026, 3, 5),
            by="equipment",
            per="day",
            node="OP10-M1",
            kpis=["oee", "availability", "effectiveness", "quality_ratio"],
        )
    row = next(r for r in result.rows() if r["node"] == "OP10-M1")
    assert "KPIs of Mar 4, 2026" in fragment.text
    with use_language("en"):
        for kpi in ("oee", "availability", "effectiveness", "quality_ratio"):
            tile = re.search(rf'data-kpi="{kpi}">.*?<p[^>]*>([^<]+)</p>', fragment.text, re.S)
            assert tile is not None and tile.group(1) == percent(row[kpi])


def test_the_pages_speak_chinese(shared: FastAPI) -> None:
    with signed_in(shared, Role.viewer, lang="zh") as chinese:
        page = chinese.get("/equipment/OP10-M1", params=DAY).text
        assert '<html lang="zh-CN">' in page
        for label in (
            "报警",
            "信号",
            "状态",
            "已清除",
            "严重程度",
            "场景结果",
            "尚未运行。",
            "OP10 立式加工中心 1",
        ):
            assert label in page, label
        assert "Alarms" not in page and "Signals" not in page
        listing = chinese.get("/equipment").text
        for label in ("活动报警", "数控加工中心", "运行", "壳体一线"):
            assert label in listing, label
        assert "关键绩效指标" in chinese.get("/equipment/OP10-M1/kpis").text


def test_unknown_machines_and_bad_periods_are_error_pages(viewer: SignedIn) -> None:
    missing = viewer.get("/equipment/NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.text
    assert viewer.get("/equipment/NOPE/kpis").status_code == 404
    bad = viewer.get("/equipment/OP10-M1", params={"start": "tomorrow"})
    assert bad.status_code == 422 and "ISO 8601" in bad.text
    inverted = viewer.get("/equipment/OP10-M1", params={"start": "2026-03-03", "end": "2026-03-02"})
    assert inverted.status_code == 422
    too_long = viewer.get("/equipment/OP10-M1", params={"start": "2026-01-01", "end": "2026-03-03"})
    assert too_long.status_code == 422 and "31" in too_long.text


def test_pages_need_a_sign_in(shared: FastAPI) -> None:
    anonymous = TestClient(shared)
    for url in ("/equipment", "/equipment/OP10-M1", "/equipment/OP10-M1/kpis"):
        response = anonymous.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


# --- acting on alarms and scenario results (own store) ----------------------------------------


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = build_store(tmp_path_factory.mktemp("equipment-store"), days=1.0)
    workspace = Workspace(WorkspaceSettings(store=folder))
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def own_app(own: Workspace) -> FastAPI:
    return app_for(own)


def rows_stored(workspace: Workspace) -> int:
    with workspace.telemetry() as store:
        return int(store.query("SELECT count(*) AS n FROM alarms").to_pylist()[0]["n"])


def test_engineers_acknowledge_and_clear_from_the_row(own: Workspace, own_app: FastAPI) -> None:
    alarm_service.raise_alarm(
        own, "OP10-M1", "T.PAGE", Severity.critical, "OP10-M1: test", datetime(2026, 3, 2, 2, tzinfo=UTC)
    )
    with signed_in(own_app, Role.engineer) as engineer:
        page = engineer.get("/equipment/OP10-M1", params=DAY).text
        assert ("OP10-M1/T.PAGE", "raised") in alarm_rows(page)
        assert 'hx-post="/equipment/OP10-M1/alarms/T.PAGE/acknowledge"' in page
        assert 'hx-target="closest tr" hx-swap="outerHTML"' in page
        assert 'hx-headers=\'{"X-CSRF-Token": "' + engineer.csrf in page
        listing = engineer.get("/equipment").text
        assert re.search(r'data-equipment="OP10-M1".*?<span class="badge bad">1</span>', listing, re.S)

        headers = {"X-CSRF-Token": engineer.csrf, "HX-Request": "true"}
        before = rows_stored(own)
        row = engineer.post("/equipment/OP10-M1/alarms/T.PAGE/acknowledge", headers=headers)
        assert row.status_code == 200, row.text
        assert alarm_rows(row.text) == [("OP10-M1/T.PAGE", "acknowledged")]
        assert "/acknowledge" not in row.text and "/clear" in row.text and "by engineer" in row.text
        assert rows_stored(own) == before + 1

        again = engineer.post("/equipment/OP10-M1/alarms/T.PAGE/acknowledge", headers=headers)
        assert again.status_code == 200
        assert 'role="alert"' in again.text and "already acknowledged" in again.text
        assert alarm_rows(again.text) == [("OP10-M1/T.PAGE", "acknowledged")]
        assert rows_stored(own) == before + 1

        cleared = engineer.post("/equipment/OP10-M1/alarms/T.PAGE/clear", headers=headers)
        assert alarm_rows(cleared.text) == [("OP10-M1/T.PAGE", "cleared")] and "hx-post" not in cleared.text
        assert rows_stored(own) == before + 2

        assert engineer.post("/equipment/OP10-M1/alarms/T.PAGE/clear").status_code == 403  # no CSRF token
        assert engineer.post("/equipment/OP10-M1/alarms/T.NEVER/clear", headers=headers).status_code == 404
        assert engineer.post("/equipment/OP10-M1/alarms/T.PAGE/shelve", headers=headers).status_code == 422
        assert rows_stored(own) == before + 2


def test_viewers_see_no_buttons_and_cannot_post(own: Workspace, own_app: FastAPI) -> None:
    alarm_service.raise_alarm(
        own, "OP10-M1", "T.VIEW", Severity.minor, "OP10-M1: test", datetime(2026, 3, 2, 2, tzinfo=UTC)
    )
    with signed_in(own_app, Role.viewer) as viewer:
        page = viewer.get("/equipment/OP10-M1", params=DAY).text
        assert ("OP10-M1/T.VIEW", "raised") in alarm_rows(page)
        assert "hx-post" not in page and '<th scope="col">Actions</th>' not in page
        before = rows_stored(own)
        response = viewer.post(
            "/equipment/OP10-M1/alarms/T.VIEW/acknowledge", headers={"X-CSRF-Token": viewer.csrf}
        )
        assert response.status_code == 403
        assert rows_stored(own) == before


def test_scenario_results_show_the_latest_runs(own: Workspace, own_app: FastAPI) -> None:
    plant = own.plant()
    done = datetime(2026, 3, 3, 9, tzinfo=UTC)
    record_scenario_run(
        own.registry, plant.plant.id, "maintenance", "equipment_fault_prediction", uses_ai=True,
        started_at=done - timedelta(minutes=5), status="finished", finished_at=done,
        metrics={"precision": 0.5, "recall": 0.75, "threshold": 0.4, "wall_s": 3.0},
    )  # fmt: skip
    record_scenario_run(
        own.registry, plant.plant.id, "anomaly", "equipment_operation_monitoring", uses_ai=True,
        started_at=done - timedelta(minutes=5), status="finished", finished_at=done,
        metrics={"alarms_raised": 4.0}, artefacts={"equipment": {"OP10-M1": ["spindle_temp", "spindle_vibration"]}},
    )  # fmt: skip
    risk = pa.table(
        {
            "hour": pa.array([datetime(2026, 3, 2, h) for h in (10, 11)], pa.timestamp("us")),
            "equipment": ["OP10-M1", "OP10-M1"],
            "risk": [0.62, 0.31],
            "breakdown_within_horizon": pa.array([0, 0], pa.int32()),
        }
    )
    with own.writing() as store:
        assert isinstance(store, TelemetryStore)  # the embedded store: a scenario's own table
        store.connection.execute(
            f'CREATE TABLE "{equipment_service.MAINTENANCE_RISK_TABLE}" '
            "(hour TIMESTAMP, equipment VARCHAR, risk DOUBLE, breakdown_within_horizon INTEGER)"
        )
        store.connection.register("risk_rows", risk)
        store.connection.execute(
            f'INSERT INTO "{equipment_service.MAINTENANCE_RISK_TABLE}" SELECT * FROM risk_rows'
        )
        store.connection.unregister("risk_rows")
    alarm_service.raise_alarm(
        own,
        "OP10-M1",
        equipment_service.ANOMALY_ALARM_CODE,
        Severity.warning,
        "unusual",
        datetime(2026, 3, 2, 4, tzinfo=UTC),
    )
    with signed_in(own_app, Role.viewer) as viewer:
        page = viewer.get("/equipment/OP10-M1", params=DAY).text
        maintenance = page[page.index('data-scenario="maintenance"') : page.index('data-scenario="anomaly"')]
        assert "31.0%" in maintenance and "62.0%" in maintenance and "75.0%" in maintenance
        anomaly = page[page.index('data-scenario="anomaly"') :]
        assert "spindle_temp, spindle_vibration" in anomaly
        assert re.search(r"Active now</dt><dd>1</dd>", anomaly)
        other = viewer.get("/equipment/OP50-P1", params=DAY).text
        assert other.count("The latest run did not cover this machine.") == 2


def test_the_scenarios_store_what_the_page_reads() -> None:
    from smartfactory.scenarios.anomaly.plant import ALARM_CODE as ANOMALY
    from smartfactory.scenarios.maintenance.risk import ALARM_CODE as MAINTENANCE
    from smartfactory.scenarios.maintenance.scenario import RISK_TABLE

    assert equipment_service.MAINTENANCE_RISK_TABLE == RISK_TABLE
    assert equipment_service.MAINTENANCE_ALARM_CODE == MAINTENANCE
    assert equipment_service.ANOMALY_ALARM_CODE == ANOMALY
