"""What an assessment finds, as plain dataclasses, and its JSON report (schema ``smartfactory.assessment/1``).

Top-level keys of the JSON report (``to_json``):

``schema``, ``generated_at``, ``lang``, ``notices`` (the report's first lines: missing answers
scored 0, industry overrides ...), ``framework`` (ladder id, title, layers, CMMM framework,
scenario catalogue), ``plant``, ``industry`` (value and where it came from), ``answers`` (file,
missing answers, allow_missing), ``level`` (reached, next, whether it rests on unverified
thresholds), ``levels`` (one per rung), ``criteria`` (each criterion's result, score, value,
threshold, distance, evidence declared and live, disagreement, unverified flag, provenance),
``cmmm`` (grade, total S, per-level / factor / domain / sub-domain scores, tailoring,
provenance), ``scenarios`` (in use, AI, per stage and dimension, declared against live),
``live`` (every live metric with its provenance), ``gaps`` (the blocking gaps to the next
level), ``roadmap`` (targets, ranked actions, the best set within a budget), ``unverified``
(criteria resting on [S]/[U] thresholds) and ``disagreements``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel

from smartfactory.assess.evidence import Evidence
from smartfactory.assess.schema import with_id
from smartfactory.assess.scoring import CmmmScore
from smartfactory.model.text import resolve_language

SCHEMA = "smartfactory.assessment/1"
UNVERIFIED_LABEL = {"en": "unverified threshold", "zh": "未经核实的阈值"}

Outcome = Literal["pass", "fail", "unknown"]
EvidenceKind = Literal["declared", "live", "derived"]


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence behind a result: a declared answer, a live measurement or a derived count."""

    kind: EvidenceKind
    what: str
    value: Any
    unit: str | None = None
    note: str | None = None
    attachments: tuple[str, ...] = ()
    source: str | None = None
    why: str | None = None
    provenance: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Disagreement:
    """A declared value and a live measurement further apart than the tolerance allows."""

    what: str
    declared: Any
    live: Any
    difference: float | None
    tolerance: float | None
    tolerance_source: str
    tolerance_confidence: str
    message: str


@dataclass(frozen=True)
class CriterionResult:
    """How one ladder criterion was judged."""

    id: str
    level: str
    type: str
    text: str
    source_url: str
    source_clause: str
    confidence: str
    result: Outcome
    score: float
    value: Any
    threshold: Mapping[str, Any]
    distance: float | None
    used: Literal["live", "declared", "derived", "none"]
    how: str
    evidence: tuple[EvidenceItem, ...] = ()
    disagreement: Disagreement | None = None
    unverified: bool = False
    unverified_reasons: tuple[str, ...] = ()
    missing: bool = False
    lineage: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """The criterion is met."""
        return self.result == "pass"


@dataclass(frozen=True)
class LevelResult:
    """One rung of the ladder: passed when all its criteria pass and the rung below passed."""

    id: str
    name: str
    passed: bool
    criteria: tuple[str, ...]
    failed: tuple[str, ...]
    unknown: tuple[str, ...]
    unverified: tuple[str, ...]
    why: str


@dataclass(frozen=True)
class ScenarioUse:
    """One catalogue scenario: declared built / AI, live runs, and what counts."""

    id: str
    no: int
    name: str
    stage: str
    dimension: str
    ai_capable: bool
    declared_built: bool | None
    declared_ai: bool | None
    live_in_use: bool | None
    live_ai: bool | None
    in_use: bool
    ai_used: bool
    field: str
    line: int | None
    note: str | None = None
    attachments: tuple[str, ...] = ()
    runs: tuple[Mapping[str, Any], ...] = ()
    disagreement: str | None = None


@dataclass(frozen=True)
class ScenarioSummary:
    """The scenarios in use (declared built, or run in the last days), by stage and dimension."""

    catalogue: str
    registry_read: bool
    scenarios: tuple[ScenarioUse, ...]
    by_stage: Mapping[str, int]
    by_dimension: Mapping[str, int]
    unknown_official: tuple[str, ...] = ()
    live_provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def in_use(self) -> tuple[str, ...]:
        """Ids of the scenarios in use."""
        return tuple(s.id for s in self.scenarios if s.in_use)

    @property
    def ai(self) -> tuple[str, ...]:
        """Ids of the scenarios in use that use AI."""
        return tuple(s.id for s in self.scenarios if s.in_use and s.ai_used)

    @property
    def ai_share(self) -> float | None:
        """AI scenarios ÷ scenarios in use; None when none is in use."""
        return len(self.ai) / len(self.in_use) if self.in_use else None

    @property
    def stages_covered(self) -> int:
        """Stages with at least one scenario in use."""
        return sum(1 for n in self.by_stage.values() if n > 0)

    @property
    def dimensions_covered(self) -> int:
        """要素条件 dimensions with at least one scenario in use."""
        return sum(1 for n in self.by_dimension.values() if n > 0)


