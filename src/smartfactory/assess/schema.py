"""What the framework files hold: the gradient ladder, the CMMM tree, the scenario catalogue, metrics.

Every record carries its source and a confidence tag (V verified, S secondary, U unverified, as in
the research notes), so a result built on a [U] threshold can say so. The file models reject fields
they do not know; the loader in ``framework`` adds the cross-references a single model cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from smartfactory.model.errors import UserError
from smartfactory.model.text import Text as Text  # the framework files' bilingual texts

Confidence = Literal["V", "S", "U"]
GradientLevel = Literal["basic", "advanced", "excellent", "leading"]
GRADIENT_LEVELS: tuple[GradientLevel, ...] = ("basic", "advanced", "excellent", "leading")
Comparator = Literal[">=", ">", "<=", "<", "=="]

# the patterns double as keys of the loader's plain-words explanations
SLUG = r"^[a-z][a-z0-9_]{0,63}$"
FRAMEWORK_ID = r"^[a-z][a-z0-9_]*/[0-9]{4}/[a-z][a-z0-9_]*$"
CRITERION_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"
REQUIREMENT_ID = r"^CM-[A-Z][A-Z0-9]*-L[1-9]-[1-9][0-9]*$"
CODE = r"^[A-Z][A-Z0-9]{0,15}$"
SYSTEM_ID = r"^[A-Z][A-Za-z0-9]{1,15}$"
URL = r"^https?://\S+$"
DATA_SIGNAL = r"^[a-z][a-z_]*(:[a-z0-9][a-z0-9_]*)?$"

Slug = Annotated[str, Field(pattern=SLUG)]


class Identified(Protocol):
    """Anything with an id: framework entries, actions, results."""

    @property
    def id(self) -> str: ...


_Item = TypeVar("_Item", bound=Identified)


def with_id(items: Iterable[_Item], item_id: str) -> _Item:
    """The item whose id is ``item_id``; KeyError when there is none."""
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)


def known_id(items: Sequence[_Item], item_id: str, noun: str, within: str = "") -> _Item:
    """The item whose id is ``item_id``, or a user error naming the known ones (of ``within``)."""
    try:
        return with_id(items, item_id)
    except KeyError:
        where = f" in {within}" if within else ""
        known = ", ".join(item.id for item in items)
        raise UserError(f"unknown {noun} {item_id!r}{where}; known: {known}") from None


FrameworkId = Annotated[str, Field(pattern=FRAMEWORK_ID)]
CriterionId = Annotated[str, Field(pattern=CRITERION_ID)]
Weight = Annotated[float, Field(gt=0)]


class Strict(BaseModel):
    """Every framework table rejects fields it does not know and cannot be changed once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(Strict):
    """Where a record comes from: a public URL and the clause or passage that says it."""

    url: str = Field(pattern=URL)
    clause: str = Field(min_length=1)


class Sourced(Strict):
    """A record with its provenance."""

    source: Source
    confidence: Confidence
    note: Text | None = None


# --- metrics.toml ------------------------------------------------------------------------


class Metric(Strict):
    """A measurable quantity a criterion may set a threshold on or cite as evidence."""

    id: Slug
    name: Text
    unit: str = Field(min_length=1)
    range: tuple[float, float]
    live: bool
    how: Text
    kpi: Slug | None = None


class Countable(Strict):
    """Something a count threshold counts, such as the scenarios in use."""

    id: Slug
    name: Text
    filterable: bool


class Benchmark(Strict):
    """A comparison group a reviewer judges the factory against."""

    id: Slug
    name: Text


class MetricCatalogue(Strict):
    """The metrics, countables and benchmarks of frameworks/metrics.toml."""

    schema_: Literal["smartfactory.metrics/1"] = Field(alias="schema")
    metrics: tuple[Metric, ...] = Field(alias="metric")
    countables: tuple[Countable, ...] = Field(alias="countable")
    benchmarks: tuple[Benchmark, ...] = Field(alias="benchmark")

    def metric(self, metric_id: str) -> Metric:
        """A metric by id, or a user error naming the known ones."""
        return known_id(self.metrics, metric_id, "metric")


