"""``smartfactory import`` (CSV/Parquet by a mapping) and ``smartfactory quarantine``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from smartfactory.cli.render import console
from smartfactory.connect.files import FileConnector, FileImportConfig, ImportSummary, load_mapping, replay
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.store import REGISTRY_FILE, Registry, TelemetryStore
from smartfactory.store.quarantine import Quarantine

DEFAULT_STORE = Path(".smartfactory")

StoreOption = Annotated[Path, typer.Option("--store", help="store folder")]


def import_command(
    file: Annotated[Path, typer.Argument(help="a .csv or .parquet export")],
    mapping: Annotated[Path, typer.Option("--map", help="mapping TOML: which columns mean what")],
    store: StoreOption = DEFAULT_STORE,
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
    plant = load_plant(plant_file) if plant_file is not None else _stored_plant(store)
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
            TelemetryStore.open(store, mode="write") as telemetry,
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                console=out,
                disable=quiet,
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


def _stored_plant(store: Path) -> Plant | None:
    registry_path = store / REGISTRY_FILE
    if not registry_path.exists():
        return None
    with Registry.open(registry_path) as registry:
        return registry.get_plant()


def _save_plant(store: Path, plant: Plant, plant_file: Path) -> None:
    """Keep the plant with the data, so ``kpi`` and later imports find it."""
    store.mkdir(parents=True, exist_ok=True)
    with Registry.open(store / REGISTRY_FILE) as registry:
        registry.save_plant(plant, str(plant_file), hashlib.sha256(plant_file.read_bytes()).hexdigest())


def _print_summary(summary: ImportSummary) -> None:
    table = Table(title="import", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("events stored", f"{summary.stored:,}")
    table.add_row("duplicate events skipped", f"{summary.duplicates:,}")
    if summary.open_states:
        table.add_row("open states (last of each equipment, no end yet)", f"{summary.open_states:,}")
    table.add_row("quarantined", f"{summary.quarantined_total:,}")
    for reason, n in summary.quarantined.most_common():
        table.add_row(f"  {reason}", f"{n:,}")
    console().print(table)
    if summary.quarantined_total:
        console().print("[dim]see them with `smartfactory quarantine list`[/dim]")


quarantine_app = typer.Typer(help="Rows and payloads that failed validation (隔离区).", no_args_is_help=True)


@quarantine_app.command("list")
def list_command(
    store: StoreOption = DEFAULT_STORE,
    source: Annotated[str | None, typer.Option("--source", help="only sources starting with this")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="only reasons starting with this")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many rows")] = 50,
) -> None:
    """Quarantined rows, oldest first, and their count by reason."""
    with TelemetryStore.open(store, mode="read") as telemetry:
        quarantine = Quarantine(telemetry.connection, create=False)
        if not quarantine.exists():
            console().print("the quarantine is empty")
            return
        entries = quarantine.list(source=source, reason=reason, limit=limit)
        counts = quarantine.count(source=source)
    table = Table(title="quarantine", title_justify="left")
    for column in ("id", "received (UTC)", "source", "reason"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e.id), f"{e.received_at:%Y-%m-%d %H:%M:%S}", e.source, e.reason)
    out = console()
    out.print(table)
    out.print(", ".join(f"{kind}: {n}" for kind, n in counts.items()) or "the quarantine is empty")


@quarantine_app.command("show")
def show_command(
    entry_id: Annotated[int, typer.Argument(help="quarantine id")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """One quarantined row: where it came from, why, and its raw content."""
    with TelemetryStore.open(store, mode="read") as telemetry:
        quarantine = Quarantine(telemetry.connection, create=False)
        entry = quarantine.show(entry_id) if quarantine.exists() else None
    if entry is None:
        raise UserError(f"no quarantined row with id {entry_id}; see `smartfactory quarantine list`")
    out = console()
    out.print(f"id:          {entry.id}")
    out.print(f"received:    {entry.received_at:%Y-%m-%d %H:%M:%S} UTC")
    out.print(f"source:      {entry.source}")
    out.print(f"reason:      {entry.reason}")
    out.print(f"mapping:     {entry.mapping_hash or '—'}")
    out.print("raw:", markup=False)
    out.print(entry.raw_text(), markup=False, highlight=False)


@quarantine_app.command("replay")
def replay_command(
    source: Annotated[str, typer.Argument(help="the file whose quarantined rows to replay (as imported)")],
    mapping: Annotated[Path, typer.Option("--map", help="the fixed mapping TOML")],
    store: StoreOption = DEFAULT_STORE,
    plant_file: Annotated[
        Path | None, typer.Option("--plant", help="plant file (default: the plant saved in the store)")
    ] = None,
    max_future_s: Annotated[
        float, typer.Option("--max-future", help="seconds ahead of now a time may be before it is rejected")
    ] = 3600.0,
) -> None:
    """Re-run a file's quarantined rows through a fixed mapping; rows that now pass are stored."""
    loaded = load_mapping(mapping)
    plant = load_plant(plant_file) if plant_file is not None else _stored_plant(store)
    with TelemetryStore.open(store, mode="write") as telemetry:
        summary = replay(
            telemetry,
            loaded,
            source,
            equipment={e.id for e in plant.equipment} if plant else None,
            reasons={r.code for r in plant.reasons} if plant else None,
            max_future_s=max_future_s,
        )
    out = console()
    out.print(
        f"replayed {summary.tried:,} rows: {summary.stored:,} stored, {summary.duplicates:,} already stored, "
        f"{summary.removed:,} removed from quarantine"
    )
    if summary.still_open:
        out.print(f"{summary.still_open:,} states stay quarantined: the last of each equipment has no end")
    for reason, n in summary.still_failing.most_common():
        out.print(f"  still failing — {reason}: {n:,}")
