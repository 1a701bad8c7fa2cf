"""The blocking gaps to the next level, and the roadmap targets they become.

A gap is a criterion of the next level (or below) that does not pass: what failed, by how much,
and what evidence is missing. Each gap becomes a ``roadmap.Target`` whose gain unit is "one
blocking criterion closed":

- a gate, benchmark or judgement: ``criterion:<id>``, from its score to 1 (judgements: to the
  pass mark), weight 1 / room;
- a metric threshold: ``metric:<metric>``, from the value used to the highest failing threshold
  on that metric, weight (criteria on it) / room;
- the AI share: ``ai_scenarios``, the number of AI scenarios in use, up to the share times the
  scenarios that will be in use once the count thresholds are met (building a scenario without
  AI raises the need: the target does not follow that, a simplification the report states);
- a count threshold: ``count:<criterion id>``, from the count to the minimum, weight 1 / room;
- a CMMM grade: ``cmmm:<sub-domain>:L<n>`` for every applicable sub-domain below full score at
  each level the grade needs that does not yet reach the pass mark; the weight is the
  sub-domain's share of the level score over the level's shortfall, so lifting the level to the
  pass mark is worth about one point.

A failing prerequisite on a lower rung of the ladder is closed by that rung's own gaps and
gets no target of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from smartfactory.assess.answers import DERIVED_METRICS, Frameworks
from smartfactory.assess.evidence import Evidence
from smartfactory.assess.result import (
    CmmmResult,
    CriterionResult,
    Gap,
    LevelResult,
    ScenarioSummary,
    TargetInfo,
)
from smartfactory.assess.roadmap import Target
from smartfactory.assess.schema import CmmmFramework
from smartfactory.model.text import choose

AI_TARGET = "ai_scenarios"


def _t(lang: str, en: str, zh: str) -> str:
    return choose(lang, en, zh)


Namer = Callable[[Literal["metric", "level", "stage", "dimension"], str], str]


def _namer(fw: Frameworks | None) -> Namer:
    """What the Chinese texts call a metric, level, stage or dimension (the English ones give ids)."""
    if fw is None:
        return lambda kind, id_: f"{id_} 级" if kind == "level" else id_
    return lambda kind, id_: fw.name_of(kind, id_, "zh")


def blocking_gaps(
    criteria: Sequence[CriterionResult],
    levels: Sequence[LevelResult],
    next_level: str | None,
    scenarios: ScenarioSummary,
    cmmm: CmmmResult,
    live: Mapping[str, Evidence],
    lang: str = "en",
    fw: Frameworks | None = None,
) -> tuple[Gap, ...]:
    """Every criterion of the next level and below that does not pass, with its shortfall.

    With ``fw``, Chinese texts name metrics, levels, stages and dimensions rather than give ids.
    """
    if next_level is None:
        return ()
    name = _namer(fw)
    order = [lv.id for lv in levels]
    upto = set(order[: order.index(next_level) + 1])
    gaps = []
    for c in criteria:
        if c.level not in upto or c.result == "pass":
            continue
        gaps.append(
            Gap(
                criterion=c.id,
                level=c.level,
                type=c.type,
                text=c.text,
                result=c.result,
                value=c.value,
                threshold=c.threshold,
                distance=c.distance,
                shortfall=_shortfall(c, cmmm, lang, name),
                missing_evidence=tuple(_missing_evidence(c, scenarios, cmmm, live, lang, name)),
                unverified=c.unverified,
            )
        )
    return tuple(gaps)


def _shortfall(c: CriterionResult, cmmm: CmmmResult, lang: str, name: Namer) -> str:
    t = c.threshold
    if c.result == "unknown":
        return _t(lang, f"not judged: {c.how}", f"无法判定：{c.how}")
    if c.type == "metric_threshold":
        return _t(
            lang,
            f"{t['metric']} is {c.value:.3g}, needs {t['comparator']} {t['value']:g}: "
            f"short by {c.distance:.3g}",
            f"{name('metric', t['metric'])} 为 {c.value:.3g}，要求 {t['comparator']} {t['value']:g}，"
            f"差 {c.distance:.3g}",
        )
    if c.type == "count_threshold":
        scope = t.get("stage") or t.get("dimension") or ""
        named = name("stage", scope) if t.get("stage") else name("dimension", scope) if scope else ""
        counted = name("metric", t["count"]) + (f"（{named}）" if named else "")
        scope = f" ({scope})" if scope else ""
        return _t(
            lang,
            f"{t['count']}{scope} is {c.value}, needs {t['min']}: {int(c.distance or 0)} more",
            f"{counted} 为 {c.value}，要求 {t['min']}，还差 {int(c.distance or 0)}",
        )
    if c.type == "judgement":
        return _t(
            lang,
            f"judged {c.value:g}, passes at {t['pass_at']:g}",
            f"评分 {c.value:g}，达标线 {t['pass_at']:g}",
        )
    if c.type == "prerequisite_level" and "cmmm_min" in t:
        grade = "not rated" if c.value is None else f"grade {c.value}"
        return _t(
            lang,
            f"CMMM {grade} (S = {cmmm.score.total:.2f}), needs grade {t['cmmm_min']} "
            f"(S ≥ {t['total_needed']:g}): S short by {c.distance:.2f}",
            f"成熟度{'未定级' if c.value is None else f'{c.value} 级'}（S = {cmmm.score.total:.2f}），"
            f"要求 {t['cmmm_min']} 级（S ≥ {t['total_needed']:g}），差 {c.distance:.2f}",
        )
    if c.type == "prerequisite_level":
        return _t(lang, f"level {t['level']} is not reached", f"{name('level', t['level'])}未达到")
    if c.missing:
        return _t(lang, "not answered (scored as no)", "未作答（按否计）")
    return _t(lang, "declared no", "申报为否")


def _missing_evidence(
    c: CriterionResult,
    scenarios: ScenarioSummary,
    cmmm: CmmmResult,
    live: Mapping[str, Evidence],
    lang: str,
    name: Namer,
) -> list[str]:
    out = []
    if c.missing:
        out.append(_t(lang, "no answer in the answers file", "答卷未作答"))
    declared = [e for e in c.evidence if e.kind == "declared"]
    if c.type in ("gate", "judgement", "relative_benchmark") and declared and not declared[0].attachments:
        out.append(
            _t(
                lang,
                "no attachment backs the answer (certificate, report, system export)",
                "答案无附件佐证（证书、报告、系统导出）",
            )
        )
    if c.type == "relative_benchmark":
        out.append(_t(lang, "external benchmark data or a reviewer's judgement", "外部对标数据或评审意见"))
    if c.type == "metric_threshold":
        metric = str(c.threshold["metric"])
        ev = live.get(metric)
        if metric not in DERIVED_METRICS and (ev is None or ev.value is None):
            why = ev.why if ev is not None else _t(lang, "no plant given", "未提供工厂模型")
            out.append(
                _t(
                    lang,
                    f"no live measurement of {metric} ({why}): give --plant and --store",
                    f"无{name('metric', metric)}实测（{why}）：请提供 --plant 和 --store",
                )
            )
        if (
            declared
            and declared[0].value is not None
            and not declared[0].attachments
            and c.used == "declared"
        ):
            out.append(_t(lang, "the declared value has no attachment", "申报值无附件佐证"))
    if c.type in ("count_threshold",) or (
        c.type == "metric_threshold" and c.threshold["metric"] in DERIVED_METRICS
    ):
        if not scenarios.registry_read:
            out.append(
                _t(
                    lang,
                    "no scenario run records (the store's registry): scenarios are declared only",
                    "无场景运行记录（存储目录的登记库）：场景仅为申报",
                )
            )
        bare = [
            s.id for s in scenarios.scenarios if s.declared_built and not s.attachments and not s.live_in_use
        ]
        if bare:
            out.append(
                _t(
                    lang,
                    f"{len(bare)} scenario(s) declared built without attachments or runs",
                    f"{len(bare)} 个场景申报已建成但无附件或运行记录",
                )
            )
    if c.type == "prerequisite_level" and "cmmm_min" in c.threshold and cmmm.score.unscored:
        out.append(
            _t(
                lang,
                f"{len(cmmm.score.unscored)} CMMM requirement(s) unanswered (scored 0)",
                f"{len(cmmm.score.unscored)} 项成熟度要求未作答（按 0 计）",
            )
        )
    if c.disagreement is not None:
        out.append(
            _t(
                lang,
                f"declared and live data disagree: {c.disagreement.message}",
                f"申报与实测不一致：{c.disagreement.message}",
            )
        )
    if c.unverified:
        out.append(
            _t(
                lang,
                "the threshold is unverified: check it against the official text",
                "未经核实的阈值：请对照官方原文",
            )
        )
    return out


# --- targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where the factory stands on everything an action can move."""

    metrics: Mapping[str, float]
    in_use: frozenset[str]
    ai: frozenset[str]
    stages_in_use: frozenset[str]
    dimensions_in_use: frozenset[str]
    stage_of: Mapping[str, str]
    dimension_of: Mapping[str, str]
    criteria_scores: Mapping[str, float]
    criteria_passed: frozenset[str]
    cmmm: CmmmResult
    cmmm_weights: Mapping[int, Mapping[str, float]]
    counts: Mapping[str, tuple[str, str | None, str | None]] = field(default_factory=dict)


