"""The questionnaire: each question checks its own value; problems are codes, said in zh and en.

The table below is every kind of question the frameworks define, each with values it refuses
and the code it refuses them with. The same value written into an answers file gives the same
code at the answer's line (the API and web tests send it through the upload, the API and the
form: ``tests/api/test_api_assessments.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from answers_helpers import MINI, answers_text
from smartfactory.assess.answers import AnswersFileError, parse_answers, resolve
from smartfactory.assess.framework import Library
from smartfactory.assess.questionnaire import (
    NOT_APPLICABLE,
    UNKNOWN,
    AnswerProblem,
    problem_text,
    problem_texts,
    questions,
    scalar,
    shown,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
SRC = Path(__file__).resolve().parents[2] / "src" / "smartfactory"

# key, kind, the refused value as read from YAML, the code, the answers file with it
BAD: list[tuple[str, str, Any, str, dict[str, Any]]] = [
    ("M-BAS-SIZE", "yes_no", "maybe", "answer.not_yes_no", {"size": "maybe"}),
    ("M-BAS-SIZE", "yes_no", 1, "answer.not_yes_no", {"size": "1"}),
    ("M-ADV-BENCH", "benchmark", "perhaps", "answer.not_yes_no", {"bench": "perhaps"}),
    ("M-BAS-INFO", "judgement", 0.7, "answer.not_on_scale", {"info": "0.7"}),
    # a quoted number is text, not a number on the scale
    ("M-BAS-INFO", "judgement", "1", "answer.not_on_scale", {"info": '"1"'}),
    ("M-LEA-FUTURE", "judgement", True, "answer.not_on_scale", {"future": "true"}),
    ("key_equipment_networking_rate", "metric", 1.5, "answer.out_of_range", {"net": "1.5"}),
    ("key_equipment_networking_rate", "metric", "150%", "answer.out_of_range", {"net": "150%"}),
    ("key_equipment_networking_rate", "metric", "lots", "answer.not_a_number", {"net": "lots"}),
    ("key_process_automation_rate", "metric", -0.2, "answer.out_of_range", {"cnc": "-0.2"}),
    (
        "monitoring.built",
        "built",
        "perhaps",
        "answer.not_yes_no",
        {"built": {"monitoring": ("perhaps", "no")}},
    ),
    ("monitoring.ai_used", "ai_used", 2, "answer.not_yes_no", {"built": {"monitoring": ("yes", "2")}}),
    ("operations.applicable", "applicable", "no", "answer.not_a_choice", {"operations_applicable": "no"}),
    ("CM-OPS-L1-1", "score", 0.9, "answer.not_on_scale", {"cmmm": {"CM-OPS-L1-1": "0.9"}}),
    ("CM-ORG-L2-1", "score", "full", "answer.not_on_scale", {"cmmm": {"CM-ORG-L2-1": "full"}}),
    ("industry", "industry", "chemical", "answer.not_a_choice", {"industry": "chemical"}),
]


@pytest.mark.parametrize(("key", "kind", "raw", "code", "_file"), BAD)
def test_each_question_refuses_a_bad_value_with_a_code_said_in_zh_and_en(
    library: Library, key: str, kind: str, raw: Any, code: str, _file: dict[str, Any]
) -> None:
    question = questions(resolve(MINI, library))[key]
    assert question.kind == kind
    value, finding = question.check(raw)
    assert value is None and finding is not None and finding.code == code
    en, zh = finding.text("en"), finding.text("zh")
    assert not CJK.search(en) and CJK.search(zh), (en, zh)
    # the value is quoted as written, and what is allowed is said in the reader's language
    assert shown(raw) in en and shown(raw) in zh
    assert en.endswith(question.allowed.en) and zh.endswith(question.allowed.zh)
    assert finding.text("zh-CN") == finding.text("zh_Hans") == zh


@pytest.mark.parametrize(("key", "kind", "raw", "code", "file"), BAD)
def test_the_answers_file_refuses_the_same_value_with_the_same_code(
    library: Library, key: str, kind: str, raw: Any, code: str, file: dict[str, Any]
) -> None:
    text = answers_text(**file)
    for lang in ("en", "zh"):
        with pytest.raises(AnswersFileError) as caught:
            parse_answers(text, "a.yaml", MINI, library=library, lang=lang)
        (problem,) = caught.value.problems
        assert isinstance(problem, AnswerProblem) and problem.code == code
        assert problem.line is not None and problem.location.split(".")[-1] in (key.split(".")[-1], "answer")
        # said again in the other language: the words of the code, never matched as text
        other = "zh" if lang == "en" else "en"
        assert problem.in_language(other).message == problem_text(code, problem.params, other)


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("M-BAS-SIZE", "Yes", True),
        ("M-BAS-SIZE", False, False),
        ("M-BAS-INFO", 0.8, 0.8),
        ("M-BAS-INFO", 1, 1.0),
        ("key_equipment_networking_rate", "75%", 0.75),
        ("key_equipment_networking_rate", "unknown", UNKNOWN),
        ("key_equipment_networking_rate", 0, 0.0),
        ("operations.applicable", NOT_APPLICABLE, NOT_APPLICABLE),
        ("operations.applicable", "true", "yes"),
        ("organisation.applicable", "yes", "yes"),
        ("CM-OPS-L1-1", 0.5, 0.5),
        ("industry", "process", "process"),
        ("M-BAS-SIZE", None, None),
    ],
)
def test_each_question_reads_an_allowed_value_in_its_checked_form(
    library: Library, key: str, raw: Any, value: Any
) -> None:
    assert questions(resolve(MINI, library))[key].check(raw) == (value, None)


def test_tailoring_out_a_sub_domain_that_always_applies_names_the_ones_that_may_be(library: Library) -> None:
    question = questions(resolve(MINI, library))["organisation.applicable"]
    _value, finding = question.check(NOT_APPLICABLE)
    assert finding is not None and finding.code == "answer.always_applies"
    assert "operations, energy" in finding.text("en") and CJK.search(finding.text("zh"))


@pytest.mark.parametrize(
    "text",
    ["0.8", "1", "-0.1", ".5", "1e999", "yes", "true", "True", "no", "86%", "~", "unknown", "[1]", "{a: 1}"],
)
def test_typed_text_reads_as_the_answers_file_reads_it(text: str) -> None:
    from ruamel.yaml import YAML

    in_file = YAML(typ="rt", pure=True).load(f"answer: {text}\n")["answer"]
    typed = scalar(text)
    if isinstance(in_file, str | bool | int | float) or in_file is None:
        assert (typed, _kind(typed)) == (in_file, _kind(in_file))
    else:
        # a list or mapping typed into one field is just text: refused by every question
        assert typed == text


def _kind(value: object) -> str:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind.__name__
    return "none"


def test_every_code_has_words_in_both_languages_and_every_code_used_has_words() -> None:
    texts = problem_texts()
    assert all(t.en and t.zh and CJK.search(t.zh) for t in texts.values())
    used: set[str] = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r'"(answers?(?:_file)?\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    used = {c for c in used if c.split(".")[0] in ("answer", "answers_file")}
    assert used and used <= set(texts), sorted(used - set(texts))
