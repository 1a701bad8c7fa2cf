"""``smartfactory assess``: the level reached, CMMM grade, evidence, gaps and roadmap (智能工厂梯度评估)."""

from __future__ import annotations

import importlib
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import use_language
from smartfactory.app.remote import call
from smartfactory.app.store_ops import assess_store
from smartfactory.app.workspace import Workspace
from smartfactory.assess.answers import (
    DEFAULT_FRAMEWORK,
    framework_of,
    parse_answers,
    read_answers_text,
    resolve,
    template,
)
from smartfactory.assess.framework import Library, shipped
from smartfactory.assess.result import Assessment, to_json
from smartfactory.assess.run import assess
from smartfactory.assess.schema import (
    CmmmFramework,
    CountThresholdCriterion,
    Criterion,
    GateCriterion,
    GradientFramework,
    JudgementCriterion,
    MetricThresholdCriterion,
    PrerequisiteCriterion,
    RelativeBenchmarkCriterion,
    ScenarioCatalogue,
)
from smartfactory.cli.render import console
from smartfactory.model.errors import UserError
from smartfactory.model.plant_file import load_plant
from smartfactory.model.text import Lang, Text, parse_language, resolve_language


class Format(StrEnum):
    """Report formats."""

    table = "table"
    json = "json"
    md = "md"
    html = "html"


class ExplainFormat(StrEnum):
    """Formats of ``assess explain``."""

    table = "table"
    json = "json"


AnswersOption = Annotated[Path | None, typer.Option("--answers", help="answers file (YAML) to assess")]
PlantOption = Annotated[
    Path | None, typer.Option("--plant", help="plant file (default: the plant saved in --store)")
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="store folder or postgresql:// URL: live evidence from telemetry and scenario runs",
        metavar="FOLDER|URL",
    ),
]
FrameworkOption = Annotated[
    str | None,
    typer.Option(
        "--framework", help="gradient framework id (default: the answers file's, else gradient/2025/national)"
    ),
]
IndustryOption = Annotated[
    str | None,
    typer.Option("--industry", help="discrete or process (default: the plant's, else the answers file's)"),
]
BudgetOption = Annotated[
    int | None, typer.Option("--budget", help="budget in CNY: the best set of actions that fits", min=0)
]
AllowMissingOption = Annotated[
    bool, typer.Option("--allow-missing", help="score missing answers as 0 (the report says so first)")
]
FormatOption = Annotated[Format, typer.Option("--format", help="table, json, md or html")]
LangOption = Annotated[str, typer.Option("--lang", help="zh or en (or a tag such as zh-CN, en-GB)")]
DaysOption = Annotated[int, typer.Option("--days", help="days of live data to look at", min=1)]
FrameworksDirOption = Annotated[
    Path | None,
    typer.Option("--frameworks", help="folder of framework files to use instead of the shipped ones"),
]

