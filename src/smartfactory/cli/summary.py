"""``smartfactory summary``: hours per state, good / scrap / rework, energy and alarms per machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartfactory.app.workspace import Workspace
from smartfactory.cli.options import DEFAULT_STORE, DEMO_PLANT, StoreOption
from smartfactory.cli.render import console, summary_table
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.store import summarise


def summary_command(
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file")] = DEMO_PLANT,
    store: StoreOption = DEFAULT_STORE,
    lang: Annotated[str, typer.Option(help="zh or en")] = "en",
) -> None:
    """Hours in each state, good / scrap / rework, energy and alarms per machine."""
    show_summary(load_plant(plant_file), store, lang)


def show_summary(plant: Plant, folder: Path, lang: str = "en") -> None:
    """Print the per-line, per-machine summary of a store."""
    with Workspace.open(folder, mode="read", plant=plant) as workspace, workspace.telemetry() as telemetry:
        rows, (lo, hi) = summarise(telemetry, plant)
        where = (
            f"telemetry: {workspace.folder.telemetry_path}   registry: {workspace.folder.registry_location}"
        )
    out = console()
    out.print(f"stored period (UTC): {lo} → {hi}")
    for table in summary_table(plant, rows, lang):
        out.print(table)
    out.print(where)
