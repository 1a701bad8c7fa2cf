"""Judge a ladder's criteria on declared answers and live evidence, and find the level reached.

Per criterion type:

- ``gate`` and ``relative_benchmark``: the factory's yes / no;
- ``judgement``: the factory's score on the ladder's scale, met at ``pass_at``;
- ``metric_threshold``: the live measurement when there is one, else the declared value ("live
  wins"); both are shown, and a gap wider than the tolerance of ``actions/tolerances.toml`` is
  flagged as a disagreement. ``ai_scenario_share`` follows from the scenarios in use;
- ``count_threshold``: scenarios in use (overall, per stage or per 要素条件 dimension), stages or
  dimensions covered. A scenario is in use when the factory declares it built or the scenario
  registry shows a finished run of it in the window; it uses AI when declared or when a run did.
  The registry only knows smartfactory's own scenario runs, so a declared scenario without runs
  is not contradicted; a run of a scenario declared not built (or not AI) is a disagreement;
- ``prerequisite_level``: a lower rung of this ladder (or of a layer it extends) reached, or a
  minimum CMMM grade.

A rung is reached when every criterion of it passes and the rung below is reached; a rung with no
criteria in the framework is never reached. A result is ``unknown`` when nothing answers it
(a metric declared ``unknown`` that no live data measures); unknown does not pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from smartfactory.assess.answers import DERIVED_METRICS, UNKNOWN, Answer, Answers, Frameworks
from smartfactory.assess.evidence import AI_SCENARIO_SHARE, NO_REGISTRY, SCENARIOS_IN_USE, Evidence
from smartfactory.assess.result import (
    CmmmResult,
    CriterionResult,
    Disagreement,
    EvidenceItem,
    LevelResult,
    Outcome,
    ScenarioSummary,
    ScenarioUse,
)
from smartfactory.assess.schema import (
    CountThresholdCriterion,
    Criterion,
    GateCriterion,
    JudgementCriterion,
    MetricParams,
    MetricThresholdCriterion,
    PrerequisiteCriterion,
    RelativeBenchmarkCriterion,
)
from smartfactory.assess.scoring import Industry, score_cmmm
from smartfactory.assess.shipped import shipped_toml
from smartfactory.model.errors import UserError
from smartfactory.model.text import choose

_PROVENANCE_KEYS = ("plant_id", "store", "registry", "window", "query", "kpi_call", "call", "rule", "source")


def _t(lang: str, en: str, zh: str) -> str:
    return choose(lang, en, zh)


# --- tolerances ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """How far a declared value may be from the live one; where that figure comes from."""

    absolute: float
    source: str
    confidence: str


@cache
def load_tolerances() -> tuple[Tolerance, dict[str, Tolerance]]:
    """The default tolerance and the per-metric ones of ``actions/tolerances.toml``."""
    raw = shipped_toml("actions/tolerances.toml", "smartfactory.tolerances/1")

    def one(item: Mapping[str, Any]) -> Tolerance:
        return Tolerance(float(item["absolute"]), str(item["source"]), str(item["confidence"]))

    return one(raw["default"]), {str(m["id"]): one(m) for m in raw.get("metric", [])}


def tolerance_of(metric: str) -> Tolerance:
    """The tolerance for one metric (the default when the file names none)."""
    default, per_metric = load_tolerances()
    return per_metric.get(metric, default)


# --- scenarios -------------------------------------------------------------------------------


def summarise_scenarios(
    fw: Frameworks, answers: Answers, live: Mapping[str, Evidence], lang: str = "en"
) -> ScenarioSummary:
    """Every catalogue scenario with its declared and live use; counts per stage and dimension."""
    sc = fw.scenarios
    in_use_ev = live.get(SCENARIOS_IN_USE)
    ai_ev = live.get(AI_SCENARIO_SHARE)
    registry_read = in_use_ev is not None and in_use_ev.why != NO_REGISTRY and in_use_ev.value is not None
    runs_by: dict[str, list[Mapping[str, Any]]] = {}
    ai_by: set[str] = set()
    unknown: list[str] = []
    if registry_read and in_use_ev is not None:
        lookup = {s.id: s.id for s in sc.scenarios}
        lookup |= {f"S{s.no}": s.id for s in sc.scenarios} | {str(s.no): s.id for s in sc.scenarios}
        for official, runs in dict(in_use_ev.provenance.get("in_use", {})).items():
            sid = lookup.get(str(official))
            if sid is None:
                unknown.append(str(official))
                continue
            runs_by.setdefault(sid, []).extend(runs)
        with_ai = ai_ev.provenance.get("with_ai", []) if ai_ev is not None else []
        ai_by = {lookup[str(o)] for o in with_ai if str(o) in lookup}
    dims = {st.id: st.dimension for st in sc.stages}
    items = []
    for s in sc.scenarios:
        declared = answers.scenarios.get(s.id)
        built = declared.built if declared else None
        ai_declared = declared.ai_used if declared else None
        live_in_use = (s.id in runs_by) if registry_read else None
        live_ai = (s.id in ai_by) if registry_read else None
        in_use = bool(built) or bool(live_in_use)
        ai_used = in_use and (bool(ai_declared and built) or bool(live_ai))
        disagreement = None
        if live_in_use and built is False:
            disagreement = _t(
                lang,
                "the registry shows runs of this scenario but the answers say it is not built",
                "场景运行记录显示在用，但答卷填写未建成",
            )
        elif live_ai and built and ai_declared is False:
            disagreement = _t(
                lang,
                "a run of this scenario used AI but the answers say ai_used: no",
                "场景运行使用了 AI，但答卷填写 ai_used: no",
            )
        items.append(
            ScenarioUse(
                id=s.id,
                no=s.no,
                name=s.name.get(lang),
                stage=s.stage,
                dimension=dims[s.stage],
                ai_capable=s.ai_capable,
                declared_built=built,
                declared_ai=ai_declared,
                live_in_use=live_in_use,
                live_ai=live_ai,
                in_use=in_use,
                ai_used=ai_used,
                field=declared.field if declared else f"scenarios_built.{s.stage}.{s.id}",
                line=declared.line if declared else None,
                note=declared.note if declared else None,
                attachments=declared.attachments if declared else (),
                runs=tuple(runs_by.get(s.id, [])),
                disagreement=disagreement,
            )
        )
    by_stage = {st.id: sum(1 for i in items if i.in_use and i.stage == st.id) for st in sc.stages}
    by_dim = {d.id: sum(1 for i in items if i.in_use and i.dimension == d.id) for d in sc.dimensions}
    provenance: dict[str, Any] = {}
    if in_use_ev is not None:
        provenance = {k: v for k, v in in_use_ev.provenance.items() if k in _PROVENANCE_KEYS}
        if in_use_ev.why:
            provenance["why"] = in_use_ev.why
    return ScenarioSummary(sc.id, registry_read, tuple(items), by_stage, by_dim, tuple(unknown), provenance)


# --- CMMM ------------------------------------------------------------------------------------


def score_cmmm_part(
    fw: Frameworks, answers: Answers, industry: Industry, industry_from: str, lang: str
) -> CmmmResult:
    """The CMMM grade and scores from the answers' requirement scores, with names and provenance."""
    cm = fw.cmmm
    scores = answers.requirement_scores()
    result = score_cmmm(cm, scores, industry, answers.not_applicable)
    names = {f.id: f.name.get(lang) for f in cm.factors}
    names |= {d.id: d.name.get(lang) for d in cm.domains}
    names |= {s.id: s.name.get(lang) for s in cm.subdomains}
    lines = {r: f"{answers.source}:{a.line}" if a.line else answers.source for r, a in answers.cmmm.items()}
    provenance = {
        "answers": answers.source,
        "section": "cmmm_requirements",
        "requirements_answered": len(scores),
        "requirement_lines": {r: lines[r] for r in scores},
        "missing_scored_0": [r for r in result.unscored],
        "not_applicable": sorted(answers.not_applicable),
        "industry": industry,
        "industry_from": industry_from,
        "call": f"smartfactory.assess.score_cmmm(load_cmmm({cm.id!r}), requirement_scores, {industry!r}, "
        f"not_applicable={sorted(answers.not_applicable)!r})",
    }
    return CmmmResult(
        framework=cm.id,
        title=cm.title.get(lang),
        industry=industry,
        score=result,
        names=names,
        scoring_confidence=cm.scoring.confidence,
        weights_confidence=cm.scoring.weights_confidence,
        provenance=provenance,
    )