app = typer.Typer(
    help="Gradient assessment: level, CMMM grade, evidence, gaps and roadmap (智能工厂梯度评估).",
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
def assess_command(
    ctx: typer.Context,
    answers: AnswersOption = None,
    plant_file: PlantOption = None,
    store: StoreOption = None,
    framework: FrameworkOption = None,
    industry: IndustryOption = None,
    budget: BudgetOption = None,
    allow_missing: AllowMissingOption = False,
    fmt: FormatOption = Format.table,
    lang: LangOption = "en",
    days: DaysOption = 30,
    frameworks_dir: FrameworksDirOption = None,
) -> None:
    """Assess a factory from its answers file (same as `assess run`); see the commands below."""
    if ctx.invoked_subcommand is not None:
        return
    if answers is None:
        raise UserError(
            "give --answers FILE (write one with `smartfactory assess template > answers.yaml`); "
            "see `smartfactory assess --help`"
        )
    run_assessment(
        answers,
        plant_file,
        store,
        framework,
        industry,
        budget,
        allow_missing,
        fmt,
        lang,
        days,
        frameworks_dir,
    )


# `assess run` is `assess` with the same options, spelt out
app.command(
    "run",
    help="Assess a factory: level reached, CMMM grade, each criterion with its evidence, gaps, roadmap.",
)(assess_command)


@app.command("template")
def template_command(
    lang: LangOption = "en",
    framework: Annotated[str, typer.Option("--framework", help="gradient framework id")] = DEFAULT_FRAMEWORK,
    frameworks_dir: FrameworksDirOption = None,
) -> None:
    """Print an answers file to fill in: every question with its allowed answers."""
    chosen = _check_lang(lang)
    sys.stdout.write(template(framework, chosen, library=_library(frameworks_dir)))


@app.command("explain")
def explain_command(
    criterion_id: Annotated[
        str, typer.Argument(help="criterion id (e.g. G25-BAS-NET), CMMM requirement or scenario id")
    ],
    framework: Annotated[str, typer.Option("--framework", help="gradient framework id")] = DEFAULT_FRAMEWORK,
    lang: LangOption = "en",
    fmt: Annotated[ExplainFormat, typer.Option("--format", help="table or json")] = ExplainFormat.table,
    frameworks_dir: FrameworksDirOption = None,
) -> None:
    """A criterion: its text, source and clause, confidence tag, type, parameters and how it is judged."""
    chosen = _check_lang(lang)
    fw = resolve(framework, _library(frameworks_dir))
    doc = explain_item(criterion_id, fw.gradient, fw.cmmm, fw.scenarios, chosen)
    if fmt is ExplainFormat.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    out = console()
    out.print(f"[bold]{doc['id']}[/bold] — {doc['text']}")
    for key, value in doc.items():
        if key in ("id", "text") or value in (None, "", [], {}):
            continue
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        out.print(f"  [dim]{key}:[/dim] {value}", highlight=False)


@app.command("list")
def list_command(lang: LangOption = "en", frameworks_dir: FrameworksDirOption = None) -> None:
    """Every framework id: gradient ladders, the CMMM model, scenario catalogues."""
    chosen = _check_lang(lang)
    library = _library(frameworks_dir)
    table = Table(title="frameworks", title_justify="left")
    for column in ("id", "kind", "title", "confidence"):
        table.add_column(column)
    for framework_id in library.ids():
        loaded = library.load(framework_id)
        table.add_row(framework_id, loaded.kind, loaded.title.get(chosen), loaded.confidence)
    console().print(table)


# --- running -------------------------------------------------------------------------------------


def _check_lang(lang: str) -> Lang:
    """The language ``--lang`` names (zh, zh-CN, zh_Hans, en-GB …); a one-line error for any other."""
    chosen = parse_language(lang)
    if chosen is None:
        raise UserError(f"--lang {lang!r} is not allowed; allowed: zh or en (or a tag such as zh-CN, en-GB)")
    return chosen


def _library(folder: Path | None) -> Library:
    if folder is None:
        return shipped()
    if not folder.is_dir():
        raise UserError(f"--frameworks {folder} is not a folder of framework files")
    return Library(folder)


def run_assessment(
    answers: Path,
    plant_file: Path | None,
    store: str | Path | None,
    framework: str | None,
    industry: str | None,
    budget: int | None,
    allow_missing: bool,
    fmt: Format,
    lang: str,
    days: int,
    frameworks_dir: Path | None,
) -> None:
    """Load, assess and print in the chosen format."""
    # downstream (answers, report, renderers) gets zh or en, whatever tag the user typed
    chosen = _check_lang(lang)
    renderer = _renderer(fmt)
    library = _library(frameworks_dir)
    text = read_answers_text(answers)
    if framework is None:
        written_for = framework_of(text)
        framework = written_for if written_for in library.ids() else DEFAULT_FRAMEWORK
    fw = resolve(framework, library)
    # checked here first, so a problem in the file reads the same with or without a store
    checked = parse_answers(text, str(answers), fw, allow_missing=allow_missing, lang=chosen)
    plant = load_plant(plant_file) if plant_file is not None else None
    if store is None:
        result = assess(
            fw.gradient.id, checked, plant, None, None, industry, budget, chosen, library=library, days=days
        )
    else:
        with Workspace.open(store, mode="read", plant=plant) as workspace:
            # the live evidence is measured where the store is: here, or in its owner process
            result = call(
                workspace,
                assess_store,
                framework=framework,
                answers_text=text,
                answers_source=str(answers),
                lang=chosen,
                allow_missing=allow_missing,
                industry=industry,
                budget=budget,
                days=days,
                frameworks_dir=str(frameworks_dir.absolute()) if frameworks_dir is not None else None,
            )
    if fmt is Format.json:
        print(json.dumps(to_json(result), ensure_ascii=False, indent=2))
    elif renderer is not None:
        sys.stdout.write(renderer(result, chosen))
    else:
        print_report(result)


def _renderer(fmt: Format) -> Any:
    """The md or html renderer, or a one-line error while it is not written yet."""
    if fmt not in (Format.md, Format.html):
        return None
    module_name = f"smartfactory.assess.report_{fmt.value}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UserError(
            f"--format {fmt.value} is not available yet ({module_name} is not written); "
            "use --format json or table"
        ) from None
    render = getattr(module, "render", None)
    if render is None:
        raise UserError(f"--format {fmt.value} is not available yet ({module_name} has no render())")
    return render


