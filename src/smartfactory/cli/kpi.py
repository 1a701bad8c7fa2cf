"""``smartfactory kpi``: ISO 22400-2 KPIs, their explanation, and the OEE loss waterfall.

The numbers, the names and the parsing of the options come from ``smartfactory.app.kpis``, the
same use cases ``GET /api/v1/kpis`` answers with: ``--format json`` prints the API's document.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smartfactory.app import kpis as use
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, ngettext, resolve_language, use_language
from smartfactory.app.remote import call
from smartfactory.app.workspace import Workspace
from smartfactory.cli.options import DEFAULT_STORE_OPTION, StoreOption
from smartfactory.cli.render import console
from smartfactory.kpi import Per
from smartfactory.model.plant import Level
from smartfactory.model.plant_file import load_plant


class Format(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"
    csv = "csv"


FromOption = Annotated[
    str | None, typer.Option("--from", help="plant-local start date or time (default: first stored day)")
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="plant-local end, not included (default: after the last stored day)"),
]
ByOption = Annotated[Level, typer.Option("--by", help="hierarchy level to report by")]
NodeOption = Annotated[str | None, typer.Option("--node", help="only the equipment under this node")]
LangOption = Annotated[str, typer.Option("--lang", help="zh or en")]
PlantOption = Annotated[
    Path | None, typer.Option("--plant", help="plant file (default: the plant saved in the store)")
]

app = typer.Typer(
    help="ISO 22400-2 KPIs by equipment, line … and shift, day … (关键绩效指标).",
    no_args_is_help=False,
)


@contextmanager
def _reading(store: str | Path, plant_file: Path | None, lang: str) -> Iterator[Workspace]:
    """The store read-only in ``lang`` (the plant of ``--plant`` when given), or through its owner."""
    plant = load_plant(plant_file) if plant_file is not None else None
    with use_language(resolve_language(lang)), Workspace.open(store, mode="read", plant=plant) as workspace:
        yield workspace


@app.callback(invoke_without_command=True)
def kpi_command(
    ctx: typer.Context,
    store: StoreOption = DEFAULT_STORE_OPTION,
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = Level.line,
    per: Annotated[Per, typer.Option("--per", help="period")] = Per.day,
    kpi: Annotated[str | None, typer.Option("--kpi", help="comma-separated KPI ids, or 'all'")] = None,
    node: NodeOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
    explain: Annotated[
        str | None, typer.Option("--explain", help="show a KPI's formula and the values behind it")
    ] = None,
    lang: LangOption = "en",
    plant_file: PlantOption = None,
) -> None:
    """Compute ISO 22400-2 KPIs from the store (sum the elements, then divide)."""
    if ctx.invoked_subcommand is not None:
        return
    period: use.PeriodArgs = {"start": start, "end": end, "by": by, "per": per, "node": node}
    with _reading(store, plant_file, lang) as workspace:
        if explain is not None:
            explanation = call(
                workspace, use.kpi_explanation, kpi=explain, lang=lang, fields=use.CLI_FIELDS, **period
            )
            if fmt is Format.json:
                sys.stdout.write(explanation.model_dump_json(indent=2) + "\n")
            else:
                print_explanation(explanation)
            return
        # the table shows the headline KPIs unless asked; json and csv every KPI, as the API
        wanted = [kpi] if kpi else (None if fmt is not Format.table else use.kpi_catalogue().headline)
        report = call(workspace, use.kpis_report, kpis=wanted, lang=lang, fields=use.CLI_FIELDS, **period)
        if fmt is Format.json:
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
        elif fmt is Format.csv:
            sys.stdout.write(report_csv(report))
        else:
            console().print(kpi_table(report))
            print_reasons(report)


@app.command("losses")
def losses_command(
    store: StoreOption = DEFAULT_STORE_OPTION,
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = Level.equipment,
    node: NodeOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    lang: LangOption = "en",
    plant_file: PlantOption = None,
) -> None:
    """The OEE loss waterfall (hours, by reason) and the downtime Pareto."""
    with _reading(store, plant_file, lang) as workspace:
        report = call(
            workspace,
            use.losses_report,
            start=start,
            end=end,
            by=by,
            node=node,
            lang=lang,
            fields=use.CLI_FIELDS,
        )
        if fmt is Format.json:
            sys.stdout.write(report.model_dump_json(indent=2) + "\n")
            return
        out = console()
        for table in loss_tables(report):
            out.print(table)


@app.command("list")
def list_command(lang: LangOption = "en") -> None:
    """Every ISO 22400-2 KPI: its formula, or what the data would need to support it."""
    with use_language(resolve_language(lang)):
        console().print(catalogue_table(use.kpi_catalogue()))


def headline(store: str | Path, lang: str = "en") -> None:
    """Headline KPIs per line and day, then for the whole period (the end of ``smartfactory demo``)."""
    with _reading(store, None, lang) as workspace:
        ids = use.kpi_catalogue().headline
        days, whole = (
            call(workspace, use.kpis_report, by=Level.line, per=cut, kpis=ids, fields=use.CLI_FIELDS)
            for cut in (Per.day, Per.window)
        )
        out = console()
        out.print(kpi_table(days))
        out.print(kpi_table(whole))
        print_reasons(whole)


# --- rendering the models --------------------------------------------------------------------


def _units() -> dict[str, use.KpiDefinition]:
    return {k.id: k for k in use.kpi_catalogue().kpis}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "h":
        return f"{value:.2f} h"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _period(lo: datetime, hi: datetime, per: Per, shift: str | None) -> str:
    if per is Per.shift:
        return f"{lo:%Y-%m-%d %H:%M}–{hi:%H:%M} {shift}"
    if per is Per.day and hi - lo == timedelta(days=1) and lo.time() == datetime.min.time():
        return f"{lo:%Y-%m-%d}"
    return f"{lo:%Y-%m-%d %H:%M} → {hi:%Y-%m-%d %H:%M}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def kpi_table(report: use.KpiReport) -> Table:
    """The KPI rows as a rich table, one row per node and period, in the current language."""
    kpis = _units()
    table = Table(title=f"ISO 22400-2 — {report.by.value} / {report.per.value}", title_justify="left")
    table.add_column(_("node"))
    table.add_column(_("period"))
    table.add_column(_("data"), justify="right")
    for k in report.kpis:
        # English readers know the short ids; a Chinese reader gets the KPI's name
        table.add_column(k if language() == "en" else kpis[k].name, justify="right")
    for row in report.rows:
        coverage = row.data_coverage
        table.add_row(
            f"{row.node} {row.name}".strip() if row.name != row.node else row.node,
            _period(row.period_start, row.period_end, report.per, row.shift),
            "—" if coverage is None else f"{coverage * 100:.0f}%",
            *(_number(row.values[k], kpis[k].unit) for k in report.kpis),
        )
    return table


def print_reasons(report: use.KpiReport) -> None:
    """Why KPIs have no value, once per KPI and reason, with the number of rows."""
    seen: dict[tuple[str, str], int] = {}
    for row in report.rows:
        for kpi_id, reason in row.why_null.items():
            seen[(kpi_id, reason)] = seen.get((kpi_id, reason), 0) + 1
    out = console()
    for (kpi_id, reason), n in seen.items():
        rows = ngettext("{n} row", "{n} rows", n).format(n=n)
        out.print(f"[dim]— {kpi_id}: {reason} ({rows})[/dim]")


CSV_KEYS = ("node", "level", "period_start", "period_end", "shift", "data_coverage")


def report_csv(report: use.KpiReport) -> str:
    """The rows as CSV with one column per KPI; empty where there is no value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CSV_KEYS, *report.kpis])
    for row in report.rows:
        writer.writerow(
            [
                row.node,
                row.level.value,
                row.period_start.isoformat(),
                row.period_end.isoformat(),
                row.shift or "",
                "" if row.data_coverage is None else row.data_coverage,
                *("" if row.values[k] is None else row.values[k] for k in report.kpis),
            ]
        )
    return buffer.getvalue()


