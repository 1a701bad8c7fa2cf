"""``smartfactory summary``: hours per state, good / scrap / rework, energy and alarms per machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartfactory.app.remote import call
from smartfactory.app.store_ops import store_summary
from smartfactory.app.workspace import Workspace
from smartfactory.cli.options import DEFAULT_STORE_OPTION, DEMO_PLANT, StoreOption
from smartfactory.cli.render import console, summary_table
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.store import is_postgres_url
from smartfactory.store.postgres import shown_url


def summary_command(
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file")] = DEMO_PLANT,
    store: StoreOption = DEFAULT_STORE_OPTION,
    lang: Annotated[str, typer.Option(help="zh or en")] = "en",
) -> None:
    """Hours in each state, good / scrap / rework, energy and alarms per machine."""
    show_summary(load_plant(plant_file), store, lang)


def show_summary(plant: Plant, folder: str | Path, lang: str = "en") -> None:
    """Print the per-line, per-machine summary of a store."""
    with Workspace.open(folder, mode="read", plant=plant) as workspace:
        summary = call(workspace, store_summary)
        telemetry = workspace.folder.location if workspace.on_server else workspace.folder.telemetry_path
        registry = (
            shown_url(workspace.folder.registry_url)
            if workspace.folder.registry_url and is_postgres_url(workspace.folder.registry_url)
            else workspace.folder.registry_location
        )
        where = f"telemetry: {telemetry}   registry: {registry}"
    out = console()
    out.print(f"stored period (UTC): {summary.first} → {summary.last}")
    for table in summary_table(plant, summary.machines, lang):
        out.print(table)
    out.print(where)
