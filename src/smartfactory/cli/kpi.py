"""``smartfactory kpi``: ISO 22400-2 KPIs, their explanation, and the OEE loss waterfall."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from smartfactory.cli.render import console
from smartfactory.kpi import Kpi, KpiResult, Per, catalogue, compute_result, why_null
from smartfactory.kpi.compute import stored_plant
from smartfactory.kpi.labels import labels
from smartfactory.kpi.losses import LossReport, losses
from smartfactory.kpi.periods import parse_moment
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Level, Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.store import TelemetryStore

DEFAULT_STORE = Path(".smartfactory")


class Format(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"
    csv = "csv"


StoreOption = Annotated[Path, typer.Option("--store", help="store folder")]
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


@app.callback(invoke_without_command=True)
def kpi_command(
    ctx: typer.Context,
    store: StoreOption = DEFAULT_STORE,
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
    cat = catalogue()
    wanted = _kpi_list(kpi, fmt, explain)
    with TelemetryStore.open(store, mode="read") as telemetry:
        plant = _plant(telemetry, plant_file)
        lo, hi = _window(telemetry, plant, start, end)
        result = compute_result(telemetry, lo, hi, by=by, per=per, kpis=wanted, node=node, plant=plant)
    if explain is not None:
        print_explanation(result, cat.kpi(explain), fmt, lang)
        return
    if fmt is Format.json:
        print(json.dumps(result_json(result, lang), ensure_ascii=False, indent=2))
    elif fmt is Format.csv:
        sys.stdout.write(result_csv(result))
    else:
        console().print(kpi_table(result, lang))
        _print_reasons(result, lang)


@app.command("losses")
def losses_command(
    store: StoreOption = DEFAULT_STORE,
    start: FromOption = None,
    end: ToOption = None,
    by: ByOption = Level.equipment,
    node: NodeOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json")] = Format.table,
    lang: LangOption = "en",
    plant_file: PlantOption = None,
) -> None:
    """The OEE loss waterfall (hours, by reason) and the downtime Pareto."""
    with TelemetryStore.open(store, mode="read") as telemetry:
        plant = _plant(telemetry, plant_file)
        lo, hi = _window(telemetry, plant, start, end)
        report = losses(telemetry, lo, hi, by=by, node=node, plant=plant)
    if fmt is Format.json:
        print(json.dumps(losses_json(report, lang), ensure_ascii=False, indent=2))
        return
    out = console()
    for table in loss_tables(report, lang):
        out.print(table)


@app.command("list")
def list_command(lang: LangOption = "en") -> None:
    """Every ISO 22400-2 KPI: its formula, or what the data would need to support it."""
    table = Table(title="ISO 22400-2 KPIs", title_justify="left")
    for column in ("no.", "id", "name", "formula / needs", "unit"):
        table.add_column(column)
    for k in sorted(catalogue().kpis.values(), key=lambda k: k.no):
        what = k.formula or ("需要：" if lang.startswith("zh") else "needs: ") + (
            k.needs.get(lang) if k.needs else ""
        )
        table.add_row(str(k.no), k.id, k.name.get(lang), what, k.unit)
    console().print(table)


# --- shared -------------------------------------------------------------------------------


def _kpi_list(text: str | None, fmt: Format, explain: str | None) -> list[str] | None:
    cat = catalogue()
    if explain is not None:
        return [cat.kpi(explain).id]
    if text is None:
        return None if fmt is not Format.table else list(cat.headline)
    if text.strip() == "all":
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _plant(telemetry: TelemetryStore, plant_file: Path | None) -> Plant:
    return load_plant(plant_file) if plant_file is not None else stored_plant(telemetry)


def _window(telemetry: TelemetryStore, plant: Plant, start: str | None, end: str | None) -> tuple[Any, Any]:
    """The period asked for; missing ends default to whole local days around the stored data."""
    tz = ZoneInfo(plant.plant.timezone)
    lo: date | datetime | None = parse_moment(start, "--from") if start else None
    hi: date | datetime | None = parse_moment(end, "--to") if end else None
    if lo is None or hi is None:
        first, last = telemetry.time_range()
        if first is None or last is None:
            raise UserError("the store holds no events; give --from and --to, or simulate or ingest first")
        if lo is None:
            lo = _to_local(first, tz).date()
        if hi is None:
            last_local = _to_local(last, tz)
            hi = last_local.date() + timedelta(days=0 if last_local.time() == datetime.min.time() else 1)
    return lo, hi


def _to_local(utc_naive: datetime, tz: ZoneInfo) -> datetime:
    return utc_naive.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None)


def _number(value: Any, kpi: Kpi) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kpi.unit == "ratio":
        return f"{value * 100:.1f}%"
    if kpi.unit == "h":
        return f"{value:.2f} h"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _period(row: dict[str, Any], per: Per) -> str:
    lo, hi = row["period_start"], row["period_end"]
    if per is Per.shift:
        return f"{lo:%Y-%m-%d %H:%M}–{hi:%H:%M} {row['shift']}"
    if per is Per.day and hi - lo == timedelta(days=1) and lo.time() == datetime.min.time():
        return f"{lo:%Y-%m-%d}"
    return f"{lo:%Y-%m-%d %H:%M} → {hi:%Y-%m-%d %H:%M}"


def kpi_table(result: KpiResult, lang: str = "en") -> Table:
    """The KPI rows as a rich table, one row per node and period."""
    names = _node_names(result.plant, lang)
    zh = lang.startswith("zh")
    title = f"ISO 22400-2 — {result.by.value} / {result.per.value}"
    table = Table(title=title, title_justify="left")
    table.add_column("节点" if zh else "node")
    table.add_column("期间" if zh else "period")
    table.add_column("数据覆盖" if zh else "data", justify="right")
    for k in result.kpis:
        table.add_column(k.name.get(lang) if zh else k.id, justify="right")
    for row in result.rows():
        coverage = row["data_coverage"]
        cells = [
            f"{row['node']} {names.get(row['node'], '')}".strip(),
            _period(row, result.per),
            "—" if coverage is None else f"{coverage * 100:.0f}%",
        ]
        cells += [_number(row[k.id], k) for k in result.kpis]
        table.add_row(*cells)
    return table


def _print_reasons(result: KpiResult, lang: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for row in result.rows():
        for k in result.kpis:
            reason = why_null(catalogue(), row, k, lang)
            if reason:
                seen[(k.id, reason)] = seen.get((k.id, reason), 0) + 1
    out = console()
    for (kpi_id, reason), n in seen.items():
        out.print(f"[dim]— {kpi_id}: {reason} ({n} rows)[/dim]")


def _node_names(plant: Plant, lang: str) -> dict[str, str]:
    from smartfactory.model.hierarchy import build_tree

    return {n.id: n.name.text(lang) for n in build_tree(plant).walk()}


def _iso(value: datetime) -> str:
    return value.isoformat()


def result_json(result: KpiResult, lang: str = "en") -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: keys, KPIs (null where unsupported) and why each null is null."""
    out = []
    for row in result.rows():
        item: dict[str, Any] = {
            "node": row["node"],
            "level": row["level"],
            "period_start": _iso(row["period_start"]),
            "period_end": _iso(row["period_end"]),
            "shift": row["shift"],
            "data_coverage": row["data_coverage"],
        }
        reasons = {}
        for k in result.kpis:
            item[k.id] = row[k.id]
            reason = why_null(catalogue(), row, k, lang)
            if reason:
                reasons[k.id] = reason
        item["why_null"] = reasons
        out.append(item)
    return out


