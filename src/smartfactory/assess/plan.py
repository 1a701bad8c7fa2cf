"""The roadmap: improvement actions from ``actions/actions.toml`` ranked against the blocking gaps.

Each action in the data file says what it moves (metrics, typical scenarios, CMMM sub-domains,
ladder criteria by id pattern), what it costs (a typical CNY range; the roadmap uses its middle),
how long it takes and what it needs first. For one assessment the actions become
``roadmap.Action``s whose effects are the amounts they would raise the gap targets by (see
``gaps``); actions the factory has already done (``done_when``) drop out, and so do their places
in other actions' prerequisites. ``rank`` lists each action with what it needs by gain per yuan;
with a budget, ``best_within`` finds the exact best set that fits and respects prerequisites.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smartfactory.assess.answers import Frameworks
from smartfactory.assess.gaps import AI_TARGET, Position
from smartfactory.assess.result import BudgetPlan, PlannedAction, RankedOption, Roadmap, TargetInfo
from smartfactory.assess.roadmap import Action, Plan, Target, best_within, closure, gain_of, rank
from smartfactory.assess.schema import PrerequisiteCriterion, Text, with_id
from smartfactory.assess.scoring import grade_of
from smartfactory.model.errors import Problem, UserError
from smartfactory.model.text import choose

ACTIONS_SCHEMA = "smartfactory.actions/1"
GAIN_UNIT = "blocking criteria closed (a CMMM level lifted to its pass mark counts as one)"
GAIN_UNIT_ZH = "消除的阻塞条件数（一个成熟度等级提升到达标线计为一项）"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Effect(_Strict):
    """What an action moves: one metric, one scenario, one CMMM sub-domain or matching criteria."""

    metric: str | None = None
    scenario: str | None = None
    cmmm: str | None = None
    criteria: str | None = None
    to: float | None = Field(default=None, ge=0)
    by: float | None = Field(default=None, gt=0)
    ai: bool = False
    up_to: int | None = Field(default=None, ge=1)
    score: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Effect:
        kinds = [k for k in ("metric", "scenario", "cmmm", "criteria") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an effect names exactly one of metric, scenario, cmmm, criteria")
        if (self.metric is not None or self.criteria is not None) and (self.to is None) == (self.by is None):
            raise ValueError("a metric or criteria effect gives exactly one of to or by")
        if self.cmmm is not None and (self.up_to is None or self.score is None):
            raise ValueError("a cmmm effect gives up_to (a level) and score")
        return self


class DoneWhen(_Strict):
    """A condition that shows an action is already done."""

    metric: str | None = None
    at_least: float | None = None
    scenario: str | None = None
    ai: bool = False
    cmmm: str | None = None
    level: int | None = Field(default=None, ge=1)
    criteria: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DoneWhen:
        kinds = [k for k in ("metric", "scenario", "cmmm", "criteria") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a done_when condition names exactly one of metric, scenario, cmmm, criteria")
        if self.metric is not None and self.at_least is None:
            raise ValueError("a metric condition gives at_least")
        if self.cmmm is not None and self.level is None:
            raise ValueError("a cmmm condition gives level")
        return self


class ActionDef(_Strict):
    """One improvement action of the data file."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Text
    description: Text
    cost_class: Literal["low", "medium", "high"]
    cost_cny: tuple[int, int]
    cost_source: str = Field(min_length=1)
    cost_confidence: Literal["V", "S", "U"]
    effort_months: float = Field(gt=0)
    prerequisites: tuple[str, ...] = ()
    done_when: tuple[DoneWhen, ...] = ()
    effects: tuple[Effect, ...] = Field(min_length=1)

    @property
    def typical_cny(self) -> int:
        """The middle of the cost range, the cost the roadmap uses."""
        return round((self.cost_cny[0] + self.cost_cny[1]) / 2)

    @model_validator(mode="after")
    def _range(self) -> ActionDef:
        lo, hi = self.cost_cny
        if not 0 <= lo <= hi:
            raise ValueError(f"cost_cny [{lo}, {hi}] must be [low, high] with 0 <= low <= high")
        return self