# --- the ladder ------------------------------------------------------------------------------


def evaluate_ladder(
    fw: Frameworks,
    answers: Answers,
    live: Mapping[str, Evidence],
    scenarios: ScenarioSummary,
    cmmm: CmmmResult,
    lang: str = "en",
) -> tuple[tuple[CriterionResult, ...], tuple[LevelResult, ...]]:
    """Every criterion judged, rung by rung from the bottom, and each rung's outcome."""
    judge = _Judge(fw, answers, live, scenarios, cmmm, lang)
    results: list[CriterionResult] = []
    levels: list[LevelResult] = []
    below = True
    for level in fw.gradient.levels:
        mine = [judge.criterion(c) for c in fw.gradient.at_level(level.id)]
        results += mine
        failed = tuple(r.id for r in mine if r.result == "fail")
        unknown = tuple(r.id for r in mine if r.result == "unknown")
        passed = below and bool(mine) and not failed and not unknown
        if not mine:
            why = _t(lang, "the framework has no criteria for this level", "框架未给出本级条件")
        elif not below:
            why = _t(lang, "the level below is not reached", "下一级未达到")
        elif passed:
            why = _t(lang, "every criterion passes", "全部条件满足")
        else:
            why = _t(
                lang,
                f"{len(failed)} failed, {len(unknown)} unknown",
                f"{len(failed)} 项未满足，{len(unknown)} 项未知",
            )
        levels.append(
            LevelResult(
                level.id,
                level.name.get(lang),
                passed,
                tuple(r.id for r in mine),
                failed,
                unknown,
                tuple(r.id for r in mine if r.unverified),
                why,
            )
        )
        judge.reached[level.id] = passed
        below = passed
    return tuple(results), tuple(levels)


