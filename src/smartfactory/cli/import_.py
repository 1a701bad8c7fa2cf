"""``smartfactory import``: historical CSV/Parquet files by a mapping; bad rows go to quarantine."""

from __future__ import annotations

import hashlib
from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from smartfactory.cli.logs import progress_shown
from smartfactory.cli.options import DEFAULT_STORE_OPTION, StoreOption
from smartfactory.cli.render import console
from smartfactory.connect.files import FileConnector, FileImportConfig, ImportSummary
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.store import StoreFolder


def import_command(
    file: Annotated[Path, typer.Argument(help="a .csv or .parquet export")],
    mapping: Annotated[Path, typer.Option("--map", help="mapping TOML: which columns mean what")],
    store: StoreOption = DEFAULT_STORE_OPTION,
    plant_file: Annotated[
        Path | None,
        typer.Option(
            "--plant", help="plant file (default: the plant saved in the store); saved to the store"
        ),
    ] = None,
    max_future_s: Annotated[
        float, typer.Option("--max-future", help="seconds ahead of now a time may be before it is rejected")
    ] = 3600.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Import historical data from a CSV or Parquet file; rows that do not fit go to quarantine."""
    config = FileImportConfig(path=file, mapping=mapping, max_future_s=max_future_s)
    plant = load_plant(plant_file) if plant_file is not None else stored_plant(store)
    out = console()
    connector = FileConnector(
        config,
        equipment={e.id for e in plant.equipment} if plant else None,
        reasons={r.code for r in plant.reasons} if plant else None,
    )
    try:
        connector.setup()  # every check that can fail the whole import, before the store is opened
        if plant_file is not None and plant is not None:
            _save_plant(store, plant, plant_file)
        if plant is None:
            out.print("[yellow]no plant: equipment ids and reason codes are not checked[/yellow]")
        with (
            closing(StoreFolder.at(store).open_events("write")) as telemetry,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=out,
                disable=quiet or not progress_shown(),
            ) as bar,
        ):
            connector.store = telemetry
            task = bar.add_task(f"import {file.name}", total=connector.total or None)
            connector.progress = lambda done, total: bar.update(task, completed=done)
            summary = connector.run()
            bar.update(task, completed=connector.total)
    finally:
        connector.close()
    _print_summary(summary)


def stored_plant(store: str | Path) -> Plant | None:
    """The plant saved in the store, or None (then ids and codes are not checked)."""
    return StoreFolder.at(store).stored_plant()


def _save_plant(store: str | Path, plant: Plant, plant_file: Path) -> None:
    """Keep the plant with the data, so ``kpi`` and later imports find it."""
    with StoreFolder.at(store).open_registry() as registry:
        registry.save_plant(plant, str(plant_file), hashlib.sha256(plant_file.read_bytes()).hexdigest())


def _print_summary(summary: ImportSummary) -> None:
    table = Table(title="import", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("events stored", f"{summary.stored:,}")
    table.add_row("duplicate events skipped", f"{summary.duplicates:,}")
    if summary.conflicts:
        table.add_row("conflicting values quarantined (the stored value stays)", f"{summary.conflicts:,}")
    if summary.overlaps:
        table.add_row("overlapping states quarantined", f"{summary.overlaps:,}")
    if summary.open_states:
        table.add_row("open states (last of each equipment, no end yet)", f"{summary.open_states:,}")
    table.add_row("quarantined", f"{summary.quarantined_total:,}")
    for reason, n in summary.quarantined.most_common():
        table.add_row(f"  {reason}", f"{n:,}")
    console().print(table)
    if summary.quarantined_total:
        console().print("[dim]see them with `smartfactory quarantine list`[/dim]")
