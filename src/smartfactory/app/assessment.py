"""The plant's assessment: the saved answers with live evidence from the store, as on the command line.

``current(workspace)`` assesses the saved answers (``services.answers``) against the plant saved in
the registry, with live evidence from the telemetry store over the 30 days up to its latest
event and the scenario runs in the registry — what ``smartfactory assess --answers FILE --store
DIR`` does. Measuring the live evidence takes about a second, so a result is kept for a minute
while the answers, the stored data and the scenario runs stay the same; a budget only re-plans
the roadmap of a kept result (``replan``), as ``assess(..., budget_cny=)`` would plan it.
``submit`` records an assessment in the history. ``page(...)`` is what the assessment page shows.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from smartfactory.app import answers as answer_service
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, number, percent
from smartfactory.app.workspace import Workspace
from smartfactory.assess.answers import UNKNOWN, Frameworks, resolve
from smartfactory.assess.evidence import AI_SCENARIO_SHARE
from smartfactory.assess.gaps import position_of, targets_of
from smartfactory.assess.plan import load_actions, plan_roadmap
from smartfactory.assess.report_html import radar_axes
from smartfactory.assess.report_html import render as render_html
from smartfactory.assess.report_text import Names
from smartfactory.assess.result import Assessment, CriterionResult, EvidenceItem, to_json
from smartfactory.assess.run import assess
from smartfactory.model.errors import UserError
from smartfactory.store import answers as store
from smartfactory.store import list_scenario_runs

DAYS = 30  # days of live evidence, as `smartfactory assess` measures by default
KEEP_S = 60.0  # how long a result is kept: the scenario-run window follows the wall clock
MAX_BUDGET = 1_000_000_000  # CNY: far above any roadmap; keeps the knapsack's numbers sane
_KEPT = 16

_cache: OrderedDict[tuple[Any, ...], tuple[float, Assessment]] = OrderedDict()
_cache_lock = threading.Lock()


# --- assessing --------------------------------------------------------------------------------


def _fingerprint(workspace: Workspace) -> tuple[Any, ...]:
    """What the live evidence depends on besides the clock: the stored data and the scenario runs."""
    with workspace.telemetry() as telemetry:
        lo, hi = telemetry.time_range()
    plant = workspace.plant()
    runs = list_scenario_runs(workspace.registry, plant.plant.id)
    latest = max((r["finished_at"] or r["started_at"] for r in runs), default=None)
    return (str(workspace.settings.store), plant.plant.id, lo, hi, len(runs), latest)


def _assess(workspace: Workspace, saved: answer_service.Saved, lang: str) -> Assessment:
    with workspace.telemetry() as telemetry:
        return assess(
            saved.framework,
            saved.answers,
            workspace.plant(),
            telemetry,
            workspace.registry,
            None,
            None,
            lang,
            days=DAYS,
        )


def check_budget(budget: int | None) -> None:
    """A UserError unless the budget is None or 0 … MAX_BUDGET yuan."""
    if budget is not None and not 0 <= budget <= MAX_BUDGET:
        raise UserError(
            _("The budget must be from 0 to {most} yuan.").format(most=MAX_BUDGET),
        )


def replan(assessment: Assessment, budget: int | None, fw: Frameworks | None = None) -> Assessment:
    """The same assessment with its roadmap planned for ``budget`` (the last steps of ``assess``)."""
    check_budget(budget)
    a = assessment
    if a.roadmap.budget is None and budget is None:
        return a
    if a.roadmap.budget is not None and a.roadmap.budget.budget_cny == budget:
        return a
    fw = fw or resolve(a.framework)
    position = position_of(fw, a.criteria, a.scenarios, a.cmmm)
    targets, info, uncovered = targets_of(a.gaps, a.criteria, position, fw, a.lang)
    roadmap = plan_roadmap(position, targets, info, uncovered, a.next_level, fw, budget, a.lang, None)
    return dataclasses.replace(a, roadmap=roadmap)


def current(
    workspace: Workspace, budget: int | None = None, framework: str | None = None, *, fresh: bool = False
) -> Assessment:
    """The assessment of the saved answers with live evidence, in the request's language."""
    check_budget(budget)
    lang = language()
    saved = answer_service.saved(workspace, framework)
    key = (saved.framework, saved.digest, lang, _fingerprint(workspace))
    now = time.monotonic()
    found: Assessment | None = None
    with _cache_lock:
        kept = _cache.get(key)
        if kept is not None and not fresh and now - kept[0] < KEEP_S:
            found = kept[1]
    if found is None:
        found = _assess(workspace, saved, lang)
        with _cache_lock:
            _cache[key] = (now, found)
            _cache.move_to_end(key)
            while len(_cache) > _KEPT:
                _cache.popitem(last=False)
    return replan(found, budget, saved.questions.fw)


