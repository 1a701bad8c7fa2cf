"""The answers file: template → fill → load round trips, and every kind of bad file reported at once.

The tests run on a small hand-made library (``mini_library``): a four-rung ladder of 18 criteria,
a CMMM model of 3 levels and 3 sub-domains, and a catalogue of 5 scenarios in 3 stages, so that
answers files stay short and expected results can be worked out by hand. The evaluation, plan and
CLI tests use the same library.
"""

from __future__ import annotations

import re
import shutil
from importlib import resources
from pathlib import Path

import pytest

from smartfactory.assess.answers import (
    ANSWERS_SCHEMA,
    AnswersFileError,
    load_answers,
    parse_answers,
    resolve,
    template,
)
from smartfactory.assess.framework import Library, list_frameworks
from smartfactory.model.errors import UserError

MINI = "gradient/2025/mini"
SRC = "https://example.org/mini"

MINI_CMMM = f"""
schema = "smartfactory.framework/1"
title = {{ zh = "迷你成熟度模型", en = "Mini maturity model" }}
source = {{ url = "{SRC}", clause = "cmmm" }}
confidence = "U"

[[level]]
no = 1
name = {{ zh = "规划级", en = "Planning" }}
gist = {{ zh = "规划", en = "Plans" }}
source = {{ url = "{SRC}", clause = "L1" }}
confidence = "V"

[[level]]
no = 2
name = {{ zh = "规范级", en = "Standardised" }}
gist = {{ zh = "规范", en = "Standard" }}
source = {{ url = "{SRC}", clause = "L2" }}
confidence = "V"

[[level]]
no = 3
name = {{ zh = "集成级", en = "Integrated" }}
gist = {{ zh = "集成", en = "Integrated" }}
source = {{ url = "{SRC}", clause = "L3" }}
confidence = "V"

[scoring]
source = {{ url = "{SRC}", clause = "scoring" }}
confidence = "U"
industries = ["discrete", "process"]
pass_threshold = 0.8
weights_confidence = "U"
weights_note = {{ zh = "等权", en = "equal weights" }}

[[scoring.value]]
value = 1
name = {{ zh = "全部满足", en = "Fully met" }}

[[scoring.value]]
value = 0.8
name = {{ zh = "大部分满足", en = "Mostly met" }}

[[scoring.value]]
value = 0.5
name = {{ zh = "部分满足", en = "Partly met" }}

[[scoring.value]]
value = 0
name = {{ zh = "不满足", en = "Not met" }}

[[scoring.band]]
grade = 1
min = 0.8
max = 1.8

[[scoring.band]]
grade = 2
min = 1.8
max = 2.8

[[scoring.band]]
grade = 3
min = 2.8
max = 3

[[factor]]
id = "people"
name = {{ zh = "人员", en = "People" }}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "V"

[[factor]]
id = "manufacturing"
name = {{ zh = "制造", en = "Manufacturing" }}
weight = {{ discrete = 1.0, process = 3.0 }}
confidence = "V"

[[domain]]
id = "organisation"
factor = "people"
name = {{ zh = "组织", en = "Organisation" }}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "U"

[[domain]]
id = "production"
factor = "manufacturing"
name = {{ zh = "生产", en = "Production" }}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "U"
""" + "".join(
    f"""
[[subdomain]]
id = "{sid}"
domain = "{domain}"
code = "{code}"
name = {{ zh = "{sid}", en = "{sid}" }}
tailorable = {str(tailorable).lower()}
weight = {{ discrete = 1.0, process = 1.0 }}
confidence = "U"
"""
    + "".join(
        f"""
[[subdomain.requirement]]
id = "CM-{code}-L{n}-1"
level = {n}
text = {{ zh = "{sid} 第 {n} 级要求", en = "{sid} level {n} requirement" }}
confidence = "U"
"""
        for n in (1, 2, 3)
    )
    for sid, domain, code, tailorable in (
        ("organisation", "organisation", "ORG", False),
        ("operations", "production", "OPS", True),
        ("energy", "production", "ENERGY", True),
    )
)

MINI_SCENARIOS = f"""
schema = "smartfactory.framework/1"
title = {{ zh = "迷你场景目录", en = "Mini scenario catalogue" }}
source = {{ url = "{SRC}", clause = "scenarios" }}
confidence = "S"
annotations = {{ zh = "测试", en = "test" }}

[[dimension]]
id = "operations_dim"
no = 1
name = {{ zh = "生产作业", en = "Production operations" }}
source = {{ url = "{SRC}", clause = "dim 1" }}
confidence = "S"

[[dimension]]
id = "management_dim"
no = 2
name = {{ zh = "生产管理", en = "Production management" }}
source = {{ url = "{SRC}", clause = "dim 2" }}
confidence = "S"

[[stage]]
id = "operations"
no = 1
name = {{ zh = "生产作业", en = "Production operations" }}
dimension = "operations_dim"
confidence = "U"

[[stage]]
id = "management"
no = 2
name = {{ zh = "生产管理", en = "Production management" }}
dimension = "management_dim"
confidence = "U"

[[stage]]
id = "energy"
no = 3
name = {{ zh = "能源", en = "Energy" }}
dimension = "management_dim"
confidence = "U"

[[system]]
id = "MES"
name = {{ zh = "制造执行系统", en = "MES" }}

[[signal_kind]]
id = "states"
name = {{ zh = "设备状态", en = "States" }}
qualified = false
""" + "".join(
    f"""
[[scenario]]
no = {no}
id = "{sid}"
stage = "{stage}"
name = {{ zh = "{sid}", en = "{sid}" }}
description = {{ zh = "{sid}", en = "{sid}" }}
ai_capable = {str(ai).lower()}
typical_systems = ["MES"]
data_signals = ["states"]
confidence = "U"
"""
    for no, sid, stage, ai in (
        (1, "monitoring", "operations", False),
        (2, "inspection", "operations", True),
        (3, "maintenance", "operations", True),
        (4, "tracking", "management", False),
        (5, "energy_control", "energy", True),
    )
)


