"""Live ingestion inside the store's owner: start a plant's sources, their status, stop them.

DuckDB allows one writer process per store file, so the live sources run in the process that
holds it (``smartfactory serve --ingest``, or a standalone ``smartfactory ingest``) and write
through its workspace's connection; a second ``ingest`` next to it hands its sources over
(``/_owner/v1/ingest``). One writer per workspace serves every ingestion of the process: one
spool, one set of open states, commits in the order the batches came.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from smartfactory.app.errors import field_problem, not_found
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, language_tag
from smartfactory.app.plant import OtherPlant
from smartfactory.app.remote import owner_error
from smartfactory.app.workspace import Workspace
from smartfactory.connect.ingest import Ingestion, IngestStatus
from smartfactory.connect.sources import build_sources, parse_plant_with_sources
from smartfactory.connect.writer import IngestWriter, url_spool_folder
from smartfactory.model.errors import StoreLockedError, UserError
from smartfactory.model.plant import Plant
from smartfactory.store.owner import OWNER_PATH, OwnerInfo, pid_alive

logger = logging.getLogger(__name__)

CALLER_CHECK_S = 1.0  # how often the owner looks whether a caller that handed sources over still runs


class SourceState(BaseModel):
    """One live source of an ingestion."""

    name: str
    kind: str
    connected: bool
    messages: int = Field(description="messages received")
    points: int = Field(description="points decoded")
    rejected: int = Field(description="payloads refused to the quarantine")
    reconnects: int
    last_error: str | None = None


class IngestRunState(BaseModel):
    """One ingestion: its sources, and what the owner's writer did since it started."""

    id: str
    origin: str = Field(description="who started it: `serve --ingest`, or `ingest` in another process")
    running: bool
    error: str | None = Field(default=None, description="what a source failed with, if one did")
    elapsed_s: float
    messages: int
    points: int
    stored: int
    duplicates: int = Field(description="points sent again with the same values: stored once")
    conflicts: int = Field(description="points with a stored key and another value: quarantined")
    overlaps: int = Field(description="states overlapping stored ones: quarantined")
    quarantined: int
    spooled_points: int = Field(description="points that waited in the spool for the store")
    spool_pending: int = Field(description="spool segments still waiting")
    messages_per_s: float
    points_per_s: float
    lag_s: float = Field(description="age of the oldest message of the last commit")
    store_available: bool
    sources: list[SourceState]


class IngestReport(BaseModel):
    """The ingestion of the process that owns the store: its writer and every ingestion it runs."""

    running: bool = Field(description="whether any ingestion runs")
    commits: int
    last_commit_s: float = Field(description="seconds the last commit took")
    store_available: bool
    spool_pending: int
    last_error: str | None = None
    runs: list[IngestRunState]


class IngestHandOver(BaseModel):
    """What ``smartfactory ingest`` sends the store's owner to run its sources there."""

    plant_toml: str = Field(max_length=4_000_000, description="the plant file's text")
    plant_name: str = Field(max_length=4096, description="the plant file's path, for messages")
    sources: list[str] | None = Field(default=None, description="only these source ids (default: all)")
    origin: str = Field(max_length=200, description="who hands them over, for the status")
    caller_pid: int | None = Field(
        default=None, description="the caller's process id: its sources stop when it is gone (SIGKILL)"
    )


@dataclass
class IngestPlan:
    """What ``serve --ingest`` runs: the plant (with its ``[[source]]`` tables) and which sources."""

    plant: Plant
    plant_text: str
    plant_name: str  # the file, for the registry and error messages
    sources: list[str] | None = None


@dataclass
class _Run:
    id: str
    origin: str
    ingestion: Ingestion
    watchdog: asyncio.Task[None] | None = None


@dataclass
class _Ingestions:
    """A workspace's writer and its ingestions (made on first use, in the event loop that runs them)."""

    workspace: Workspace
    writer: IngestWriter | None = None
    runs: dict[str, _Run] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def the_writer(self) -> IngestWriter:
        if self.writer is None:
            workspace = self.workspace
            if workspace.on_server:
                # PostgreSQL: a connection of the workspace's pool per commit, a local spool
                url = str(workspace.settings.store)
                self.writer = IngestWriter(
                    url, store=workspace.writing, spool_folder=url_spool_folder(url, "serve")
                )
            else:
                # the workspace's own connection: a second one of this process would be refused
                self.writer = IngestWriter(workspace.store_path, store=workspace.writing)
        return self.writer


