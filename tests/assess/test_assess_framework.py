"""The framework files: every shipped one loads, says what it should, and bad files fail clearly.

Bad-file tests copy the shipped frameworks into tmp_path, make one precise mistake in one file,
and load the copy through a ``Library`` on that folder. Expected lines are found by searching the
mutated text, never hard-coded, so editing the data does not break these tests.
"""

from __future__ import annotations

import itertools
import shutil
from importlib import resources
from pathlib import Path

import pytest

from smartfactory.assess import (
    CmmmFramework,
    FrameworkFileError,
    GradientFramework,
    Library,
    ScenarioCatalogue,
    list_frameworks,
    load_cmmm,
    load_framework,
    load_gradient,
    load_metrics,
    load_scenarios,
)
from smartfactory.assess.schema import (
    GRADIENT_LEVELS,
    CountThresholdCriterion,
    GateCriterion,
    MetricThresholdCriterion,
    PrerequisiteCriterion,
    RelativeBenchmarkCriterion,
)
from smartfactory.model.errors import Problem, UserError

SHIPPED = ["cmmm/2020/national", "gradient/2024/national", "gradient/2025/jiangsu", "gradient/2025/national",
           "scenarios/2024/national"]  # fmt: skip
GRADIENTS = [i for i in SHIPPED if i.startswith("gradient/")]


# --- the shipped frameworks --------------------------------------------------------------


def test_the_shipped_frameworks_are_found_as_package_resources() -> None:
    assert list_frameworks() == SHIPPED
    root = resources.files("smartfactory.assess") / "frameworks"
    for framework_id in SHIPPED:
        assert (root / f"{framework_id}.toml").is_file()


@pytest.mark.parametrize("framework_id", SHIPPED)
def test_every_shipped_framework_loads(framework_id: str) -> None:
    framework = load_framework(framework_id)
    assert framework.id == framework_id
    assert framework.kind == framework_id.split("/")[0]
    assert framework.title.zh and framework.title.en
    assert framework.source.url.startswith("http")


def test_an_unknown_framework_names_the_known_ones() -> None:
    with pytest.raises(
        UserError, match="unknown framework 'gradient/2023/national'; known: cmmm/2020/national"
    ):
        load_framework("gradient/2023/national")


def test_a_typed_loader_refuses_another_kind() -> None:
    with pytest.raises(UserError, match="gradient/2025/national is a gradient framework, not a cmmm one"):
        load_cmmm("gradient/2025/national")


@pytest.mark.parametrize("framework_id", GRADIENTS)
def test_every_level_has_criteria_and_every_level_above_basic_needs_the_one_below(framework_id: str) -> None:
    ladder = load_gradient(framework_id)
    assert tuple(level.id for level in ladder.levels) == GRADIENT_LEVELS
    for below, level in itertools.pairwise(GRADIENT_LEVELS):
        prerequisites = [c for c in ladder.at_level(level) if isinstance(c, PrerequisiteCriterion)]
        assert any(c.params.framework is None and c.params.level == below for c in prerequisites), level
    assert ladder.at_level("basic")


@pytest.mark.parametrize("framework_id", GRADIENTS)
def test_every_criterion_is_bilingual_sourced_and_asks_when_the_factory_answers(framework_id: str) -> None:
    ladder = load_gradient(framework_id)
    for c in ladder.criteria:
        assert c.text.zh and c.text.en and c.source.url and c.source.clause, c.id
        if isinstance(c, GateCriterion | RelativeBenchmarkCriterion) or c.type == "judgement":
            assert c.question is not None, c.id
        if c.confidence == "U":
            assert c.note is not None, f"{c.id} is [U] and must say why in a note"


def test_criteria_per_level() -> None:
    def counts(framework_id: str) -> dict[str, int]:
        ladder = load_gradient(framework_id)
        return {level: len(ladder.at_level(level)) for level in GRADIENT_LEVELS}

    assert counts("gradient/2024/national") == {"basic": 12, "advanced": 8, "excellent": 10, "leading": 8}
    assert counts("gradient/2025/national") == {"basic": 14, "advanced": 9, "excellent": 9, "leading": 14}
    assert counts("gradient/2025/jiangsu") == {"basic": 15, "advanced": 9, "excellent": 9, "leading": 14}


