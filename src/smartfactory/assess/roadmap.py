"""The cheapest path up: improvement actions ranked by gain per yuan, and the best set for a budget.

An action moves some targets (a metric, a requirement score, a gate) by a known amount, costs
money and may need other actions first (lean basics and data collection before AI). A target's
value never goes past its cap, so two actions on the same target do not add up beyond it.
With a budget, the best set is found exactly with OR-Tools CP-SAT: most gain within the budget,
prerequisites respected, and among equal gains the cheapest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from smartfactory.model.errors import UserError

SCALE = 10_000  # gains and effects are fractions; CP-SAT needs integers


@dataclass(frozen=True)
class Action:
    """An improvement action: what it costs, what it needs first and which targets it moves."""

    id: str
    cost_cny: int
    effects: Mapping[str, float]
    prerequisites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """Something an action can raise: where it is now, how far it can go, what a unit is worth."""

    id: str
    current: float
    cap: float
    weight: float = 1.0

    @property
    def room(self) -> float:
        """How much it can still rise."""
        return max(0.0, self.cap - self.current)


@dataclass(frozen=True)
class Plan:
    """A set of actions, in an order that puts prerequisites first, with its cost and gain."""

    actions: tuple[str, ...]
    cost_cny: int
    gain: float
    optimal: bool
    gains: dict[str, float] = field(default_factory=dict)


def closure(action_id: str, actions: Mapping[str, Action]) -> list[str]:
    """The action and every action it needs, prerequisites first."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(a: str, path: tuple[str, ...]) -> None:
        if a in path:
            raise UserError(f"actions form a prerequisite cycle: {' → '.join((*path, a))}")
        if a in seen:
            return
        if a not in actions:
            raise UserError(f"action {path[-1] if path else a!r} needs unknown action {a!r}")
        for p in actions[a].prerequisites:
            visit(p, (*path, a))
        seen.add(a)
        order.append(a)

    visit(action_id, ())
    return order


def gain_of(
    chosen: Iterable[str], actions: Mapping[str, Action], targets: Mapping[str, Target]
) -> dict[str, float]:
    """Weighted gain per target of doing ``chosen`` (each target capped)."""
    raised: dict[str, float] = {}
    for a in chosen:
        for t, delta in actions[a].effects.items():
            if t in targets:
                raised[t] = raised.get(t, 0.0) + delta
    return {t: targets[t].weight * min(v, targets[t].room) for t, v in raised.items() if v > 0}


def rank(actions: Sequence[Action], targets: Mapping[str, Target]) -> list[Plan]:
    """Each action with everything it needs, ranked by gain per yuan (most first); no gain, no row."""
    by_id = _index(actions)
    plans = []
    for a in actions:
        bundle = closure(a.id, by_id)
        gains = gain_of(bundle, by_id, targets)
        gain = sum(gains.values())
        if gain <= 0:
            continue
        cost = sum(by_id[x].cost_cny for x in bundle)
        plans.append(Plan(tuple(bundle), cost, gain, optimal=False, gains=gains))
    return sorted(plans, key=lambda p: (-(p.gain / max(p.cost_cny, 1)), p.cost_cny, p.actions))


def best_within(budget_cny: int, actions: Sequence[Action], targets: Mapping[str, Target]) -> Plan:
    """The set of actions with the most gain that fits the budget (exact, CP-SAT), cheapest on ties."""
    from ortools.sat.python import cp_model

    if budget_cny < 0:
        raise UserError(f"the budget must be 0 or more yuan, not {budget_cny}")
    by_id = _index(actions)
    for a in actions:
        closure(a.id, by_id)  # unknown prerequisites and cycles are input errors
    useful = {t: target for t, target in targets.items() if target.room > 0}

    def build() -> tuple[cp_model.CpModel, dict[str, cp_model.IntVar], Any]:
        model = cp_model.CpModel()
        x = {a.id: model.new_bool_var(a.id) for a in actions}
        for a in actions:
            for p in a.prerequisites:
                model.add_implication(x[a.id], x[p])
        model.add(sum(a.cost_cny * x[a.id] for a in actions) <= budget_cny)
        terms = []
        for t, target in useful.items():
            movers = [(a.id, round(a.effects[t] * SCALE)) for a in actions if a.effects.get(t, 0) > 0]
            if not movers:
                continue
            v = model.new_int_var(0, round(target.room * SCALE), f"v_{t}")
            model.add(v <= sum(d * x[a] for a, d in movers))
            terms.append(round(target.weight * SCALE) * v)
        return model, x, sum(terms)

    model, x, gain = build()
    model.maximize(gain)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # deterministic
    solver.parameters.max_time_in_seconds = 30.0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Plan((), 0, 0.0, optimal=False)
    best_gain = round(solver.objective_value)
    first_optimal = status == cp_model.OPTIMAL
    # second pass: the cheapest set among those with that gain
    model, x, gain = build()
    model.add(gain >= best_gain)
    model.minimize(sum(a.cost_cny * x[a.id] for a in actions))
    status = solver.solve(model)
    chosen = [a.id for a in actions if solver.value(x[a.id])]
    ordered: list[str] = []
    for action_id in chosen:
        ordered += [p for p in closure(action_id, by_id) if p not in ordered]
    gains = gain_of(ordered, by_id, targets)
    return Plan(
        tuple(ordered),
        sum(by_id[a].cost_cny for a in ordered),
        sum(gains.values()),
        optimal=first_optimal and status == cp_model.OPTIMAL,
        gains=gains,
    )


def _index(actions: Sequence[Action]) -> dict[str, Action]:
    by_id: dict[str, Action] = {}
    for a in actions:
        if a.id in by_id:
            raise UserError(f"action {a.id!r} is defined twice")
        if a.cost_cny < 0:
            raise UserError(f"action {a.id!r} has a negative cost")
        by_id[a.id] = a
    return by_id