def _criterion(cid: str, level: str, kind: str, confidence: str, extra: str = "") -> str:
    return f"""
[[criterion]]
id = "{cid}"
level = "{level}"
type = "{kind}"
text = {{ zh = "{cid} 条件", en = "{cid} condition" }}
question = {{ zh = "{cid} 是否满足？", en = "Is {cid} met?" }}
source = {{ url = "{SRC}", clause = "{cid}" }}
confidence = "{confidence}"
{extra}"""


_LEVELS = "".join(
    f"""
[[level]]
id = "{lv}"
name = {{ zh = "{zh}", en = "{en}" }}
focus = {{ zh = "重点", en = "focus" }}
assessed_by = {{ zh = "企业", en = "self" }}
source = {{ url = "{SRC}", clause = "{lv}" }}
confidence = "V"
"""
    for lv, zh, en in (
        ("basic", "基础级", "Basic"),
        ("advanced", "先进级", "Advanced"),
        ("excellent", "卓越级", "Excellent"),
        ("leading", "领航级", "Leading"),
    )
)

# The mini ladder. Thresholds are chosen so the expected results can be read off by hand.
MINI_GRADIENT = (
    f"""
schema = "smartfactory.framework/1"
title = {{ zh = "迷你梯度", en = "Mini ladder" }}
source = {{ url = "{SRC}", clause = "ladder" }}
confidence = "S"
scenarios = "scenarios/2024/mini"

[judgement]
scale = [0, 0.5, 0.8, 1]
pass_at = 0.8
source = {{ url = "{SRC}", clause = "judgement" }}
confidence = "U"
"""
    + _LEVELS
    + _criterion("M-BAS-SIZE", "basic", "gate", "S")
    + _criterion(
        "M-BAS-CMMM",
        "basic",
        "prerequisite_level",
        "U",
        'params = { framework = "cmmm/2020/mini", cmmm_min = 1 }',
    )
    + _criterion(
        "M-BAS-NET",
        "basic",
        "metric_threshold",
        "U",
        'params = { metric = "key_equipment_networking_rate", comparator = ">=", value = 0.6, unit = "ratio" }',
    )
    + _criterion(
        "M-BAS-SCEN", "basic", "count_threshold", "U", 'params = { count = "scenarios_in_use", min = 2 }'
    )
    + _criterion("M-BAS-INFO", "basic", "judgement", "V")
    + _criterion("M-ADV-BASIC", "advanced", "prerequisite_level", "V", 'params = { level = "basic" }')
    + _criterion(
        "M-ADV-CMMM",
        "advanced",
        "prerequisite_level",
        "V",
        'params = { framework = "cmmm/2020/mini", cmmm_min = 2 }',
    )
    + _criterion(
        "M-ADV-NET",
        "advanced",
        "metric_threshold",
        "U",
        'params = { metric = "key_equipment_networking_rate", comparator = ">=", value = 0.8, unit = "ratio" }',
    )
    + _criterion(
        "M-ADV-CNC",
        "advanced",
        "metric_threshold",
        "V",
        'params = { metric = "key_process_automation_rate", comparator = ">=", value = 0.8, unit = "ratio" }',
    )
    + _criterion(
        "M-ADV-DIMS", "advanced", "count_threshold", "U", 'params = { count = "dimensions_covered", min = 2 }'
    )
    + _criterion(
        "M-ADV-BENCH",
        "advanced",
        "relative_benchmark",
        "S",
        'params = { benchmark = "provincial_industry_leading" }',
    )
    + _criterion("M-EXC-ADV", "excellent", "prerequisite_level", "V", 'params = { level = "advanced" }')
    + _criterion(
        "M-EXC-AI",
        "excellent",
        "metric_threshold",
        "S",
        'params = { metric = "ai_scenario_share", comparator = ">=", value = 0.2, unit = "ratio" }',
    )
    + _criterion(
        "M-EXC-OPS",
        "excellent",
        "count_threshold",
        "U",
        'params = { count = "scenarios_in_use", min = 3, stage = "operations" }',
    )
    + _criterion(
        "M-EXC-CMMM",
        "excellent",
        "prerequisite_level",
        "V",
        'params = { framework = "cmmm/2020/mini", cmmm_min = 3 }',
    )
    + _criterion("M-LEA-EXC", "leading", "prerequisite_level", "V", 'params = { level = "excellent" }')
    + _criterion(
        "M-LEA-AI",
        "leading",
        "metric_threshold",
        "S",
        'params = { metric = "ai_scenario_share", comparator = ">=", value = 0.6, unit = "ratio" }',
    )
    + _criterion("M-LEA-FUTURE", "leading", "judgement", "V")
)


