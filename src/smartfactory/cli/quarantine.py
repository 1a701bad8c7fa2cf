"""``smartfactory quarantine list|show|replay``: rows and payloads that failed validation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from smartfactory.app.quarantine import quarantine_entry, quarantine_list
from smartfactory.app.remote import call
from smartfactory.app.workspace import Workspace
from smartfactory.cli.import_ import stored_plant
from smartfactory.cli.options import DEFAULT_STORE_OPTION, StoreOption
from smartfactory.cli.render import console
from smartfactory.connect.files import load_mapping, replay
from smartfactory.model.plant_file import load_plant
from smartfactory.store import StoreFolder

app = typer.Typer(help="Rows and payloads that failed validation (隔离区).", no_args_is_help=True)


@app.command("list")
def list_command(
    store: StoreOption = DEFAULT_STORE_OPTION,
    source: Annotated[str | None, typer.Option("--source", help="only sources starting with this")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="only reasons starting with this")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many rows")] = 50,
) -> None:
    """Quarantined rows, oldest first, and their count by reason."""
    with Workspace.open(store, mode="read") as workspace:
        found = call(workspace, quarantine_list, source=source, reason=reason, limit=limit)
    out = console()
    if not found.rows and not found.counts:
        out.print("the quarantine is empty")
        return
    table = Table(title="quarantine", title_justify="left")
    for column in ("id", "received (UTC)", "source", "reason"):
        table.add_column(column)
    for e in found.rows:
        table.add_row(str(e.id), f"{e.received_at:%Y-%m-%d %H:%M:%S}", e.source, e.reason)
    out.print(table)
    out.print(", ".join(f"{kind}: {n}" for kind, n in found.counts.items()) or "the quarantine is empty")


@app.command("show")
def show_command(
    entry_id: Annotated[int, typer.Argument(help="quarantine id")],
    store: StoreOption = DEFAULT_STORE_OPTION,
) -> None:
    """One quarantined row: where it came from, why, and its raw content."""
    with Workspace.open(store, mode="read") as workspace:
        entry = call(workspace, quarantine_entry, entry_id=entry_id)
    out = console()
    out.print(f"id:          {entry.id}")
    out.print(f"received:    {entry.received_at:%Y-%m-%d %H:%M:%S} UTC")
    out.print(f"source:      {entry.source}")
    out.print(f"reason:      {entry.reason}")
    out.print(f"mapping:     {entry.mapping_hash or '—'}")
    out.print("raw:", markup=False)
    out.print(entry.raw, markup=False, highlight=False)


@app.command("replay")
def replay_command(
    source: Annotated[str, typer.Argument(help="the file whose quarantined rows to replay (as imported)")],
    mapping: Annotated[Path, typer.Option("--map", help="the fixed mapping TOML")],
    store: StoreOption = DEFAULT_STORE_OPTION,
    plant_file: Annotated[
        Path | None, typer.Option("--plant", help="plant file (default: the plant saved in the store)")
    ] = None,
    max_future_s: Annotated[
        float, typer.Option("--max-future", help="seconds ahead of now a time may be before it is rejected")
    ] = 3600.0,
) -> None:
    """Re-run a file's quarantined rows through a fixed mapping; rows that now pass are stored."""
    loaded = load_mapping(mapping)
    plant = load_plant(plant_file) if plant_file is not None else stored_plant(store)
    with StoreFolder.at(store).open_telemetry("write") as telemetry:
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
    if summary.refused:
        out.print(
            f"the store refused {summary.conflicts:,} conflicting values and {summary.overlaps:,} "
            "overlapping "
            "states: they are back in the quarantine with that reason (source store:…)"
        )
    if summary.still_open:
        out.print(f"{summary.still_open:,} states stay quarantined: the last of each equipment has no end")
    for reason, n in summary.still_failing.most_common():
        out.print(f"  still failing — {reason}: {n:,}")
