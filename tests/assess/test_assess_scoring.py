"""GB/T 39117 scoring: golden cases worked out by hand, bad inputs, and invariants.

The golden cases use a small CMMM file written below (3 levels, 2 factors, 3 domains,
4 sub-domains, weights that differ between discrete and process) so every number can be followed
on paper; the shipped framework has its own golden cases with equal weights.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartfactory.assess import CmmmFramework, CmmmScore, Library, grade_of, load_cmmm, score_cmmm
from smartfactory.model.errors import UserError

SMALL = """
schema = "smartfactory.framework/1"
title = { zh = "小模型", en = "Small model" }
source = { url = "https://example.org/cmmm", clause = "test" }
confidence = "U"

[[level]]
no = 1
name = { zh = "一级", en = "One" }
gist = { zh = "一", en = "one" }
source = { url = "https://example.org/cmmm", clause = "test" }
confidence = "U"

[[level]]
no = 2
name = { zh = "二级", en = "Two" }
gist = { zh = "二", en = "two" }
source = { url = "https://example.org/cmmm", clause = "test" }
confidence = "U"

[[level]]
no = 3
name = { zh = "三级", en = "Three" }
gist = { zh = "三", en = "three" }
source = { url = "https://example.org/cmmm", clause = "test" }
confidence = "U"

[scoring]
source = { url = "https://example.org/cmmm", clause = "test" }
confidence = "U"
industries = ["discrete", "process"]
pass_threshold = 0.8
weights_confidence = "U"
weights_note = { zh = "测试", en = "test" }
value = [
  { value = 1, name = { zh = "全部满足", en = "Fully met" } },
  { value = 0.8, name = { zh = "大部分满足", en = "Mostly met" } },
  { value = 0.5, name = { zh = "部分满足", en = "Partly met" } },
  { value = 0, name = { zh = "不满足", en = "Not met" } },
]
band = [{ grade = 1, min = 0.8, max = 1.8 }, { grade = 2, min = 1.8, max = 2.8 }, { grade = 3, min = 2.8, max = 3 }]

[[factor]]
id = "people"
name = { zh = "人员", en = "People" }
weight = { discrete = 1, process = 1 }
confidence = "U"

[[factor]]
id = "making"
name = { zh = "制造", en = "Making" }
weight = { discrete = 3, process = 1 }
confidence = "U"

[[domain]]
id = "skills"
factor = "people"
name = { zh = "技能", en = "Skills" }
weight = { discrete = 1, process = 1 }
confidence = "U"

[[domain]]
id = "design"
factor = "making"
name = { zh = "设计", en = "Design" }
weight = { discrete = 1, process = 1 }
confidence = "U"

[[domain]]
id = "production"
factor = "making"
name = { zh = "生产", en = "Production" }
weight = { discrete = 1, process = 3 }
confidence = "U"

[[subdomain]]
id = "skills"
domain = "skills"
code = "SKILL"
name = { zh = "技能", en = "Skills" }
tailorable = false
weight = { discrete = 1, process = 1 }
confidence = "U"
requirement = [
  { id = "CM-SKILL-L1-1", level = 1, text = { zh = "一", en = "one" }, confidence = "U" },
  { id = "CM-SKILL-L2-1", level = 2, text = { zh = "二", en = "two" }, confidence = "U" },
  { id = "CM-SKILL-L3-1", level = 3, text = { zh = "三", en = "three" }, confidence = "U" },
]

[[subdomain]]
id = "product_design"
domain = "design"
code = "PDES"
name = { zh = "产品设计", en = "Product design" }
tailorable = true
weight = { discrete = 1, process = 1 }
confidence = "U"
requirement = [
  { id = "CM-PDES-L1-1", level = 1, text = { zh = "一", en = "one" }, confidence = "U" },
  { id = "CM-PDES-L2-1", level = 2, text = { zh = "二", en = "two" }, confidence = "U" },
  { id = "CM-PDES-L3-1", level = 3, text = { zh = "三", en = "three" }, confidence = "U" },
]