_BY_WORKSPACE: weakref.WeakKeyDictionary[Workspace, _Ingestions] = weakref.WeakKeyDictionary()


def _ingestions(workspace: Workspace) -> _Ingestions:
    found = _BY_WORKSPACE.get(workspace)
    if found is None:
        found = _BY_WORKSPACE[workspace] = _Ingestions(workspace)
    return found


async def start_ingest(
    workspace: Workspace,
    plant_text: str,
    plant_name: str,
    sources: list[str] | None,
    origin: str,
    caller_pid: int | None = None,
) -> IngestRunState:
    """Check a plant file's text, keep the plant, and run its sources (or those named) in this process.

    ``caller_pid``: the process that handed them over; when it is gone (killed before it could
    stop them) they stop too, so a restarted caller's sources (the same MQTT client id) run once.
    """
    plant = parse_plant_with_sources(plant_text, plant_name)
    state = await run_plan(workspace, IngestPlan(plant, plant_text, plant_name, sources), origin)
    if caller_pid is not None:
        run = _find(workspace, state.id)
        run.watchdog = asyncio.create_task(_watch(workspace, run.id, caller_pid), name=f"caller {caller_pid}")
    return state


async def _watch(workspace: Workspace, run_id: str, pid: int) -> None:
    while True:
        await asyncio.sleep(CALLER_CHECK_S)
        state = _BY_WORKSPACE.get(workspace)
        if state is None or run_id not in state.runs:
            return
        if not pid_alive(pid):
            logger.warning("ingestion %s: its caller, process %d, is gone; stopping its sources", run_id, pid)
            await stop_ingest(workspace, run_id)
            return


async def run_plan(workspace: Workspace, plan: IngestPlan, origin: str) -> IngestRunState:
    """Keep the plan's plant in the registry and start its sources on the workspace's writer."""
    if not plan.plant.sources:
        raise UserError(
            _("{file} declares no [[source]]; add one (kinds: mqtt, opcua, modbus)").format(
                file=plan.plant_name
            )
        )
    state = _ingestions(workspace)
    async with state.lock:
        writer = state.the_writer()
        sources = build_sources(plan.plant, writer, plan.sources)  # checks the ids before anything runs
        await asyncio.to_thread(_keep_plant, workspace, plan)
        ingestion = Ingestion(sources, writer)
        await ingestion.start()
        run = _Run(secrets.token_hex(6), origin, ingestion)
        state.runs[run.id] = run
    return _run_state(run)


def ingest_run(workspace: Workspace, run_id: str) -> IngestRunState:
    """One ingestion's status (rates since the last time it was asked)."""
    return _run_state(_find(workspace, run_id))


async def stop_ingest(workspace: Workspace, run_id: str) -> IngestRunState:
    """Stop one ingestion: its sources stop, what they sent is committed and acknowledged, then closed."""
    state = _ingestions(workspace)
    run = _find(workspace, run_id)
    async with state.lock:
        await run.ingestion.stop()
        state.runs.pop(run.id, None)
    if run.watchdog is not None and run.watchdog is not asyncio.current_task():
        run.watchdog.cancel()
    return _run_state(run, interval=False)


async def stop_all_ingest(workspace: Workspace) -> None:
    """Stop every ingestion and the writer (its last commit) before the workspace closes."""
    state = _BY_WORKSPACE.get(workspace)
    if state is None:
        return
    async with state.lock:
        for run in list(state.runs.values()):
            await run.ingestion.stop()
            if run.watchdog is not None:
                run.watchdog.cancel()
        state.runs.clear()
        if state.writer is not None:
            await state.writer.stop()
            state.writer = None