def _compare(value: float, comparator: str, threshold: float) -> bool:
    eps = 1e-9
    if comparator == ">=":
        return value >= threshold - eps
    if comparator == ">":
        return value > threshold + eps
    if comparator == "<=":
        return value <= threshold + eps
    if comparator == "<":
        return value < threshold - eps
    return abs(value - threshold) <= eps


def _distance(value: float, comparator: str, threshold: float) -> float:
    if comparator in (">=", ">"):
        return max(0.0, threshold - value)
    if comparator in ("<=", "<"):
        return max(0.0, value - threshold)
    return abs(value - threshold)


def _partial(value: float, comparator: str, threshold: float) -> float:
    """How close a failing value is, from 0 to 1."""
    if comparator in (">=", ">"):
        return max(0.0, min(1.0, value / threshold)) if threshold > 0 else 0.0
    if comparator in ("<=", "<"):
        return max(0.0, min(1.0, threshold / value)) if value > 0 else 0.0
    return 0.0


def _metric_threshold(p: MetricParams) -> dict[str, Any]:
    return {"metric": p.metric, "comparator": p.comparator, "value": p.value, "unit": p.unit}


def _metric_outcome(
    passed: bool,
    value: float,
    p: MetricParams,
    used: str,
    how: str,
    evidence: list[EvidenceItem],
    disagreement: Disagreement | None,
    missing: bool,
) -> _Outcome:
    # a failing metric earns partial credit by how close it is, and says how far it is off
    return _Outcome(
        "pass" if passed else "fail",
        1.0 if passed else _partial(value, p.comparator, p.value),
        value,
        _metric_threshold(p),
        _distance(value, p.comparator, p.value),
        used,
        how,
        tuple(evidence),
        disagreement,
        missing,
    )


