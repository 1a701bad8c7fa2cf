"""Evaluation: the level reached on small hand-made answers, with the reasoning written out.

The mini ladder (``test_assess_answers.MINI_GRADIENT``):

    basic      M-BAS-SIZE gate [S] · M-BAS-CMMM CMMM ≥ 1 [U] · M-BAS-NET networking ≥ 0.6 [U]
               · M-BAS-SCEN ≥ 2 scenarios in use [U] · M-BAS-INFO judgement ≥ 0.8 [V]
    advanced   M-ADV-BASIC basic reached · M-ADV-CMMM CMMM ≥ 2 [V] · M-ADV-NET networking ≥ 0.8 [U]
               · M-ADV-CNC automation ≥ 0.8 [V] · M-ADV-DIMS ≥ 2 dimensions covered [U] · M-ADV-BENCH [S]
    excellent  M-EXC-ADV advanced reached · M-EXC-AI AI share ≥ 0.2 [S]
               · M-EXC-OPS ≥ 3 scenarios in stage operations [U] · M-EXC-CMMM CMMM ≥ 3 [V]
    leading    M-LEA-EXC excellent reached · M-LEA-AI AI share ≥ 0.6 [S] · M-LEA-FUTURE judgement [V]

The default answers (``answers_text()``): size yes, INFO 1, bench yes, FUTURE 0, networking 0.7
declared, automation 0.9 declared, scenarios monitoring (operations) and tracking (management)
built without AI, CMMM requirements 1 at levels 1 and 2 and 0 at level 3 in all three
sub-domains, industry discrete. CMMM (mini: 3 levels, bands 0.8 / 1.8 / 2.8): L1 = 1, L2 = 1,
L3 = 0, so S = 2.0 and the grade is 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from answers_helpers import MINI, answers_text, write
from smartfactory.assess.answers import load_answers
from smartfactory.assess.framework import Library
from smartfactory.assess.result import SCHEMA, Assessment, to_json
from smartfactory.assess.run import assess
from smartfactory.model.errors import UserError
from smartfactory.model.plant_file import load_plant
from smartfactory.store import Registry, record_scenario_run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"


def run(library: Library, tmp_path: Path, text: str, **kwargs: object) -> Assessment:
    allow = bool(kwargs.pop("allow_missing", False))
    answers = load_answers(write(tmp_path, text), MINI, library=library, allow_missing=allow)
    return assess(MINI, answers, library=library, **kwargs)  # type: ignore[arg-type]


def results(a: Assessment) -> dict[str, str]:
    return {c.id: c.result for c in a.criteria}


def test_the_defaults_reach_basic_and_fail_advanced_on_networking(library: Library, tmp_path: Path) -> None:
    a = run(library, tmp_path, answers_text())
    # basic: size yes; grade 2 ≥ 1; 0.7 ≥ 0.6; 2 scenarios ≥ 2; INFO 1 ≥ 0.8 → every criterion passes.
    # advanced: basic reached; grade 2 ≥ 2; networking 0.7 < 0.8 ✗; automation 0.9 ≥ 0.8;
    # dimensions: monitoring (operations_dim) + tracking (management_dim) = 2 ≥ 2; bench yes.
    assert a.level == "basic" and a.next_level == "advanced"
    assert [lv.passed for lv in a.levels] == [True, False, False, False]
    assert a.levels[1].failed == ("M-ADV-NET",)
    assert a.cmmm.grade == 2 and a.cmmm.score.total == pytest.approx(2.0)
    net = a.criterion("M-ADV-NET")
    assert net.value == pytest.approx(0.7) and net.distance == pytest.approx(0.1) and net.used == "declared"
    assert net.score == pytest.approx(0.7 / 0.8)
    # the gaps to advanced: only the networking rate, with what is missing
    (gap,) = a.gaps
    assert gap.criterion == "M-ADV-NET" and gap.distance == pytest.approx(0.1)
    assert "short by 0.1" in gap.shortfall
    assert any("no live measurement of key_equipment_networking_rate" in m for m in gap.missing_evidence)
    assert any("unverified" in m for m in gap.missing_evidence)


def test_advanced_then_excellent_then_leading(library: Library, tmp_path: Path) -> None:
    # networking 0.85 closes advanced. Excellent fails three ways: AI share 0/2 = 0 < 0.2; only
    # monitoring is in use in the operations stage (1 < 3); grade 2 < 3.
    a = run(library, tmp_path, answers_text(net="0.85"))
    assert a.level == "advanced" and a.next_level == "excellent"
    assert {g.criterion for g in a.gaps} == {"M-EXC-AI", "M-EXC-OPS", "M-EXC-CMMM"}
    assert a.criterion("M-EXC-CMMM").distance == pytest.approx(0.8)  # S 2.0, grade 3 needs 2.8

    # Build inspection (AI) and maintenance: operations has 3 in use; 4 in use, 1 with AI → 0.25 ≥ 0.2;
    # all CMMM requirements 1 → L3 = 1, S = 3.0, grade 3. Leading still fails: 0.25 < 0.6 and FUTURE 0.
    excellent = {"inspection": ("yes", "yes"), "maintenance": ("yes", "no")}
    all_met = {f"CM-{c}-L3-1": "1" for c in ("ORG", "OPS", "ENERGY")}
    b = run(library, tmp_path, answers_text(net="0.85", built=excellent, cmmm=all_met))
    assert b.level == "excellent" and b.cmmm.grade == 3 and b.cmmm.score.total == pytest.approx(3.0)
    assert b.scenarios.ai_share == pytest.approx(0.25)
    assert {g.criterion for g in b.gaps} == {"M-LEA-AI", "M-LEA-FUTURE"}

    # AI in inspection, maintenance and energy control: 3 of 5 = 0.6 ≥ 0.6; FUTURE 1 → leading, the top.
    leading = {"inspection": ("yes", "yes"), "maintenance": ("yes", "yes"), "energy_control": ("yes", "yes")}
    c = run(
        library, tmp_path, answers_text(net="0.85", built=leading, cmmm=all_met, future="1"), budget_cny=10**6
    )
    assert c.level == "leading" and c.next_level is None
    assert c.gaps == () and c.roadmap.ranked == () and c.roadmap.targets == ()


def test_a_failed_gate_means_no_level(library: Library, tmp_path: Path) -> None:
    a = run(library, tmp_path, answers_text(size="no"))
    # every other basic criterion passes, but a rung needs all its criteria; nothing above counts
    assert a.level is None and a.next_level == "basic"
    assert results(a)["M-BAS-SIZE"] == "fail" and a.levels[0].failed == ("M-BAS-SIZE",)
    assert results(a)["M-ADV-BASIC"] == "fail"  # advanced needs basic reached
    assert [g.criterion for g in a.gaps] == ["M-BAS-SIZE"] and a.gaps[0].shortfall == "declared no"


def test_cmmm_weights_by_industry_and_tailoring(library: Library, tmp_path: Path) -> None:
    # L3 scores: ORG 1, OPS 0, ENERGY 0.8. Manufacturing (OPS, ENERGY equal weights) = 0.4.
    # discrete (people 1 : manufacturing 1): L3 = (1 + 0.4) / 2 = 0.7 < 0.8 → S = 2.7, grade 2
    # process (people 1 : manufacturing 3):  L3 = (1 + 3 × 0.4) / 4 = 0.55 → S = 2.55, grade 2
    # discrete with operations tailored out: manufacturing = 0.8, L3 = 0.9 → S = 2.9, grade 3
    scores = {"CM-ORG-L3-1": "1", "CM-OPS-L3-1": "0", "CM-ENERGY-L3-1": "0.8"}
    discrete = run(library, tmp_path, answers_text(cmmm=scores))
    assert discrete.cmmm.score.total == pytest.approx(2.7) and discrete.cmmm.grade == 2
    assert discrete.cmmm.score.level(3).factors == pytest.approx({"people": 1.0, "manufacturing": 0.4})
    process = run(library, tmp_path, answers_text(cmmm=scores), industry="process")
    assert process.cmmm.score.total == pytest.approx(2.55) and process.industry_from == "--industry"
    tailored = run(library, tmp_path, answers_text(cmmm=scores, operations_applicable="not_applicable"))
    assert tailored.cmmm.score.total == pytest.approx(2.9) and tailored.cmmm.grade == 3
    assert tailored.cmmm.score.not_applicable == ("operations",)
    assert "operations" not in tailored.cmmm.score.level(3).subdomains


def test_live_wins_and_a_disagreement_beyond_the_tolerance_is_flagged(
    library: Library, tmp_path: Path
) -> None:
    plant = load_plant(EXAMPLE_PLANT)
    # the example plant's key steps are all on automated equipment: live automation rate 6 / 6 = 1.0
    a = run(library, tmp_path, answers_text(cnc="0.7"), plant=plant)
    cnc = a.criterion("M-ADV-CNC")
    assert cnc.used == "live" and cnc.value == 1.0 and cnc.result == "pass"
    assert cnc.disagreement is not None
    assert (cnc.disagreement.declared, cnc.disagreement.live) == (0.7, 1.0)
    assert cnc.disagreement.tolerance == 0.05 and cnc.disagreement.tolerance_confidence == "U"
    kinds = {e.kind: e for e in cnc.evidence}
    assert kinds["declared"].value == 0.7 and kinds["live"].value == 1.0
    assert kinds["live"].provenance["numerator"] == 6 and kinds["live"].provenance["denominator"] == 6
    assert a.disagreements == ("M-ADV-CNC",)
    assert any("disagree on M-ADV-CNC" in n for n in a.notices)
    # within the tolerance (|0.97 − 1.0| ≤ 0.05): both shown, no flag
    b = run(library, tmp_path, answers_text(cnc="0.97"), plant=plant)
    assert b.criterion("M-ADV-CNC").disagreement is None and b.disagreements == ()
    # the plant gives the industry when --industry is not given
    assert a.industry == "discrete" and a.industry_from == "plant suzhou-housing"


def test_unverified_thresholds_are_flagged(library: Library, tmp_path: Path) -> None:
    a = run(library, tmp_path, answers_text())
    net = a.criterion("M-BAS-NET")
    assert net.unverified and net.unverified_reasons == ("the threshold is tagged [U]",)
    assert not a.criterion("M-BAS-INFO").unverified  # [V]
    # a [V] CMMM prerequisite still rests on the [U] scoring constants
    cmmm = a.criterion("M-ADV-CMMM")
    assert cmmm.unverified and "CMMM scoring constants" in cmmm.unverified_reasons[0]
    doc = to_json(a)
    by_id = {c["id"]: c for c in doc["criteria"]}
    assert by_id["M-BAS-NET"]["unverified_label"] == "unverified threshold"
    assert by_id["M-BAS-INFO"]["unverified_label"] is None
    assert doc["level"]["unverified"] and "M-BAS-NET" in doc["level"]["unverified_criteria"]
    zh = to_json(run(library, tmp_path, answers_text(), lang="zh"))
    assert {c["id"]: c for c in zh["criteria"]}["M-BAS-NET"]["unverified_label"] == "未经核实的阈值"


def test_unknown_when_nothing_declares_or_measures_a_metric(library: Library, tmp_path: Path) -> None:
    plant = load_plant(EXAMPLE_PLANT)
    a = run(library, tmp_path, answers_text(net="unknown"), plant=plant)  # no store: cannot be measured
    net = a.criterion("M-BAS-NET")
    assert net.result == "unknown" and net.used == "none" and "no store" in net.how
    assert a.level is None and a.levels[0].unknown == ("M-BAS-NET",)
    assert a.gaps[0].criterion == "M-BAS-NET" and a.gaps[0].shortfall.startswith("not judged")


def test_scenario_runs_count_and_contradict_declarations(library: Library, tmp_path: Path) -> None:
    plant = load_plant(EXAMPLE_PLANT)
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        registry.save_plant(plant, "plant.toml", "0" * 64)
        # S2 is inspection in the mini catalogue: a finished AI run, though the answers say not built
        record_scenario_run(registry, plant.plant.id, "quality", "S2", uses_ai=True, status="finished")
        record_scenario_run(registry, plant.plant.id, "mystery", "S99", uses_ai=False, status="finished")
        a = run(library, tmp_path, answers_text(net="0.85"), plant=plant, registry=registry)
    inspection = next(s for s in a.scenarios.scenarios if s.id == "inspection")
    assert inspection.in_use and inspection.ai_used and inspection.declared_built is False
    assert inspection.disagreement is not None and "not built" in inspection.disagreement
    assert a.scenarios.registry_read and a.scenarios.unknown_official == ("S99",)
    # in use: monitoring, tracking (declared) + inspection (run) = 3, AI 1 → 1/3 ≥ 0.2
    ai = a.criterion("M-EXC-AI")
    assert ai.result == "pass" and ai.value == pytest.approx(1 / 3)
    assert ai.disagreement is not None and "inspection" in ai.disagreement.message
    assert {e.kind for e in ai.evidence} == {"declared", "live", "derived"}


def test_allow_missing_scores_zero_and_says_so_first(library: Library, tmp_path: Path) -> None:
    text = answers_text().replace("    M-BAS-INFO: 1\n", "")
    a = run(library, tmp_path, text, allow_missing=True)
    assert a.notices[0].startswith(
        "1 missing answer(s) scored 0 (--allow-missing): criteria.basic.M-BAS-INFO"
    )
    info = a.criterion("M-BAS-INFO")
    assert info.missing and info.score == 0.0 and info.result == "fail"
    assert a.level is None
    assert to_json(a)["answers"]["missing"] == ["criteria.basic.M-BAS-INFO"]


def test_json_report_schema_and_provenance(library: Library, tmp_path: Path) -> None:
    a = run(library, tmp_path, answers_text(cnc="0.7"), plant=load_plant(EXAMPLE_PLANT), budget_cny=500_000)
    doc = json.loads(json.dumps(to_json(a), ensure_ascii=False))
    assert doc["schema"] == SCHEMA == "smartfactory.assessment/1"
    assert list(doc) == [
        "schema",
        "generated_at",
        "lang",
        "notices",
        "framework",
        "plant",
        "industry",
        "answers",
        "level",
        "levels",
        "criteria",
        "cmmm",
        "scenarios",
        "live",
        "gaps",
        "roadmap",
        "unverified",
        "disagreements",
    ]
    assert doc["framework"] == {
        "id": MINI,
        "title": "Mini ladder",
        "edition": "2025",
        "jurisdiction": "mini",
        "layers": [MINI],
        "cmmm": "cmmm/2020/mini",
        "scenarios": "scenarios/2024/mini",
    }
    by_id = {c["id"]: c for c in doc["criteria"]}
    net = by_id["M-BAS-NET"]["provenance"]
    assert net["answers"] == [f"{tmp_path / 'answers.yaml'}:20 metrics.key_equipment_networking_rate.answer"]
    assert net["live"][0]["metric"] == "key_equipment_networking_rate" and net["framework_layers"] == [MINI]
    cnc = by_id["M-ADV-CNC"]["provenance"]["live"][0]
    assert cnc["live_metric"] == "live.key_process_automation_rate" and "rule" in cnc
    cmmm = doc["cmmm"]
    assert cmmm["grade"] == 2 and cmmm["provenance"]["requirements_answered"] == 9
    assert cmmm["levels"][2]["subdomains"] == {"organisation": 0.0, "operations": 0.0, "energy": 0.0}
    assert doc["live"]["key_process_automation_rate"]["value"] == 1.0
    assert doc["roadmap"]["budget"]["budget_cny"] == 500_000


def test_answers_for_another_ladder_are_refused(library: Library, tmp_path: Path) -> None:
    answers = load_answers(write(tmp_path, answers_text()), MINI, library=library)
    with pytest.raises(UserError, match="checked for gradient/2025/mini, not gradient/2025/national"):
        assess("gradient/2025/national", answers)
    with pytest.raises(UserError, match="no industry type"):
        run(library, tmp_path, answers_text().replace("industry: discrete\n", ""))


def test_the_shipped_2025_ladder_on_a_filled_template(tmp_path: Path) -> None:
    from answers_helpers import fill
    from smartfactory.assess.answers import template

    # fill(): every gate and benchmark yes, judgements 1, declared metrics 0.9, all 40 scenarios
    # built without AI, every CMMM requirement 0.8 (industry process). CMMM: each level scores 0.8
    # and passes, S = 5 × 0.8 = 4.0 → grade 4. Basic and advanced pass (0.9 clears 0.6 and 0.8,
    # 40 scenarios clear 3 and 6, all five dimensions covered). Excellent fails on the AI share:
    # 0 / 40 < 0.2 (networking 0.9 ≥ 0.9 and 40 ≥ 8 pass).
    path = write(tmp_path, fill(template("gradient/2025/national", "en")))
    a = assess("gradient/2025/national", path)
    assert a.cmmm.grade == 4 and a.cmmm.score.total == pytest.approx(4.0)
    assert a.level == "advanced" and a.next_level == "excellent"
    assert [g.criterion for g in a.gaps] == ["G25-EXC-AI"]
    assert a.roadmap.ranked and all("ai_scenarios" in o.gains for o in a.roadmap.ranked)
    json.dumps(to_json(a), ensure_ascii=False)