def catalogue_table(cat: use.KpiCatalogue) -> Table:
    """Every KPI with its formula, or what the data would need for it."""
    table = Table(title="ISO 22400-2 KPIs", title_justify="left")
    for column in (_("no."), "id", _("name"), _("formula / needs"), _("unit")):
        table.add_column(column)
    for k in cat.kpis:
        what = k.formula or _("needs: {what}").format(what=k.needs or "")
        table.add_row(str(k.no), k.id, k.name, what, k.unit)
    return table


def print_explanation(doc: use.KpiExplanation) -> None:
    """A KPI's definition, the elements it reads and where they come from, and their values."""
    out = console()
    units = _units()
    out.print(f"[bold]{doc.name}[/bold] — ISO 22400-2 KPI {doc.no} ({doc.iso.split(': ', 1)[-1]})")
    for kpi_id, formula in doc.formulas.items():
        valid = doc.valid_when.get(kpi_id)
        extra = "   [dim](" + _("valid when {condition}").format(condition=valid) + ")[/dim]" if valid else ""
        shown = formula or _("needs: {what}").format(what=doc.needs.get(kpi_id, ""))
        out.print(f"  {kpi_id} = {shown}{extra}")
    low, high = doc.range
    trend = _("higher is better") if doc.trend == "higher" else _("lower is better")
    out.print(
        "  "
        + _("unit {unit}, range {low} … {high}, {trend}").format(
            unit=doc.unit,
            low="−∞" if low is None else f"{low:g}",
            high="∞" if high is None else f"{high:g}",
            trend=trend,
        )
    )
    if doc.note:
        out.print(f"  [dim]{doc.note}[/dim]")
    out.print("  [dim]" + _("source: {source}").format(source=doc.source) + "[/dim]")
    table = Table(title=_("elements"), title_justify="left")
    for column in ("id", _("name"), _("unit"), _("from"), _("how")):
        table.add_column(column)
    for e in doc.elements.values():
        table.add_row(e.id, e.name, e.unit, e.source, e.how)
    out.print(table)
    values = Table(title=_("values"), title_justify="left")
    for column in (_("node"), _("period"), *doc.elements, *doc.formulas):
        values.add_column(column, justify="right")
    for row in doc.rows:
        values.add_row(
            row.node,
            _period(row.period_start, row.period_end, doc.per, row.shift),
            *(f"{v:,.6g}" if v is not None else "—" for v in row.elements.values()),
            *(_number(v, units[k].unit) for k, v in row.values.items()),
        )
    out.print(values)