def test_the_values_the_research_pins_down_carry_its_confidence() -> None:
    ladder = load_gradient("gradient/2025/national")

    def params(criterion_id: str) -> tuple[float | None, str]:
        c = ladder.criterion(criterion_id)
        if isinstance(c, MetricThresholdCriterion):
            return c.params.value, c.confidence
        assert isinstance(c, PrerequisiteCriterion)
        return c.params.cmmm_min, c.confidence

    assert params("G25-EXC-CMMM") == (3, "V")
    assert params("G25-ADV-CMMM") == (2, "U")  # Jiangsu-only rule, carried as the national best guess
    assert params("G25-EXC-AI") == (0.2, "S")
    assert params("G25-LEA-AI") == (0.6, "S")
    assert params("G25-LEA-NET") == (1.0, "S")
    assert params("G25-LEA-CNC") == (1.0, "S")
    for below_leading in ("G25-BAS-NET", "G25-ADV-NET", "G25-EXC-NET", "G25-BAS-CNC", "G25-EXC-CNC"):
        assert params(below_leading)[1] == "U"
    counts = [c for c in ladder.criteria if isinstance(c, CountThresholdCriterion)]
    assert counts and all(c.confidence == "U" for c in counts)


def test_thresholds_rise_level_by_level() -> None:
    for framework_id in GRADIENTS:
        ladder = load_gradient(framework_id)
        for metric in ("key_equipment_networking_rate", "key_process_automation_rate", "ai_scenario_share"):
            values = [
                c.params.value
                for level in GRADIENT_LEVELS
                for c in ladder.at_level(level)
                if isinstance(c, MetricThresholdCriterion) and c.params.metric == metric
            ]
            assert values == sorted(values), (framework_id, metric)


def test_jiangsu_inherits_the_national_ladder_and_changes_what_it_says() -> None:
    national = load_gradient("gradient/2025/national")
    jiangsu = load_gradient("gradient/2025/jiangsu")
    assert jiangsu.extends == "gradient/2025/national"
    assert jiangsu.layers == ("gradient/2025/national", "gradient/2025/jiangsu")
    assert (jiangsu.levels, jiangsu.judgement, jiangsu.scenarios) == (
        national.levels,
        national.judgement,
        national.scenarios,
    )
    assert [c.id for c in jiangsu.criteria][: len(national.criteria)] == [c.id for c in national.criteria]
    changed = {c.id for c in national.criteria if c != jiangsu.criterion(c.id)}
    assert changed == {"G25-ADV-CMMM"}
    added = [c for c in jiangsu.criteria if c.id not in {n.id for n in national.criteria}]
    assert [c.id for c in added] == ["JS25-BAS-SELFTEST"]
    assert added[0].level == "basic" and added[0].type == "gate" and added[0].confidence == "U"

    before, after = national.criterion("G25-ADV-CMMM"), jiangsu.criterion("G25-ADV-CMMM")
    assert isinstance(before, PrerequisiteCriterion) and isinstance(after, PrerequisiteCriterion)
    assert (before.confidence, after.confidence) == ("U", "V")
    assert after.params == before.params and after.params.cmmm_min == 2
    assert "江苏" in after.source.clause
    assert after.text == before.text and after.question == before.question
    assert jiangsu.lineage["G25-ADV-CMMM"] == ("gradient/2025/national", "gradient/2025/jiangsu")
    assert jiangsu.lineage["JS25-BAS-SELFTEST"] == ("gradient/2025/jiangsu",)
    assert jiangsu.lineage["G25-BAS-SIZE"] == ("gradient/2025/national",)


def test_the_scenario_catalogue_has_40_scenarios_in_8_stages_and_5_dimensions() -> None:
    catalogue = load_scenarios()
    assert isinstance(catalogue, ScenarioCatalogue)
    assert [s.no for s in catalogue.scenarios] == list(range(1, 41))
    per_stage = {
        stage.id: sum(s.stage == stage.id for s in catalogue.scenarios) for stage in catalogue.stages
    }
    assert per_stage == {
        "factory_construction": 3, "product_rd": 2, "process_design": 2, "production_management": 12,
        "production_operations": 10, "operations_management": 4, "product_service": 3, "supply_chain": 4,
    }  # fmt: skip
    assert {s.id: s.dimension for s in catalogue.stages} == {
        "factory_construction": "factory_construction", "product_rd": "rd_design", "process_design": "rd_design",
        "production_management": "production_management", "production_operations": "production_operations",
        "operations_management": "operations_management", "product_service": "operations_management",
        "supply_chain": "operations_management",
    }  # fmt: skip
    assert [s.no for s in catalogue.scenarios if s.confidence == "V"] == list(range(1, 8))
    assert catalogue.scenario("shop_floor_scheduling").name.zh == "车间智能排产"
    assert catalogue.dimension_of("intelligent_energy_management") == "production_management"


