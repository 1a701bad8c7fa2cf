"""What one file model cannot check alone: unique ids, known names, existing levels, sound bands."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

from smartfactory.assess.explain import Issue, Loc, locate
from smartfactory.assess.schema import (
    GRADIENT_LEVELS,
    CmmmFile,
    CountThresholdCriterion,
    Criterion,
    GradientFile,
    GradientFramework,
    MetricCatalogue,
    MetricThresholdCriterion,
    PrerequisiteCriterion,
    RelativeBenchmarkCriterion,
    ScenarioCatalogue,
    ScenarioFile,
)


def duplicate_issues(prefix: Loc, ids: Iterable[str], what: str) -> Iterator[Issue]:
    """An issue at ``prefix[i].id`` for every id already used earlier in the list."""
    yield from _duplicates((((*prefix, i, "id"), x) for i, x in enumerate(ids)), what)


def _duplicates(entries: Iterable[tuple[Loc, str]], what: str = "id") -> Iterator[Issue]:
    first: dict[str, Loc] = {}
    for loc, value in entries:
        if value in first:
            yield Issue(
                loc, f"duplicate {what} {value!r}: ids must be unique (first used at {locate(first[value])})"
            )
        else:
            first[value] = loc


def _names(values: Iterable[str]) -> str:
    return ", ".join(values) or "none"


def _unknown(
    loc: Loc, noun: str, name: str, known: Iterable[str], within: str | None = None, plural: str = ""
) -> Issue:
    """``name`` is no ``noun`` (of ``within``) that the files define: the issue lists those they do."""
    of = f" in {within}" if within else ""
    return Issue(loc, f"unknown {noun} {name!r}{of}; {plural or noun + 's'}: {_names(known)}")


def _childless(key: str, ids: Iterable[str], referred: Collection[str], child: str) -> Iterator[Issue]:
    """An issue at ``(key, i, "id")`` for each i-th id that no ``child`` refers to."""
    for i, id_ in enumerate(ids):
        if id_ not in referred:
            yield Issue((key, i, "id"), f"{key} {id_!r} has no {child}")


def _unknown_refs(key: str, field: str, names: Iterable[str], known: Collection[str]) -> Iterator[Issue]:
    """An issue at ``(key, i, field)`` for each i-th name that is no known ``field``."""
    for i, name in enumerate(names):
        if name not in known:
            yield _unknown((key, i, field), field, name, known)


# --- metrics.toml ------------------------------------------------------------------------


def metric_issues(catalogue: MetricCatalogue) -> Iterator[Issue]:
    """Unique ids across metrics, countables and benchmarks; ordered ranges."""
    yield from _duplicates(
        [(("metric", i, "id"), m.id) for i, m in enumerate(catalogue.metrics)]
        + [(("countable", i, "id"), c.id) for i, c in enumerate(catalogue.countables)]
        + [(("benchmark", i, "id"), b.id) for i, b in enumerate(catalogue.benchmarks)]
    )
    for i, m in enumerate(catalogue.metrics):
        if m.range[0] >= m.range[1]:
            yield Issue(("metric", i, "range"), f"range {list(m.range)} must be [low, high] with low < high")


# --- gradient files ----------------------------------------------------------------------


def gradient_head_issues(file: GradientFile, base: GradientFramework | None) -> Iterator[Issue]:
    """A ladder defines levels, judgement scale and catalogue; a variant inherits them."""
    if base is None:
        if file.scenarios is None:
            yield Issue(
                ("scenarios",),
                "required field 'scenarios' is missing: name the scenario catalogue, "
                "e.g. 'scenarios/2024/national'",
            )
        if not file.levels:
            yield Issue(
                ("level",), f"a ladder needs one [[level]] table each for {', '.join(GRADIENT_LEVELS)}"
            )
        if file.judgement is None:
            yield Issue(("judgement",), "required table [judgement] is missing (scale and pass_at)")
        if file.overrides:
            yield Issue(
                ("override", 0),
                "[[override]] changes an inherited criterion: it needs extends = "
                "'<framework id>' at the top of the file",
            )
    else:
        for key, present in (
            ("level", bool(file.levels)),
            ("judgement", file.judgement is not None),
            ("scenarios", file.scenarios is not None),
        ):
            if present:
                yield Issue((key,), f"a variant inherits '{key}' from {base.id}; remove it here")
    if file.levels and tuple(level.id for level in file.levels) != GRADIENT_LEVELS:
        yield Issue(
            ("level",),
            f"the [[level]] tables must be {', '.join(GRADIENT_LEVELS)}, in that order; got "
            + ", ".join(level.id for level in file.levels),
        )
    if file.judgement is not None:
        scale = file.judgement.scale
        if len(set(scale)) != len(scale) or any(not 0 <= v <= 1 for v in scale):
            yield Issue(("judgement", "scale"), f"scale {list(scale)} must hold distinct scores from 0 to 1")
        if file.judgement.pass_at not in scale:
            yield Issue(("judgement", "pass_at"), f"pass_at must be one of the scale's scores {list(scale)}")


@dataclass(frozen=True)
class CriterionContext:
    """What a criterion's names are checked against."""

    metrics: MetricCatalogue
    catalogue: ScenarioCatalogue | None
    # (kind, level names) of the framework a prerequisite names, or None when there is none
    levels_of: Callable[[str], tuple[str, tuple[str, ...]] | None]
    # the ladder being loaded and its bases: a prerequisite names its own ladder by leaving framework out
    own: tuple[str, ...] = ()

    def issues(self, criterion: Criterion) -> Iterator[Issue]:
        """Every name in the criterion that the metrics, catalogue or frameworks do not know."""
        metric_ids = [m.id for m in self.metrics.metrics]
        for j, metric in enumerate(criterion.evidence):
            if metric not in metric_ids:
                yield _unknown(("evidence", j), "metric", metric, metric_ids)
        if isinstance(criterion, MetricThresholdCriterion):
            yield from self._metric(criterion)
        elif isinstance(criterion, CountThresholdCriterion):
            yield from self._count(criterion)
        elif isinstance(criterion, RelativeBenchmarkCriterion):
            known = [b.id for b in self.metrics.benchmarks]
            if criterion.params.benchmark not in known:
                yield _unknown(("params", "benchmark"), "benchmark", criterion.params.benchmark, known)
        elif isinstance(criterion, PrerequisiteCriterion):
            yield from self._prerequisite(criterion)

    def _metric(self, criterion: MetricThresholdCriterion) -> Iterator[Issue]:
        p = criterion.params
        metric = next((m for m in self.metrics.metrics if m.id == p.metric), None)
        if metric is None:
            yield _unknown(("params", "metric"), "metric", p.metric, (m.id for m in self.metrics.metrics))
            return
        if p.unit != metric.unit:
            yield Issue(
                ("params", "unit"), f"unit {p.unit!r} is not the unit of {metric.id}: use {metric.unit!r}"
            )
        if not metric.range[0] <= p.value <= metric.range[1]:
            yield Issue(
                ("params", "value"),
                f"{p.value} is outside the range of {metric.id}: "
                f"{metric.range[0]} to {metric.range[1]} {metric.unit}",
            )

    def _count(self, criterion: CountThresholdCriterion) -> Iterator[Issue]:
        p = criterion.params
        countable = next((c for c in self.metrics.countables if c.id == p.count), None)
        if countable is None:
            yield _unknown(("params", "count"), "countable", p.count, (c.id for c in self.metrics.countables))
        elif (p.stage or p.dimension) and not countable.filterable:
            yield Issue(("params",), f"{p.count} counts over the whole catalogue: remove stage and dimension")
        if self.catalogue is None:
            return
        stages = [s.id for s in self.catalogue.stages]
        if p.stage is not None and p.stage not in stages:
            yield _unknown(("params", "stage"), "stage", p.stage, stages, self.catalogue.id)
        dimensions = [d.id for d in self.catalogue.dimensions]
        if p.dimension is not None and p.dimension not in dimensions:
            yield _unknown(("params", "dimension"), "dimension", p.dimension, dimensions, self.catalogue.id)

    def _prerequisite(self, criterion: PrerequisiteCriterion) -> Iterator[Issue]:
        p = criterion.params
        if p.framework is None:
            lower = GRADIENT_LEVELS[: GRADIENT_LEVELS.index(criterion.level)]
            if p.level is not None and p.level not in lower:
                yield Issue(
                    ("params", "level"),
                    f"a criterion of level {criterion.level} can only require a lower level of its own "
                    f"ladder: {_names(lower)}",
                )
            return
        if p.framework in self.own:
            yield Issue(("params", "framework"), "leave framework out to require a level of this ladder")
            return
        target = self.levels_of(p.framework)
        if target is None:
            yield Issue(("params", "framework"), f"unknown framework {p.framework!r}")
            return
        kind, levels = target
        if kind == "cmmm":
            if p.cmmm_min is None:
                yield Issue(
                    ("params",), f"a prerequisite on {p.framework} takes cmmm_min (a grade), not level"
                )
            elif str(p.cmmm_min) not in levels:
                yield Issue(
                    ("params", "cmmm_min"), f"{p.framework} has grades {_names(levels)}; got {p.cmmm_min}"
                )
        elif kind == "gradient":
            if p.level is None:
                yield Issue(("params",), f"a prerequisite on {p.framework} takes level, not cmmm_min")
        else:
            yield Issue(
                ("params", "framework"),
                f"{p.framework} is a {kind} framework; prerequisites name a gradient or cmmm framework",
            )