def forget() -> None:
    """Drop every kept result (tests, and after the plant is replaced)."""
    with _cache_lock:
        _cache.clear()


# --- the API's view ---------------------------------------------------------------------------


class AssessmentSummary(BaseModel):
    """A submitted assessment: level, CMMM grade, who and when."""

    id: int
    framework: str
    level: str | None = Field(
        description="the level reached: basic, advanced, excellent, leading; null: none"
    )
    level_name: str | None = None
    cmmm_grade: int | None = Field(description="the CMMM maturity grade (GB/T 39117); null: not rated")
    cmmm_total: float = Field(description="the CMMM total score S")
    lang: str
    submitted_by: str | None = None
    submitted_at: datetime


class AssessmentHistory(BaseModel):
    """Submitted assessments, newest first."""

    total: int
    items: list[AssessmentSummary]


class AssessmentReport(BaseModel):
    """An assessment: the headline and the whole JSON report (schema smartfactory.assessment/1)."""

    id: int | None = Field(None, description="the history id when it was submitted")
    framework: str
    title: str
    lang: str
    level: str | None = Field(description="the level reached; null: not even basic")
    level_name: str | None = None
    next_level: str | None = None
    next_level_name: str | None = None
    cmmm_grade: int | None = None
    cmmm_total: float
    generated_at: datetime
    submitted_by: str | None = None
    submitted_at: datetime | None = None
    result: dict[str, Any] = Field(description="the JSON report, schema smartfactory.assessment/1")


def report_of(a: Assessment, record: store.AssessmentRecord | None = None) -> AssessmentReport:
    """The API's view of an assessment (with its history entry when it was submitted)."""
    return AssessmentReport(
        id=record.id if record else None,
        framework=a.framework,
        title=a.framework_title,
        lang=a.lang,
        level=a.level,
        level_name=a.level_name,
        next_level=a.next_level,
        next_level_name=a.next_level_name,
        cmmm_grade=a.cmmm.grade,
        cmmm_total=a.cmmm.score.total,
        generated_at=a.generated_at,
        submitted_by=record.submitted_by if record else None,
        submitted_at=record.submitted_at if record else None,
        result=to_json(a),
    )


def _level_names(framework: str) -> dict[str, str]:
    try:
        fw = resolve(framework)
    except UserError:  # an assessment of a ladder no longer shipped keeps its ids
        return {}
    return {lv.id: lv.name.get(language()) for lv in fw.gradient.levels}


def _summary(row: store.AssessmentSummary, names: Mapping[str, str]) -> AssessmentSummary:
    return AssessmentSummary(
        id=row.id,
        framework=row.framework,
        level=row.level,
        level_name=names.get(row.level) if row.level else None,
        cmmm_grade=row.cmmm_grade,
        cmmm_total=row.cmmm_total,
        lang=row.lang,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
    )


def submit(workspace: Workspace, username: str | None, budget: int | None = None) -> AssessmentReport:
    """Assess the saved answers now and record the result in the history."""
    a = current(workspace, budget)
    record = store.record_assessment(
        workspace.registry,
        a.framework,
        level=a.level,
        cmmm_grade=a.cmmm.grade,
        cmmm_total=a.cmmm.score.total,
        lang=a.lang,
        username=username,
        result=to_json(a),
    )
    return report_of(a, record)


def history(workspace: Workspace, limit: int = 50, offset: int = 0) -> AssessmentHistory:
    """Submitted assessments, newest first."""
    rows, total = store.list_assessments(workspace.registry, limit=limit, offset=offset)
    names: dict[str, dict[str, str]] = {}
    items = []
    for row in rows:
        if row.framework not in names:
            names[row.framework] = _level_names(row.framework)
        items.append(_summary(row, names[row.framework]))
    return AssessmentHistory(total=total, items=items)