def test_the_cmmm_tree_is_4_factors_12_domains_20_subdomains_with_requirements_at_every_level() -> None:
    cmmm = load_cmmm()
    assert isinstance(cmmm, CmmmFramework)
    assert [f.id for f in cmmm.factors] == ["people", "technology", "resources", "manufacturing"]
    assert (len(cmmm.domains), len(cmmm.subdomains)) == (12, 20)
    assert [level.name.zh for level in cmmm.levels] == ["规划级", "规范级", "集成级", "优化级", "引领级"]
    for s in cmmm.subdomains:
        assert {r.level for r in s.requirements} == {1, 2, 3, 4, 5}, s.id
        assert all(r.confidence == "U" for r in s.requirements)
    factor_of = {d.id: d.factor for d in cmmm.domains}
    assert {s.id for s in cmmm.subdomains if s.tailorable} == {
        s.id for s in cmmm.subdomains if factor_of[s.domain] == "manufacturing"
    }
    scoring = cmmm.scoring
    assert [v.value for v in scoring.values] == [1, 0.8, 0.5, 0]
    assert scoring.pass_threshold == 0.8 and scoring.confidence == "U"
    assert [(b.grade, b.min, b.max) for b in scoring.bands] == [
        (1, 0.8, 1.8), (2, 1.8, 2.8), (3, 2.8, 3.8), (4, 3.8, 4.8), (5, 4.8, 5),
    ]  # fmt: skip


def test_metrics_name_real_kpis_and_every_criterion_names_known_metrics() -> None:
    from smartfactory.kpi import catalogue  # the KPI catalogue pulls in Ibis; only this test needs it

    metrics = load_metrics()
    assert {m.id for m in metrics.metrics} >= {
        "key_equipment_networking_rate", "key_process_automation_rate", "signal_collection_coverage",
        "energy_metering_coverage", "ai_scenario_share", "oee", "first_pass_yield",
    }  # fmt: skip
    for m in metrics.metrics:
        if m.kpi is not None:
            catalogue().kpi(m.kpi)
    with pytest.raises(UserError, match="unknown metric 'cnc'; known: key_equipment_networking_rate"):
        metrics.metric("cnc")


# --- bad files ---------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of the shipped frameworks."""
    root = Path(str(resources.files("smartfactory.assess") / "frameworks"))
    shutil.copytree(root, tmp_path / "frameworks")
    return tmp_path / "frameworks"


def mutate(path: Path, *replacements: tuple[str, str]) -> str:
    """Apply each (old, new) replacement once to the file; old must occur in it."""
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"{path.name} no longer contains {old!r}"
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return text


def line_at(text: str, snippet: str, occurrence: int = 1) -> int:
    """The 1-based line on which the n-th occurrence of ``snippet`` starts."""
    at = -1
    for _ in range(occurrence):
        at = text.index(snippet, at + 1)
    return text[:at].count("\n") + 1


def problems_of(folder: Path, framework_id: str) -> list[Problem]:
    with pytest.raises(FrameworkFileError) as info:
        Library(folder).load(framework_id)
    assert info.value.problems, "a FrameworkFileError must list its problems"
    return info.value.problems


def the_problem(problems: list[Problem], location: str) -> Problem:
    found = [p for p in problems if p.location == location]
    assert found, f"no problem at {location!r}; got {[str(p) for p in problems]}"
    return found[0]


def test_a_duplicate_criterion_id_names_the_file_line_and_first_use(folder: Path) -> None:
    path = folder / "gradient/2025/national.toml"
    text = mutate(path, ('id = "G25-BAS-FINANCE"', 'id = "G25-BAS-SIZE"'))
    problem = the_problem(problems_of(folder, "gradient/2025/national"), "criterion[1].id")
    assert problem.source == str(path)
    assert problem.line == line_at(text, 'id = "G25-BAS-SIZE"', occurrence=2)
    assert "duplicate criterion id 'G25-BAS-SIZE'" in problem.message
    assert "first used at criterion[0].id" in problem.message


