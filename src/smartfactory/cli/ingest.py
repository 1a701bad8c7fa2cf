"""``smartfactory ingest``: connect to every source a plant file declares and store until stopped.

DuckDB allows one writer process per store, so the sources run in the process that owns the
store. With no owner, this command becomes it: it opens the store, publishes its owner file and
serves the owner endpoint on a loopback port, so ``kpi``, ``summary``… work meanwhile (through
it), and another ``ingest`` can hand its sources over. When ``serve`` (or another ``ingest``)
owns the store, this command hands its sources to that process and shows their status until
stopped.

A PostgreSQL store (``--store postgresql://…``) has no owner: this command writes to it directly,
next to any other ``ingest`` (one per line, each with its own ``--source``) or ``serve --ingest``,
and spools to a local folder (``--spool``) while the server cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.live import Live
from rich.text import Text

from smartfactory.app.ingest import IngestHandOver, IngestPlan, IngestRunState
from smartfactory.cli.logs import progress_shown
from smartfactory.cli.options import DEFAULT_STORE_OPTION, StoreOption
from smartfactory.cli.render import console
from smartfactory.connect.sources import chosen_sources, load_plant_with_sources
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.store.postgres import is_postgres_url

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from smartfactory.app.workspace import Workspace
    from smartfactory.connect.writer import IngestWriter
    from smartfactory.store.owner import OwnerInfo

logger = logging.getLogger(__name__)

OnStatus = Callable[[IngestRunState], None]

SHARE_STORE_GONE = (
    "--share-store is no longer needed: the process that holds the store runs the sources — "
    "`smartfactory serve --ingest`, or this command, which hands its sources to a running `serve` "
    "or `ingest` of the same store; drop the option"
)


def ingest_command(
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file with [[source]] tables")],
    store: StoreOption = DEFAULT_STORE_OPTION,
    source: Annotated[
        list[str] | None, typer.Option("--source", help="only this source id (repeatable)")
    ] = None,
    share_store: Annotated[bool, typer.Option("--share-store", hidden=True)] = False,
    duration: Annotated[
        float | None, typer.Option("--duration", help="stop after this many seconds", min=0.1)
    ] = None,
    status_every: Annotated[float, typer.Option("--status-every", help="seconds between status lines")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the final status as JSON")] = False,
    spool: Annotated[
        Path | None,
        typer.Option(
            "--spool",
            help="with a postgresql:// store: the local folder for batches while the server is down "
            "(default: ~/.smartfactory/spool/<hash of the URL and the sources>)",
        ),
    ] = None,
) -> None:
    """Connect to the plant's sources and write to the store until Ctrl-C (SIGINT/SIGTERM), then drain.

    Next to a running `serve` or `ingest` of the same store, the sources run in that process.
    """
    if share_store:
        raise UserError(SHARE_STORE_GONE)
    if spool is not None and not is_postgres_url(store):
        raise UserError("--spool goes with a postgresql:// store; a store folder spools in its spool/")
    plant = load_plant_with_sources(plant_file)
    if not plant.sources:
        raise UserError(
            f"{plant_file} declares no [[source]]; add one (kinds: mqtt, opcua, modbus) — see docs/ingest.md"
        )
    chosen_sources(plant, source)
    plan = IngestPlan(plant, plant_file.read_text(encoding="utf-8"), str(plant_file.resolve()), source)
    final = asyncio.run(_run(plan, store, duration, status_every, quiet=as_json, spool=spool))
    if as_json:
        print(final.model_dump_json(indent=2))
    else:
        console().print(f"stopped: {status_line(final)}")
    if final.error:
        raise UserError(f"a source failed: {final.error}")


def status_line(state: IngestRunState) -> str:
    """One status line."""
    connected = sum(1 for s in state.sources if s.connected)
    store = "store ok" if state.store_available else "store busy: spooling"
    refused = (
        f"{state.conflicts:,} conflicts · {state.overlaps:,} overlaps · "
        if state.conflicts or state.overlaps
        else ""
    )
    return (
        f"{state.messages_per_s:,.0f} msg/s · {state.points_per_s:,.0f} points/s · "
        f"{state.stored:,} stored · {state.quarantined:,} quarantined · {refused}"
        f"{state.spooled_points:,} spooled ({state.spool_pending} waiting) · lag {state.lag_s:.2f} s · "
        f"{connected}/{len(state.sources)} sources connected · {store}"
    )


async def _run(
    plan: IngestPlan,
    location: str,
    duration: float | None,
    status_every: float,
    quiet: bool,
    spool: Path | None = None,
) -> IngestRunState:
    from smartfactory.app.workspace import OWNER_WAIT_S, Workspace, WorkspaceSettings
    from smartfactory.store.owner import read_owner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    with _status_output(quiet) as on_status:
        if is_postgres_url(location):
            return await _direct(plan, location, spool, stop, on_status, status_every)
        store = Path(location)
        owner = await asyncio.to_thread(read_owner, store)
        if owner is None:
            try:
                workspace = await asyncio.to_thread(Workspace, WorkspaceSettings(store=store), "write")
            except StoreLockedError:
                # the holder may be an owner that has not published its file yet
                owner = await _owner_soon(store, OWNER_WAIT_S)
                if owner is None:
                    return await _beside_a_holder(plan, store, stop, on_status, status_every)
            else:
                return await _as_owner(workspace, plan, stop, on_status, status_every)
        return await _through_owner(owner, plan, stop, on_status, status_every)


@contextlib.contextmanager
def _status_output(quiet: bool) -> Iterator[OnStatus | None]:
    """Where status lines go: a live line on a terminal, else stderr (stdout stays for --json)."""
    out = console()
    if not progress_shown():
        yield None
        return
    if not (out.is_terminal and not quiet):

        def log_line(state: IngestRunState) -> None:
            print(status_line(state), file=sys.stderr, flush=True)

        yield log_line
        return
    with Live(Text("connecting…"), console=out, transient=False, auto_refresh=False) as live:

        def show(state: IngestRunState) -> None:
            live.update(Text(status_line(state)), refresh=True)

        yield show


async def _owner_soon(store: Path, wait_s: float) -> OwnerInfo | None:
    from smartfactory.store.owner import read_owner

    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        owner = await asyncio.to_thread(read_owner, store)
        if owner is not None or asyncio.get_running_loop().time() >= deadline:
            return owner
        await asyncio.sleep(0.1)


async def _until(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


# --- this process owns the store ------------------------------------------------------------------


async def _as_owner(
    workspace: Workspace, plan: IngestPlan, stop: asyncio.Event, on_status: OnStatus | None, every: float
) -> IngestRunState:
    """Run the sources here, and serve the owner endpoint so other commands go through this process."""
    from smartfactory.api.routes import owner as owner_routes
    from smartfactory.app.ingest import ingest_run, run_plan, stop_all_ingest, stop_ingest
    from smartfactory.web.app import create_app

    try:
        app = create_app(workspace.settings, workspace=workspace)
        server, serving, url = await _serve_loopback(app)
        command = f"smartfactory ingest --plant {plan.plant_name}"
        owner_routes.publish(app, workspace.store_path, url, command)
        try:
            run = await run_plan(workspace, plan, "ingest")
            try:
                state = run
                while not stop.is_set() and not state.error:
                    await _until(stop, every)
                    state = ingest_run(workspace, run.id)
                    if on_status is not None:
                        on_status(state)
                final = await stop_ingest(workspace, run.id)
            finally:
                # sources other processes handed over stop with their owner, after their last commit
                await stop_all_ingest(workspace)
        finally:
            owner_routes.withdraw(app, workspace.store_path)
            server.should_exit = True
            await serving
    finally:
        await asyncio.to_thread(workspace.close)
    return final


def _loopback_server(app: FastAPI) -> tuple[uvicorn.Server, socket.socket]:
    """A uvicorn server for ``app`` on 127.0.0.1 at a free port, leaving SIGINT/SIGTERM to the command."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # the command's own handlers stop the sources first, then this server
            yield

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return Server(uvicorn.Config(app, log_level="warning", lifespan="off")), sock


