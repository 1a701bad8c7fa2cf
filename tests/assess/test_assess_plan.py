"""Gaps into targets, the action data, and the roadmap: ranked by gain per yuan, best set within a budget.

The hand-made case uses the mini ladder (see test_assess_evaluate) with networking declared 0.85:
advanced is reached and excellent fails on three criteria:

    M-EXC-AI    AI share 0 / 2 < 0.2     → target ai_scenarios: 0 → ceil(0.2 × 2) = 1, weight 1
    M-EXC-OPS   1 scenario in operations → target count:M-EXC-OPS: 1 → 3, weight 1/2
    M-EXC-CMMM  grade 2 (L3 scores 0)    → one target per sub-domain at L3, from 0 to 1, weight =
                share of the L3 score / shortfall 0.8: organisation 0.5 / 0.8 = 0.625 (people is half
                the level), operations and energy 0.25 / 0.8 = 0.3125 each (half of manufacturing)
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from answers_helpers import MINI, answers_text, fill, write
from smartfactory.assess.answers import load_answers, resolve, template
from smartfactory.assess.framework import Library
from smartfactory.assess.plan import ActionCatalogue, check_actions, load_actions
from smartfactory.assess.result import Assessment
from smartfactory.assess.roadmap import closure
from smartfactory.assess.run import assess

ACTIONS = """
schema = "smartfactory.actions/1"

[[action]]
id = "lean"
name = { zh = "精益", en = "Lean" }
description = { zh = "精益", en = "Lean" }
cost_class = "low"
cost_cny = [50000, 150000]
cost_source = "test"
cost_confidence = "U"
effort_months = 3
effects = [{ cmmm = "operations", up_to = 3, score = 1.0 }]

[[action]]
id = "networking"
name = { zh = "联网", en = "Networking" }
description = { zh = "联网", en = "Networking" }
cost_class = "low"
cost_cny = [200000, 200000]
cost_source = "test"
cost_confidence = "U"
effort_months = 4
prerequisites = ["lean"]
DONE
effects = [{ metric = "key_equipment_networking_rate", to = 0.95 }]

[[action]]
id = "ai_inspection"
name = { zh = "AI 质检", en = "AI inspection" }
description = { zh = "AI 质检", en = "AI inspection" }
cost_class = "medium"
cost_cny = [300000, 300000]
cost_source = "test"
cost_confidence = "U"
effort_months = 5
prerequisites = ["networking"]
effects = [{ scenario = "inspection", ai = true }]

[[action]]
id = "maintenance_system"
name = { zh = "维修系统", en = "Maintenance system" }
description = { zh = "维修系统", en = "Maintenance system" }
cost_class = "low"
cost_cny = [150000, 150000]
cost_source = "test"
cost_confidence = "U"
effort_months = 2
effects = [{ scenario = "maintenance" }]