# --- CMMM files --------------------------------------------------------------------------


def cmmm_issues(file: CmmmFile) -> Iterator[Issue]:
    """The tree hangs together, weights cover every industry type, requirements and bands fit the levels."""
    count = len(file.levels)
    numbers = [level.no for level in file.levels]
    if numbers != list(range(1, count + 1)):
        yield Issue(("level",), f"levels must be numbered 1 to {count} in order; got {numbers}")
    yield from duplicate_issues(("factor",), [f.id for f in file.factors], "factor id")
    yield from duplicate_issues(("domain",), [d.id for d in file.domains], "domain id")
    yield from duplicate_issues(("subdomain",), [s.id for s in file.subdomains], "sub-domain id")
    yield from _duplicates((("subdomain", i, "code"), s.code) for i, s in enumerate(file.subdomains))
    yield from _duplicates(
        (("subdomain", i, "requirement", j, "id"), r.id)
        for i, s in enumerate(file.subdomains)
        for j, r in enumerate(s.requirements)
    )
    factors = [f.id for f in file.factors]
    domains = [d.id for d in file.domains]
    yield from _unknown_refs("domain", "factor", [d.factor for d in file.domains], factors)
    yield from _unknown_refs("subdomain", "domain", [s.domain for s in file.subdomains], domains)
    yield from _childless("factor", factors, {d.factor for d in file.domains}, "domain")
    yield from _childless("domain", domains, {s.domain for s in file.subdomains}, "sub-domain")
    industries = set(file.scoring.industries)
    nodes = [("factor", file.factors), ("domain", file.domains), ("subdomain", file.subdomains)]
    for key, items in nodes:
        for i, node in enumerate(items):
            if set(node.weight) != industries:
                yield Issue(
                    (key, i, "weight"),
                    f"give one weight for each industry type {sorted(industries)}; got {sorted(node.weight)}",
                )
    used: set[int] = set()
    for i, s in enumerate(file.subdomains):
        for j, r in enumerate(s.requirements):
            used.add(r.level)
            prefix = f"CM-{s.code}-L{r.level}-"
            if not r.id.startswith(prefix):
                yield Issue(
                    ("subdomain", i, "requirement", j, "id"),
                    f"{r.id!r} must start with {prefix!r} (sub-domain code {s.code}, level {r.level})",
                )
            if r.level > count:
                yield Issue(
                    ("subdomain", i, "requirement", j, "level"),
                    f"level {r.level} does not exist; levels are 1 to {count}",
                )
    for k, level in enumerate(file.levels):
        if level.no not in used:
            yield Issue(("level", k), f"level {level.no} has no requirement in any sub-domain")
    yield from _scoring_issues(file, count)