def submitted(workspace: Workspace, assessment_id: int) -> AssessmentReport | None:
    """One submitted assessment with its report; None when there is no such id."""
    row = store.get_assessment(workspace.registry, assessment_id)
    if row is None:
        return None
    result = row.result
    level = result.get("level") or {}
    return AssessmentReport(
        id=row.id,
        framework=row.framework,
        title=str((result.get("framework") or {}).get("title") or row.framework),
        lang=row.lang,
        level=row.level,
        level_name=level.get("name"),
        next_level=level.get("next"),
        next_level_name=level.get("next_name"),
        cmmm_grade=row.cmmm_grade,
        cmmm_total=row.cmmm_total,
        generated_at=datetime.fromisoformat(str(result.get("generated_at") or row.submitted_at.isoformat())),
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        result=result,
    )


@dataclass(frozen=True)
class HtmlReport:
    """The assessment as one self-contained HTML page, and a file name for it."""

    html: str
    filename: str
    level: str | None


def html_report(workspace: Workspace, budget: int | None = None) -> HtmlReport:
    """The current assessment as the HTML report of ``smartfactory assess --format html``."""
    a = current(workspace, budget)
    day = a.generated_at.date().isoformat()
    name = f"assessment-{a.plant_id or 'plant'}-{day}-{a.lang}.html"
    return HtmlReport(render_html(a, a.lang), name, a.level)


# --- the page's view --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A rung of the ladder and where the plant stands on it."""

    id: str
    name: str
    state: str  # reached | next | ahead
    current: bool


@dataclass(frozen=True)
class EvidenceRow:
    """One piece of evidence behind a criterion, ready to show."""

    kind: str
    kind_label: str
    what: str
    value: str
    note: str | None
    attachments: tuple[str, ...]
    why: str | None


@dataclass(frozen=True)
class CriterionRow:
    """One criterion as the page shows it."""

    id: str
    level: str
    text: str
    type: str
    result: str
    result_label: str
    how: str
    evidence: tuple[EvidenceRow, ...]
    disagreement: str | None
    unverified: bool
    unverified_reasons: tuple[str, ...]
    missing: bool


@dataclass(frozen=True)
class LevelBlock:
    """The criteria of one rung."""

    id: str
    name: str
    passed: bool
    why: str
    criteria: tuple[CriterionRow, ...]


@dataclass(frozen=True)
class GapRow:
    """A criterion that blocks the next level."""

    criterion: str
    text: str
    shortfall: str
    missing_evidence: tuple[str, ...]
    unverified: bool


@dataclass(frozen=True)
class ActionsRow:
    """Actions in the order to take them, with their cost, gain and months, as the page shows them."""

    actions: tuple[str, ...]
    cost: str
    gain: str
    months: str


@dataclass(frozen=True)
class OptionRow(ActionsRow):
    """A roadmap option: an action with what it needs first."""

    gain_per_million: str


@dataclass(frozen=True)
class BudgetRow(ActionsRow):
    """The best set of actions within the budget."""

    budget: str
    criteria_met: tuple[str, ...]
    optimal: bool


@dataclass(frozen=True)
class RoadmapView:
    """The roadmap to the next level as the page shows it, with the budget slider's range."""

    next_level: str | None
    next_level_name: str | None
    gain_unit: str
    options: tuple[OptionRow, ...]
    plan: BudgetRow | None
    uncovered: tuple[str, ...]
    done: tuple[str, ...]
    cost_note: str
    budget: int
    budget_text: str
    budget_max: int
    budget_step: int


@dataclass(frozen=True)
class Radar:
    """The CMMM domain scores per maturity level up to the first that fails."""

    indicators: tuple[dict[str, Any], ...]
    series: dict[str, list[float | None]]
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # the same as a table: (level, scores)


@dataclass(frozen=True)
class AssessmentPage:
    """Everything the assessment page shows."""

    framework: str
    title: str
    plant_id: str | None
    level: str | None
    level_name: str | None
    next_level: str | None
    next_level_name: str | None
    level_unverified: tuple[str, ...]
    ladder: tuple[Step, ...]
    cmmm_grade: int | None
    cmmm_total: str
    cmmm_unverified: bool
    industry: str
    radar: Radar
    levels: tuple[LevelBlock, ...]
    disagreements: tuple[str, ...]
    gaps: tuple[GapRow, ...]
    roadmap: RoadmapView
    notices: tuple[str, ...]
    missing: int
    generated_at: datetime
    data_until: datetime | None
    unverified_label: str


