"""Saved answers and the assessment history in the registry, and the answers' round trip.

The answers rebuilt from the registry rows assess exactly as the answers file they came from.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smartfactory.app import answers as answer_service
from smartfactory.app.assessment import replan
from smartfactory.app.i18n import use_language
from smartfactory.assess.answers import AnswersFileError, parse_answers
from smartfactory.assess.result import to_json
from smartfactory.assess.run import assess
from smartfactory.store import Registry
from smartfactory.store import answers as store

ROOT = Path(__file__).resolve().parents[2]
DEMO_ANSWERS = ROOT / "examples" / "factories" / "b_discrete_midsize" / "answers.yaml"
DEMO_PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"
FRAMEWORK = "gradient/2025/national"


@pytest.fixture
def registry(tmp_path: Path) -> Any:
    """An empty registry of its own."""
    opened = Registry.open(tmp_path / "registry.sqlite")
    yield opened
    opened.close()


def _comparable(value: Any, source: str) -> Any:
    """An assessment's JSON without what names where an answer was read (file, line, field form)."""
    if isinstance(value, dict):
        return {
            k: _comparable(v, source)
            for k, v in value.items()
            if k not in ("generated_at", "line", "file", "answers", "requirement_lines")
        }
    if isinstance(value, list):
        return [_comparable(v, source) for v in value]
    if isinstance(value, str):
        # "answers.yaml:37 criteria.basic.X.answer" and "saved answers criteria.basic.X" name one answer
        value = re.sub(rf"{re.escape(source)}(:\d+)?", "ANSWERS", value)
        return re.sub(r"\.answer\b", "", value)
    return value


def test_imported_answers_assess_exactly_as_the_file(registry: Registry) -> None:
    text = DEMO_ANSWERS.read_text(encoding="utf-8")
    result = answer_service.import_answers(registry, text, "admin", source=str(DEMO_ANSWERS))
    assert result.framework == FRAMEWORK and result.missing == [] and result.saved > 180
    saved = answer_service.saved(registry)
    q = answer_service.questions(FRAMEWORK)
    from_file = parse_answers(text, str(DEMO_ANSWERS), q.fw)
    for lang in ("en", "zh"):
        for budget in (None, 2_000_000):
            expected = assess(FRAMEWORK, from_file, str(DEMO_PLANT), budget_cny=budget, lang=lang)
            rebuilt = assess(FRAMEWORK, saved.answers, str(DEMO_PLANT), budget_cny=budget, lang=lang)
            assert rebuilt.level == expected.level == "advanced"
            assert _comparable(to_json(rebuilt), answer_service.SAVED_SOURCE) == _comparable(
                to_json(expected), str(DEMO_ANSWERS)
            )
    # notes and attachments travel too
    row = saved.rows["G25-BAS-SIZE"]
    assert (row.value, row.attachments, row.updated_by) == ("yes", ("certs/above-size-2024.pdf",), "admin")
    assert saved.answers.criteria["G25-BAS-SIZE"].note == from_file.criteria["G25-BAS-SIZE"].note
    # and the rebuilt file is itself an answers file the command line reads
    assert parse_answers(saved.text, "again", q.fw) == parse_answers(
        answer_service.export_text(registry), "again", q.fw
    )