def test_an_unknown_metric_names_the_known_ones(folder: Path) -> None:
    path = folder / "gradient/2024/national.toml"
    old = 'params = { metric = "key_process_automation_rate", comparator = ">=", value = 0.6'
    text = mutate(path, (old, old.replace("key_process_automation_rate", "cnc_rate")))
    problem = the_problem(problems_of(folder, "gradient/2024/national"), "criterion[6].params.metric")
    assert problem.source == str(path)
    assert problem.line == line_at(text, 'metric = "cnc_rate"')
    assert problem.message.startswith("unknown metric 'cnc_rate'; metrics: key_equipment_networking_rate, ")
    assert "first_pass_yield" in problem.message


def test_a_negative_weight_says_weights_must_be_positive(folder: Path) -> None:
    path = folder / "cmmm/2020/national.toml"
    text = mutate(
        path, ("weight = { discrete = 1.0, process = 1.0 }", "weight = { discrete = -1.0, process = 1.0 }")
    )
    problem = the_problem(problems_of(folder, "cmmm/2020/national"), "factor[0].weight.discrete")
    assert problem.source == str(path)
    assert problem.line == line_at(text, "discrete = -1.0")
    assert problem.message == "weights must be positive numbers (> 0); got -1.0"


def test_a_weight_missing_for_an_industry_type_names_the_types(folder: Path) -> None:
    mutate(folder / "cmmm/2020/national.toml",
           ("weight = { discrete = 1.0, process = 1.0 }", "weight = { discrete = 1.0 }"))  # fmt: skip
    problem = the_problem(problems_of(folder, "cmmm/2020/national"), "factor[0].weight")
    assert (
        problem.message == "give one weight for each industry type ['discrete', 'process']; got ['discrete']"
    )


def test_an_unknown_field_lists_the_allowed_ones(folder: Path) -> None:
    path = folder / "gradient/2025/national.toml"
    text = mutate(path, ('id = "G25-BAS-SIZE"\n', 'id = "G25-BAS-SIZE"\nweight = 2\n'))
    problem = the_problem(problems_of(folder, "gradient/2025/national"), "criterion[0].weight")
    assert problem.line == line_at(text, "weight = 2")
    assert problem.message == (
        "unknown field 'weight'; allowed: confidence, evidence, id, level, note, question, source, text, type"
    )


def test_an_unknown_criterion_type_and_a_bad_confidence_say_what_is_allowed(folder: Path) -> None:
    mutate(folder / "gradient/2025/national.toml",
           ('type = "judgement"', 'type = "opinion"'), ('confidence = "S"', 'confidence = "maybe"'))  # fmt: skip
    problems = problems_of(folder, "gradient/2025/national")
    assert "unknown type 'opinion'; allowed: 'gate', 'prerequisite_level'" in str(problems)
    assert the_problem(problems, "confidence").message == "'maybe' is not allowed; expected 'V', 'S' or 'U'"


def test_a_gate_without_a_question_is_refused(folder: Path) -> None:
    mutate(folder / "gradient/2025/national.toml",
           ('question = { zh = "企业是否为规模以上工业企业？", en = "Is the enterprise an industrial enterprise above designated size?" }\n', ""))  # fmt: skip
    problem = the_problem(problems_of(folder, "gradient/2025/national"), "criterion[0]")
    assert "answered by the factory: give a question" in problem.message


def test_a_metric_threshold_in_another_unit_or_out_of_range_is_refused(folder: Path) -> None:
    old = 'metric = "key_equipment_networking_rate", comparator = ">=", value = 0.6, unit = "ratio"'
    mutate(
        folder / "gradient/2025/national.toml", (old, old.replace('0.6, unit = "ratio"', '60, unit = "%"'))
    )
    problems = problems_of(folder, "gradient/2025/national")
    unit = [p for p in problems if p.location.endswith("params.unit")]
    value = [p for p in problems if p.location.endswith("params.value")]
    assert (
        unit and unit[0].message == "unit '%' is not the unit of key_equipment_networking_rate: use 'ratio'"
    )
    assert (
        value
        and "60.0 is outside the range of key_equipment_networking_rate: 0.0 to 1.0 ratio" in value[0].message
    )


def test_a_count_in_an_unknown_stage_names_the_stages(folder: Path) -> None:
    mutate(
        folder / "gradient/2025/national.toml",
        ('dimension = "production_operations"', 'dimension = "shopfloor"'),
    )
    problems = problems_of(folder, "gradient/2025/national")
    found = [p for p in problems if p.location.endswith("params.dimension")]
    assert found and found[0].message.startswith(
        "unknown dimension 'shopfloor' in scenarios/2024/national; dimensions: "
    )