def declared_item(
    answer: Answer,
    answers: Answers,
    what: str,
    value: Any = None,
    unit: str | None = None,
    lang: str = "en",
) -> EvidenceItem:
    """A declared answer as evidence, pointing at its line in the answers file."""
    where = f"{answers.source}:{answer.line}" if answer.line else answers.source
    return EvidenceItem(
        kind="declared",
        what=what,
        value=answer.value if value is None else value,
        unit=unit,
        note=answer.note,
        attachments=answer.attachments,
        source=f"{where} {answer.field}",
        why=_t(lang, "missing answer, scored 0", "未作答，按 0 计") if answer.missing else None,
        provenance={"file": answers.source, "line": answer.line, "field": answer.field},
    )


def live_item(evidence: Evidence) -> EvidenceItem:
    """A live metric as evidence, with the queries that produced it."""
    provenance = {k: v for k, v in evidence.provenance.items() if k in _PROVENANCE_KEYS}
    provenance["live_metric"] = f"live.{evidence.metric}"
    if evidence.numerator is not None:
        provenance["numerator"] = evidence.numerator
    if evidence.denominator is not None:
        provenance["denominator"] = evidence.denominator
    return EvidenceItem(
        kind="live",
        what=evidence.metric,
        value=evidence.value,
        unit=evidence.unit,
        source=f"live:{evidence.metric}",
        why=evidence.why,
        provenance=provenance,
    )


