"""``smartfactory export``: stored events as Parquet files partitioned by day."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartfactory.app.workspace import Workspace
from smartfactory.cli.options import DEFAULT_STORE, StoreOption
from smartfactory.cli.simulate import parse_time
from smartfactory.model.events import EventType


def export_command(
    to: Annotated[Path, typer.Option("--to", help="folder for the Parquet files")],
    store: StoreOption = DEFAULT_STORE,
    start: Annotated[str | None, typer.Option("--from", help="UTC start, e.g. 2026-03-02")] = None,
    end: Annotated[str | None, typer.Option("--until", help="UTC end (exclusive)")] = None,
    table: Annotated[list[EventType] | None, typer.Option(help="tables to export (default all)")] = None,
) -> None:
    """Export stored events as Parquet partitioned by day."""
    with Workspace.open(store, mode="read") as workspace, workspace.telemetry() as telemetry:
        written = telemetry.export_parquet(
            to, table, parse_time(start) if start else None, parse_time(end) if end else None
        )
    for name, path in written.items():
        print(f"{name}: {path}")