async def _serve_loopback(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve ``app`` on 127.0.0.1 in this event loop; (the server, its task, its URL) once it listens."""
    server, sock = _loopback_server(app)
    port = sock.getsockname()[1]
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="owner endpoint")
    while not server.started:
        if serving.done():
            serving.result()  # raises what stopped it
            raise UserError(f"the owner endpoint on 127.0.0.1:{port} did not start")
        await asyncio.sleep(0.01)
    return server, serving, f"http://127.0.0.1:{port}"


# --- another process owns the store ---------------------------------------------------------------


async def _through_owner(
    owner: OwnerInfo, plan: IngestPlan, stop: asyncio.Event, on_status: OnStatus | None, every: float
) -> IngestRunState:
    """Hand the sources to the store's owner and show their status there until stopped."""
    from smartfactory.app.ingest import hand_over, handed_state, take_back

    request = IngestHandOver(
        plant_toml=plan.plant_text,
        plant_name=plan.plant_name,
        sources=plan.sources,
        origin=f"smartfactory ingest (pid {os.getpid()})",
        caller_pid=os.getpid(),
    )
    state = await asyncio.to_thread(hand_over, owner, request)
    print(
        f"the store is owned by process {owner.pid} ({owner.command}): the sources run there",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.is_set() and not state.error:
            await _until(stop, every)
            state = await asyncio.to_thread(handed_state, owner, state.id)
            if on_status is not None:
                on_status(state)
    finally:
        with contextlib.suppress(UserError):  # gone with its owner: nothing left to stop
            state = await asyncio.to_thread(take_back, owner, state.id)
    return state


# --- a PostgreSQL store: no owner, every ingest writes itself -------------------------------------


async def _direct(
    plan: IngestPlan,
    url: str,
    spool: Path | None,
    stop: asyncio.Event,
    on_status: OnStatus | None,
    every: float,
) -> IngestRunState:
    """Write to the database from this process, beside any other writers to it."""
    from smartfactory.connect.writer import IngestWriter, url_spool_folder

    key = ",".join(sorted(plan.sources or [s.id for s in plan.plant.sources]))
    try:
        await asyncio.to_thread(_save_plant, url, plan)
    except UserError as exc:
        # a server down at the start: the sources still run (into the spool); the plant is kept next time
        logger.warning("the plant could not be kept in the store now: %s", exc)
    writer = IngestWriter(url, spool_folder=spool or url_spool_folder(url, key))
    return await _write_here(plan, writer, stop, on_status, every)


# --- a process that is not an owner holds the store ------------------------------------------------


async def _beside_a_holder(
    plan: IngestPlan, store: Path, stop: asyncio.Event, on_status: OnStatus | None, every: float
) -> IngestRunState:
    """Spool until the store's holder lets go (an import, an older version), then write it directly."""
    from smartfactory.connect.writer import IngestWriter

    logger.warning("the store %s is held by a process that does not own it: spooling until it is free", store)
    _save_plant(store, plan)
    return await _write_here(plan, IngestWriter(store), stop, on_status, every)


async def _write_here(
    plan: IngestPlan, writer: IngestWriter, stop: asyncio.Event, on_status: OnStatus | None, every: float
) -> IngestRunState:
    """Run the plan's sources in this process on ``writer`` until stopped."""
    from smartfactory.app.ingest import run_state_of
    from smartfactory.connect.ingest import IngestStatus, ingest
    from smartfactory.connect.sources import build_sources

    sources = build_sources(plan.plant, writer, plan.sources)

    def show(status: IngestStatus) -> None:
        if on_status is not None:
            on_status(run_state_of(status, "local", "ingest", True))

    final = await ingest(sources, writer, stop, on_status=show, status_every_s=every)
    return run_state_of(final, "local", "ingest", False)


def _save_plant(store: str | Path, plan: IngestPlan) -> None:
    """Keep the plant with the data, so ``kpi`` and ``assess`` find it."""
    from smartfactory.store import StoreFolder

    digest = hashlib.sha256(plan.plant_text.encode("utf-8")).hexdigest()
    with StoreFolder.at(store).open_registry() as registry:
        registry.save_plant(plan.plant, plan.plant_name, digest)