@dataclass
class _Judge:
    fw: Frameworks
    answers: Answers
    live: Mapping[str, Evidence]
    scenarios: ScenarioSummary
    cmmm: CmmmResult
    lang: str
    # whether each level judged so far is reached
    reached: dict[str, bool] = field(default_factory=dict)

    def criterion(self, c: Criterion) -> CriterionResult:
        if isinstance(c, GateCriterion | RelativeBenchmarkCriterion):
            out = self._yes_no(c)
        elif isinstance(c, JudgementCriterion):
            out = self._judgement(c)
        elif isinstance(c, MetricThresholdCriterion):
            out = self._scenario_share(c) if c.params.metric in DERIVED_METRICS else self._metric(c)
        elif isinstance(c, CountThresholdCriterion):
            out = self._count(c)
        else:
            out = self._prerequisite(c)
        context = tuple(
            live_item(self.live[m])
            for m in c.evidence
            if m in self.live and not (isinstance(c, MetricThresholdCriterion) and m == c.params.metric)
        )
        reasons = []
        if c.confidence in ("S", "U"):
            reasons.append(
                _t(self.lang, f"the threshold is tagged [{c.confidence}]", f"阈值标记为 [{c.confidence}]")
            )
        if isinstance(c, PrerequisiteCriterion) and c.params.cmmm_min is not None and self.cmmm.unverified:
            reasons.append(
                _t(
                    self.lang,
                    "the CMMM scoring constants and weights are tagged [U]",
                    "CMMM 评分常数与权重标记为 [U]",
                )
            )
        return CriterionResult(
            id=c.id,
            level=c.level,
            type=c.type,
            text=c.text.get(self.lang),
            source_url=c.source.url,
            source_clause=c.source.clause,
            confidence=c.confidence,
            evidence=out.evidence + context,
            unverified=bool(reasons),
            unverified_reasons=tuple(reasons),
            lineage=self.fw.gradient.lineage.get(c.id, ()),
            result=out.result,
            score=out.score,
            value=out.value,
            threshold=out.threshold,
            distance=out.distance,
            used=out.used,
            how=out.how,
            disagreement=out.disagreement,
            missing=out.missing,
        )

    # answered by the factory -------------------------------------------------------------

    def _yes_no(self, c: GateCriterion | RelativeBenchmarkCriterion) -> _Outcome:
        answer = self.answers.criteria.get(c.id) or Answer(None, field=f"criteria.{c.level}.{c.id}")
        value = bool(answer.value) if answer.value is not None else False
        threshold: dict[str, Any] = {"answer": "yes"}
        if isinstance(c, RelativeBenchmarkCriterion):
            threshold["benchmark"] = c.params.benchmark
        how = _t(self.lang, f"declared {'yes' if value else 'no'}", f"申报为{'是' if value else '否'}")
        if answer.missing:
            how = _t(self.lang, "no answer, scored as no", "未作答，按否计")
        return _Outcome(
            "pass" if value else "fail",
            1.0 if value else 0.0,
            value,
            threshold,
            0.0 if value else 1.0,
            "declared",
            how,
            (declared_item(answer, self.answers, "answer", lang=self.lang),),
            missing=answer.missing,
        )

    def _judgement(self, c: JudgementCriterion) -> _Outcome:
        answer = self.answers.criteria.get(c.id) or Answer(None, field=f"criteria.{c.level}.{c.id}")
        pass_at = self.fw.gradient.judgement.pass_at
        value = float(answer.value) if isinstance(answer.value, int | float) else 0.0
        passed = value >= pass_at - 1e-9
        how = _t(self.lang, f"judged {value:g}, passes at {pass_at:g}", f"评分 {value:g}，达标线 {pass_at:g}")
        if answer.missing:
            how = _t(self.lang, "no answer, scored 0", "未作答，按 0 计")
        return _Outcome(
            "pass" if passed else "fail",
            value,
            value,
            {"pass_at": pass_at, "scale": list(self.fw.gradient.judgement.scale)},
            max(0.0, pass_at - value),
            "declared",
            how,
            (declared_item(answer, self.answers, "answer", lang=self.lang),),
            missing=answer.missing,
        )

    # metrics -------------------------------------------------------------------------------

    def _metric(self, c: MetricThresholdCriterion) -> _Outcome:
        p = c.params
        threshold = _metric_threshold(p)
        answer = self.answers.metrics.get(p.metric) or Answer(None, field=f"metrics.{p.metric}")
        evidence: list[EvidenceItem] = [
            declared_item(answer, self.answers, p.metric, unit=p.unit, lang=self.lang)
        ]
        ev = self.live.get(p.metric)
        if ev is not None:
            evidence.append(live_item(ev))
        live_value = ev.value if ev is not None else None
        declared = (
            answer.value
            if isinstance(answer.value, float | int) and not isinstance(answer.value, bool)
            else None
        )
        disagreement = None
        if live_value is not None and declared is not None:
            tol = tolerance_of(p.metric)
            diff = abs(live_value - float(declared))
            if diff > tol.absolute + 1e-9:
                disagreement = Disagreement(
                    what=p.metric,
                    declared=declared,
                    live=live_value,
                    difference=diff,
                    tolerance=tol.absolute,
                    tolerance_source=tol.source,
                    tolerance_confidence=tol.confidence,
                    message=_t(
                        self.lang,
                        f"declared {declared:g} but measured {live_value:.3g} "
                        f"(tolerance {tol.absolute:g}); the live value is used",
                        f"申报 {declared:g}，实测 {live_value:.3g}（允许偏差 {tol.absolute:g}），采用实测值",
                    ),
                )
        missing = False
        if live_value is not None:
            value, used = float(live_value), "live"
        elif declared is not None:
            value, used = float(declared), "declared"
        elif answer.missing:
            value, used, missing = 0.0, "declared", True
        else:
            why = ev.why if ev is not None else _t(self.lang, "no plant given", "未提供工厂模型")
            how = _t(
                self.lang,
                f"declared {UNKNOWN} and not measured live ({why})",
                f"申报为 unknown，且无法实测（{why}）",
            )
            return _Outcome("unknown", 0.0, None, threshold, None, "none", how, tuple(evidence))
        passed = _compare(value, p.comparator, p.value)
        source = {"live": _t(self.lang, "measured", "实测"), "declared": _t(self.lang, "declared", "申报")}[
            used
        ]
        how = f"{source} {value:.3g} {p.comparator} {p.value:g}" + ("" if passed else " ✗")
        if missing:
            how = _t(self.lang, "no answer and no live value, scored 0", "未作答且无实测值，按 0 计")
        return _metric_outcome(passed, value, p, used, how, evidence, disagreement, missing)

    def _scenario_share(self, c: MetricThresholdCriterion) -> _Outcome:
        p = c.params
        s = self.scenarios
        declared_built = [x.id for x in s.scenarios if x.declared_built]
        declared_ai = [x.id for x in s.scenarios if x.declared_built and x.declared_ai]
        evidence = [self._declared_scenarios(declared_built, declared_ai)]
        ev = self.live.get(p.metric)
        if ev is not None:
            evidence.append(live_item(ev))
        value = s.ai_share
        evidence.append(
            EvidenceItem(
                kind="derived",
                what="scenarios",
                value=value,
                unit="ratio",
                source=_t(
                    self.lang,
                    "scenarios in use (declared built or run in the window)",
                    "在用场景（申报已建成或时间窗口内有运行记录）",
                ),
                provenance={"in_use": list(s.in_use), "ai": list(s.ai)},
            )
        )
        disagreement = self._scenario_disagreement([x for x in s.scenarios if x.in_use])
        if value is None:
            how = _t(self.lang, "no scenario in use: the share is 0", "无在用场景，占比按 0 计")
            value = 0.0
        else:
            how = f"{len(s.ai)}/{len(s.in_use)} = {value:.3g} {p.comparator} {p.value:g}"
        passed = _compare(value, p.comparator, p.value)
        how += "" if passed else " ✗"
        missing = any(x.declared_built is None for x in s.scenarios) and self.answers.allow_missing
        return _metric_outcome(passed, value, p, "derived", how, evidence, disagreement, missing)

    def _declared_scenarios(self, built: list[str], ai: list[str]) -> EvidenceItem:
        return EvidenceItem(
            kind="declared",
            what="scenarios_built",
            value={"built": built, "ai_used": ai},
            source=f"{self.answers.source} scenarios_built",
            provenance={"file": self.answers.source, "section": "scenarios_built"},
        )

    def _scenario_disagreement(self, counted: list[ScenarioUse]) -> Disagreement | None:
        clashes = [x for x in counted if x.disagreement]
        if not clashes:
            return None
        tol = tolerance_of(AI_SCENARIO_SHARE)
        return Disagreement(
            what="scenarios",
            declared={x.id: {"built": x.declared_built, "ai_used": x.declared_ai} for x in clashes},
            live={x.id: {"in_use": x.live_in_use, "ai": x.live_ai} for x in clashes},
            difference=None,
            tolerance=None,
            tolerance_source=tol.source,
            tolerance_confidence=tol.confidence,
            message="; ".join(f"{x.id}: {x.disagreement}" for x in clashes),
        )

    def _count(self, c: CountThresholdCriterion) -> _Outcome:
        p = c.params
        s = self.scenarios
        threshold: dict[str, Any] = {"count": p.count, "min": p.min}
        if p.stage:
            threshold["stage"] = p.stage
        if p.dimension:
            threshold["dimension"] = p.dimension
        counted: list[ScenarioUse] = [x for x in s.scenarios if x.in_use]
        if p.count == "scenarios_in_use":
            if p.stage:
                counted = [x for x in counted if x.stage == p.stage]
            if p.dimension:
                counted = [x for x in counted if x.dimension == p.dimension]
            value = len(counted)
            listed: Any = [x.id for x in counted]
        elif p.count == "stages_covered":
            listed = sorted({x.stage for x in counted})
            value = len(listed)
        elif p.count == "dimensions_covered":
            listed = sorted({x.dimension for x in counted})
            value = len(listed)
        else:
            raise UserError(
                f"{c.id}: smartfactory cannot count {p.count!r}; countables: scenarios_in_use, "
                "stages_covered, dimensions_covered"
            )
        evidence = [
            self._declared_scenarios(
                [x.id for x in s.scenarios if x.declared_built],
                [x.id for x in s.scenarios if x.declared_built and x.declared_ai],
            )
        ]
        ev = self.live.get(SCENARIOS_IN_USE)
        if ev is not None:
            evidence.append(live_item(ev))
        evidence.append(
            EvidenceItem(
                kind="derived",
                what=p.count,
                value=value,
                unit="count",
                source=_t(
                    self.lang,
                    "scenarios in use (declared built or run in the window)",
                    "在用场景（申报已建成或时间窗口内有运行记录）",
                ),
                provenance={"counted": listed, **{k: v for k, v in threshold.items() if k != "min"}},
            )
        )
        passed = value >= p.min
        scope = p.stage or p.dimension or _t(self.lang, "all", "全部")
        # names rather than ids for a Chinese reader
        named = (
            self.fw.name_of("stage", p.stage, "zh")
            if p.stage
            else self.fw.name_of("dimension", p.dimension, "zh")
            if p.dimension
            else scope
        )
        how = _t(
            self.lang,
            f"{p.count} ({scope}) = {value} ≥ {p.min}",
            f"{self.fw.name_of('metric', p.count, 'zh')}（{named}）= {value} ≥ {p.min}",
        )
        how += "" if passed else " ✗"
        missing = self.answers.allow_missing and any(x.declared_built is None for x in s.scenarios)
        return _Outcome(
            "pass" if passed else "fail",
            1.0 if p.min == 0 else min(1.0, value / p.min),
            value,
            threshold,
            float(max(0, p.min - value)),
            "derived",
            how,
            tuple(evidence),
            self._scenario_disagreement(counted),
            missing,
        )

    # prerequisites -----------------------------------------------------------------------

    def _prerequisite(self, c: PrerequisiteCriterion) -> _Outcome:
        p = c.params
        g = self.fw.gradient
        if p.cmmm_min is not None:
            score = self.cmmm.score
            grade = score.grade
            band = next((b for b in self.fw.cmmm.scoring.bands if b.grade == p.cmmm_min), None)
            needed = band.min if band else float(p.cmmm_min)
            threshold = {"framework": p.framework, "cmmm_min": p.cmmm_min, "total_needed": needed}
            item = EvidenceItem(
                kind="derived",
                what="cmmm",
                value={"grade": grade, "total": score.total},
                source=f"cmmm ({self.cmmm.framework})",
                provenance=dict(self.cmmm.provenance),
            )
            if p.framework is not None and p.framework != self.fw.cmmm.id:
                how = _t(
                    self.lang,
                    f"the answers score {self.fw.cmmm.id}, not {p.framework}",
                    f"答卷评的是 {self.fw.cmmm.id}，不是 {p.framework}",
                )
                return _Outcome("unknown", 0.0, grade, threshold, None, "none", how, (item,))
            passed = grade is not None and grade >= p.cmmm_min
            shown = "—" if grade is None else str(grade)
            how = _t(
                self.lang,
                f"CMMM grade {shown} (S = {score.total:.2f}) ≥ {p.cmmm_min}",
                f"成熟度等级 {shown}（S = {score.total:.2f}）≥ {p.cmmm_min}",
            ) + ("" if passed else " ✗")
            return _Outcome(
                "pass" if passed else "fail",
                1.0 if passed else min(1.0, score.total / needed),
                grade,
                threshold,
                max(0.0, needed - score.total),
                "derived",
                how,
                (item,),
            )
        level = p.level or ""
        threshold = {"framework": p.framework or g.id, "level": level}
        if p.framework is not None and p.framework not in g.layers:
            how = _t(
                self.lang,
                f"a level of {p.framework} is not judged here: assess against it separately",
                f"{p.framework} 的级别不在此评估，请单独评估",
            )
            return _Outcome("unknown", 0.0, None, threshold, None, "none", how, ())
        passed = self.reached.get(level, False)
        held = [lv for lv, ok in self.reached.items() if ok]
        value = held[-1] if held else None
        item = EvidenceItem(
            kind="derived",
            what="level",
            value=value,
            source=f"levels of {g.id}",
            provenance={"reached": dict(self.reached)},
        )
        how = _t(
            self.lang,
            f"level {level} {'reached' if passed else 'not reached'}",
            f"{self.fw.name_of('level', level, 'zh')}{'已达到' if passed else '未达到'}",
        )
        return _Outcome(
            "pass" if passed else "fail",
            1.0 if passed else 0.0,
            value,
            threshold,
            None if passed else 1.0,
            "derived",
            how,
            (item,),
        )


@dataclass(frozen=True)
class _Outcome:
    result: Outcome
    score: float
    value: Any
    threshold: Mapping[str, Any]
    distance: float | None
    used: Any
    how: str
    evidence: tuple[EvidenceItem, ...]
    disagreement: Disagreement | None = None
    missing: bool = False

    def __post_init__(self) -> None:
        if not (0.0 <= self.score <= 1.0) or (isinstance(self.score, float) and math.isnan(self.score)):
            raise ValueError(f"score {self.score} outside 0..1")
