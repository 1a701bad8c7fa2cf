"""The roadmap optimiser: gain per yuan, and the exact best set within a budget."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartfactory.assess.roadmap import Action, Target, best_within, closure, gain_of, rank
from smartfactory.model.errors import UserError

TARGETS = {
    "networking": Target("networking", current=0.4, cap=1.0, weight=2.0),
    "mes": Target("mes", current=0.0, cap=1.0, weight=1.0),
    "ai": Target("ai", current=0.0, cap=1.0, weight=3.0),
}
ACTIONS = [
    Action("connect", 200_000, {"networking": 0.6}),
    Action("mes", 500_000, {"mes": 1.0}, prerequisites=("connect",)),
    Action("ai-inspection", 400_000, {"ai": 0.5}, prerequisites=("mes",)),
    Action("half-connect", 120_000, {"networking": 0.3}),
]


def test_gain_is_weighted_and_capped() -> None:
    by_id = {a.id: a for a in ACTIONS}
    # networking can rise 0.6 (0.4 → 1.0); connect + half-connect offer 0.9 but only 0.6 counts
    assert gain_of(["connect", "half-connect"], by_id, TARGETS) == pytest.approx({"networking": 2.0 * 0.6})


def test_closure_puts_prerequisites_first_and_catches_cycles() -> None:
    by_id = {a.id: a for a in ACTIONS}
    assert closure("ai-inspection", by_id) == ["connect", "mes", "ai-inspection"]
    loop = {"a": Action("a", 1, {}, ("b",)), "b": Action("b", 1, {}, ("a",))}
    with pytest.raises(UserError, match="cycle"):
        closure("a", loop)
    with pytest.raises(UserError, match="unknown action 'nope'"):
        closure("x", {"x": Action("x", 1, {}, ("nope",))})


def test_rank_bundles_prerequisites_and_orders_by_gain_per_yuan() -> None:
    plans = rank(ACTIONS, TARGETS)
    # connect: 1.2 / 200k = 6.0e-6; half-connect: 0.6 / 120k = 5.0e-6;
    # mes (+connect): (1.2 + 1.0) / 700k = 3.1e-6; ai (+mes +connect): (1.2 + 1 + 1.5) / 1.1M = 3.4e-6
    assert [p.actions[-1] for p in plans] == ["connect", "half-connect", "ai-inspection", "mes"]
    assert plans[2].actions == ("connect", "mes", "ai-inspection")
    assert plans[2].cost_cny == 1_100_000


@pytest.mark.parametrize(
    ("budget", "expected", "gain"),
    [
        (0, (), 0.0),
        (150_000, ("half-connect",), 0.6),
        (200_000, ("connect",), 1.2),
        (800_000, ("connect", "mes"), 2.2),  # ai needs mes needs connect: 1.1M does not fit
        (1_100_000, ("connect", "mes", "ai-inspection"), 3.7),
    ],
)
def test_best_within_budget(budget: int, expected: tuple[str, ...], gain: float) -> None:
    plan = best_within(budget, ACTIONS, TARGETS)
    assert plan.actions == expected
    assert plan.gain == pytest.approx(gain)
    assert plan.cost_cny <= budget
    assert plan.optimal


def test_negative_budget_is_refused() -> None:
    with pytest.raises(UserError, match="budget"):
        best_within(-1, ACTIONS, TARGETS)


actions_strategy = st.lists(
    st.tuples(
        st.integers(1, 9).map(lambda c: c * 10_000),
        st.dictionaries(st.sampled_from(["t0", "t1", "t2"]), st.floats(0.05, 1.0), max_size=2),
        st.booleans(),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=40, deadline=None)
@given(actions_strategy, st.integers(0, 400_000))
def test_best_within_matches_brute_force(raw: list[tuple[int, dict[str, float], bool]], budget: int) -> None:
    actions = [
        Action(f"a{i}", cost, effects, prerequisites=(f"a{i - 1}",) if needs and i else ())
        for i, (cost, effects, needs) in enumerate(raw)
    ]
    targets = {
        t: Target(t, current=0.2, cap=1.0, weight=w) for t, w in (("t0", 1.0), ("t1", 2.0), ("t2", 0.5))
    }
    by_id = {a.id: a for a in actions}
    best = 0.0
    for k in range(len(actions) + 1):
        for subset in itertools.combinations(by_id, k):
            s = set(subset)
            if any(p not in s for a in s for p in by_id[a].prerequisites):
                continue
            if sum(by_id[a].cost_cny for a in s) > budget:
                continue
            best = max(best, sum(gain_of(s, by_id, targets).values()))
    plan = best_within(budget, actions, targets)
    assert plan.cost_cny <= budget
    assert plan.gain == pytest.approx(best, abs=1e-3)