def loss_tables(report: use.LossesResponse) -> list[Table]:
    """One waterfall table per node, then the Pareto of stop causes, in the current language."""
    tables = []
    for w in report.waterfalls:
        t = Table(title=f"{w.node} — OEE {_pct(w.oee)}", title_justify="left")
        t.add_column(_("category"))
        t.add_column(_("cause"))
        t.add_column(_("hours"), justify="right")
        t.add_column(_("of PBT"), justify="right")
        t.add_row(_("Planned busy time"), "", f"{w.pbt_h:.2f}", "100.0%")
        for loss in w.losses:
            share = loss.hours / w.pbt_h if w.pbt_h else 0.0
            t.add_row(loss.category_name, f"{loss.cause} {loss.name}", f"−{loss.hours:.2f}", _pct(share))
        t.add_row(_("Fully productive time"), "", f"{w.productive_h:.2f}", _pct(w.oee))
        if w.no_data_h:
            t.add_row(_("Planned busy time without data (not counted)"), "", f"({w.no_data_h:.2f})", "")
        tables.append(t)
    p = Table(title=_("Downtime Pareto"), title_justify="left")
    p.add_column(_("cause"))
    for column in (_("hours"), _("share"), _("cumulative")):
        p.add_column(column, justify="right")
    for row in report.pareto:
        p.add_row(f"{row.cause} {row.name}", f"{row.hours:.2f}", _pct(row.share), _pct(row.cumulative))
    tables.append(p)
    return tables
