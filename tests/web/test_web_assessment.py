"""The assessment page and the self-assessment page: markup, languages, saving fields, submitting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from assessment_stores import DEMO_ANSWERS, LEVEL_KEY, client, open_copy, shared_reader
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.store import answers as answer_store

FRAMEWORK = "gradient/2025/national"
HX = {"HX-Request": "true"}


@pytest.fixture
def read_server(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The store the tests only read (shared with the API tests)."""
    return shared_reader(tmp_path_factory)


@pytest.fixture
def own_server(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """This test's own store."""
    workspace = open_copy(tmp_path_factory, tmp_path / "store")
    yield workspace
    workspace.close()


def chart_option(html: str, chart_id: str) -> dict[str, object]:
    """The ECharts option the page hands app.js for one chart."""
    found = re.search(rf'<script type="application/json" id="{chart_id}">(.*?)</script>', html, re.S)
    assert found, f"no chart data {chart_id}"
    option: dict[str, object] = json.loads(found.group(1))
    return option


# --- the assessment page ------------------------------------------------------------------------


def test_the_assessment_page_shows_level_ladder_cmmm_radar_criteria_gaps_and_roadmap(
    read_server: Workspace,
) -> None:
    page = client(read_server, Role.viewer).get("/assessment")
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(r'<p id="level"[^>]*data-level="advanced"', html)
    # the ladder: four rungs in order, the plant on advanced, excellent next
    rungs = re.findall(r'<li class="(reached|next|ahead)" data-level="(\w+)"( aria-current="step")?', html)
    assert [(state, level) for state, level, _ in rungs] == [
        ("reached", "basic"),
        ("reached", "advanced"),
        ("next", "excellent"),
        ("ahead", "leading"),
    ]
    assert [level for _, level, current in rungs if current] == ["advanced"]
    assert re.search(r'id="cmmm-grade"[^>]*data-grade="2"', html)
    radar = chart_option(html, "radar-data")
    assert radar["series"][0]["type"] == "radar"  # type: ignore[index]
    assert len(radar["radar"]["indicator"]) >= 3  # type: ignore[index]
    # every criterion with its evidence: declared and live, unverified thresholds badged everywhere
    assert html.count('data-criterion="G25-') >= 40
    assert 'data-kind="declared"' in html and 'data-kind="live"' in html
    assert html.count('class="badge unverified"') > 20
    assert re.search(r'<table class="data" id="gaps">.*G25-EXC-CMMM', html, re.S)
    # the budget slider, labelled, re-plans through HTMX
    assert '<label for="budget">' in html
    assert re.search(r'<input type="range" id="budget" name="budget"[^>]*>', html)
    assert 'hx-get="/assessment/roadmap"' in html
    assert 'id="budget-plan"' in html
    assert 'href="/api/v1/assessments/current/report.html?lang=en' in html


def test_the_budget_slider_replans_the_roadmap(read_server: Workspace) -> None:
    c = client(read_server, Role.viewer)
    small = c.get("/assessment/roadmap", params={"budget": 300_000}, headers=HX)
    large = c.get("/assessment/roadmap", params={"budget": 5_000_000}, headers=HX)
    assert small.status_code == large.status_code == 200
    assert 'data-budget="300000"' in small.text and 'data-budget="5000000"' in large.text
    assert "<html" not in small.text  # a fragment
    small_plan = re.search(r'<div id="budget-plan">(.*?)</div>', small.text, re.S)
    large_plan = re.search(r'<div id="budget-plan">(.*?)</div>', large.text, re.S)
    assert small_plan and large_plan
    assert small_plan.group(1).count("<li>") < large_plan.group(1).count("<li>")
    assert c.get("/assessment/roadmap", params={"budget": -5}).status_code == 422


def test_the_chinese_page_shows_chinese_labels_and_framework_texts(read_server: Workspace) -> None:
    html = client(read_server, Role.viewer, "zh").get("/assessment").text
    assert '<html lang="zh-CN">' in html
    for label in (
        "达到级别",
        "成熟度（CMMM）等级",
        "条件与证据",
        "路线图",
        "下载 HTML 报告",
        "未经核实的阈值",
    ):
        assert label in html, label
    for text in ("先进级", "卓越级", "规模以上工业企业"):  # level names and a criterion, from the framework
        assert text in html, text
    questions = client(read_server, Role.viewer, "zh").get("/self-assessment").text
    assert "自评" in questions and "未作答" in questions
    assert "企业是否为规模以上工业企业？" in questions  # the framework's question, in Chinese
    assert "工程师可以修改答案并重新评估" in questions  # a viewer reads only


# --- the self-assessment page -------------------------------------------------------------------


def test_engineers_get_a_field_per_question_and_viewers_read_only(read_server: Workspace) -> None:
    html = client(read_server, Role.engineer).get("/self-assessment").text
    field = re.search(
        rf'<select id="q-{LEVEL_KEY}" name="answer:{LEVEL_KEY}" data-key="{LEVEL_KEY}"[^>]*>', html
    )
    assert field and f'hx-put="/self-assessment/answers/{LEVEL_KEY}"' in field.group(0)
    assert f'<label for="q-{LEVEL_KEY}">' in html
    assert re.search(r'name="answer:key_equipment_networking_rate"[^>]*value="0.86"', html)
    assert 'id="submit-assessment"' in html
    assert len(re.findall(r'data-key="', html)) > 200
    viewer = client(read_server, Role.viewer).get("/self-assessment").text
    assert 'id="read-only"' in viewer and 'id="submit-assessment"' not in viewer
    assert "hx-put=" not in viewer
    assert re.search(rf'<select id="q-{LEVEL_KEY}"[^>]*disabled', viewer)


def test_a_field_is_saved_as_typed_and_a_bad_one_shows_its_error_inline(own_server: Workspace) -> None:
    c = client(own_server, Role.engineer, "zh")
    headers = {**HX, "X-CSRF-Token": c.csrf}
    before = answer_store.saved_answers(own_server.registry, FRAMEWORK)
    bad = c.put(
        "/self-assessment/answers/key_equipment_networking_rate",
        data={"answer:key_equipment_networking_rate": "lots"},
        headers=headers,
    )
    assert bad.status_code == 200  # HTMX swaps only 2xx: the field comes back with its error
    assert (
        '<p class="field-error" id="err-key_equipment_networking_rate" role="alert" '
        'data-code="answer.not_a_number">' in bad.text
    )
    assert "不允许 &#39;lots&#39;；可填：0 至 1 的数值" in bad.text
    assert 'aria-invalid="true"' in bad.text and 'value="lots"' in bad.text
    assert answer_store.saved_answers(own_server.registry, FRAMEWORK) == before
    good = c.put(
        "/self-assessment/answers/key_equipment_networking_rate",
        data={"answer:key_equipment_networking_rate": "92%"},
        headers=headers,
    )
    assert good.status_code == 200 and "field-error" not in good.text and 'value="0.92"' in good.text
    saved = answer_store.saved_answers(own_server.registry, FRAMEWORK)["key_equipment_networking_rate"]
    assert saved.value == "0.92" and saved.updated_by == "engineer"
    # without HTMX the refusal is a 422
    plain = c.put(
        f"/self-assessment/answers/{LEVEL_KEY}",
        data={f"answer:{LEVEL_KEY}": "maybe"},
        headers={"X-CSRF-Token": c.csrf},
    )
    assert plain.status_code == 422
    viewer = client(own_server, Role.viewer)
    denied = viewer.put(
        f"/self-assessment/answers/{LEVEL_KEY}",
        data={f"answer:{LEVEL_KEY}": "no"},
        headers={**HX, "X-CSRF-Token": viewer.csrf},
    )
    assert denied.status_code == 403


def test_submitting_reassesses_with_the_new_answer(own_server: Workspace) -> None:
    c = client(own_server, Role.engineer)
    headers = {**HX, "X-CSRF-Token": c.csrf}
    c.put(f"/self-assessment/answers/{LEVEL_KEY}", data={f"answer:{LEVEL_KEY}": "no"}, headers=headers)
    result = c.post("/self-assessment/submit", headers=headers)
    assert result.status_code == 200, result.text
    assert re.search(r'<p id="submitted-level" data-level="basic"', result.text)
    assert re.search(r'<p id="level"[^>]*data-level="basic"', c.get("/assessment").text)
    # a plain form post (no HTMX) lands on the assessment page
    plain = c.post("/self-assessment/submit", data={"csrf_token": c.csrf}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/assessment"
    assert 'id="latest-assessment"' in c.get("/self-assessment").text


def test_uploading_a_bad_answers_file_lists_its_problems_and_saves_nothing(own_server: Workspace) -> None:
    c = client(own_server, Role.engineer)
    before = answer_store.saved_answers(own_server.registry, FRAMEWORK)
    text = DEMO_ANSWERS.read_text(encoding="utf-8").replace(
        "answer: 0.8  # 0 | 0.5", "answer: 0.75  # 0 | 0.5"
    )
    response = c.post(
        "/self-assessment/import",
        data={"csrf_token": c.csrf},
        files={"file": ("mine.yaml", text.encode(), "application/yaml")},
    )
    assert response.status_code == 422
    assert 'id="import-problems"' in response.text
    assert re.search(r"line \d+: 0\.75 is not allowed", response.text)
    assert answer_store.saved_answers(own_server.registry, FRAMEWORK) == before
    ok = c.post(
        "/self-assessment/import",
        data={"csrf_token": c.csrf},
        files={"file": ("answers.yaml", DEMO_ANSWERS.read_bytes(), "application/yaml")},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith("/self-assessment?imported=")