# --- gradient criteria -------------------------------------------------------------------


class _Criterion(Sourced):
    """What every gradient criterion has, whatever its type."""

    answered_by_factory: ClassVar[bool] = False

    id: CriterionId
    level: GradientLevel
    text: Text
    question: Text | None = None
    evidence: tuple[Slug, ...] = ()

    @model_validator(mode="after")
    def _asks_when_answered(self) -> _Criterion:
        if self.answered_by_factory and self.question is None:
            raise ValueError("this criterion is answered by the factory: give a question = { zh, en }")
        return self


class GateCriterion(_Criterion):
    """A yes/no condition the factory declares (above designated size, no major accident, ...)."""

    answered_by_factory: ClassVar[bool] = True
    type: Literal["gate"]


class PrerequisiteParams(Strict):
    """A level the factory must already hold: of this ladder, another ladder, or a CMMM grade."""

    framework: FrameworkId | None = None
    level: GradientLevel | None = None
    cmmm_min: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> PrerequisiteParams:
        if (self.level is None) == (self.cmmm_min is None):
            raise ValueError("give exactly one of level (a gradient level) or cmmm_min (a CMMM grade)")
        if self.cmmm_min is not None and self.framework is None:
            raise ValueError("cmmm_min needs framework = the CMMM framework id, e.g. 'cmmm/2020/national'")
        return self


class PrerequisiteCriterion(_Criterion):
    """Holds a lower level of this ladder, or a minimum CMMM grade."""

    type: Literal["prerequisite_level"]
    params: PrerequisiteParams


class MetricParams(Strict):
    """A metric compared with a value, in the metric's unit."""

    metric: Slug
    comparator: Comparator
    value: float
    unit: str = Field(min_length=1)


class MetricThresholdCriterion(_Criterion):
    """A metric (networking rate, AI-scenario share, ...) against a threshold."""

    type: Literal["metric_threshold"]
    params: MetricParams


class CountParams(Strict):
    """A minimum count, overall or within one stage or one dimension of the scenario catalogue."""

    count: Slug
    min: int = Field(ge=0)
    stage: Slug | None = None
    dimension: Slug | None = None

    @model_validator(mode="after")
    def _one_filter(self) -> CountParams:
        if self.stage is not None and self.dimension is not None:
            raise ValueError("give at most one of stage and dimension")
        return self


class CountThresholdCriterion(_Criterion):
    """A minimum number of scenarios in use (overall, per stage or per dimension)."""

    type: Literal["count_threshold"]
    params: CountParams


class BenchmarkParams(Strict):
    """The comparison group."""

    benchmark: Slug


class RelativeBenchmarkCriterion(_Criterion):
    """Standing against a group (provincial average, national leaders, ...): a reviewer's input."""

    answered_by_factory: ClassVar[bool] = True
    type: Literal["relative_benchmark"]
    params: BenchmarkParams


class JudgementCriterion(_Criterion):
    """A statement judged on the framework's judgement scale (0 / 0.5 / 0.8 / 1)."""

    answered_by_factory: ClassVar[bool] = True
    type: Literal["judgement"]


Criterion = Annotated[
    GateCriterion
    | PrerequisiteCriterion
    | MetricThresholdCriterion
    | CountThresholdCriterion
    | RelativeBenchmarkCriterion
    | JudgementCriterion,
    Field(discriminator="type"),
]
CRITERION_TYPES = (
    "gate",
    "prerequisite_level",
    "metric_threshold",
    "count_threshold",
    "relative_benchmark",
    "judgement",
)


class CriterionOverride(Strict):
    """A variant's change to an inherited criterion; it must say where the change comes from."""

    id: CriterionId
    source: Source
    confidence: Confidence
    params: dict[str, Any] | None = None
    text: Text | None = None
    question: Text | None = None
    evidence: tuple[Slug, ...] | None = None
    note: Text | None = None