def ingest_status(workspace: Workspace) -> IngestReport:
    """The writer's state and every ingestion running in this process (none: ``running`` is false)."""
    state = _BY_WORKSPACE.get(workspace)
    writer = state.writer if state is not None else None
    runs = [_run_state(r, interval=False) for r in state.runs.values()] if state is not None else []
    if writer is None:
        return IngestReport(
            running=False, commits=0, last_commit_s=0.0, store_available=True, spool_pending=0, runs=runs
        )
    stats = writer.stats
    return IngestReport(
        running=any(r.running for r in runs),
        commits=stats.commits,
        last_commit_s=stats.last_commit_s,
        store_available=stats.store_available,
        spool_pending=stats.spool_pending,
        last_error=stats.last_error,
        runs=runs,
    )


def run_state_of(status: IngestStatus, run_id: str, origin: str, running: bool) -> IngestRunState:
    """An ingestion's status as the resource (for an ingestion run outside a workspace)."""
    return IngestRunState.model_validate(
        {**status.as_dict(), "id": run_id, "origin": origin, "running": running}
    )


def _run_state(run: _Run, *, interval: bool = True) -> IngestRunState:
    error = run.ingestion.error()
    state = run_state_of(run.ingestion.status(interval=interval), run.id, run.origin, run.ingestion.running)
    if error is not None:
        state.error = f"{type(error).__name__}: {error}"
    return state


def _find(workspace: Workspace, run_id: str) -> _Run:
    state = _BY_WORKSPACE.get(workspace)
    run = state.runs.get(run_id) if state is not None else None
    if run is None:
        raise not_found("path.run_id", _("No ingestion {run_id} runs here.").format(run_id=run_id))
    return run


def _keep_plant(workspace: Workspace, plan: IngestPlan) -> None:
    """Save the plan's plant (the same plant as the store's, or the first), so KPIs read it."""
    registry = workspace.registry
    stored = registry.list_plants()
    given = plan.plant.plant.id
    if stored and all(record["id"] != given for record in stored):
        raise OtherPlant(
            _("The store holds plant {stored}; {file} is plant {given}.").format(
                stored=", ".join(record["id"] for record in stored), file=plan.plant_name, given=given
            ),
            [field_problem("body.plant", _("ingest the store's own plant, or use another store"))],
        )
    digest = hashlib.sha256(plan.plant_text.encode("utf-8")).hexdigest()
    registry.save_plant(plan.plant, plan.plant_name, digest)
    workspace.forget_plant()


# --- the caller's side: `smartfactory ingest` next to the store's owner ----------------------------

HAND_OVER_TIMEOUT_S = 120.0  # a stop waits for the owner's last commit


def hand_over(owner: OwnerInfo, request: IngestHandOver) -> IngestRunState:
    """Ask the store's owner to run these sources; the new ingestion's status (and id)."""
    body = _owner_request(owner, "POST", "/ingest", request.model_dump_json().encode())
    return IngestRunState.model_validate_json(body)


def handed_state(owner: OwnerInfo, run_id: str) -> IngestRunState:
    """The status of an ingestion handed to the owner."""
    return IngestRunState.model_validate_json(_owner_request(owner, "GET", f"/ingest/{run_id}"))


def take_back(owner: OwnerInfo, run_id: str) -> IngestRunState:
    """Stop an ingestion handed to the owner (its last batch committed there); its final status."""
    return IngestRunState.model_validate_json(_owner_request(owner, "DELETE", f"/ingest/{run_id}"))


def _owner_request(owner: OwnerInfo, method: str, path: str, body: bytes | None = None) -> bytes:
    request = urllib.request.Request(
        owner.url + OWNER_PATH + path,
        data=body,
        method=method,
        headers={
            "Authorization": f"Bearer {owner.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Language": language_tag(language()),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HAND_OVER_TIMEOUT_S) as response:
            answer: bytes = response.read()
            return answer
    except urllib.error.HTTPError as exc:
        raise owner_error(exc.code, exc.read(), owner) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise OwnerGone(
            _(
                "The store's owner, process {pid} ({command}), does not answer at {url} ({reason}); "
                "its ingestion of your sources ended with it."
            ).format(pid=owner.pid, command=owner.command, url=owner.url, reason=getattr(exc, "reason", exc))
        ) from None


class OwnerGone(StoreLockedError):
    """The owner that ran a handed-over ingestion stopped answering."""