def industry_label(industry: str) -> str:
    """The industry type in the user's language."""
    labels = {"discrete": _("discrete manufacturing"), "process": _("process manufacturing")}
    return labels.get(industry, industry)


def cny(value: float) -> str:
    """An amount of yuan in the locale's format."""
    return _("{amount} CNY").format(amount=number(value, 0))


def value_text(value: Any, unit: str | None) -> str | None:
    """An evidence value in words and the locale's numbers; None for a structure the page leaves out."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        if unit == "ratio":
            return percent(float(value), 1)
        digits = 0 if float(value).is_integer() else 2
        shown = number(value, digits)
        return f"{shown} {unit}" if unit and unit not in ("count",) else shown
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str):
        return _("unknown") if value == UNKNOWN else value
    return None


def _what(item: EvidenceItem, names: Names, fw: Frameworks) -> str:
    if item.what == "answer":
        return _("the factory's answer")
    if item.what == "scenarios_built":
        return _("scenarios declared built")
    if item.what == "cmmm":
        return _("CMMM grade")
    if item.what == "level":
        return _("level reached")
    if item.what == "scenarios":
        # the share of the scenarios in use that use AI, derived from the answers and the runs
        return names.metrics.get(AI_SCENARIO_SHARE, item.what)
    if item.what in names.metrics:
        return names.metrics[item.what]
    for c in fw.metrics.countables:
        if c.id == item.what:
            return c.name.get(language())
    return item.what


def _evidence(item: EvidenceItem, names: Names, fw: Frameworks) -> EvidenceRow | None:
    if isinstance(item.value, Mapping):
        if item.what == "cmmm":
            grade = item.value.get("grade")
            total = item.value.get("total")
            shown = _("grade {grade}, S = {total}").format(
                grade="—" if grade is None else grade, total=number(float(total or 0.0), 2)
            )
        elif item.what == "scenarios_built":
            built = item.value.get("built") or []
            ai = item.value.get("ai_used") or []
            shown = _("{built} built, {ai} with AI").format(built=len(built), ai=len(ai))
        else:
            return None
    elif item.what == "level":
        # the highest level reached: its name, not its id
        shown = fw.name_of("level", item.value, language()) if isinstance(item.value, str) else "—"
    else:
        text = value_text(item.value, item.unit)
        if text is None:
            return None
        shown = text
    labels = {"declared": _("declared"), "live": _("live"), "derived": _("derived")}
    return EvidenceRow(
        kind=item.kind,
        kind_label=labels.get(item.kind, item.kind),
        what=_what(item, names, fw),
        value=shown,
        note=item.note,
        attachments=item.attachments,
        why=item.why if item.value is None else None,
    )


def _criterion(c: CriterionResult, names: Names, fw: Frameworks) -> CriterionRow:
    results = {"pass": _("met"), "fail": _("not met"), "unknown": _("unknown")}
    evidence = tuple(e for e in (_evidence(i, names, fw) for i in c.evidence) if e is not None)
    return CriterionRow(
        id=c.id,
        level=c.level,
        text=c.text,
        type=c.type,
        result=c.result,
        result_label=results[c.result],
        how=c.how,
        evidence=evidence,
        disagreement=c.disagreement.message if c.disagreement else None,
        unverified=c.unverified,
        unverified_reasons=c.unverified_reasons,
        missing=c.missing,
    )


def _radar(a: Assessment, names: Names) -> Radar:
    kind, axes, shown = radar_axes(a, names)
    series: dict[str, list[float | None]] = {}
    rows = []
    for lv in shown:
        label = f"L{lv.level} {names.cmmm_levels.get(lv.level, '')}".strip()
        scores = getattr(lv, kind)
        series[label] = [round(scores[x], 3) if x in scores else None for x in axes]
        rows.append((label, tuple(number(scores[x], 2) if x in scores else "—" for x in axes)))
    indicators = tuple({"name": a.cmmm.names.get(x, x), "max": 1} for x in axes)
    return Radar(indicators, series, tuple(rows))


def default_budget(a: Assessment) -> int:
    """The budget the page plans with before the slider moves: half of every ranked option's cost."""
    total = sum(o.cost_cny for o in a.roadmap.ranked)
    return _round(total / 2) if total else 0