@dataclass(frozen=True)
class CmmmResult:
    """The CMMM part: the scored model with names, and where the inputs came from."""

    framework: str
    title: str
    industry: str
    score: CmmmScore
    names: Mapping[str, str]
    scoring_confidence: str
    weights_confidence: str
    provenance: Mapping[str, Any]

    @property
    def grade(self) -> int | None:
        """The grade (None: not rated)."""
        return self.score.grade

    @property
    def unverified(self) -> bool:
        """The scoring constants or the weights are tagged [S] or [U]."""
        return self.scoring_confidence != "V" or self.weights_confidence != "V"


@dataclass(frozen=True)
class Gap:
    """A criterion that blocks the next level: what failed, by how much, what evidence is missing."""

    criterion: str
    level: str
    type: str
    text: str
    result: Outcome
    value: Any
    threshold: Mapping[str, Any]
    distance: float | None
    shortfall: str
    missing_evidence: tuple[str, ...]
    unverified: bool


@dataclass(frozen=True)
class TargetInfo:
    """A roadmap target with the criteria it stands for."""

    id: str
    what: str
    current: float
    cap: float
    weight: float
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class PlannedAction:
    """An improvement action as the roadmap shows it."""

    id: str
    name: str
    cost_cny: int
    cost_range_cny: tuple[int, int]
    cost_class: str
    cost_source: str
    cost_confidence: str
    effort_months: float
    prerequisites: tuple[str, ...]
    gains: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RankedOption:
    """One action with everything it needs first, and its gain per yuan."""

    action: str
    actions: tuple[str, ...]
    cost_cny: int
    gain: float
    gain_per_million_cny: float
    effort_months: float
    gains: Mapping[str, float]


@dataclass(frozen=True)
class BudgetPlan:
    """The set of actions with the most gain within a budget."""

    budget_cny: int
    actions: tuple[str, ...]
    cost_cny: int
    gain: float
    optimal: bool
    effort_months: float
    gains: Mapping[str, float]
    targets_met: tuple[str, ...]
    criteria_met: tuple[str, ...]


@dataclass(frozen=True)
class Roadmap:
    """The path to the next level: targets, actions ranked by gain per yuan, and the budget plan."""

    next_level: str | None
    gain_unit: str
    targets: tuple[TargetInfo, ...]
    ranked: tuple[RankedOption, ...]
    actions: Mapping[str, PlannedAction]
    done: tuple[str, ...]
    budget: BudgetPlan | None
    uncovered: tuple[str, ...]
    cost_note: str


@dataclass(frozen=True)
class Assessment:
    """A whole assessment: the level reached, every criterion, the CMMM grade, gaps and roadmap."""

    framework: str
    framework_title: str
    layers: tuple[str, ...]
    cmmm_framework: str
    scenario_catalogue: str
    lang: str
    generated_at: datetime
    plant_id: str | None
    industry: str
    industry_from: str
    answers_file: str
    allow_missing: bool
    missing: tuple[str, ...]
    level: str | None
    level_name: str | None
    next_level: str | None
    next_level_name: str | None
    levels: tuple[LevelResult, ...]
    criteria: tuple[CriterionResult, ...]
    cmmm: CmmmResult
    scenarios: ScenarioSummary
    live: Mapping[str, Evidence]
    gaps: tuple[Gap, ...]
    roadmap: Roadmap
    notices: tuple[str, ...] = ()

    def criterion(self, criterion_id: str) -> CriterionResult:
        """One criterion's result by id."""
        return with_id(self.criteria, criterion_id)

    @property
    def unverified(self) -> tuple[str, ...]:
        """Criteria whose result rests on a threshold tagged [S] or [U]."""
        return tuple(c.id for c in self.criteria if c.unverified)

    @property
    def level_unverified(self) -> tuple[str, ...]:
        """Unverified criteria that decide the level reached: those of the reached rungs and the next."""
        decisive = {lv.id for lv in self.levels if lv.passed} | (
            {self.next_level} if self.next_level else set()
        )
        return tuple(c.id for c in self.criteria if c.unverified and c.level in decisive)

    @property
    def disagreements(self) -> tuple[str, ...]:
        """Criteria where live data and the declared answer disagree."""
        return tuple(c.id for c in self.criteria if c.disagreement is not None)


