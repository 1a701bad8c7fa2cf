"""The answers file: template → fill → load round trips, and every kind of bad file reported at once.

The tests run on a small hand-made library (``mini_library``): a four-rung ladder of 18 criteria,
a CMMM model of 3 levels and 3 sub-domains, and a catalogue of 5 scenarios in 3 stages, so that
answers files stay short and expected results can be worked out by hand. The evaluation, plan and
CLI tests use the same library.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from answers_helpers import MINI, answers_text, fill, mini_library, write
from smartfactory.assess.answers import (
    AnswersFileError,
    load_answers,
    parse_answers,
    resolve,
    template,
)
from smartfactory.assess.framework import Library, list_frameworks
from smartfactory.model.errors import UserError


def problems_of(exc: pytest.ExceptionInfo[AnswersFileError]) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.location, p.message) for p in exc.value.problems]


# --- round trips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_fill_load_round_trip_on_the_mini_ladder(
    library: Library, tmp_path: Path, lang: str
) -> None:
    text = template(MINI, lang, library=library)
    assert text.startswith("# ")
    assert f"framework: {MINI}" in text and "cmmm: cmmm/2020/mini" in text
    assert ("(edition 2025" if lang == "en" else "(版本 2025") in text.splitlines()[1]
    # every question carries its allowed answers in a comment
    assert "M-BAS-SIZE:\n      answer:  # yes" in text
    assert re.search(r"M-BAS-INFO:\n      answer:  # 0 \| 0.5 \| 0.8 \| 1", text)
    assert "CM-OPS-L2-1:  # 1 " in text
    assert "applicable: yes  # yes | not_applicable" in text
    answers = load_answers(write(tmp_path, fill(text)), MINI, library=library)
    # asked: 2 gates/benchmarks + 2 judgements ... everything the factory answers, nothing else
    assert set(answers.criteria) == {"M-BAS-SIZE", "M-BAS-INFO", "M-ADV-BENCH", "M-LEA-FUTURE"}
    assert answers.criteria["M-BAS-SIZE"].value is True
    assert answers.criteria["M-BAS-INFO"].value == 1.0
    # ai_scenario_share follows from the scenarios: it is not asked
    assert set(answers.metrics) == {"key_equipment_networking_rate", "key_process_automation_rate"}
    assert answers.metrics["key_equipment_networking_rate"].value == 0.9
    assert all(s.built and s.ai_used is False for s in answers.scenarios.values())
    assert len(answers.cmmm) == 9 and {a.value for a in answers.cmmm.values()} == {0.8}
    assert answers.industry == "process" and answers.missing == ()


@pytest.mark.parametrize("framework_id", [f for f in list_frameworks() if f.startswith("gradient/")])
def test_every_shipped_ladder_template_round_trips(framework_id: str, tmp_path: Path) -> None:
    for lang in ("en", "zh"):
        text = template(framework_id, lang)
        answers = load_answers(write(tmp_path, fill(text)), framework_id)
        fw = resolve(framework_id)
        assert answers.framework == framework_id
        assert len(answers.cmmm) == len(fw.cmmm.requirement_ids())
        assert len(answers.scenarios) == len(fw.scenarios.scenarios)


def test_notes_attachments_and_lines_are_kept(library: Library, tmp_path: Path) -> None:
    answers = load_answers(write(tmp_path, answers_text()), MINI, library=library)
    size = answers.criteria["M-BAS-SIZE"]
    assert size.note == "on the provincial list"
    assert size.attachments == ("docs/size.pdf", "https://example.org/list")
    assert size.line == 9 and size.field == "criteria.basic.M-BAS-SIZE.answer"
    assert answers.criteria["M-BAS-INFO"].line == 12
    assert answers.metrics["key_equipment_networking_rate"].note == "gateway inventory"
    assert answers.scenarios["monitoring"].built is True


def test_tailoring_and_percent_and_s_numbers(library: Library, tmp_path: Path) -> None:
    text = answers_text(operations_applicable="not_applicable", net='"75%"')
    text = text.replace("    tracking:\n", "    S4:\n")  # a scenario may be named by its number
    answers = load_answers(write(tmp_path, text), MINI, library=library)
    assert answers.not_applicable == {"operations"}
    assert answers.metrics["key_equipment_networking_rate"].value == pytest.approx(0.75)
    assert answers.scenarios["tracking"].built is True


# --- bad files: one error, every problem, with lines ------------------------------------------------------


def test_a_blank_template_lists_every_missing_answer_with_its_line(library: Library, tmp_path: Path) -> None:
    text = template(MINI, "en", library=library)
    path = write(tmp_path, text)
    with pytest.raises(AnswersFileError) as exc:
        load_answers(path, MINI, library=library)
    problems = exc.value.problems
    # 4 criteria + 2 metrics + 5 scenarios + 9 CMMM requirements, each blank
    assert len(problems) == 20
    assert all(p.line is not None and p.message.startswith("missing answer; allowed: ") for p in problems)
    lines = text.splitlines()
    first = problems[0]
    assert first.line is not None
    assert first.location == "criteria.basic.M-BAS-SIZE" and lines[first.line - 1].strip().startswith(
        "answer:"
    )
    assert str(exc.value).startswith(f"answers file {path} cannot be scored for {MINI} (20 problem(s)):")
    assert f"{path}:{first.line} [criteria.basic.M-BAS-SIZE]: missing answer; allowed: yes | no" in str(
        exc.value
    )


def test_unknown_ids_and_values_outside_the_allowed_set_are_all_reported(
    library: Library, tmp_path: Path
) -> None:
    text = answers_text(size="maybe", info="0.7", net="1.5", cmmm={"CM-OPS-L1-1": "0.9"})
    text = text.replace(
        "  advanced:\n", "  advanced:\n    M-ADV-NOPE: yes\n    M-BAS-INFO: 1\n    M-ADV-NET: 0.9\n"
    )
    text = text.replace("    tracking:\n", "    teleport:\n      built: yes\n    tracking:\n")
    text = text.replace(
        "    monitoring:\n      built: yes\n      ai_used: no\n",
        "    monitoring:\n      built: yes\n      ai_used: perhaps\n",
    )
    text = text.replace("cmmm_requirements:\n", "cmmm_requirements:\n  robots: {}\n")
    text += "colour: blue\n"
    with pytest.raises(AnswersFileError) as exc:
        parse_answers(text, "a.yaml", MINI, library=library)
    got = problems_of(exc)
    lines = text.splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if fragment in line)

    expected = {
        (
            "criteria.basic.M-BAS-SIZE.answer",
            line_of("answer: maybe"),
            "'maybe' is not allowed; allowed: yes | no",
        ),
        (
            "criteria.basic.M-BAS-INFO",
            line_of("M-BAS-INFO: 0.7"),
            "0.7 is not allowed; allowed: 0 | 0.5 | 0.8 | 1",
        ),
        ("criteria.advanced.M-ADV-NOPE", line_of("M-ADV-NOPE"), "unknown criterion id 'M-ADV-NOPE'"),
        (
            "criteria.advanced.M-BAS-INFO",
            line_of("M-BAS-INFO: 1"),
            "M-BAS-INFO is a basic criterion: move it under criteria.basic",
        ),
        (
            "criteria.advanced.M-ADV-NET",
            line_of("M-ADV-NET: 0.9"),
            "M-ADV-NET is a metric_threshold criterion",
        ),
        (
            "metrics.key_equipment_networking_rate.answer",
            line_of("answer: 1.5"),
            "1.5 is not allowed; allowed: a number from 0 to 1",
        ),
        ("scenarios_built.management.teleport", line_of("teleport"), "unknown scenario 'teleport'"),
        (
            "scenarios_built.operations.monitoring.ai_used",
            line_of("ai_used: perhaps"),
            "'perhaps' is not allowed; allowed: yes | no",
        ),
        (
            "cmmm_requirements.robots",
            line_of("robots"),
            "unknown factor 'robots'; allowed: people, manufacturing",
        ),
        (
            "cmmm_requirements.manufacturing.operations.requirements.CM-OPS-L1-1",
            line_of("CM-OPS-L1-1: 0.9"),
            "0.9 is not allowed; allowed: 1 (fully met), 0.8",
        ),
        ("colour", line_of("colour"), "unknown field 'colour'"),
    }
    assert len(got) == len(expected), got
    for location, line, message in expected:
        assert any(loc == location and ln == line and msg.startswith(message) for ln, loc, msg in got), (
            location,
            got,
        )


def test_an_answers_file_for_another_edition_is_refused(library: Library, tmp_path: Path) -> None:
    text = answers_text(framework="gradient/2024/mini")
    with pytest.raises(AnswersFileError) as exc:
        parse_answers(
            text.replace("cmmm: cmmm/2020/mini", "cmmm: cmmm/2020/national"),
            "old.yaml",
            MINI,
            library=library,
        )
    got = problems_of(exc)
    assert got[0][:2] == (2, "framework")
    assert (
        "written for 'gradient/2024/mini', another framework or edition than gradient/2025/mini" in got[0][2]
    )
    assert "smartfactory assess template --framework gradient/2025/mini" in got[0][2]
    assert got[1][:2] == (3, "cmmm") and "cmmm/2020/national" in got[1][2]


def test_bad_yaml_is_one_problem_with_its_line(library: Library, tmp_path: Path) -> None:
    text = answers_text().replace("  key_process_automation_rate: 0.9", "  key_process_automation_rate: [0.9")
    with pytest.raises(AnswersFileError, match="is not valid YAML") as exc:
        parse_answers(text, "bad.yaml", MINI, library=library)
    (problem,) = exc.value.problems
    assert problem.line is not None and problem.line >= 22 and problem.message.startswith("YAML syntax:")
    with pytest.raises(AnswersFileError, match="is not valid YAML") as dup:
        parse_answers(
            answers_text().replace("  advanced:\n", "  advanced:\n    M-ADV-BENCH: no\n"),
            "d.yaml",
            MINI,
            library=library,
        )
    assert dup.value.problems[0].line == 15


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("- just\n- a list\n", "", "the file must be a YAML mapping"),
        ("", "", "the file must be a YAML mapping"),
    ],
)
def test_a_file_that_is_not_a_mapping(library: Library, text: str, location: str, message: str) -> None:
    with pytest.raises(AnswersFileError) as exc:
        parse_answers(text, "x.yaml", MINI, library=library)
    assert exc.value.problems[0].location == location and exc.value.problems[0].message.startswith(message)


def test_tailoring_a_sub_domain_that_always_applies_is_refused(library: Library) -> None:
    text = answers_text().replace(
        "    organisation:\n", "    organisation:\n      applicable: not_applicable\n"
    )
    with pytest.raises(AnswersFileError) as exc:
        parse_answers(text, "t.yaml", MINI, library=library)
    ((line, location, message),) = problems_of(exc)
    assert location == "cmmm_requirements.people.organisation.applicable"
    assert message.startswith("organisation always applies and cannot be tailored out")
    assert line is not None
    assert text.splitlines()[line - 1].strip() == "applicable: not_applicable"


def test_allow_missing_scores_missing_answers_and_says_which(library: Library, tmp_path: Path) -> None:
    text = (
        answers_text()
        .replace("    M-BAS-INFO: 1\n", "")
        .replace("  key_process_automation_rate: 0.9\n", "  key_process_automation_rate:\n")
    )
    with pytest.raises(AnswersFileError) as exc:
        parse_answers(text, "m.yaml", MINI, library=library)
    assert [p.location for p in exc.value.problems] == [
        "criteria.basic.M-BAS-INFO",
        "metrics.key_process_automation_rate",
    ]
    answers = parse_answers(text, "m.yaml", MINI, library=library, allow_missing=True)
    assert answers.missing == ("criteria.basic.M-BAS-INFO", "metrics.key_process_automation_rate")
    assert answers.criteria["M-BAS-INFO"].missing and answers.metrics["key_process_automation_rate"].missing


def test_unknown_framework_and_unreadable_file_are_user_errors(library: Library, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown framework 'gradient/2030/mars'"):
        load_answers(write(tmp_path, answers_text()), "gradient/2030/mars", library=library)
    with pytest.raises(AnswersFileError, match="cannot read answers file"):
        load_answers(tmp_path / "nope.yaml", MINI, library=library)
    with pytest.raises(UserError, match="name exactly one gradient framework"):
        template("cmmm/2020/mini", library=library)


def test_the_mini_library_copies_cleanly(tmp_path: Path) -> None:
    # the helper is used by the other assessment tests: keep it loading without problems
    lib = mini_library(tmp_path / "a")
    assert lib.ids() == ["cmmm/2020/mini", MINI, "scenarios/2024/mini"]
    shutil.rmtree(tmp_path / "a")