def result_csv(result: KpiResult) -> str:
    """Rows as CSV with one column per KPI; empty where there is no value."""
    buffer = io.StringIO()
    keys = [
        "node",
        "level",
        "period_start",
        "period_end",
        "shift",
        "data_coverage",
        *(k.id for k in result.kpis),
    ]
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for row in result.rows():
        writer.writerow(
            [
                "" if row[k] is None else (_iso(row[k]) if isinstance(row[k], datetime) else row[k])
                for k in keys
            ]
        )
    return buffer.getvalue()


def print_explanation(result: KpiResult, kpi: Kpi, fmt: Format, lang: str) -> None:
    """A KPI's definition, the elements it reads and where they come from, and their values."""
    cat = catalogue()
    chain = cat.dependencies([kpi])
    elements = cat.elements_of(kpi)
    rows = []
    for row in result.rows():
        rows.append(
            {
                "node": row["node"],
                "period_start": _iso(row["period_start"]),
                "period_end": _iso(row["period_end"]),
                "shift": row["shift"],
                "elements": {e.id: row[e.column] for e in elements},
                "values": {k.id: row[k.id] for k in chain},
                "why_null": why_null(cat, row, kpi, lang),
            }
        )
    if fmt is Format.json:
        doc = {
            "kpi": kpi.id,
            "iso": f"ISO 22400-2 KPI {kpi.no}: {kpi.iso}",
            "name": kpi.name.get(lang),
            "formulas": {k.id: k.formula for k in chain},
            "valid_when": {k.id: k.valid_when for k in chain if k.valid_when},
            "unit": kpi.unit,
            "range": [kpi.low, kpi.high],
            "trend": kpi.trend,
            "source": cat.source,
            "elements": {
                e.id: {"name": e.name.get(lang), "unit": e.unit, "from": e.source, "how": e.how.get(lang)}
                for e in elements
            },
            "rows": rows,
        }
        print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        return
    out = console()
    out.print(f"[bold]{kpi.name.get(lang)}[/bold] — ISO 22400-2 KPI {kpi.no} ({kpi.iso})")
    for k in chain:
        extra = f"   [dim](valid when {k.valid_when})[/dim]" if k.valid_when else ""
        out.print(f"  {k.id} = {k.formula or 'needs: ' + (k.needs.get(lang) if k.needs else '')}{extra}")
    rng = f"{kpi.low:g} … {kpi.high:g}"
    out.print(f"  unit {kpi.unit}, range {rng}, {kpi.trend} is better")
    if kpi.note:
        out.print(f"  [dim]{kpi.note.get(lang)}[/dim]")
    out.print(f"  [dim]source: {cat.source}[/dim]")
    table = Table(title="elements", title_justify="left")
    for column in ("id", "name", "unit", "from", "how"):
        table.add_column(column)
    for e in elements:
        table.add_row(e.id, e.name.get(lang), e.unit, e.source, e.how.get(lang))
    out.print(table)
    values = Table(title="values", title_justify="left")
    for column in ("node", "period", *(e.id for e in elements), *(k.id for k in chain)):
        values.add_column(column, justify="right")
    for row, item in zip(result.rows(), rows, strict=True):
        values.add_row(
            row["node"],
            _period(row, result.per),
            *(f"{v:,.6g}" if v is not None else "—" for v in item["elements"].values()),
            *(_number(v, cat.kpis[k]) for k, v in item["values"].items()),
        )
    out.print(values)