class ActionCatalogue(_Strict):
    """The improvement actions."""

    schema_: Literal["smartfactory.actions/1"] = Field(alias="schema")
    actions: tuple[ActionDef, ...] = Field(alias="action", min_length=1)

    def action(self, action_id: str) -> ActionDef:
        """One action by id."""
        return with_id(self.actions, action_id)


@cache
def load_actions(path: str | None = None) -> ActionCatalogue:
    """The shipped improvement actions (or a file of your own)."""
    file = Path(path) if path else resources.files("smartfactory.assess") / "actions" / "actions.toml"
    source = str(file)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"cannot read the actions file {source}: {exc}") from None
    try:
        catalogue = ActionCatalogue.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(source, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise UserError(f"actions file {source} is invalid", problems) from None
    return catalogue


def check_actions(catalogue: ActionCatalogue, fw: Frameworks) -> list[str]:
    """What the actions name that the frameworks do not know, unknown prerequisites and cycles."""
    problems: list[str] = []
    metrics = {m.id for m in fw.metrics.metrics}
    scenarios = {s.id for s in fw.scenarios.scenarios}
    subdomains = {s.id for s in fw.cmmm.subdomains}
    ids = [a.id for a in catalogue.actions]
    if len(set(ids)) != len(ids):
        problems.append(f"duplicate action ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    for a in catalogue.actions:
        items: list[Effect | DoneWhen] = [*a.effects, *a.done_when]
        for item in items:
            if item.metric is not None and item.metric not in metrics:
                problems.append(f"{a.id}: unknown metric {item.metric!r}")
            if item.scenario is not None and item.scenario not in scenarios:
                problems.append(f"{a.id}: unknown scenario {item.scenario!r}")
            if item.cmmm is not None and item.cmmm not in subdomains:
                problems.append(f"{a.id}: unknown CMMM sub-domain {item.cmmm!r}")
        for p in a.prerequisites:
            if p not in ids:
                problems.append(f"{a.id}: unknown prerequisite {p!r}")
    if not problems:
        stub = {a.id: Action(a.id, a.typical_cny, {}, a.prerequisites) for a in catalogue.actions}
        for a in catalogue.actions:
            try:
                closure(a.id, stub)
            except UserError as exc:
                problems.append(str(exc))
    return problems


# --- from the data to roadmap.Action ----------------------------------------------------------


def is_done(action: ActionDef, position: Position, fw: Frameworks) -> bool:
    """All of the action's done_when conditions hold (an action without any is never done)."""
    if not action.done_when:
        return False
    threshold = fw.cmmm.scoring.pass_threshold
    for cond in action.done_when:
        if cond.metric is not None:
            value = position.metrics.get(cond.metric)
            if value is None or value < float(cond.at_least or 0) - 1e-9:
                return False
        elif cond.scenario is not None:
            if cond.scenario not in (position.ai if cond.ai else position.in_use):
                return False
        elif cond.cmmm is not None:
            if not any(cond.cmmm in level.subdomains for level in position.cmmm.score.levels):
                return False
            for level in position.cmmm.score.levels:
                if level.level > (cond.level or 0):
                    break
                value = level.subdomains.get(cond.cmmm)
                if value is not None and value < threshold - 1e-9:
                    return False
        elif cond.criteria is not None:
            matched = [c for c in position.criteria_scores if fnmatch.fnmatchcase(c, cond.criteria)]
            if not matched or any(c not in position.criteria_passed for c in matched):
                return False
    return True


def effects_of(action: ActionDef, position: Position, targets: Mapping[str, Target]) -> dict[str, float]:
    """How much the action raises each target, from where the factory stands now."""
    out: dict[str, float] = {}

    def add(target: str, delta: float) -> None:
        if target in targets and delta > 1e-12:
            out[target] = out.get(target, 0.0) + delta

    for e in action.effects:
        if e.metric is not None:
            current = targets[f"metric:{e.metric}"].current if f"metric:{e.metric}" in targets else 0.0
            add(f"metric:{e.metric}", (e.by or 0.0) if e.to is None else max(0.0, e.to - current))
        elif e.scenario is not None:
            new = e.scenario not in position.in_use
            stage = position.stage_of.get(e.scenario)
            dimension = position.dimension_of.get(e.scenario)
            if new:
                for cid, (count, only_stage, only_dim) in position.counts.items():
                    if _counts(count, only_stage, only_dim, stage, dimension, position):
                        add(f"count:{cid}", 1.0)
            if e.ai and e.scenario not in position.ai:
                add(AI_TARGET, 1.0)
        elif e.cmmm is not None:
            for level in position.cmmm.score.levels:
                if level.level > (e.up_to or 0):
                    break
                now = level.subdomains.get(e.cmmm)
                if now is not None:
                    add(f"cmmm:{e.cmmm}:L{level.level}", max(0.0, float(e.score or 0.0) - now))
        elif e.criteria is not None:
            for cid, score in position.criteria_scores.items():
                if fnmatch.fnmatchcase(cid, e.criteria):
                    add(f"criterion:{cid}", (e.by or 0.0) if e.to is None else max(0.0, e.to - score))
    return out


def _counts(
    count: str,
    only_stage: str | None,
    only_dim: str | None,
    stage: str | None,
    dimension: str | None,
    position: Position,
) -> bool:
    """A new scenario in ``stage`` / ``dimension`` adds one to this count."""
    if count == "scenarios_in_use":
        return only_stage in (None, stage) and only_dim in (None, dimension)
    if count == "stages_covered":
        return stage not in position.stages_in_use
    if count == "dimensions_covered":
        return dimension not in position.dimensions_in_use
    return False


def to_actions(
    catalogue: ActionCatalogue, position: Position, targets: Mapping[str, Target], fw: Frameworks
) -> tuple[list[Action], list[str]]:
    """The catalogue as roadmap actions for this factory, and the ids of the actions already done."""
    done = [a.id for a in catalogue.actions if is_done(a, position, fw)]
    actions = [
        Action(
            a.id,
            a.typical_cny,
            effects_of(a, position, targets),
            tuple(p for p in a.prerequisites if p not in done),
        )
        for a in catalogue.actions
        if a.id not in done
    ]
    return actions, done


def _effort(chosen: Sequence[str], catalogue: ActionCatalogue) -> float:
    """Months to finish ``chosen`` when each action starts once its prerequisites are done."""
    finish: dict[str, float] = {}
    wanted = set(chosen)

    def end(a: str) -> float:
        if a not in finish:
            d = catalogue.action(a)
            finish[a] = d.effort_months + max((end(p) for p in d.prerequisites if p in wanted), default=0.0)
        return finish[a]

    return max((end(a) for a in chosen), default=0.0)


def plan_roadmap(
    position: Position,
    targets: Mapping[str, Target],
    info: Mapping[str, TargetInfo],
    uncovered: Sequence[str],
    next_level: str | None,
    fw: Frameworks,
    budget_cny: int | None = None,
    lang: str = "en",
    catalogue: ActionCatalogue | None = None,
) -> Roadmap:
    """Actions ranked by gain per yuan against the targets, and the best set within ``budget_cny``."""
    cat = catalogue or load_actions()
    # names the frameworks do not know (a province's own library) simply move nothing
    actions, done = to_actions(cat, position, targets, fw)
    by_id = {a.id: a for a in actions}
    ranked = [] if not targets else rank(actions, targets)
    options = tuple(
        RankedOption(
            action=p.actions[-1],
            actions=p.actions,
            cost_cny=p.cost_cny,
            gain=p.gain,
            gain_per_million_cny=p.gain / max(p.cost_cny, 1) * 1_000_000,
            effort_months=_effort(p.actions, cat),
            gains=dict(p.gains),
        )
        for p in ranked
    )
    budget = None
    if budget_cny is not None:
        plan = best_within(budget_cny, actions, targets) if targets else Plan((), 0, 0.0, optimal=True)
        met_targets, met_criteria = _met(plan, by_id, targets, info, position, fw)
        budget = BudgetPlan(
            budget_cny=budget_cny,
            actions=plan.actions,
            cost_cny=plan.cost_cny,
            gain=plan.gain,
            optimal=plan.optimal,
            effort_months=_effort(plan.actions, cat),
            gains=dict(plan.gains),
            targets_met=met_targets,
            criteria_met=met_criteria,
        )
    shown = {a for o in options for a in o.actions} | set(budget.actions if budget else ())
    planned = {
        a.id: PlannedAction(
            id=a.id,
            name=a.name.get(lang),
            cost_cny=a.typical_cny,
            cost_range_cny=a.cost_cny,
            cost_class=a.cost_class,
            cost_source=a.cost_source,
            cost_confidence=a.cost_confidence,
            effort_months=a.effort_months,
            prerequisites=tuple(p for p in a.prerequisites if p not in done),
            gains=dict(gain_of([a.id], by_id, targets)) if a.id in by_id else {},
        )
        for a in cat.actions
        if a.id in shown
    }
    # a gap is uncovered when no action moves any of its targets
    moved = {c for t in targets if any(t in a.effects for a in actions) for c in info[t].criteria}
    unmoved = [c for t in targets for c in info[t].criteria if c not in moved]
    not_covered = tuple(dict.fromkeys([*uncovered, *unmoved]))
    note = choose(
        lang,
        en="costs are the middle of typical ranges estimated by smartfactory [U] unless an action's "
        "cost_confidence says otherwise; see each action's cost_source",
        zh="成本取 smartfactory 估算的典型区间中值 [U]（除非措施另注来源），见各措施的 cost_source",
    )
    return Roadmap(
        next_level=next_level,
        gain_unit=choose(lang, GAIN_UNIT, GAIN_UNIT_ZH),
        targets=tuple(info[t] for t in targets),
        ranked=options,
        actions=planned,
        done=tuple(done),
        budget=budget,
        uncovered=not_covered,
        cost_note=note,
    )


def _met(
    plan: Plan,
    actions: Mapping[str, Action],
    targets: Mapping[str, Target],
    info: Mapping[str, TargetInfo],
    position: Position,
    fw: Frameworks,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The targets the plan fills, and the gap criteria that would pass after it."""
    raised: dict[str, float] = {}
    for a in plan.actions:
        for t, delta in actions[a].effects.items():
            raised[t] = raised.get(t, 0.0) + delta
    after = {t: min(target.cap, target.current + raised.get(t, 0.0)) for t, target in targets.items()}
    full = tuple(t for t, target in targets.items() if after[t] >= target.cap - 1e-9)
    criteria: list[str] = []
    for t in full:
        if not t.startswith("cmmm:"):
            criteria += info[t].criteria
    for t in targets:
        if t.startswith("metric:") and t not in full:
            # a lower threshold on the same metric may be met although the highest is not
            metric = t.removeprefix("metric:")
            criteria += [c for c in info[t].criteria if _threshold_of(c, fw, metric) <= after[t] + 1e-9]
    cmmm_criteria = {c for t in targets if t.startswith("cmmm:") for c in info[t].criteria}
    if cmmm_criteria:
        grade = _projected_grade(after, position, fw)
        for c in cmmm_criteria:
            criterion = fw.gradient.criterion(c)
            needed = criterion.params.cmmm_min if isinstance(criterion, PrerequisiteCriterion) else None
            if grade is not None and needed is not None and grade >= needed:
                criteria.append(c)
    return full, tuple(dict.fromkeys(criteria))


def _threshold_of(criterion_id: str, fw: Frameworks, metric: str) -> float:
    c = fw.gradient.criterion(criterion_id)
    params = getattr(c, "params", None)
    return (
        float(getattr(params, "value", math.inf)) if getattr(params, "metric", None) == metric else math.inf
    )


def _projected_grade(after: Mapping[str, float], position: Position, fw: Frameworks) -> int | None:
    """The CMMM grade once the planned sub-domain scores are reached (weights as in scoring)."""
    threshold = fw.cmmm.scoring.pass_threshold
    total = 0.0
    for level in position.cmmm.score.levels:
        weights = position.cmmm_weights.get(level.level, {})
        score = level.score
        for sub, w in weights.items():
            key = f"cmmm:{sub}:L{level.level}"
            if key in after:
                score += w * (after[key] - level.subdomains.get(sub, 0.0))
        total += score
        if score < threshold - 1e-9:
            break
    return grade_of(fw.cmmm, total)