def _scoring_issues(file: CmmmFile, count: int) -> Iterator[Issue]:
    scoring = file.scoring
    values = [v.value for v in scoring.values]
    if len(set(values)) != len(values):
        yield Issue(("scoring", "value"), f"the requirement scores {values} must be distinct")
    if scoring.pass_threshold > max(values):
        yield Issue(("scoring", "pass_threshold"), f"pass_threshold is above the best score {max(values)}")
    grades = [b.grade for b in scoring.bands]
    if grades != list(range(1, count + 1)):
        yield Issue(
            ("scoring", "band"), f"give one band per level, grades 1 to {count} in order; got {grades}"
        )
    for k, band in enumerate(scoring.bands):
        if band.min >= band.max:
            yield Issue(
                ("scoring", "band", k, "max"), f"band {band.grade}: max {band.max} must exceed min {band.min}"
            )
        if k + 1 < len(scoring.bands) and band.max != scoring.bands[k + 1].min:
            yield Issue(
                ("scoring", "band", k, "max"),
                f"band {band.grade} ends at {band.max} but band "
                f"{scoring.bands[k + 1].grade} starts at {scoring.bands[k + 1].min}: bands must join",
            )
    if scoring.bands and scoring.bands[-1].max != count * max(values):
        yield Issue(
            ("scoring", "band", len(scoring.bands) - 1, "max"),
            f"the last band must end at the "
            f"highest total score {count * max(values)} ({count} levels × {max(values)})",
        )