def cmmm_weights(
    framework: CmmmFramework, industry: str, not_applicable: frozenset[str] | tuple[str, ...], level: int
) -> dict[str, float]:
    """Each applicable sub-domain's share of the level-``level`` score (the renormalised weights)."""
    subs = [
        s
        for s in framework.subdomains
        if s.id not in not_applicable and any(r.level == level for r in s.requirements)
    ]
    domains = [d for d in framework.domains if any(s.domain == d.id for s in subs)]
    factors = [f for f in framework.factors if any(d.factor == f.id for d in domains)]
    f_total = math.fsum(f.weight[industry] for f in factors)
    out: dict[str, float] = {}
    for f in factors:
        mine = [d for d in domains if d.factor == f.id]
        d_total = math.fsum(d.weight[industry] for d in mine)
        for d in mine:
            leaves = [s for s in subs if s.domain == d.id]
            s_total = math.fsum(s.weight[industry] for s in leaves)
            for s in leaves:
                out[s.id] = (
                    (f.weight[industry] / f_total)
                    * (d.weight[industry] / d_total)
                    * (s.weight[industry] / s_total)
                )
    return out


def position_of(
    fw: Frameworks,
    criteria: Sequence[CriterionResult],
    scenarios: ScenarioSummary,
    cmmm: CmmmResult,
) -> Position:
    """The factory's standing, as the roadmap needs it."""
    metrics: dict[str, float] = {}
    for c in criteria:
        if c.type == "metric_threshold" and isinstance(c.value, int | float):
            metrics[str(c.threshold["metric"])] = float(c.value)
    in_use = frozenset(scenarios.in_use)
    ai = frozenset(scenarios.ai)
    stage_of = {s.id: s.stage for s in scenarios.scenarios}
    dimension_of = {s.id: s.dimension for s in scenarios.scenarios}
    not_applicable = cmmm.score.not_applicable
    weights = {lv.no: cmmm_weights(fw.cmmm, cmmm.industry, not_applicable, lv.no) for lv in fw.cmmm.levels}
    counts = {
        c.id: (str(c.threshold["count"]), c.threshold.get("stage"), c.threshold.get("dimension"))
        for c in criteria
        if c.type == "count_threshold"
    }
    return Position(
        metrics=metrics,
        in_use=in_use,
        ai=ai,
        stages_in_use=frozenset(stage_of[s] for s in in_use),
        dimensions_in_use=frozenset(dimension_of[s] for s in in_use),
        stage_of=stage_of,
        dimension_of=dimension_of,
        criteria_scores={c.id: c.score for c in criteria},
        criteria_passed=frozenset(c.id for c in criteria if c.passed),
        cmmm=cmmm,
        cmmm_weights=weights,
        counts=counts,
    )