def test_a_prerequisite_must_name_an_existing_framework_and_grade(folder: Path) -> None:
    mutate(folder / "gradient/2025/national.toml",
           ('framework = "cmmm/2020/national", cmmm_min = 3', 'framework = "cmmm/2020/national", cmmm_min = 6'),
           ('framework = "cmmm/2020/national", cmmm_min = 2', 'framework = "cmmm/2019/national", cmmm_min = 2'))  # fmt: skip
    problems = problems_of(folder, "gradient/2025/national")
    messages = {p.location.rsplit(".", 1)[-1]: p.message for p in problems}
    assert messages["cmmm_min"] == "cmmm/2020/national has grades 1, 2, 3, 4, 5; got 6"
    assert messages["framework"] == "unknown framework 'cmmm/2019/national'"


def test_a_prerequisite_on_the_same_or_a_higher_level_is_refused(folder: Path) -> None:
    mutate(
        folder / "gradient/2025/national.toml",
        ('params = { level = "basic" }', 'params = { level = "leading" }'),
    )
    problems = problems_of(folder, "gradient/2025/national")
    found = [p for p in problems if p.location.endswith("params.level")]
    assert (
        found[0].message
        == "a criterion of level advanced can only require a lower level of its own ladder: basic"
    )


def test_a_variant_cannot_redefine_an_inherited_criterion(folder: Path) -> None:
    path = folder / "gradient/2025/jiangsu.toml"
    mutate(path, ('id = "JS25-BAS-SELFTEST"', 'id = "G25-BAS-SIZE"'))
    problem = the_problem(problems_of(folder, "gradient/2025/jiangsu"), "criterion[0].id")
    assert problem.source == str(path)
    assert problem.message == (
        "G25-BAS-SIZE is already defined in gradient/2025/national; change it with an [[override]] instead"
    )


def test_an_override_of_an_unknown_criterion_is_refused(folder: Path) -> None:
    path = folder / "gradient/2025/jiangsu.toml"
    text = mutate(path, ('id = "G25-ADV-CMMM"', 'id = "G25-ADV-CMM"'))
    problem = the_problem(problems_of(folder, "gradient/2025/jiangsu"), "override[0].id")
    assert problem.line == line_at(text, 'id = "G25-ADV-CMM"')
    assert problem.message.startswith(
        "no inherited criterion 'G25-ADV-CMM' to override; inherited: G25-ADV-BASIC,"
    )


def test_an_override_is_checked_like_the_criterion_it_changes(folder: Path) -> None:
    path = folder / "gradient/2025/jiangsu.toml"
    text = mutate(path, ("params = { cmmm_min = 2 }", "params = { cmmm_min = 9, grade = 2 }"))
    problems = problems_of(folder, "gradient/2025/jiangsu")
    extra = the_problem(problems, "override[0].params.grade")
    assert extra.message == "unknown field 'grade'; allowed: cmmm_min, framework, level"
    assert extra.line == line_at(text, "params = {")


def test_an_override_needs_its_own_source_and_confidence(folder: Path) -> None:
    mutate(
        folder / "gradient/2025/jiangsu.toml",
        ('confidence = "V"\nnote = { zh = "江苏省规则', 'note = { zh = "江苏省规则'),
    )
    problem = the_problem(problems_of(folder, "gradient/2025/jiangsu"), "override[0].confidence")
    assert problem.message == "required field 'confidence' is missing"


def test_a_variant_inherits_its_levels(folder: Path) -> None:
    path = folder / "gradient/2025/jiangsu.toml"
    mutate(path, ('extends = "gradient/2025/national"\n', 'extends = "gradient/2025/national"\nscenarios = "scenarios/2024/national"\n'))  # fmt: skip
    problem = the_problem(problems_of(folder, "gradient/2025/jiangsu"), "scenarios")
    assert problem.message == "a variant inherits 'scenarios' from gradient/2025/national; remove it here"