[[subdomain]]
id = "operations"
domain = "production"
code = "OPS"
name = { zh = "生产作业", en = "Operations" }
tailorable = true
weight = { discrete = 1, process = 1 }
confidence = "U"
requirement = [
  { id = "CM-OPS-L1-1", level = 1, text = { zh = "一", en = "one" }, confidence = "U" },
  { id = "CM-OPS-L1-2", level = 1, text = { zh = "一", en = "one" }, confidence = "U" },
  { id = "CM-OPS-L2-1", level = 2, text = { zh = "二", en = "two" }, confidence = "U" },
  { id = "CM-OPS-L3-1", level = 3, text = { zh = "三", en = "three" }, confidence = "U" },
]

# energy has no level-3 requirement: at level 3 it drops out and operations weighs alone
[[subdomain]]
id = "energy"
domain = "production"
code = "EN"
name = { zh = "能源", en = "Energy" }
tailorable = true
weight = { discrete = 1, process = 2 }
confidence = "U"
requirement = [
  { id = "CM-EN-L1-1", level = 1, text = { zh = "一", en = "one" }, confidence = "U" },
  { id = "CM-EN-L2-1", level = 2, text = { zh = "二", en = "two" }, confidence = "U" },
]
"""

ANSWERS = {
    "CM-SKILL-L1-1": 1, "CM-PDES-L1-1": 0.5, "CM-OPS-L1-1": 1, "CM-OPS-L1-2": 0.5, "CM-EN-L1-1": 0.8,
    "CM-SKILL-L2-1": 1, "CM-PDES-L2-1": 0, "CM-OPS-L2-1": 1, "CM-EN-L2-1": 1,
    "CM-SKILL-L3-1": 1, "CM-PDES-L3-1": 1, "CM-OPS-L3-1": 0.5,
}  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> CmmmFramework:
    root: Path = tmp_path_factory.mktemp("frameworks")
    (root / "cmmm" / "2099").mkdir(parents=True)
    (root / "cmmm" / "2099" / "test.toml").write_text(SMALL, encoding="utf-8")
    return Library(root).cmmm("cmmm/2099/test")


# --- golden cases ------------------------------------------------------------------------


def test_process_weights_pass_three_levels_but_s_gives_grade_2(small: CmmmFramework) -> None:
    result = score_cmmm(small, ANSWERS, "process")
    one, two, three = result.levels
    # level 1: sub-domains skills 1, product_design 0.5, operations (1 + 0.5) / 2 = 0.75, energy 0.8
    assert one.subdomains == pytest.approx(
        {"skills": 1, "product_design": 0.5, "operations": 0.75, "energy": 0.8}
    )
    # production (process weights 1 : 2) = (0.75 + 2 × 0.8) / 3 = 0.78333; design = 0.5; skills = 1
    assert one.domains == pytest.approx({"skills": 1, "design": 0.5, "production": 2.35 / 3})
    # making (design 1 : production 3) = (0.5 + 3 × 0.78333) / 4 = 0.7125; people = 1
    assert one.factors == pytest.approx({"people": 1, "making": 0.7125})
    # level (people 1 : making 1) = (1 + 0.7125) / 2 = 0.85625 ≥ 0.8: passes
    assert (one.score, one.passed, one.counted) == (pytest.approx(0.85625), True, pytest.approx(0.85625))
    # level 2: production = 1, design = 0, making = (0 + 3 × 1) / 4 = 0.75, level = (1 + 0.75) / 2 = 0.875
    assert (two.score, two.passed) == (pytest.approx(0.875), True)
    # level 3: energy has no requirement and drops out, production = operations = 0.5;
    # making = (1 + 3 × 0.5) / 4 = 0.625; level = (1 + 0.625) / 2 = 0.8125: passes
    assert three.subdomains == {"skills": 1, "product_design": 1, "operations": 0.5}
    assert (three.score, three.passed) == (pytest.approx(0.8125), True)
    # S = 0.85625 + 0.875 + 0.8125 = 2.54375 < 2.8: grade 2 although three levels passed
    assert result.total == pytest.approx(2.54375)
    assert (result.grade, result.passed_levels) == (2, 3)
    assert result.unscored == ()


def test_discrete_weights_fail_level_1_and_leave_the_factory_not_rated(small: CmmmFramework) -> None:
    result = score_cmmm(small, ANSWERS, "discrete")
    one, two, three = result.levels
    # level 1: production (1 : 1) = (0.75 + 0.8) / 2 = 0.775; making (1 : 1) = (0.5 + 0.775) / 2 = 0.6375;
    # level (people 1 : making 3) = (1 + 3 × 0.6375) / 4 = 0.728125 < 0.8: fails, counted as partial score
    assert one.domains["production"] == pytest.approx(0.775)
    assert (one.score, one.passed, one.counted) == (pytest.approx(0.728125), False, pytest.approx(0.728125))
    # level 2: making = (0 + 1) / 2 = 0.5; level = (1 + 3 × 0.5) / 4 = 0.625; not counted above a failed level
    assert (two.score, two.passed, two.counted) == (pytest.approx(0.625), False, 0)
    # level 3: making = (1 + 0.5) / 2 = 0.75; level = (1 + 3 × 0.75) / 4 = 0.8125 ≥ 0.8, yet level 1 failed
    assert (three.score, three.passed, three.counted) == (pytest.approx(0.8125), False, 0)
    # S = 0.728125 < 0.8: not rated
    assert (result.total, result.grade) == (pytest.approx(0.728125), None)


def test_tailoring_a_subdomain_out_renormalises_its_siblings(small: CmmmFramework) -> None:
    result = score_cmmm(small, ANSWERS, "process", not_applicable={"product_design"})
    one, two, three = result.levels
    # design has no applicable sub-domain and drops out: making = production = 0.78333;
    # level 1 = (1 + 0.78333) / 2 = 0.891667
    assert "design" not in one.domains
    assert one.score == pytest.approx((1 + 2.35 / 3) / 2)
    # level 2: making = production = 1; level = 1
    assert two.score == pytest.approx(1)
    # level 3: making = 0.5; level = (1 + 0.5) / 2 = 0.75 < 0.8: fails, counted as partial score
    assert (three.score, three.passed) == (pytest.approx(0.75), False)
    # S = 0.891667 + 1 + 0.75 = 2.641667: grade 2
    assert result.total == pytest.approx((1 + 2.35 / 3) / 2 + 1 + 0.75)
    assert result.grade == 2
    assert result.not_applicable == ("product_design",)


def test_a_missing_requirement_counts_as_not_met_and_is_listed(small: CmmmFramework) -> None:
    answers = {k: v for k, v in ANSWERS.items() if k != "CM-OPS-L1-2"}
    result = score_cmmm(small, answers, "process")
    # operations at level 1 = (1 + 0) / 2 = 0.5
    assert result.level(1).subdomains["operations"] == 0.5
    assert result.unscored == ("CM-OPS-L1-2",)


def test_the_shipped_framework_fully_met_is_grade_5() -> None:
    cmmm = load_cmmm()
    result = score_cmmm(cmmm, dict.fromkeys(cmmm.requirement_ids(), 1), "discrete")
    assert [level.score for level in result.levels] == [1, 1, 1, 1, 1]
    assert (result.total, result.grade, result.passed_levels) == (5, 5, 5)


def test_the_shipped_framework_mostly_met_everywhere_passes_every_level_at_grade_4() -> None:
    cmmm = load_cmmm()
    result = score_cmmm(cmmm, dict.fromkeys(cmmm.requirement_ids(), 0.8), "process")
    # every level scores 0.8 and passes; S = 5 × 0.8 = 4.0, in the band 3.8 ≤ S < 4.8
    assert all(level.passed for level in result.levels)
    assert (result.total, result.grade) == (pytest.approx(4.0), 4)


def test_the_shipped_framework_counts_the_first_failing_level_partially() -> None:
    cmmm = load_cmmm()
    by_level = {r.id: r.level for s in cmmm.subdomains for r in s.requirements}
    answers = {rid: {1: 1, 2: 1, 3: 0.5, 4: 1, 5: 1}[level] for rid, level in by_level.items()}
    result = score_cmmm(cmmm, answers, "discrete")
    # levels 1 and 2 pass at 1; level 3 fails at 0.5 and adds 0.5; levels 4 and 5 do not count
    assert [level.passed for level in result.levels] == [True, True, False, False, False]
    assert [level.counted for level in result.levels] == [1, 1, 0.5, 0, 0]
    assert (result.total, result.grade) == (2.5, 2)


def test_the_shipped_framework_with_nothing_met_is_not_rated() -> None:
    result = score_cmmm(load_cmmm(), {}, "discrete")
    assert (result.total, result.grade, result.passed_levels) == (0, None, 0)
    assert len(result.unscored) == len(load_cmmm().requirement_ids())


def test_grades_follow_the_bands() -> None:
    cmmm = load_cmmm()
    cases = [
        (0, None),
        (0.79, None),
        (0.8, 1),
        (1.79, 1),
        (1.8, 2),
        (2.8, 3),
        (3.8, 4),
        (4.79, 4),
        (4.8, 5),
        (5, 5),
    ]
    assert [grade_of(cmmm, s) for s, _ in cases] == [g for _, g in cases]


def test_the_constants_come_from_the_file(tmp_path: Path) -> None:
    text = SMALL.replace("pass_threshold = 0.8", "pass_threshold = 0.5").replace(
        "band = [{ grade = 1, min = 0.8,", "band = [{ grade = 1, min = 0.5,"
    )
    (tmp_path / "cmmm" / "2099").mkdir(parents=True)
    (tmp_path / "cmmm" / "2099" / "test.toml").write_text(text, encoding="utf-8")
    framework = Library(tmp_path).cmmm("cmmm/2099/test")
    result = score_cmmm(framework, ANSWERS, "discrete")
    # level 1 at 0.728125 now passes the file's threshold 0.5; S = 0.728125 + 0.625 + 0.8125 = 2.165625
    assert [level.passed for level in result.levels] == [True, True, True]
    assert (result.total, result.grade) == (pytest.approx(2.165625), 2)
    assert grade_of(framework, 0.6) == 1


# --- bad inputs --------------------------------------------------------------------------


def test_a_score_outside_the_allowed_values_names_them(small: CmmmFramework) -> None:
    with pytest.raises(UserError) as info:
        score_cmmm(small, {"CM-SKILL-L1-1": 0.7, "CM-PDES-L1-1": True}, "discrete")
    problems = {p.location: p.message for p in info.value.problems}
    allowed = "allowed: 1 (fully met), 0.8 (mostly met), 0.5 (partly met), 0 (not met)"
    assert problems == {
        "CM-SKILL-L1-1": f"score 0.7 is not allowed; {allowed}",
        "CM-PDES-L1-1": f"score True is not allowed; {allowed}",
    }


def test_an_unknown_requirement_is_refused(small: CmmmFramework) -> None:
    with pytest.raises(UserError) as info:
        score_cmmm(small, {"CM-SKILL-L9-1": 1}, "discrete")
    assert str(info.value.problems[0]) == (
        "requirement scores [CM-SKILL-L9-1]: not a requirement of cmmm/2099/test (ids look like CM-SKILL-L1-1)"
    )


def test_an_always_applicable_subdomain_cannot_be_tailored_out(small: CmmmFramework) -> None:
    with pytest.raises(UserError, match="skills always apply and cannot be tailored out; sub-domains that may be: "
                       "product_design, operations, energy"):  # fmt: skip
        score_cmmm(small, ANSWERS, "discrete", not_applicable={"skills"})
    with pytest.raises(UserError, match=r"unknown sub-domain\(s\) quality in cmmm/2099/test"):
        score_cmmm(small, ANSWERS, "discrete", not_applicable={"quality"})


def test_an_unknown_industry_type_names_the_known_ones(small: CmmmFramework) -> None:
    with pytest.raises(
        UserError, match="unknown industry type 'batch'; cmmm/2099/test has weights for: discrete"
    ):
        score_cmmm(small, ANSWERS, "batch")  # type: ignore[arg-type]


# --- invariants --------------------------------------------------------------------------


@cache
def _shipped() -> CmmmFramework:
    return load_cmmm()


VALUES = [0, 0.5, 0.8, 1]


@st.composite
def assessments(draw: st.DrawFn) -> tuple[dict[str, float], str, frozenset[str]]:
    cmmm = _shipped()
    ids = cmmm.requirement_ids()
    # answers lean high so that levels pass often enough for the invariants to bite
    scores = draw(
        st.lists(st.sampled_from([0, 0.5, 0.8, 0.8, 1, 1, 1]), min_size=len(ids), max_size=len(ids))
    )
    answered = draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
    industry = draw(st.sampled_from(["discrete", "process"]))
    tailorable = [s.id for s in cmmm.subdomains if s.tailorable]
    out = frozenset(draw(st.lists(st.sampled_from(tailorable), max_size=4)))
    return {i: v for i, v, a in zip(ids, scores, answered, strict=True) if a or v}, industry, out


def _rank(grade: int | None) -> int:
    return 0 if grade is None else grade


def _no_lower(before: CmmmScore, after: CmmmScore) -> None:
    for b, a in zip(before.levels, after.levels, strict=True):
        assert a.score >= b.score and a.passed >= b.passed
        for kind in ("subdomains", "domains", "factors"):
            old, new = getattr(b, kind), getattr(a, kind)
            assert old.keys() == new.keys()
            assert all(new[k] >= old[k] for k in old), kind
    assert after.total >= before.total
    assert _rank(after.grade) >= _rank(before.grade)


@settings(max_examples=50, deadline=None)
@given(assessments(), st.data())
def test_raising_one_requirement_never_lowers_a_score_level_or_grade(
    case: tuple[dict[str, float], str, frozenset[str]], data: st.DataObject
) -> None:
    answers, industry, out = case
    cmmm = _shipped()
    requirement = data.draw(st.sampled_from(cmmm.requirement_ids()))
    current = answers.get(requirement, 0)
    higher = data.draw(st.sampled_from([v for v in VALUES if v > current] or [current]))
    before = score_cmmm(cmmm, answers, industry, out)  # type: ignore[arg-type]
    after = score_cmmm(cmmm, {**answers, requirement: higher}, industry, out)  # type: ignore[arg-type]
    _no_lower(before, after)


@settings(max_examples=50, deadline=None)
@given(assessments())
def test_no_level_passes_without_the_level_below(case: tuple[dict[str, float], str, frozenset[str]]) -> None:
    answers, industry, out = case
    cmmm = _shipped()
    result = score_cmmm(cmmm, answers, industry, out)  # type: ignore[arg-type]
    passed = [level.passed for level in result.levels]
    assert passed == sorted(passed, reverse=True)
    for level in result.levels:
        assert not level.passed or level.score >= cmmm.scoring.pass_threshold - 1e-9
    assert result.total == pytest.approx(sum(level.counted for level in result.levels))
    assert 0 <= result.total <= len(result.levels)
    # with the shipped bands S < passed + 0.8 while a level fails, so the grade never exceeds the levels passed
    assert _rank(result.grade) <= result.passed_levels


@settings(max_examples=50, deadline=None)
@given(assessments(), st.data())
def test_tailoring_a_subdomain_out_leaves_other_domains_alone(
    case: tuple[dict[str, float], str, frozenset[str]], data: st.DataObject
) -> None:
    answers, industry, out = case
    cmmm = _shipped()
    subdomain = cmmm.subdomain(data.draw(st.sampled_from([s.id for s in cmmm.subdomains if s.tailorable])))
    before = score_cmmm(cmmm, answers, industry, out - {subdomain.id})  # type: ignore[arg-type]
    after = score_cmmm(cmmm, answers, industry, out | {subdomain.id})  # type: ignore[arg-type]
    for b, a in zip(before.levels, after.levels, strict=True):
        assert subdomain.id not in a.subdomains
        for s in cmmm.subdomains:
            if s.domain != subdomain.domain and s.id in b.subdomains:
                assert a.subdomains[s.id] == b.subdomains[s.id]
        for domain, score in b.domains.items():
            if domain != subdomain.domain:
                assert a.domains[domain] == score


@settings(max_examples=50, deadline=None)
@given(st.floats(0, 5), st.floats(0, 5))
def test_the_grade_is_monotone_in_s(s: float, t: float) -> None:
    low, high = sorted((s, t))
    assert _rank(grade_of(_shipped(), low)) <= _rank(grade_of(_shipped(), high))