def targets_of(
    gaps: Sequence[Gap],
    criteria: Sequence[CriterionResult],
    position: Position,
    fw: Frameworks,
    lang: str = "en",
) -> tuple[dict[str, Target], dict[str, TargetInfo], tuple[str, ...]]:
    """The roadmap targets of the gaps, what each stands for, and the gaps no target covers."""
    by_id = {c.id: c for c in criteria}
    targets: dict[str, Target] = {}
    info: dict[str, TargetInfo] = {}
    uncovered: list[str] = []

    def add(target: Target, what: str, criteria_ids: tuple[str, ...]) -> None:
        if target.room <= 1e-12:
            return
        targets[target.id] = target
        info[target.id] = TargetInfo(target.id, what, target.current, target.cap, target.weight, criteria_ids)

    metric_gaps: dict[str, list[CriterionResult]] = {}
    ai_gaps: list[CriterionResult] = []
    cmmm_gaps: list[CriterionResult] = []
    for g in gaps:
        c = by_id[g.criterion]
        if c.result == "unknown" and c.type != "metric_threshold":
            uncovered.append(c.id)
        elif c.type in ("gate", "relative_benchmark", "judgement"):
            cap = float(c.threshold.get("pass_at", 1.0))
            room = cap - c.score
            add(Target(f"criterion:{c.id}", c.score, cap, 1.0 / room if room > 0 else 1.0), c.text, (c.id,))
        elif c.type == "metric_threshold" and c.threshold["metric"] in DERIVED_METRICS:
            ai_gaps.append(c)
        elif c.type == "metric_threshold":
            if c.threshold["comparator"] in (">=", ">"):
                metric_gaps.setdefault(str(c.threshold["metric"]), []).append(c)
            else:
                uncovered.append(c.id)
        elif c.type == "count_threshold":
            current = float(c.value or 0)
            cap = float(c.threshold["min"])
            add(Target(f"count:{c.id}", current, cap, 1.0 / max(cap - current, 1e-9)), c.text, (c.id,))
        elif c.type == "prerequisite_level" and "cmmm_min" in c.threshold:
            cmmm_gaps.append(c)
    for metric, items in metric_gaps.items():
        current = position.metrics.get(metric, 0.0)
        cap = max(float(c.threshold["value"]) for c in items)
        name = fw.metrics.metric(metric).name.get(lang)
        add(
            Target(f"metric:{metric}", current, cap, len(items) / max(cap - current, 1e-9)),
            name,
            tuple(c.id for c in items),
        )
    if ai_gaps:
        share = max(float(c.threshold["value"]) for c in ai_gaps)
        needed_in_use = max(
            [len(position.in_use)]
            + [
                int(by_id[g.criterion].threshold["min"])
                for g in gaps
                if by_id[g.criterion].type == "count_threshold"
                and by_id[g.criterion].threshold["count"] == "scenarios_in_use"
                and not by_id[g.criterion].threshold.get("stage")
                and not by_id[g.criterion].threshold.get("dimension")
            ]
        )
        cap = float(max(1, math.ceil(share * needed_in_use - 1e-9)))
        current = float(len(position.ai))
        add(
            Target(AI_TARGET, current, cap, len(ai_gaps) / max(cap - current, 1e-9)),
            _t(lang, "scenarios in use with AI", "应用 AI 的在用场景数"),
            tuple(c.id for c in ai_gaps),
        )
    if cmmm_gaps:
        _cmmm_targets(cmmm_gaps, position, fw, lang, add)
    return targets, info, tuple(uncovered)


def _cmmm_targets(
    gaps: list[CriterionResult],
    position: Position,
    fw: Frameworks,
    lang: str,
    add: Callable[[Target, str, tuple[str, ...]], None],
) -> None:
    score = position.cmmm.score
    needed = max(int(c.threshold["cmmm_min"]) for c in gaps)
    threshold = fw.cmmm.scoring.pass_threshold
    ids = tuple(c.id for c in gaps)
    names = position.cmmm.names
    for level in score.levels:
        if level.level > needed or level.score >= threshold - 1e-9:
            continue
        shortfall = threshold - level.score
        for sub, weight in position.cmmm_weights.get(level.level, {}).items():
            current = level.subdomains.get(sub, 0.0)
            if current >= 1.0 - 1e-9:
                continue
            add(
                Target(f"cmmm:{sub}:L{level.level}", current, 1.0, weight / shortfall),
                f"CMMM L{level.level} {names.get(sub, sub)}",
                ids,
            )