# --- JSON -----------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-ready copy: dataclasses and models as dicts, tuples as lists, times as ISO text."""
    if isinstance(value, BaseModel):
        return plain(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return [plain(v) for v in items]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    """A live metric as JSON."""
    out: dict[str, Any] = plain(evidence)
    out["period"] = [p.isoformat() for p in evidence.period] if evidence.period else None
    return out


def to_json(assessment: Assessment) -> dict[str, Any]:
    """The JSON report, schema ``smartfactory.assessment/1`` (see the module docstring for the keys)."""
    a = assessment
    label = UNVERIFIED_LABEL[resolve_language(a.lang)]
    criteria = []
    for c in a.criteria:
        item = plain(c)
        item["unverified_label"] = label if c.unverified else None
        item["provenance"] = _criterion_provenance(c)
        criteria.append(item)
    cmmm = a.cmmm
    score = cmmm.score
    return {
        "schema": SCHEMA,
        "generated_at": a.generated_at.isoformat(),
        "lang": a.lang,
        "notices": list(a.notices),
        "framework": {
            "id": a.framework,
            "title": a.framework_title,
            "edition": a.framework.split("/")[1],
            "jurisdiction": a.framework.split("/")[2],
            "layers": list(a.layers),
            "cmmm": a.cmmm_framework,
            "scenarios": a.scenario_catalogue,
        },
        "plant": {"id": a.plant_id} if a.plant_id else None,
        "industry": {"value": a.industry, "from": a.industry_from},
        "answers": {
            "file": a.answers_file,
            "allow_missing": a.allow_missing,
            "missing": list(a.missing),
            "missing_scored_as": 0 if a.missing else None,
        },
        "level": {
            "reached": a.level,
            "name": a.level_name,
            "next": a.next_level,
            "next_name": a.next_level_name,
            "unverified": bool(a.level_unverified),
            "unverified_criteria": list(a.level_unverified),
            "unverified_label": label if a.level_unverified else None,
        },
        "levels": plain(a.levels),
        "criteria": criteria,
        "cmmm": {
            "framework": cmmm.framework,
            "title": cmmm.title,
            "industry": cmmm.industry,
            "grade": score.grade,
            "total": score.total,
            "passed_levels": score.passed_levels,
            "levels": plain(score.levels),
            "not_applicable": list(score.not_applicable),
            "unscored": list(score.unscored),
            "names": dict(cmmm.names),
            "unverified": cmmm.unverified,
            "unverified_label": label if cmmm.unverified else None,
            "scoring_confidence": cmmm.scoring_confidence,
            "weights_confidence": cmmm.weights_confidence,
            "provenance": plain(cmmm.provenance),
        },
        "scenarios": {
            "catalogue": a.scenarios.catalogue,
            "registry_read": a.scenarios.registry_read,
            "in_use": list(a.scenarios.in_use),
            "ai": list(a.scenarios.ai),
            "ai_share": a.scenarios.ai_share,
            "by_stage": dict(a.scenarios.by_stage),
            "by_dimension": dict(a.scenarios.by_dimension),
            "stages_covered": a.scenarios.stages_covered,
            "dimensions_covered": a.scenarios.dimensions_covered,
            "unknown_official": list(a.scenarios.unknown_official),
            "items": plain(a.scenarios.scenarios),
            "live_provenance": plain(a.scenarios.live_provenance),
        },
        "live": {k: evidence_json(v) for k, v in a.live.items()},
        "gaps": plain(a.gaps),
        "roadmap": plain(a.roadmap),
        "unverified": list(a.unverified),
        "disagreements": list(a.disagreements),
    }


def _criterion_provenance(c: CriterionResult) -> dict[str, Any]:
    """Which answers and which live queries a criterion's score comes from."""
    answers = [e.source for e in c.evidence if e.kind == "declared" and e.source]
    live = [{"metric": e.what, **plain(e.provenance)} for e in c.evidence if e.kind == "live"]
    derived = [{"what": e.what, **plain(e.provenance)} for e in c.evidence if e.kind == "derived"]
    return {"answers": answers, "live": live, "derived": derived, "framework_layers": list(c.lineage)}