# --- the table report ----------------------------------------------------------------------------


def _pct_or(value: Any, unit: str | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and unit == "ratio":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def print_report(a: Assessment) -> None:
    """The assessment as rich tables: notices first, then level, CMMM, criteria, gaps, roadmap."""
    with use_language(resolve_language(a.lang)):
        _print_report(a)


def _print_report(a: Assessment) -> None:
    out = console()
    label = _("unverified threshold")
    for notice in a.notices:
        out.print(f"[bold yellow]! {escape(notice)}[/bold yellow]", highlight=False)
    out.print(f"[bold]{a.framework}[/bold] — {escape(a.framework_title)}", highlight=False)
    reached = f"{a.level_name} ({a.level})" if a.level else _("none (basic not reached)")
    many = len(a.level_unverified)
    flag = (
        (
            f"  [yellow]({label} ×{many}: "
            + ", ".join(a.level_unverified[:4])
            + (" …" if many > 4 else "")
            + ")[/yellow]"
        )
        if many
        else ""
    )
    level_line = _("Level reached: {level}").format(level=f"[bold]{reached}[/bold]")
    if a.next_level:
        level_line += "; " + _("next: {level}").format(level=f"{a.next_level_name} ({a.next_level})")
    out.print(level_line + flag, highlight=False)
    score = a.cmmm.score
    grade = "—" if score.grade is None else str(score.grade)
    constants = (
        f"  [yellow]({label}: " + _("scoring constants and weights") + " [U])[/yellow]"
        if a.cmmm.unverified
        else ""
    )
    out.print(
        _("CMMM {framework}: grade {grade}, S = {score} ({industry}, {source})").format(
            framework=a.cmmm.framework,
            grade=f"[bold]{grade}[/bold]",
            score=f"{score.total:.2f}",
            industry=a.industry,
            source=escape(a.industry_from),
        )
        + constants,
        highlight=False,
    )
    levels = Table(title="CMMM", title_justify="left")
    levels.add_column("level")
    for f in a.cmmm.score.levels[0].factors if a.cmmm.score.levels else []:
        levels.add_column(a.cmmm.names.get(f, f), justify="right")
    levels.add_column("score", justify="right")
    levels.add_column("passed")
    for lv in score.levels:
        cells = [f"L{lv.level}", *(f"{v:.2f}" for v in lv.factors.values())]
        cells += [""] * (len(levels.columns) - 3 - len(lv.factors))
        levels.add_row(*cells, f"{lv.score:.2f}", "✓" if lv.passed else "✗")
    out.print(levels)
    out.print(_criteria_table(a))
    for c in a.criteria:
        if c.disagreement is not None:
            out.print(f"[red]≠ {c.id}: {escape(c.disagreement.message)}[/red]", highlight=False)
    if a.gaps:
        gaps = Table(
            title=_("Blocking gaps to {level}").format(level=a.next_level_name or ""), title_justify="left"
        )
        for column in ("criterion", "shortfall", "missing evidence"):
            gaps.add_column(column)
        for g in a.gaps:
            gaps.add_row(
                g.criterion + (f" [yellow]({label})[/yellow]" if g.unverified else ""),
                escape(g.shortfall),
                escape("; ".join(g.missing_evidence)),
            )
        out.print(gaps)
    _print_roadmap(a)


def _criteria_table(a: Assessment) -> Table:
    label = _("unverified threshold")
    table = Table(title="criteria", title_justify="left")
    for column in ("level", "criterion", "type", "result", "how", "evidence", "flags"):
        table.add_column(column)
    marks = {"pass": "[green]pass[/green]", "fail": "[red]fail[/red]", "unknown": "[yellow]unknown[/yellow]"}
    for c in a.criteria:
        flags = []
        if c.unverified:
            flags.append(f"[yellow]{label}[/yellow]")
        if c.disagreement is not None:
            flags.append("[red]disagreement[/red]")
        if c.missing:
            flags.append("missing → 0")
        evidence = ", ".join(
            f"{e.kind}:{_pct_or(e.value, e.unit)}"
            for e in c.evidence
            if e.kind != "derived" and not isinstance(e.value, dict)
        )
        table.add_row(
            c.level, c.id, c.type, marks[c.result], escape(c.how), escape(evidence or c.used), " ".join(flags)
        )
    return table


def _print_roadmap(a: Assessment) -> None:
    out = console()
    r = a.roadmap
    if r.next_level is None:
        out.print(_("The top level is reached: no roadmap."))
        return
    if r.ranked:
        table = Table(
            title=_("Roadmap: actions by gain per yuan") + f" — gain = {escape(r.gain_unit)}",
            title_justify="left",
        )
        for column in ("#", "action (with prerequisites)", "cost CNY", "gain", "gain / M CNY", "months"):
            table.add_column(
                column, justify="right" if column not in ("action (with prerequisites)",) else "left"
            )
        for i, o in enumerate(r.ranked[:12], 1):
            names = escape(" → ".join(r.actions[x].name if x in r.actions else x for x in o.actions))
            table.add_row(
                str(i),
                names,
                f"{o.cost_cny:,}",
                f"{o.gain:.2f}",
                f"{o.gain_per_million_cny:.2f}",
                f"{o.effort_months:g}",
            )
        out.print(table)
    if r.budget is not None:
        b = r.budget
        out.print(
            "[bold]"
            + _("Within budget {budget} CNY").format(budget=f"{b.budget_cny:,}")
            + "[/bold]: "
            + (escape(" → ".join(r.actions[x].name for x in b.actions)) if b.actions else "—")
            + f"; cost {b.cost_cny:,} CNY, gain {b.gain:.2f}, {b.effort_months:g} months"
            + (f"; criteria met: {', '.join(b.criteria_met)}" if b.criteria_met else "")
            + ("" if b.optimal else " (not proven optimal)"),
            highlight=False,
        )
    if r.uncovered:
        out.print(
            _("No action in the catalogue moves: {criteria}").format(criteria=", ".join(r.uncovered)),
            highlight=False,
        )
    if r.done:
        out.print(_("Already done: {actions}").format(actions=", ".join(r.done)), highlight=False)
    out.print(f"[dim]{escape(r.cost_note)}[/dim]", highlight=False)


# --- explain ---------------------------------------------------------------------------------------

# what each confidence tag of a criterion, requirement or scenario means (data, shown by `explain`)
_CONFIDENCE = {
    "V": Text(en="verified: a source seen states it", zh="已核实：有来源明确说明"),
    "S": Text(
        en="secondary: news or commentary only; check against the official text",
        zh="二手来源：仅见于新闻或评论，需对照官方原文",
    ),
    "U": Text(
        en="unverified: no source confirms it; check before relying on it",
        zh="未核实：无来源证实，使用前需核对",
    ),
}


def how_judged(c: Criterion, g: GradientFramework, lang: str) -> str:
    """How the assessment judges a criterion, in words, in ``lang`` (any tag ``resolve_language`` reads)."""
    with use_language(resolve_language(lang)):
        return _how_judged(c, g)


def _how_judged(c: Criterion, g: GradientFramework) -> str:
    if isinstance(c, GateCriterion):
        return _("the factory answers yes or no; yes passes")
    if isinstance(c, RelativeBenchmarkCriterion):
        return _("the factory (or a reviewer) answers yes or no against {benchmark}; yes passes").format(
            benchmark=c.params.benchmark
        )
    if isinstance(c, JudgementCriterion):
        scale = " / ".join(f"{v:g}" for v in g.judgement.scale)
        return _("scored {scale}; passes at {pass_at} or above").format(
            scale=scale, pass_at=f"{g.judgement.pass_at:g}"
        )
    if isinstance(c, MetricThresholdCriterion):
        p = c.params
        if p.metric == "ai_scenario_share":
            return _(
                "AI scenarios ÷ scenarios in use {comparator} {value} (declared scenarios and scenario runs)"
            ).format(comparator=p.comparator, value=f"{p.value:g}")
        return _(
            "{metric} {comparator} {value} {unit}: the live measurement when there is one, else the "
            "declared value; a gap beyond the tolerance is flagged as a disagreement"
        ).format(metric=p.metric, comparator=p.comparator, value=f"{p.value:g}", unit=p.unit)
    if isinstance(c, CountThresholdCriterion):
        cp = c.params
        scope = cp.stage or cp.dimension or _("all")
        return _("{count} ({scope}) ≥ {min}; in use = declared built or run in the window").format(
            count=cp.count, scope=scope, min=cp.min
        )
    assert isinstance(c, PrerequisiteCriterion)
    pp = c.params
    if pp.cmmm_min is not None:
        return _("the CMMM grade scored from the answers (GB/T 39117) is {grade} or above").format(
            grade=pp.cmmm_min
        )
    return _("this assessment finds level {level} reached").format(level=pp.level)


def explain_item(
    item_id: str, g: GradientFramework, cmmm: CmmmFramework, catalogue: ScenarioCatalogue, lang: str = "en"
) -> dict[str, Any]:
    """A criterion, CMMM requirement or scenario explained as a dict."""
    by_id = {c.id: c for c in g.criteria}
    if item_id in by_id:
        c = by_id[item_id]
        return {
            "id": c.id,
            "text": c.text.get(lang),
            "framework": g.id,
            "level": c.level,
            "type": c.type,
            "question": c.question.get(lang) if c.question else None,
            "source": c.source.url,
            "clause": c.source.clause,
            "confidence": c.confidence,
            "confidence_means": _CONFIDENCE[c.confidence].get(lang),
            "unverified_threshold": c.confidence in ("S", "U"),
            "params": c.params.model_dump(exclude_none=True) if hasattr(c, "params") else {},
            "evidence": list(c.evidence),
            "judged": how_judged(c, g, lang),
            "defined_in": list(g.lineage.get(c.id, ())),
            "note": c.note.get(lang) if c.note else None,
        }
    for s in cmmm.subdomains:
        for r in s.requirements:
            if r.id == item_id:
                with use_language(resolve_language(lang)):
                    judged = _(
                        "scored on the GB/T 39117 scale; a sub-domain scores the mean of its "
                        "requirements at that level"
                    )
                return {
                    "id": r.id,
                    "text": r.text.get(lang),
                    "framework": cmmm.id,
                    "subdomain": s.id,
                    "level": r.level,
                    "confidence": r.confidence,
                    "confidence_means": _CONFIDENCE[r.confidence].get(lang),
                    "scale": [f"{v.value:g} {v.name.get(lang)}" for v in cmmm.scoring.values],
                    "source": cmmm.source.url,
                    "clause": cmmm.source.clause,
                    "judged": judged,
                }
    for sc in catalogue.scenarios:
        if item_id in (sc.id, f"S{sc.no}"):
            return {
                "id": sc.id,
                "text": sc.name.get(lang),
                "framework": catalogue.id,
                "no": sc.no,
                "stage": sc.stage,
                "description": sc.description.get(lang),
                "ai_capable": sc.ai_capable,
                "typical_systems": list(sc.typical_systems),
                "data_signals": list(sc.data_signals),
                "confidence": sc.confidence,
                "confidence_means": _CONFIDENCE[sc.confidence].get(lang),
                "source": sc.source.url if sc.source else catalogue.source.url,
                "clause": sc.source.clause if sc.source else catalogue.source.clause,
            }
    raise UserError(
        f"unknown criterion {item_id!r} in {g.id}; criteria: {', '.join(by_id)} "
        f"(CMMM requirement ids like {cmmm.requirement_ids()[0]} and scenario ids work too)"
    )