# --- scenario catalogues -----------------------------------------------------------------


def scenario_issues(file: ScenarioFile) -> Iterator[Issue]:
    """Unique ids and numbers; every stage, system and signal kind a scenario names exists."""
    numbered: list[tuple[str, list[tuple[str, int]]]] = [
        ("dimension", [(d.id, d.no) for d in file.dimensions]),
        ("stage", [(s.id, s.no) for s in file.stages]),
        ("scenario", [(s.id, s.no) for s in file.scenarios]),
    ]
    for key, items in numbered:
        yield from duplicate_issues((key,), [x for x, _ in items], f"{key} id")
        yield from _duplicates(
            (((key, i, "no"), str(no)) for i, (_, no) in enumerate(items)), f"{key} number"
        )
    yield from duplicate_issues(("system",), [s.id for s in file.systems], "system id")
    yield from duplicate_issues(("signal_kind",), [k.id for k in file.signal_kinds], "signal kind")
    dimensions = [d.id for d in file.dimensions]
    stages = [s.id for s in file.stages]
    systems = [s.id for s in file.systems]
    kinds = {k.id: k for k in file.signal_kinds}
    yield from _unknown_refs("stage", "dimension", [s.dimension for s in file.stages], dimensions)
    for i, s in enumerate(file.scenarios):
        if s.stage not in stages:
            yield _unknown(("scenario", i, "stage"), "stage", s.stage, stages)
        for j, system in enumerate(s.typical_systems):
            if system not in systems:
                yield _unknown(("scenario", i, "typical_systems", j), "system", system, systems)
        for j, signal in enumerate(s.data_signals):
            kind, _, what = signal.partition(":")
            if kind not in kinds:
                yield _unknown(("scenario", i, "data_signals", j), "signal kind", kind, kinds, plural="kinds")
            elif kinds[kind].qualified != bool(what):
                form = f"'{kind}:<what>'" if kinds[kind].qualified else f"'{kind}' alone"
                yield Issue(("scenario", i, "data_signals", j), f"{signal!r}: write {form}")
    yield from _childless("dimension", dimensions, {s.dimension for s in file.stages}, "stage")
    yield from _childless("stage", stages, {s.stage for s in file.scenarios}, "scenario")
