"""``smartfactory export``: stored events as Parquet files partitioned by day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartfactory.app.remote import call
from smartfactory.app.store_ops import export_events
from smartfactory.app.workspace import Workspace
from smartfactory.cli.options import DEFAULT_STORE_OPTION, StoreOption
from smartfactory.cli.simulate import parse_time
from smartfactory.model.events import EventType


def export_command(
    to: Annotated[Path, typer.Option("--to", help="folder for the Parquet files")],
    store: StoreOption = DEFAULT_STORE_OPTION,
    start: Annotated[str | None, typer.Option("--from", help="UTC start, e.g. 2026-03-02")] = None,
    end: Annotated[str | None, typer.Option("--until", help="UTC end (exclusive)")] = None,
    table: Annotated[list[EventType] | None, typer.Option(help="tables to export (default all)")] = None,
) -> None:
    """Export stored events as Parquet partitioned by day."""
    lo, hi = (parse_time(start) if start else None), (parse_time(end) if end else None)
    with Workspace.open(store, mode="read") as workspace:
        # absolute: the store's owner, in another folder, may be the process that writes the files
        written = call(workspace, export_events, to=str(to.absolute()), tables=table, start=lo, end=hi)
    for name, path in written.folders.items():
        print(f"{name}: {path}")
