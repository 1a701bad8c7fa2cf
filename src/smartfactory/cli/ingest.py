"""``smartfactory ingest``: connect to every source a plant file declares and store until stopped."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live
from rich.text import Text

from smartfactory.cli.logs import progress_shown
from smartfactory.cli.options import DEFAULT_STORE
from smartfactory.cli.render import console
from smartfactory.connect.ingest import IngestStatus, ingest
from smartfactory.connect.sources import build_sources, load_plant_with_sources
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.store import StoreFolder


def ingest_command(
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file with [[source]] tables")],
    store: Annotated[Path, typer.Option("--store", help="store folder")] = DEFAULT_STORE,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="only this source id (repeatable)")
    ] = None,
    share_store: Annotated[
        bool,
        typer.Option(
            "--share-store",
            help="release the store between commits so other commands can use it (spool meanwhile)",
        ),
    ] = False,
    duration: Annotated[
        float | None, typer.Option("--duration", help="stop after this many seconds", min=0.1)
    ] = None,
    status_every: Annotated[float, typer.Option("--status-every", help="seconds between status lines")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the final status as JSON")] = False,
) -> None:
    """Connect to the plant's sources and write to the store until Ctrl-C (SIGINT/SIGTERM), then drain."""
    plant = load_plant_with_sources(plant_file)
    if not plant.sources:
        raise UserError(
            f"{plant_file} declares no [[source]]; add one (kinds: mqtt, opcua, modbus) — see docs/ingest.md"
        )
    _save_plant(store, plant, plant_file)
    final = asyncio.run(_run(plant, store, source, share_store, duration, status_every, quiet=as_json))
    if as_json:
        print(json.dumps(final.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        console().print(f"stopped: {final.line()}")


async def _run(
    plant: Plant,
    store: Path,
    only: list[str] | None,
    share_store: bool,
    duration: float | None,
    status_every: float,
    quiet: bool,
) -> IngestStatus:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    writer = IngestWriter(store, share_store=share_store)
    sources = build_sources(plant, writer, only)
    out = console()
    if not progress_shown():
        return await ingest(sources, writer, stop, status_every_s=status_every)
    if not (out.is_terminal and not quiet):
        # logs and pipes get one status line per interval on stderr; stdout stays for --json

        def log_line(status: IngestStatus) -> None:
            print(status.line(), file=sys.stderr, flush=True)

        return await ingest(sources, writer, stop, on_status=log_line, status_every_s=status_every)
    with Live(Text("connecting…"), console=out, transient=False, auto_refresh=False) as live:

        def show(status: IngestStatus) -> None:
            live.update(Text(status.line()), refresh=True)

        return await ingest(sources, writer, stop, on_status=show, status_every_s=status_every)


def _save_plant(store: Path, plant: Plant, plant_file: Path) -> None:
    """Keep the plant with the data, so ``kpi`` and ``assess`` find it."""
    with StoreFolder(store).open_registry() as registry:
        registry.save_plant(plant, str(plant_file), hashlib.sha256(plant_file.read_bytes()).hexdigest())