class LevelInfo(Sourced):
    """One rung of the gradient ladder: its name, focus and who assesses it."""

    id: GradientLevel
    name: Text
    focus: Text
    assessed_by: Text


class JudgementScale(Sourced):
    """The scores a judgement may get and the score that counts as met."""

    scale: tuple[float, ...] = Field(min_length=2)
    pass_at: float = Field(ge=0, le=1)


class _Head(Sourced):
    """What every framework file starts with."""

    schema_: Literal["smartfactory.framework/1"] = Field(alias="schema")
    title: Text


class GradientFile(_Head):
    """A gradient file: a full ladder, or a variant that ``extends`` one."""

    extends: FrameworkId | None = None
    scenarios: FrameworkId | None = None
    levels: tuple[LevelInfo, ...] = Field(default=(), alias="level")
    judgement: JudgementScale | None = None
    criteria: tuple[Criterion, ...] = Field(default=(), alias="criterion")
    overrides: tuple[CriterionOverride, ...] = Field(default=(), alias="override")


class GradientFramework(Sourced):
    """A gradient ladder with its variant layers applied."""

    kind: Literal["gradient"] = "gradient"
    id: FrameworkId
    title: Text
    extends: FrameworkId | None
    layers: tuple[FrameworkId, ...]
    scenarios: FrameworkId
    levels: tuple[LevelInfo, ...]
    judgement: JudgementScale
    criteria: tuple[Criterion, ...]
    lineage: dict[str, tuple[FrameworkId, ...]]

    def criterion(self, criterion_id: str) -> Criterion:
        """A criterion by id, or a user error naming the known ones."""
        return known_id(self.criteria, criterion_id, "criterion", self.id)

    def at_level(self, level: GradientLevel) -> tuple[Criterion, ...]:
        """The criteria of one level, in file order."""
        return tuple(c for c in self.criteria if c.level == level)


# --- CMMM (GB/T 39116 tree, GB/T 39117 scoring) ------------------------------------------


class CmmmLevel(Sourced):
    """One of the five maturity levels."""

    no: int = Field(ge=1, le=9)
    name: Text
    gist: Text


class Requirement(Strict):
    """One requirement of a sub-domain at one level, judged 0 / 0.5 / 0.8 / 1."""

    id: str = Field(pattern=REQUIREMENT_ID)
    level: int = Field(ge=1, le=9)
    text: Text
    confidence: Confidence


class _Node(Strict):
    """A factor, domain or sub-domain: a name and a weight per industry type."""

    id: Slug
    name: Text
    weight: dict[Slug, Weight]
    confidence: Confidence
    note: Text | None = None


class Factor(_Node):
    """A capability factor (能力要素): people, technology, resources, manufacturing."""


class Domain(_Node):
    """A capability domain (能力域) within a factor."""

    factor: Slug


class Subdomain(_Node):
    """A capability sub-domain (能力子域): the unit that holds requirements and may be tailored."""

    domain: Slug
    code: str = Field(pattern=CODE)
    tailorable: bool
    requirements: tuple[Requirement, ...] = Field(alias="requirement")


class ScoreValue(Strict):
    """One allowed requirement score and what it means."""

    value: float = Field(ge=0, le=1)
    name: Text


class Band(Strict):
    """A grade and the range of the total score S that gives it (min inclusive)."""

    grade: int = Field(ge=1, le=9)
    min: float = Field(ge=0)
    max: float = Field(gt=0)


class CmmmScoring(Sourced):
    """The GB/T 39117 scoring constants."""

    industries: tuple[Slug, ...] = Field(min_length=1)
    pass_threshold: float = Field(gt=0, le=1)
    values: tuple[ScoreValue, ...] = Field(alias="value", min_length=2)
    bands: tuple[Band, ...] = Field(alias="band", min_length=1)
    weights_confidence: Confidence
    weights_note: Text