[[action]]
id = "people"
name = { zh = "组织", en = "People programme" }
description = { zh = "组织", en = "People programme" }
cost_class = "low"
cost_cny = [250000, 250000]
cost_source = "test"
cost_confidence = "U"
effort_months = 6
effects = [{ cmmm = "organisation", up_to = 3, score = 1.0 }]
"""


def catalogue(tmp_path: Path, done: str = "") -> ActionCatalogue:
    path = tmp_path / f"actions{len(done)}.toml"
    path.write_text(ACTIONS.replace("DONE", done), encoding="utf-8")
    return load_actions(str(path))


def mini(library: Library, tmp_path: Path, actions: ActionCatalogue, budget: int | None = None) -> Assessment:
    answers = load_answers(write(tmp_path, answers_text(net="0.85")), MINI, library=library)
    return assess(MINI, answers, library=library, actions=actions, budget_cny=budget)


def test_gaps_become_targets(library: Library, tmp_path: Path) -> None:
    r = mini(library, tmp_path, catalogue(tmp_path)).roadmap
    targets = {t.id: t for t in r.targets}
    assert set(targets) == {
        "ai_scenarios",
        "count:M-EXC-OPS",
        "cmmm:organisation:L3",
        "cmmm:operations:L3",
        "cmmm:energy:L3",
    }
    assert (targets["ai_scenarios"].current, targets["ai_scenarios"].cap, targets["ai_scenarios"].weight) == (
        0,
        1,
        1,
    )
    assert (targets["count:M-EXC-OPS"].current, targets["count:M-EXC-OPS"].cap) == (1, 3)
    assert targets["count:M-EXC-OPS"].weight == pytest.approx(0.5)
    assert targets["cmmm:organisation:L3"].weight == pytest.approx(0.625)
    assert targets["cmmm:operations:L3"].weight == pytest.approx(0.3125)
    assert targets["cmmm:energy:L3"].criteria == ("M-EXC-CMMM",)
    # nothing in the test catalogue raises energy: M-EXC-CMMM is still covered through the other two
    assert r.uncovered == ()


def test_rank_by_gain_per_yuan_with_prerequisites_bundled(library: Library, tmp_path: Path) -> None:
    r = mini(library, tmp_path, catalogue(tmp_path)).roadmap
    # maintenance 0.5 / 150k = 3.33 per M; lean 0.3125 / 100k = 3.125; ai_inspection with lean and
    # networking (0.3125 + 1 + 0.5) / 600k = 3.02; people 0.625 / 250k = 2.5; networking adds
    # nothing itself: with lean 0.3125 / 300k = 1.04
    assert [o.action for o in r.ranked] == [
        "maintenance_system",
        "lean",
        "ai_inspection",
        "people",
        "networking",
    ]
    ai = r.ranked[2]
    assert ai.actions == ("lean", "networking", "ai_inspection") and ai.cost_cny == 600_000
    assert ai.gain == pytest.approx(1.8125) and ai.gain_per_million_cny == pytest.approx(1.8125 / 0.6)
    assert ai.effort_months == 12  # 3 + 4 + 5, each after its prerequisite
    rates = [o.gain_per_million_cny for o in r.ranked]
    assert rates == sorted(rates, reverse=True)
    assert r.actions["lean"].cost_cny == 100_000 and r.actions["lean"].cost_range_cny == (50_000, 150_000)


@pytest.mark.parametrize(
    ("budget", "chosen", "gain"),
    [
        (0, (), 0.0),
        (250_000, ("lean", "maintenance_system"), 0.8125),
        (400_000, ("maintenance_system", "people"), 1.125),  # ai needs lean + networking: 600k
        (600_000, ("lean", "networking", "ai_inspection"), 1.8125),
        (750_000, ("lean", "networking", "ai_inspection", "maintenance_system"), 2.3125),
    ],
)
def test_best_within_budget_respects_the_budget_and_prerequisites(
    library: Library, tmp_path: Path, budget: int, chosen: tuple[str, ...], gain: float
) -> None:
    plan = mini(library, tmp_path, catalogue(tmp_path), budget).roadmap.budget
    assert plan is not None and plan.optimal
    assert set(plan.actions) == set(chosen) and plan.gain == pytest.approx(gain)
    assert plan.cost_cny <= budget
    for i, action in enumerate(plan.actions):  # prerequisites come first
        needs = {"networking": "lean", "ai_inspection": "networking"}.get(action)
        assert needs is None or needs in plan.actions[:i]
    if budget == 750_000:
        # the AI share and the operations count are met; L3 rises only to 0.25: the grade stays 2
        assert set(plan.targets_met) == {"ai_scenarios", "count:M-EXC-OPS", "cmmm:operations:L3"}
        assert set(plan.criteria_met) == {"M-EXC-AI", "M-EXC-OPS"}


def test_done_actions_drop_out_with_their_place_as_prerequisite(library: Library, tmp_path: Path) -> None:
    # networking 0.85 ≥ 0.8 marks the networking action done: AI inspection no longer needs it (nor lean)
    done = 'done_when = [{ metric = "key_equipment_networking_rate", at_least = 0.8 }]'
    r = mini(library, tmp_path, catalogue(tmp_path, done), 300_000).roadmap
    assert r.done == ("networking",)
    ai = next(o for o in r.ranked if o.action == "ai_inspection")
    assert ai.actions == ("ai_inspection",) and ai.cost_cny == 300_000 and ai.gain == pytest.approx(1.5)
    assert r.budget is not None and r.budget.actions == ("ai_inspection",)


# --- the shipped action data ---------------------------------------------------------------------


def test_the_shipped_actions_fit_every_shipped_ladder() -> None:
    actions = load_actions()
    assert 20 <= len(actions.actions) <= 30
    for framework_id in ("gradient/2024/national", "gradient/2025/national", "gradient/2025/jiangsu"):
        assert check_actions(actions, resolve(framework_id)) == []
    for a in actions.actions:
        assert a.name.zh and a.name.en and a.cost_source
        assert a.cost_confidence == "U" or "[U]" not in a.cost_source
        middle = a.typical_cny
        expected = "low" if middle < 300_000 else "medium" if middle <= 1_500_000 else "high"
        assert a.cost_class == expected, a.id


def test_ai_comes_after_lean_basics_and_data_collection() -> None:
    actions = load_actions()
    from smartfactory.assess.roadmap import Action

    stub = {a.id: Action(a.id, a.typical_cny, {}, a.prerequisites) for a in actions.actions}
    ai = [a.id for a in actions.actions if any(e.scenario and e.ai for e in a.effects)]
    assert len(ai) >= 4
    for a in ai:
        needs = closure(a, stub)
        assert "lean_basics" in needs and "equipment_networking" in needs, a


def test_shipped_roadmap_within_budgets(tmp_path: Path) -> None:
    # a factory at the start: gates yes, declared metrics 0.5, no scenario, CMMM 0.5 everywhere
    text = fill(template("gradient/2025/national", "en"))
    text = (
        text.replace("answer: 0.9", "answer: 0.5")
        .replace("built: yes", "built: no")
        .replace(": 0.8  #", ": 0.5  #")
    )
    text = text.replace("G25-BAS-SIZE:\n      answer: yes", "G25-BAS-SIZE:\n      answer: no")
    path = write(tmp_path, text)
    last_gain = -1.0
    for budget in (0, 300_000, 800_000, 2_000_000, 6_000_000):
        a = assess("gradient/2025/national", path, budget_cny=budget)
        assert a.level is None and a.next_level == "basic"
        plan = a.roadmap.budget
        assert plan is not None and plan.cost_cny <= budget
        known = {x.id: x for x in load_actions().actions}
        for i, action in enumerate(plan.actions):
            missing = [
                p
                for p in known[action].prerequisites
                if p not in a.roadmap.done and p not in plan.actions[:i]
            ]
            assert not missing, (action, missing)
        assert plan.gain >= last_gain - 1e-9  # more money never buys less
        last_gain = plan.gain
    assert last_gain > 0 and math.isfinite(last_gain)
    assert a.roadmap.ranked[0].gain_per_million_cny >= a.roadmap.ranked[-1].gain_per_million_cny
    assert {g.criterion for g in a.gaps} >= {"G25-BAS-SIZE", "G25-BAS-NET", "G25-BAS-SCEN", "G25-BAS-CMMM"}
    # no action makes an enterprise "above designated size": the roadmap says so
    assert "G25-BAS-SIZE" in a.roadmap.uncovered and "G25-BAS-NET" not in a.roadmap.uncovered