def test_a_variant_of_an_unknown_framework_names_the_gradient_ones(folder: Path) -> None:
    mutate(folder / "gradient/2025/jiangsu.toml", ('extends = "gradient/2025/national"', 'extends = "gradient/2026/national"'))  # fmt: skip
    problem = the_problem(problems_of(folder, "gradient/2025/jiangsu"), "extends")
    assert problem.message == (
        "unknown framework 'gradient/2026/national'; gradient frameworks: "
        "gradient/2024/national, gradient/2025/jiangsu, gradient/2025/national"
    )


def test_variants_that_extend_each_other_are_a_cycle(folder: Path) -> None:
    mutate(folder / "gradient/2025/national.toml", ('scenarios = "scenarios/2024/national"\n', 'extends = "gradient/2025/jiangsu"\n'))  # fmt: skip
    with pytest.raises(
        UserError, match="cycle: gradient/2025/jiangsu → gradient/2025/national → gradient/2025/jiangsu"
    ):
        Library(folder).load("gradient/2025/jiangsu")


def test_a_toml_syntax_error_gives_its_line(folder: Path) -> None:
    path = folder / "scenarios/2024/national.toml"
    text = mutate(path, ("no = 12\n", "no = = 12\n"))
    problems = problems_of(folder, "scenarios/2024/national")
    assert problems[0].source == str(path) and problems[0].line == line_at(text, "no = = 12")
    assert problems[0].message.startswith("TOML syntax:")


def test_a_scenario_names_known_stages_systems_and_signal_kinds(folder: Path) -> None:
    mutate(folder / "scenarios/2024/national.toml",
           ('typical_systems = ["APS", "MES"]', 'typical_systems = ["APS", "Excel"]'),
           ('data_signals = ["scenario_run:scheduling", "states"]', 'data_signals = ["scenario_run", "telepathy"]'),
           ('stage = "supply_chain"', 'stage = "logistics"'))  # fmt: skip
    problems = problems_of(folder, "scenarios/2024/national")
    messages = {p.location: p.message for p in problems}
    assert messages["scenario[8].typical_systems[1]"].startswith("unknown system 'Excel'; systems: ERP, MES,")
    assert messages["scenario[8].data_signals[0]"] == "'scenario_run': write 'scenario_run:<what>'"
    assert messages["scenario[8].data_signals[1]"].startswith(
        "unknown signal kind 'telepathy'; kinds: states,"
    )
    assert messages["scenario[36].stage"].startswith(
        "unknown stage 'logistics'; stages: factory_construction,"
    )


def test_grade_bands_must_join_and_cover_every_level(folder: Path) -> None:
    mutate(folder / "cmmm/2020/national.toml", ("grade = 3\nmin = 2.8", "grade = 3\nmin = 2.9"))
    problems = problems_of(folder, "cmmm/2020/national")
    assert the_problem(problems, "scoring.band[1].max").message == (
        "band 2 ends at 2.8 but band 3 starts at 2.9: bands must join"
    )


def test_a_requirement_id_must_match_its_subdomain_and_level(folder: Path) -> None:
    path = folder / "cmmm/2020/national.toml"
    text = mutate(path, ('id = "CM-EQUIP-L3-1"', 'id = "CM-EQUIP-L2-1"'))
    problems = problems_of(folder, "cmmm/2020/national")
    wrong = [p for p in problems if "must start with 'CM-EQUIP-L3-'" in p.message]
    assert wrong and wrong[0].line == line_at(text, 'id = "CM-EQUIP-L2-1"', occurrence=2)
    assert any("duplicate id 'CM-EQUIP-L2-1'" in p.message for p in problems)


def test_a_bad_metrics_file_names_itself(folder: Path) -> None:
    path = folder / "metrics.toml"
    mutate(path, ('id = "oee"', 'id = "first_pass_yield"'))
    with pytest.raises(FrameworkFileError) as info:
        Library(folder).load("gradient/2025/national")
    assert info.value.problems[0].source == str(path)
    assert "duplicate id 'first_pass_yield'" in info.value.problems[0].message


def test_a_library_on_an_empty_folder_knows_no_frameworks(tmp_path: Path) -> None:
    library = Library(tmp_path)
    assert library.ids() == []
    with pytest.raises(UserError, match="unknown framework 'cmmm/2020/national'; known: none"):
        library.load("cmmm/2020/national")


def test_loaded_frameworks_cannot_be_changed() -> None:
    ladder = load_gradient("gradient/2025/national")
    with pytest.raises(Exception, match="frozen"):
        ladder.criteria[0].id = "X-1"  # type: ignore[misc]
    assert isinstance(ladder, GradientFramework)