def mini_library(root: Path) -> Library:
    """The mini frameworks (and the shipped metrics.toml) in ``root``."""
    shipped = resources.files("smartfactory.assess") / "frameworks"
    root.mkdir(parents=True, exist_ok=True)
    (root / "metrics.toml").write_text(
        (shipped / "metrics.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for framework_id, text in (
        ("cmmm/2020/mini", MINI_CMMM),
        ("scenarios/2024/mini", MINI_SCENARIOS),
        (MINI, MINI_GRADIENT),
    ):
        path = root / f"{framework_id}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Library(root)


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return mini_library(tmp_path / "frameworks")


def answers_text(
    *,
    size: str = "yes",
    info: str = "1",
    bench: str = "yes",
    future: str = "0",
    net: str = "0.7",
    cnc: str = "0.9",
    built: dict[str, tuple[str, str]] | None = None,
    cmmm: dict[str, str] | None = None,
    operations_applicable: str = "yes",
    industry: str = "discrete",
    framework: str = MINI,
) -> str:
    """A complete answers file for the mini ladder; arguments change single answers."""
    scenarios = {
        "monitoring": ("yes", "no"),
        "inspection": ("no", ""),
        "maintenance": ("no", ""),
        "tracking": ("yes", "no"),
        "energy_control": ("no", ""),
    } | (built or {})
    stage = {
        "monitoring": "operations",
        "inspection": "operations",
        "maintenance": "operations",
        "tracking": "management",
        "energy_control": "energy",
    }
    scores = {
        f"CM-{code}-L{n}-1": ("1" if n <= 2 else "0") for code in ("ORG", "OPS", "ENERGY") for n in (1, 2, 3)
    }
    scores |= cmmm or {}
    lines = [
        f"schema: {ANSWERS_SCHEMA}",
        f"framework: {framework}",
        "cmmm: cmmm/2020/mini",
        "scenarios: scenarios/2024/mini",
        f"industry: {industry}",
        "criteria:",
        "  basic:",
        "    M-BAS-SIZE:",
        f"      answer: {size}",
        '      note: "on the provincial list"',
        '      attachments: ["docs/size.pdf", "https://example.org/list"]',
        f"    M-BAS-INFO: {info}",
        "  advanced:",
        f"    M-ADV-BENCH: {bench}",
        "  excellent: {}",
        "  leading:",
        f"    M-LEA-FUTURE: {future}",
        "metrics:",
        "  key_equipment_networking_rate:",
        f"    answer: {net}",
        "    note: gateway inventory",
        f"  key_process_automation_rate: {cnc}",
        "scenarios_built:",
    ]
    for group in ("operations", "management", "energy"):
        lines.append(f"  {group}:")
        for sid, (b, ai) in scenarios.items():
            if stage[sid] == group:
                lines += [f"    {sid}:", f"      built: {b}", f"      ai_used: {ai}"]
    lines.append("cmmm_requirements:")
    for factor, subs in (
        ("people", [("organisation", "ORG")]),
        ("manufacturing", [("operations", "OPS"), ("energy", "ENERGY")]),
    ):
        lines.append(f"  {factor}:")
        for sid, code in subs:
            lines.append(f"    {sid}:")
            if sid == "operations":
                lines.append(f"      applicable: {operations_applicable}")
            lines.append("      requirements:")
            lines += [f"        CM-{code}-L{n}-1: {scores[f'CM-{code}-L{n}-1']}" for n in (1, 2, 3)]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(exc: pytest.ExceptionInfo[AnswersFileError]) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.location, p.message) for p in exc.value.problems]


# --- round trips -------------------------------------------------------------------------------------


def fill(text: str) -> str:
    """Answer every blank of a template: yes / 1 / 0.9, scenarios built without AI."""
    text = re.sub(r"^(\s+answer:)  # (yes|0 \|)", r"\1 yes  # \2", text, flags=re.M)
    text = re.sub(r"^(\s+answer:) yes  # 0 \|", r"\1 1  # 0 |", text, flags=re.M)
    text = re.sub(r"^(\s+answer:)  # (a number|\S+ 至)", r"\1 0.9  # \2", text, flags=re.M)
    text = re.sub(r"^(\s+built:)  #", r"\1 yes  #", text, flags=re.M)
    text = re.sub(r"^(\s+ai_used:)  #", r"\1 no  #", text, flags=re.M)
    text = re.sub(r"^(\s+CM-[A-Z]+-L\d-\d+:)  #", r"\1 0.8  #", text, flags=re.M)
    return re.sub(r"^industry:  #", "industry: process  #", text, flags=re.M)


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