def _round(value: float, step: int = 50_000) -> int:
    return int(round(value / step) * step)


def roadmap_view(a: Assessment, budget: int) -> RoadmapView:
    """The roadmap of ``a`` (planned for ``budget``) as the page shows it."""
    r = a.roadmap
    catalogue = {x.id: x.name.get(a.lang) for x in load_actions().actions}

    def name(action_id: str) -> str:
        # done actions are not in the roadmap's own list: their names come from the catalogue
        return r.actions[action_id].name if action_id in r.actions else catalogue.get(action_id, action_id)

    def months(value: float) -> str:
        return number(value, 0 if float(value).is_integer() else 1)

    options = tuple(
        OptionRow(
            actions=tuple(name(x) for x in o.actions),
            cost=cny(o.cost_cny),
            gain=number(o.gain, 2),
            months=months(o.effort_months),
            gain_per_million=number(o.gain_per_million_cny, 2),
        )
        for o in r.ranked
    )
    plan = None
    if r.budget is not None:
        b = r.budget
        plan = BudgetRow(
            actions=tuple(name(x) for x in b.actions),
            cost=cny(b.cost_cny),
            gain=number(b.gain, 2),
            months=months(b.effort_months),
            budget=cny(b.budget_cny),
            criteria_met=b.criteria_met,
            optimal=b.optimal,
        )
    total = sum(o.cost_cny for o in r.ranked)
    return RoadmapView(
        next_level=a.next_level,
        next_level_name=a.next_level_name,
        gain_unit=r.gain_unit,
        options=options,
        plan=plan,
        uncovered=r.uncovered,
        done=tuple(name(x) for x in r.done),
        cost_note=r.cost_note,
        budget=budget,
        budget_text=cny(budget),
        budget_max=max(_round(total * 1.1) or 1_000_000, budget),
        budget_step=50_000,
    )


def page(workspace: Workspace, budget: int | None = None) -> AssessmentPage:
    """The assessment page: level, ladder, CMMM, radar, criteria with evidence, gaps and roadmap."""
    base = current(workspace)
    chosen = default_budget(base) if budget is None else budget
    a = replan(base, chosen)
    names = Names.of(a, a.lang)
    fw = resolve(a.framework)
    by_level: dict[str, list[CriterionRow]] = {}
    for c in a.criteria:
        by_level.setdefault(c.level, []).append(_criterion(c, names, fw))
    reached = {lv.id for lv in a.levels if lv.passed}
    ladder = tuple(
        Step(
            lv.id,
            lv.name,
            "reached" if lv.id in reached else ("next" if lv.id == a.next_level else "ahead"),
            lv.id == a.level,
        )
        for lv in a.levels
    )
    window = (a.live.get("oee") or next(iter(a.live.values()), None)) if a.live else None
    data_until = window.period[1] if window is not None and window.period else None
    return AssessmentPage(
        framework=a.framework,
        title=a.framework_title,
        plant_id=a.plant_id,
        level=a.level,
        level_name=a.level_name,
        next_level=a.next_level,
        next_level_name=a.next_level_name,
        level_unverified=a.level_unverified,
        ladder=ladder,
        cmmm_grade=a.cmmm.grade,
        cmmm_total=number(a.cmmm.score.total, 2),
        cmmm_unverified=a.cmmm.unverified,
        industry=industry_label(a.industry),
        radar=_radar(a, names),
        levels=tuple(
            LevelBlock(lv.id, lv.name, lv.passed, lv.why, tuple(by_level.get(lv.id, ()))) for lv in a.levels
        ),
        disagreements=a.disagreements,
        gaps=tuple(
            GapRow(g.criterion, g.text, g.shortfall, g.missing_evidence, g.unverified) for g in a.gaps
        ),
        roadmap=roadmap_view(a, chosen),
        notices=a.notices,
        missing=len(a.missing),
        generated_at=a.generated_at,
        data_until=data_until,
        unverified_label=_("unverified threshold"),
    )


def roadmap_only(workspace: Workspace, budget: int) -> RoadmapView:
    """The roadmap re-planned for ``budget`` (the slider on the assessment page)."""
    return roadmap_view(current(workspace, budget), budget)
