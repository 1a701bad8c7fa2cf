"""The assessment API: current assessment with live evidence, questionnaire, answers, history, report.

Every test that writes gets its own copy of one store (``build_store`` + the demo answers
imported once), so the answers and the history of one test never reach another.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assessment_stores import DEMO_ANSWERS, LEVEL_KEY, client, open_copy, shared_reader
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.assess.answers import AnswersFileError, parse_answers, resolve
from smartfactory.assess.run import assess
from smartfactory.store import answers as answer_store
from web import app_for


@pytest.fixture
def own_server(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """This test's own store: answers and history it writes stay with it."""
    workspace = open_copy(tmp_path_factory, tmp_path / "store")
    yield workspace
    workspace.close()


@pytest.fixture
def read_server(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The shared store the tests only read."""
    return shared_reader(tmp_path_factory)


def csrf(c: TestClient) -> dict[str, str]:
    """The CSRF header of a signed-in client."""
    return {"X-CSRF-Token": c.csrf}


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
    ("lang", "key", "value", "code", "message"),
    [
        ("en", LEVEL_KEY, "maybe", "answer.not_yes_no", "'maybe' is not allowed; allowed: yes | no"),
        ("zh", LEVEL_KEY, "maybe", "answer.not_yes_no", "不允许 'maybe'；可填：yes（是）| no（否）"),
        (
            "en",
            "G25-ADV-COLLAB",
            0.7,
            "answer.not_on_scale",
            "0.7 is not allowed; allowed: 0 | 0.5 | 0.8 | 1",
        ),
        (
            "zh",
            "key_equipment_networking_rate",
            "1.5",
            "answer.out_of_range",
            "不允许 1.5；可填：0 至 1 的数值（比率，86% 即 0.86），或 unknown",
        ),
        (
            "en",
            "CM-ORG-L1-1",
            "{a: 1}",
            "answer.not_on_scale",
            "'{a: 1}' is not allowed; allowed: 1 (fully met)",
        ),
        (
            "en",
            "factory_digital_planning.ai_used",
            "yes",
            "answer.ai_used_needs_built",
            "a scenario not built uses no AI",
        ),
    ],
)
def test_a_bad_value_is_a_422_with_the_field_in_the_users_language_and_saves_nothing(
    own_server: Workspace, lang: str, key: str, value: object, code: str, message: str
) -> None:
    c = client(own_server, Role.engineer, lang)
    before = answer_store.saved_answers(own_server.registry, "gradient/2025/national")
    response = c.put(f"/api/v1/assessments/answers/{key}", json={"value": value}, headers=csrf(c))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == key
    assert problem["errors"][0]["message"].startswith(message)
    assert problem["errors"][0]["code"] == code
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


# one bad answer, four ways in: the answers file (as `smartfactory assess` reads it), an uploaded
# answers file, the API's one answer and the web form's field all give the same problem code
SAME_PROBLEM = [
    ("G25-ADV-BENCH", "maybe", "answer.not_yes_no", ("G25-ADV-BENCH:\n      answer: yes", "answer: maybe")),
    ("G25-ADV-COLLAB", "0.7", "answer.not_on_scale", ("G25-ADV-COLLAB:\n      answer: 0.8", "answer: 0.7")),
    (
        "key_equipment_networking_rate",
        "1.5",
        "answer.out_of_range",
        ("key_equipment_networking_rate:\n    answer: 0.86", "answer: 1.5"),
    ),
    (
        "key_equipment_networking_rate",
        "lots",
        "answer.not_a_number",
        ("key_equipment_networking_rate:\n    answer: 0.86", "answer: lots"),
    ),
    ("industry", "chemical", "answer.not_a_choice", ("industry: discrete", "industry: chemical")),
    ("CM-ORG-L1-1", "2", "answer.not_on_scale", ("CM-ORG-L1-1: 1 ", "CM-ORG-L1-1: 2 ")),
    (
        "product_design.applicable",
        "no",
        "answer.not_a_choice",
        ("product_design:  # Product design (domain: Design) [U]\n      applicable: yes", "applicable: no"),
    ),
    (
        "factory_digital_planning.ai_used",
        "yes",
        "answer.ai_used_needs_built",
        ("factory_digital_planning:\n      built: no  # yes | no\n      ai_used:", "ai_used: yes"),
    ),
]


def _broken(old: str, new: str) -> str:
    """The demo answers with the line that ``old`` ends on written as ``new`` (same indent)."""
    text = DEMO_ANSWERS.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    last = old.rsplit("\n", 1)[-1]
    pad = last[: len(last) - len(last.lstrip())]
    head = old[: len(old) - len(last)]
    return text.replace(old, head + pad + new + "  #", 1)


@pytest.mark.parametrize(("key", "typed", "code", "edit"), SAME_PROBLEM)
def test_one_bad_answer_gives_one_code_from_the_file_the_upload_the_api_and_the_form(
    own_server: Workspace, key: str, typed: str, code: str, edit: tuple[str, str]
) -> None:
    text = _broken(*edit)
    for lang in ("en", "zh"):
        with pytest.raises(AnswersFileError) as caught:
            parse_answers(text, "answers.yaml", lang=lang)
        assert [getattr(p, "code", None) for p in caught.value.problems] == [code], caught.value
    c = client(own_server, Role.engineer, "zh")
    before = answer_store.saved_answers(own_server.registry, "gradient/2025/national")
    uploaded = c.put("/api/v1/assessments/answers", json={"yaml": text}, headers=csrf(c))
    assert uploaded.status_code == 422, uploaded.text
    assert [e["code"] for e in uploaded.json()["errors"]] == [code]
    one = c.put(f"/api/v1/assessments/answers/{key}", json={"value": typed}, headers=csrf(c))
    assert one.status_code == 422, one.text
    assert [(e["field"], e["code"]) for e in one.json()["errors"]] == [(key, code)]
    field = c.put(
        f"/self-assessment/answers/{key}",
        data={f"answer:{key}": typed},
        headers={**csrf(c), "HX-Request": "true"},
    )
    assert field.status_code == 200 and f'data-code="{code}"' in field.text
    page = c.post(
        "/self-assessment/import",
        data={"csrf_token": c.csrf},
        files={"file": ("mine.yaml", text.encode(), "application/yaml")},
    )
    assert page.status_code == 422 and f'<span data-code="{code}">' in page.text
    assert answer_store.saved_answers(own_server.registry, "gradient/2025/national") == before
