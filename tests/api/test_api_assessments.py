"""The assessment API: current assessment with live evidence, questionnaire, answers, history, report.

Every test that writes gets its own copy of one store (``build_store`` + the demo answers
imported once), so the answers and the history of one test never reach another.
"""

from __future__ import annotations

import atexit
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from smartfactory.app import answers as answer_service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.assess.answers import parse_answers, resolve
from smartfactory.assess.run import assess
from smartfactory.store import answers as answer_store
from web import ROOT, app_for, build_store, signed_in

DEMO_ANSWERS = ROOT / "examples" / "factories" / "b_discrete_midsize" / "answers.yaml"
# the demo answers reach advanced; answering no to this one drops the plant to basic, yes lifts it back
LEVEL_KEY = "G25-ADV-BENCH"
_SEEDED: dict[str, Path] = {}
_READER: dict[str, Workspace] = {}


def seeded_folder(factory: pytest.TempPathFactory) -> Path:
    """A 3-day store with the users and the demo answers imported (built once per test session)."""
    if "folder" not in _SEEDED:
        folder = build_store(factory.mktemp("assessment-store"))
        workspace = Workspace(WorkspaceSettings(store=folder))
        try:
            answer_service.import_answers(workspace, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
        finally:
            workspace.close()
        _SEEDED["folder"] = folder
    return _SEEDED["folder"]


def open_copy(factory: pytest.TempPathFactory, target: Path) -> Workspace:
    """A workspace over a fresh copy of the seeded store."""
    shutil.copytree(seeded_folder(factory), target)
    return Workspace(WorkspaceSettings(store=target))


@pytest.fixture
def own_server(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """This test's own store: answers and history it writes stay with it."""
    workspace = open_copy(tmp_path_factory, tmp_path / "store")
    yield workspace
    workspace.close()


def shared_reader(factory: pytest.TempPathFactory) -> Workspace:
    """One workspace over a copy of the seeded store that the tests only read (shared by the modules).

    Its assessments are kept by the service, so the page and the API tests measure the live
    evidence once per language rather than once per test.
    """
    if "reader" not in _READER:
        workspace = open_copy(factory, factory.mktemp("read") / "store")
        atexit.register(workspace.close)
        _READER["reader"] = workspace
    return _READER["reader"]


@pytest.fixture
def read_server(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The shared store the tests only read."""
    return shared_reader(tmp_path_factory)


def client(workspace: Workspace, role: Role, lang: str = "en") -> TestClient:
    """A signed-in client of ``role`` over ``workspace``."""
    return signed_in(app_for(workspace), role, lang)


def csrf(c: TestClient) -> dict[str, str]:
    """The CSRF header of a signed-in client."""
    return {"X-CSRF-Token": c.csrf}  # type: ignore[attr-defined]


# --- reading ------------------------------------------------------------------------------------


def test_current_assessment_is_the_cli_assessment_with_live_evidence(read_server: Workspace) -> None:
    c = client(read_server, Role.viewer)
    response = c.get("/api/v1/assessments/current", params={"lang": "en"})
    assert response.status_code == 200, response.text
    body = response.json()
    # what `smartfactory assess --answers answers.yaml --store DIR` finds
    fw = resolve("gradient/2025/national")
    with read_server.telemetry() as store:
        expected = assess(
            fw.gradient.id,
            parse_answers(DEMO_ANSWERS.read_text(encoding="utf-8"), str(DEMO_ANSWERS), fw),
            read_server.plant(),
            store,
            read_server.registry,
            lang="en",
        )
    assert body["level"] == expected.level == "advanced"
    assert body["cmmm_grade"] == expected.cmmm.grade == 2
    assert body["cmmm_total"] == pytest.approx(expected.cmmm.score.total)
    result = body["result"]
    assert result["schema"] == "smartfactory.assessment/1"
    assert [c["result"] for c in result["criteria"]] == [c.result for c in expected.criteria]
    # live evidence from the store was measured over the stored data, not "no store"
    assert result["live"]["oee"]["value"] is not None
    assert result["roadmap"]["budget"] is None
    with_budget = c.get("/api/v1/assessments/current", params={"budget": 2_000_000}).json()
    assert with_budget["result"]["roadmap"]["budget"]["budget_cny"] == 2_000_000


def test_questionnaire_lists_every_question_with_allowed_values_texts_and_saved_answer(
    read_server: Workspace,
) -> None:
    c = client(read_server, Role.viewer)
    body = c.get("/api/v1/assessments/questionnaire", params={"lang": "zh"}).json()
    questions = {q["key"]: q for g in body["groups"] for q in g["questions"]}
    assert body["framework"] == "gradient/2025/national"
    assert body["answered"] > 150 and body["total"] == len(questions)
    bench = questions[LEVEL_KEY]
    assert bench["value"] == "yes"
    assert [ch["value"] for ch in bench["choices"]] == ["yes", "no"]
    assert bench["text"] == bench["text_zh"] != bench["text_en"]
    assert bench["confidence"] in ("V", "S", "U")
    metric = questions["key_equipment_networking_rate"]
    assert (metric["min"], metric["max"], metric["unit"], metric["value"]) == (0, 1, "ratio", "0.86")
    assert metric["allows_unknown"] and metric["choices"] == []
    judged = questions["G25-ADV-COLLAB"]
    assert [ch["value"] for ch in judged["choices"]] == ["0", "0.5", "0.8", "1"] and judged["value"] == "0.8"
    assert questions["online_intelligent_inspection.ai_used"]["value"] == "yes"
    assert questions["CM-ORG-L3-1"]["level"] == 3
    assert {g["section"] for g in body["groups"]} == {"general", "criteria", "metrics", "scenarios", "cmmm"}


def test_report_download_is_an_html_attachment_with_the_level(read_server: Workspace) -> None:
    c = client(read_server, Role.viewer)
    response = c.get("/api/v1/assessments/current/report.html", params={"lang": "zh"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.text.startswith("<!DOCTYPE html>")
    assert "先进级" in response.text  # the level reached, in the report's language


def test_the_saved_answers_download_as_an_answers_file(read_server: Workspace) -> None:
    c = client(read_server, Role.viewer)
    response = c.get("/api/v1/assessments/answers")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    fw = resolve("gradient/2025/national")
    assert parse_answers(response.text, "download", fw).criteria[LEVEL_KEY].value is True


def test_unknown_things_are_404_problems(read_server: Workspace) -> None:
    c = client(read_server, Role.engineer)
    missing = c.get("/api/v1/assessments/999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    unknown = c.put("/api/v1/assessments/answers/NO-SUCH-KEY", json={"value": "yes"}, headers=csrf(c))
    assert unknown.status_code == 404


def test_signed_out_and_viewers_cannot_write(read_server: Workspace) -> None:
    anonymous = TestClient(app_for(read_server))
    assert anonymous.get("/api/v1/assessments/current").status_code == 401
    viewer = client(read_server, Role.viewer)
    before = answer_store.saved_answers(read_server.registry, "gradient/2025/national")
    put = viewer.put(f"/api/v1/assessments/answers/{LEVEL_KEY}", json={"value": "no"}, headers=csrf(viewer))
    assert put.status_code == 403
    whole = viewer.put(
        "/api/v1/assessments/answers", json={"yaml": DEMO_ANSWERS.read_text()}, headers=csrf(viewer)
    )
    assert whole.status_code == 403
    assert viewer.post("/api/v1/assessments", headers=csrf(viewer)).status_code == 403
    assert answer_store.saved_answers(read_server.registry, "gradient/2025/national") == before
    assert viewer.get("/api/v1/assessments").json()["total"] == 0


# --- writing ------------------------------------------------------------------------------------


def test_an_answer_moves_the_level_on_submit_and_the_history_keeps_each(own_server: Workspace) -> None:
    c = client(own_server, Role.engineer)
    saved = c.put(f"/api/v1/assessments/answers/{LEVEL_KEY}", json={"value": "no"}, headers=csrf(c))
    assert saved.status_code == 200, saved.text
    assert saved.json()["value"] == "no" and saved.json()["updated_by"] == "engineer"
    # the note of the answer is kept when only the value changes
    assert saved.json()["note"]
    lowered = c.post("/api/v1/assessments", headers=csrf(c))
    assert lowered.status_code == 201, lowered.text
    lowered_id = lowered.json()["id"]
    assert lowered.json()["level"] == "basic"

    c.put(f"/api/v1/assessments/answers/{LEVEL_KEY}", json={"value": True}, headers=csrf(c))
    raised = c.post("/api/v1/assessments", json={"budget": 1_000_000}, headers=csrf(c))
    assert raised.json()["level"] == "advanced"
    assert raised.json()["result"]["roadmap"]["budget"]["budget_cny"] == 1_000_000

    history = c.get("/api/v1/assessments").json()
    assert history["total"] == 2
    assert [i["level"] for i in history["items"]] == ["advanced", "basic"]
    assert history["items"][0]["submitted_by"] == "engineer"
    one = c.get(f"/api/v1/assessments/{lowered_id}").json()
    assert one["level"] == "basic" and one["result"]["level"]["reached"] == "basic"


@pytest.mark.parametrize(
    ("lang", "key", "value", "message"),
    [
        ("en", LEVEL_KEY, "maybe", "Answer yes or no."),
        ("zh", LEVEL_KEY, "maybe", "请回答 yes（是）或 no（否）。"),
        ("en", "G25-ADV-COLLAB", 0.7, "Choose one of 0 / 0.5 / 0.8 / 1."),
        (
            "zh",
            "key_equipment_networking_rate",
            "1.5",
            "请输入 0 至 1 之间的数值（比率，86% 即 0.86），或 unknown。",
        ),
        ("en", "CM-ORG-L1-1", "{a: 1}", "Choose one of 1 / 0.8 / 0.5 / 0."),
        ("en", "factory_digital_planning.ai_used", "yes", "A scenario not built uses no AI"),
    ],
)
def test_a_bad_value_is_a_422_with_the_field_in_the_users_language_and_saves_nothing(
    own_server: Workspace, lang: str, key: str, value: object, message: str
) -> None:
    c = client(own_server, Role.engineer, lang)
    before = answer_store.saved_answers(own_server.registry, "gradient/2025/national")
    response = c.put(f"/api/v1/assessments/answers/{key}", json={"value": value}, headers=csrf(c))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == key
    assert problem["errors"][0]["message"].startswith(message)
    assert answer_store.saved_answers(own_server.registry, "gradient/2025/national") == before


def test_a_malformed_body_is_a_422_and_saves_nothing(own_server: Workspace) -> None:
    c = client(own_server, Role.engineer)
    before = answer_store.saved_answers(own_server.registry, "gradient/2025/national")
    for body in ({"value": ["yes"]}, {"nothing": 1}, {"value": "yes", "note": "x" * 5000}):
        response = c.put(f"/api/v1/assessments/answers/{LEVEL_KEY}", json=body, headers=csrf(c))
        assert response.status_code == 422, (body, response.text)
    assert answer_store.saved_answers(own_server.registry, "gradient/2025/national") == before


def test_a_malformed_answers_file_lists_its_problems_with_lines_and_saves_nothing(
    own_server: Workspace,
) -> None:
    c = client(own_server, Role.engineer)
    before = answer_store.saved_answers(own_server.registry, "gradient/2025/national")
    text = DEMO_ANSWERS.read_text(encoding="utf-8")
    broken = text.replace("answer: 0.8  # 0 | 0.5", "answer: 0.7  # 0 | 0.5").replace(
        "G25-BAS-SIZE:\n      answer: yes", "G25-BAS-SIZE:\n      answer: perhaps"
    )
    response = c.put("/api/v1/assessments/answers", json={"yaml": broken}, headers=csrf(c))
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert len(errors) == 2
    assert {e["field"] for e in errors} == {
        "criteria.basic.G25-BAS-SIZE.answer",
        "criteria.advanced.G25-ADV-COLLAB.answer",
    }
    assert all(e["message"].startswith("line ") for e in errors)
    not_yaml = c.put(
        "/api/v1/assessments/answers",
        content="criteria: [unclosed",
        headers={**csrf(c), "Content-Type": "application/yaml"},
    )
    assert not_yaml.status_code == 422
    assert "YAML syntax" in not_yaml.json()["errors"][0]["message"]
    assert (
        c.put(
            "/api/v1/assessments/answers",
            content=b"\xff\xfe",
            headers={**csrf(c), "Content-Type": "application/yaml"},
        ).status_code
        == 422
    )
    assert c.put("/api/v1/assessments/answers", json={"yaml": 3}, headers=csrf(c)).status_code == 422
    assert answer_store.saved_answers(own_server.registry, "gradient/2025/national") == before


def test_an_answers_file_replaces_the_answers(own_server: Workspace) -> None:
    c = client(own_server, Role.engineer)
    text = DEMO_ANSWERS.read_text(encoding="utf-8").replace(
        "G25-ADV-BENCH:\n      answer: yes", "G25-ADV-BENCH:\n      answer: no"
    )
    response = c.put(
        "/api/v1/assessments/answers",
        content=text.encode(),
        headers={**csrf(c), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["missing"] == []
    assert c.get("/api/v1/assessments/current").json()["level"] == "basic"