def test_a_bad_answers_file_lists_its_problems_with_lines_and_keeps_the_saved_answers(
    registry: Registry,
) -> None:
    answer_service.import_answers(registry, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
    before = store.saved_answers(registry, FRAMEWORK)
    bad = DEMO_ANSWERS.read_text(encoding="utf-8").replace("CM-ORG-L1-1: 1 ", "CM-ORG-L1-1: 2 ")
    bad = bad.replace("industry: discrete", "industry: chemical")
    with pytest.raises(AnswersFileError) as caught:
        answer_service.import_answers(registry, bad, "engineer")
    where = {p.location: p.line for p in caught.value.problems}
    assert set(where) == {
        "industry",
        "cmmm_requirements.people.organisation_strategy.requirements.CM-ORG-L1-1",
    }
    assert all(line is not None and line > 20 for line in where.values())
    assert [w for w, _m, _c in answer_service.problems_by_line(caught.value)] == [
        p.location for p in caught.value.problems
    ]
    assert [c for _w, _m, c in answer_service.problems_by_line(caught.value)] == [
        "answer.not_a_choice",
        "answer.not_on_scale",
    ]
    with pytest.raises(AnswersFileError):
        answer_service.import_answers(registry, "criteria: [", "engineer")
    with pytest.raises(AnswersFileError):
        answer_service.import_answers(registry, "x" * (answer_service.MAX_ANSWERS_FILE + 1), "engineer")
    assert store.saved_answers(registry, FRAMEWORK) == before


def test_blank_answers_are_allowed_and_score_zero(registry: Registry) -> None:
    text = DEMO_ANSWERS.read_text(encoding="utf-8").replace(
        "G25-EXC-LEGAL:\n      answer: yes", "G25-EXC-LEGAL:\n      answer:"
    )
    result = answer_service.import_answers(registry, text, "admin")
    assert result.missing == ["criteria.excellent.G25-EXC-LEGAL"]
    saved = answer_service.saved(registry)
    assert saved.answers.allow_missing and saved.answers.missing == ("criteria.excellent.G25-EXC-LEGAL",)
    # the blank answer keeps its note
    assert saved.rows["G25-EXC-LEGAL"].value is None and saved.rows["G25-EXC-LEGAL"].note


@pytest.mark.parametrize(
    ("key", "typed", "saved"),
    [
        ("G25-ADV-BENCH", "no", "no"),
        ("G25-ADV-BENCH", "TRUE", "yes"),
        ("G25-ADV-BENCH", False, "no"),
        ("G25-ADV-COLLAB", "1.0", "1"),
        ("G25-ADV-COLLAB", 0.5, "0.5"),
        ("key_equipment_networking_rate", "92%", "0.92"),
        ("key_equipment_networking_rate", " unknown ", "unknown"),
        ("key_equipment_networking_rate", 0.123456789, "0.123456789"),
        ("CM-ORG-L5-1", "0.8", "0.8"),
        ("product_design.applicable", "not_applicable", "not_applicable"),
        ("industry", "process", "process"),
        ("equipment_fault_prediction.built", "yes", "yes"),
        ("online_intelligent_inspection.ai_used", "no", "no"),
        ("G25-ADV-BENCH", "  ", None),
        ("G25-ADV-BENCH", None, None),
    ],
)
def test_a_typed_answer_is_saved_in_its_checked_form(
    registry: Registry, key: str, typed: str | float | bool | None, saved: str | None
) -> None:
    answer_service.import_answers(registry, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
    out = answer_service.save_answer(registry, key, typed, "engineer")
    assert out.value == saved
    row = store.saved_answers(registry, FRAMEWORK).get(key)
    assert (row.value if row else None) == saved
    # what is saved is still a file the assessment reads
    assert answer_service.saved(registry).answers is not None


@pytest.mark.parametrize(
    ("key", "typed", "code", "en", "zh"),
    [
        (
            "G25-ADV-BENCH",
            "maybe",
            "answer.not_yes_no",
            "'maybe' is not allowed; allowed: yes | no",
            "不允许 'maybe'；可填：yes（是）| no（否）",
        ),
        (
            "G25-ADV-COLLAB",
            "0.7",
            "answer.not_on_scale",
            "0.7 is not allowed; allowed: 0 | 0.5 | 0.8 | 1",
            "不允许 0.7；可填：0 | 0.5 | 0.8 | 1",
        ),
        (
            "CM-ORG-L1-1",
            "[1]",
            "answer.not_on_scale",
            "'[1]' is not allowed; allowed: 1 (fully met), 0.8 (",
            "不允许 '[1]'；可填：1 ",
        ),
        (
            "industry",
            "chemical",
            "answer.not_a_choice",
            "'chemical' is not allowed; allowed: discrete | process",
            "不允许 'chemical'；可填：discrete（离散型）| process（流程型）",
        ),
        (
            "product_design.applicable",
            "no",
            "answer.not_a_choice",
            "'no' is not allowed; allowed: yes | not_applicable",
            "不允许 'no'；可填：yes（适用）| not_applicable（不适用）",
        ),
        (
            "key_equipment_networking_rate",
            "-0.1",
            "answer.out_of_range",
            "-0.1 is not allowed; allowed: a number from 0 to 1 (a ratio; 86% is 0.86), or unknown",
            "不允许 -0.1；可填：0 至 1 的数值（比率，86% 即 0.86），或 unknown",
        ),
        (
            "key_equipment_networking_rate",
            "1e999",
            "answer.not_a_number",
            "inf is not allowed; allowed: a number from 0 to 1",
            "不允许 inf；可填：0 至 1 的数值",
        ),
        (
            "G25-ADV-BENCH",
            "yes\nschema: 2",
            "answer.not_yes_no",
            "'yes\\nschema: 2' is not allowed; allowed: yes | no",
            "不允许 'yes\\nschema: 2'；可填：yes（是）| no（否）",
        ),
        (
            "G25-ADV-BENCH",
            "x" * 201,
            "answer.too_long",
            "the answer is too long; allowed: at most 200 characters",
            "答案过长；最多 200 个字符",
        ),
        # a scenario answered as using AI cannot be made "not built", and a scenario not built
        # cannot be answered as using AI: one problem, whichever answer is typed
        (
            "online_intelligent_inspection.built",
            "no",
            "answer.ai_used_needs_built",
            "a scenario not built uses no AI",
            "未建成的场景不会应用人工智能",
        ),
        (
            "factory_digital_planning.ai_used",
            "yes",
            "answer.ai_used_needs_built",
            "a scenario not built uses no AI",
            "未建成的场景不会应用人工智能",
        ),
    ],
)
def test_a_refused_answer_says_why_in_both_languages_and_saves_nothing(
    registry: Registry, key: str, typed: str, code: str, en: str, zh: str
) -> None:
    answer_service.import_answers(registry, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
    before = store.saved_answers(registry, FRAMEWORK)
    for lang, message in (("en", en), ("zh", zh)):
        with use_language(lang), pytest.raises(answer_service.AnswerRejected) as caught:  # type: ignore[arg-type]
            answer_service.save_answer(registry, key, typed, "engineer")
        assert caught.value.key == key
        assert caught.value.code == code
        assert caught.value.message.startswith(message), caught.value.message
        assert [p.location for p in caught.value.problems] == [key]
    assert store.saved_answers(registry, FRAMEWORK) == before
    with pytest.raises(answer_service.UnknownQuestion) as unknown:
        answer_service.save_answer(registry, "G25-NO-SUCH", "yes", "engineer")
    assert unknown.value.summary == "no question G25-NO-SUCH in gradient/2025/national"


def test_saving_keeps_or_clears_the_note_and_an_empty_answer_leaves_no_row(registry: Registry) -> None:
    first = store.save_answer(
        registry, FRAMEWORK, "G25-BAS-SIZE", "yes", "a", note="n", attachments=["f.pdf"]
    )
    assert first is not None and (first.note, first.attachments) == ("n", ("f.pdf",))
    kept = store.save_answer(registry, FRAMEWORK, "G25-BAS-SIZE", "no", "b")
    assert kept is not None and (kept.value, kept.note, kept.attachments, kept.updated_by) == (
        "no",
        "n",
        ("f.pdf",),
        "b",
    )
    blank = store.save_answer(registry, FRAMEWORK, "G25-BAS-SIZE", None, "b")
    assert blank is not None and blank.value is None and blank.note == "n"
    assert store.save_answer(registry, FRAMEWORK, "G25-BAS-SIZE", None, "b", note="", attachments=[]) is None
    assert store.saved_answers(registry, FRAMEWORK) == {}
    # answers are kept per framework
    store.save_answer(registry, "gradient/2024/national", "X", "yes", "a")
    assert store.saved_answers(registry, FRAMEWORK) == {}
    with pytest.raises(ValueError, match="twice"):
        store.replace_answers(
            registry, FRAMEWORK, [store.AnswerInput("a", "1"), store.AnswerInput("a", "2")], "a"
        )


def test_the_history_lists_newest_first_and_keeps_each_report(registry: Registry) -> None:
    start = datetime(2026, 3, 5, 8, tzinfo=UTC)
    for i, level in enumerate(["basic", "advanced", None]):
        store.record_assessment(
            registry,
            FRAMEWORK,
            level=level,
            cmmm_grade=2 if level else None,
            cmmm_total=2.4 - i,
            lang="zh",
            username="engineer",
            result={"n": i},
            at=start + timedelta(hours=i),
        )
    items, total = store.list_assessments(registry)
    assert total == 3 and [i.level for i in items] == [None, "advanced", "basic"]
    page, _total = store.list_assessments(registry, limit=1, offset=1)
    assert [i.level for i in page] == ["advanced"]
    found = store.get_assessment(registry, items[-1].id)
    assert found is not None and found.result == {"n": 0} and found.submitted_at == start
    assert store.get_assessment(registry, 999) is None
    assert store.list_assessments(registry, framework="gradient/2024/national") == ([], 0)


def test_replanning_a_kept_assessment_plans_as_assess_with_the_budget() -> None:
    q = answer_service.questions(FRAMEWORK)
    answers = parse_answers(DEMO_ANSWERS.read_text(encoding="utf-8"), "a.yaml", q.fw)
    base = assess(FRAMEWORK, answers, str(DEMO_PLANT), lang="zh")
    for budget in (0, 300_000, 2_500_000, None):
        expected = assess(FRAMEWORK, answers, str(DEMO_PLANT), budget_cny=budget, lang="zh")
        assert replan(base, budget, q.fw).roadmap == expected.roadmap


def test_the_exported_answers_are_the_template_filled_in_and_import_back_unchanged(
    registry: Registry,
) -> None:
    answer_service.import_answers(registry, DEMO_ANSWERS.read_text(encoding="utf-8"), "admin")
    answer_service.save_answer(registry, "G25-BAS-SIZE", "yes", "engineer", note='a "quoted"\nnote')
    rows = store.saved_answers(registry, FRAMEWORK)
    exported = answer_service.export_text(registry)
    # one writer: the template with the answers written in, comments and all
    assert exported.startswith("# smartfactory self-assessment — gradient/2025/national")
    assert "      answer: yes  # yes | no" in exported
    answer_service.import_answers(registry, exported, "admin")
    again = store.saved_answers(registry, FRAMEWORK)
    assert {k: (r.value, r.note, r.attachments) for k, r in again.items()} == {
        k: (r.value, r.note, r.attachments) for k, r in rows.items()
    }
