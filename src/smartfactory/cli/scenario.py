"""``smartfactory scenario``: the AI and optimisation scenario library, runs on the plant, benchmarks."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import resolve_language, use_language
from smartfactory.app.remote import call
from smartfactory.app.store_ops import run_scenario
from smartfactory.app.workspace import Workspace
from smartfactory.assess.framework import shipped
from smartfactory.cli.options import DEFAULT_STORE, folder_only
from smartfactory.cli.render import console
from smartfactory.model.errors import UserError
from smartfactory.scenarios import SCENARIOS, BenchmarkRow, scenario_class
from smartfactory.store import ScenarioRunRecord, StoreFolder, list_scenario_runs

DATA_ENV = "SMARTFACTORY_DATA"
# the official typical-scenario catalogue the scenario cards name ids from
CATALOGUE = "scenarios/2024/national"

app = typer.Typer(
    help="AI and optimisation scenarios (典型场景): list, run on the plant's data, reproduce benchmarks.",
    no_args_is_help=True,
)


def data_dir(given: Path | None) -> Path:
    """Where the public data sets are: --data, $SMARTFACTORY_DATA, or ../shared/data beside the checkout."""
    candidates = [given] if given is not None else []
    if os.environ.get(DATA_ENV):
        candidates.append(Path(os.environ[DATA_ENV]))
    candidates.append(Path.cwd().parent / "shared" / "data")
    for candidate in candidates:
        if candidate is not None and candidate.is_dir():
            return candidate
    raise UserError(
        f"no public data folder: give --data DIR or set {DATA_ENV} (tried "
        + ", ".join(str(c) for c in candidates if c is not None)
        + ")"
    )


def _official_names(lang: str) -> dict[str, str]:
    catalogue = shipped().scenarios(CATALOGUE)
    return {s.id: s.name.get(lang) for s in catalogue.scenarios}


@app.command("list")
def list_command(
    store: Annotated[Path, typer.Option("--store", help="store folder (for the last runs)")] = DEFAULT_STORE,
    lang: Annotated[str, typer.Option(help="zh or en")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Every scenario, the official typical scenarios it implements, whether it uses AI, its last run."""
    names = _official_names(lang)
    last: dict[str, ScenarioRunRecord] = {}
    folder = StoreFolder(store)
    if folder.has_registry():
        with folder.open_registry() as registry:
            for record in list_scenario_runs(registry):
                last.setdefault(record["scenario"], record)
    rows = []
    for name in SCENARIOS:
        card = scenario_class(name).card
        latest = last.get(name)
        rows.append(
            {
                "name": name,
                "title": card.title.get(lang),
                "official_scenarios": [{"id": o, "name": names.get(o, o)} for o in card.official_scenarios],
                "uses_ai": card.uses_ai,
                "kind": card.kind,
                "public_data": card.public_data,
                "model_card": card.model_card,
                "last_run": None
                if latest is None
                else {
                    "status": latest["status"],
                    "finished_at": str(latest["finished_at"]),
                    "metrics": latest["metrics"],
                },
            }
        )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    with use_language(resolve_language(lang)):
        table = Table(title=_("scenario library"), title_justify="left")
        for column in (_("name"), _("scenario"), _("official typical scenarios"), "AI", _("last run")):
            table.add_column(column)
        for row in rows:
            shown_run = row["last_run"]
            shown = "—" if shown_run is None else f"{shown_run['status']} {shown_run['finished_at'][:19]}"  # type: ignore[index]
            table.add_row(
                str(row["name"]),
                str(row["title"]),
                "\n".join(f"{o['id']} ({o['name']})" for o in row["official_scenarios"]),  # type: ignore[attr-defined]
                _("yes") if row["uses_ai"] else _("no"),
                shown,
            )
    console().print(table)


@app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help=f"scenario: {', '.join(SCENARIOS)}")],
    store: Annotated[Path, typer.Option("--store", help="store folder")] = DEFAULT_STORE,
    as_json: Annotated[bool, typer.Option("--json", help="print the run as JSON")] = False,
) -> None:
    """Train or solve on the plant's stored data, keep the results, record the run as evidence."""
    folder_only(store, "scenario run")
    card = scenario_class(name).card
    folder = StoreFolder(store)
    if not folder.has_registry() or not folder.telemetry_path.exists():
        raise UserError(f"no store at {store}: run `smartfactory simulate` or `ingest` first")
    # the scenario writes its results into the store: this process writes, or the store's owner runs it
    with Workspace.open(store, mode="write", via_owner=True) as workspace:
        run = call(workspace, run_scenario, name=name)
    if as_json:
        print(json.dumps(run.model_dump(mode="json"), ensure_ascii=False, indent=2, default=str))
        return
    table = Table(title=f"{name}: {card.title.en} / {card.title.zh}", title_justify="left", show_header=False)
    for key, value in run.metrics.items():
        table.add_row(key, f"{value:,.4g}")
    console().print(table)
    console().print(
        f"recorded run {run.run_id} as {run.official_scenario} evidence; artefacts: {run.artefacts}"
    )


@app.command("benchmark")
def benchmark_command(
    name: Annotated[str, typer.Argument(help=f"scenario: {', '.join(SCENARIOS)}")],
    data: Annotated[Path | None, typer.Option("--data", help="public data folder")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="a small subset (smoke test)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print as JSON")] = False,
) -> None:
    """Reproduce the public benchmark with the published protocol, beside the published figure."""
    cls = scenario_class(name)
    rows = cls().benchmark(data_dir(data), quick=quick)
    if as_json:
        print(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2, default=str))
        return
    console().print(_benchmark_table(name, rows))


def _benchmark_table(name: str, rows: list[BenchmarkRow]) -> Table:
    table = Table(title=f"{name}: public benchmark", title_justify="left")
    for column in ("benchmark", "metric", "value", "published", "target", "ok", "train s", "infer s"):
        table.add_column(column)
    for r in rows:
        ok = "info" if r.passed is None else ("PASS" if r.passed else "FAIL")
        table.add_row(
            r.benchmark,
            r.metric,
            f"{r.value:.4g}",
            r.published,
            r.target,
            ok,
            "" if r.train_s is None else f"{r.train_s:.2f}",
            "" if r.infer_s is None else f"{r.infer_s:.3f}",
        )
    return table