def loss_tables(report: LossReport, lang: str = "en") -> list[Table]:
    """One waterfall table per node, then the Pareto of stop causes."""
    zh = lang.startswith("zh")
    cats = labels()["category"]
    tables = []
    for w in report.waterfalls:
        t = Table(title=f"{w.node} — OEE {_pct(w.oee)}", title_justify="left")
        t.add_column("类别" if zh else "category")
        t.add_column("原因" if zh else "cause")
        t.add_column("小时" if zh else "hours", justify="right")
        t.add_column("占 PBT" if zh else "of PBT", justify="right")
        t.add_row(cats["planned_busy"].get(lang), "", f"{w.pbt_h:.2f}", "100.0%")
        for loss in w.losses:
            share = loss.hours / w.pbt_h if w.pbt_h else 0.0
            cause = f"{loss.cause} {loss.name.get(lang)}"
            t.add_row(cats[loss.category].get(lang), cause, f"−{loss.hours:.2f}", f"{share * 100:.1f}%")
        t.add_row(cats["productive"].get(lang), "", f"{w.productive_h:.2f}", _pct(w.oee))
        if w.no_data_h:
            t.add_row(cats["no_data"].get(lang), "", f"({w.no_data_h:.2f})", "")
        tables.append(t)
    p = Table(title="停机帕累托" if zh else "Downtime Pareto", title_justify="left")
    for column in ("cause", "hours", "share", "cumulative"):
        p.add_column(column, justify="right" if column != "cause" else "left")
    for row in report.pareto:
        p.add_row(
            f"{row.cause} {row.name.get(lang)}", f"{row.hours:.2f}", _pct(row.share), _pct(row.cumulative)
        )
    tables.append(p)
    return tables


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def losses_json(report: LossReport, lang: str = "en") -> dict[str, Any]:
    """The waterfalls and the Pareto as JSON-ready data (hours)."""
    return {
        "by": report.by.value,
        "from": report.window.start_local.isoformat(),
        "to": report.window.end_local.isoformat(),
        "waterfalls": [
            {
                "node": w.node,
                "pbt_calendar_h": w.pbt_calendar_h,
                "no_data_h": w.no_data_h,
                "pbt_h": w.pbt_h,
                "losses": [
                    {"category": x.category, "cause": x.cause, "name": x.name.get(lang), "hours": x.hours}
                    for x in w.losses
                ],
                "productive_h": w.productive_h,
                "oee": w.oee,
            }
            for w in report.waterfalls
        ],
        "pareto": [
            {
                "cause": r.cause,
                "name": r.name.get(lang),
                "hours": r.hours,
                "share": r.share,
                "cumulative": r.cumulative,
            }
            for r in report.pareto
        ],
    }


def headline(store: Path, lang: str = "en") -> None:
    """Headline KPIs per line and day (the end of ``smartfactory demo``)."""
    with TelemetryStore.open(store, mode="read") as telemetry:
        plant = stored_plant(telemetry)
        lo, hi = _window(telemetry, plant, None, None)
        result = compute_result(
            telemetry, lo, hi, by=Level.line, per=Per.day, kpis=list(catalogue().headline)
        )
        whole = compute_result(
            telemetry, lo, hi, by=Level.line, per=Per.window, kpis=list(catalogue().headline)
        )
    out = console()
    out.print(kpi_table(result, lang))
    out.print(kpi_table(whole, lang))
    _print_reasons(whole, lang)