class CmmmFile(_Head):
    """A CMMM file: levels, factor → domain → sub-domain → requirements, and scoring."""

    levels: tuple[CmmmLevel, ...] = Field(alias="level", min_length=1)
    factors: tuple[Factor, ...] = Field(alias="factor", min_length=1)
    domains: tuple[Domain, ...] = Field(alias="domain", min_length=1)
    subdomains: tuple[Subdomain, ...] = Field(alias="subdomain", min_length=1)
    scoring: CmmmScoring


class CmmmFramework(CmmmFile):
    """A loaded CMMM framework."""

    kind: Literal["cmmm"] = "cmmm"
    id: FrameworkId

    def subdomain(self, subdomain_id: str) -> Subdomain:
        """A sub-domain by id, or a user error naming the known ones."""
        return known_id(self.subdomains, subdomain_id, "sub-domain", self.id)

    def requirement_ids(self) -> tuple[str, ...]:
        """Every requirement id, sub-domain by sub-domain."""
        return tuple(r.id for s in self.subdomains for r in s.requirements)


# --- the typical-scenario catalogue ------------------------------------------------------


class ElementDimension(Sourced):
    """One of the five 要素条件 scenario-construction dimensions."""

    id: Slug
    no: int = Field(ge=1)
    name: Text


class Stage(Strict):
    """A stage (环节) of the scenario guide and the 要素条件 dimension it counts towards."""

    id: Slug
    no: int = Field(ge=1)
    name: Text
    dimension: Slug
    confidence: Confidence
    note: Text | None = None


class System(Strict):
    """An enterprise or shop-floor system a scenario typically runs on."""

    id: str = Field(pattern=SYSTEM_ID)
    name: Text


class SignalKind(Strict):
    """A kind of data that shows a scenario in use; qualified kinds take ``kind:what``."""

    id: Slug
    name: Text
    qualified: bool


class Scenario(Strict):
    """A typical smart-manufacturing scenario (典型场景)."""

    id: Slug
    no: int = Field(ge=1)
    stage: Slug
    name: Text
    description: Text
    ai_capable: bool
    typical_systems: tuple[str, ...] = Field(min_length=1)
    data_signals: tuple[Annotated[str, Field(pattern=DATA_SIGNAL)], ...] = Field(min_length=1)
    confidence: Confidence
    source: Source | None = None
    note: Text | None = None


class ScenarioFile(_Head):
    """A scenario catalogue: dimensions, stages, systems, signal kinds and scenarios."""

    annotations: Text
    dimensions: tuple[ElementDimension, ...] = Field(alias="dimension", min_length=1)
    stages: tuple[Stage, ...] = Field(alias="stage", min_length=1)
    systems: tuple[System, ...] = Field(alias="system", min_length=1)
    signal_kinds: tuple[SignalKind, ...] = Field(alias="signal_kind", min_length=1)
    scenarios: tuple[Scenario, ...] = Field(alias="scenario", min_length=1)


class ScenarioCatalogue(ScenarioFile):
    """A loaded scenario catalogue."""

    kind: Literal["scenarios"] = "scenarios"
    id: FrameworkId

    def scenario(self, scenario_id: str) -> Scenario:
        """A scenario by id, or a user error naming the known ones."""
        return known_id(self.scenarios, scenario_id, "scenario", self.id)

    def dimension_of(self, scenario_id: str) -> str:
        """The 要素条件 dimension a scenario counts towards, through its stage."""
        stage = self.scenario(scenario_id).stage
        return next(s.dimension for s in self.stages if s.id == stage)


Framework = Annotated[GradientFramework | CmmmFramework | ScenarioCatalogue, Field(discriminator="kind")]
FILE_MODELS: dict[str, type[Strict]] = {"gradient": GradientFile, "cmmm": CmmmFile, "scenarios": ScenarioFile}
