"""API routes: the live ingestion of the process that owns the store (``serve --ingest``), and the
owner endpoint's routes through which another ``smartfactory ingest`` hands its sources over."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from smartfactory.api.auth.deps import Viewer, WorkspaceDep
from smartfactory.api.problems import responses
from smartfactory.api.routes.owner import OWNER_PREFIX, owner_token_required
from smartfactory.app import ingest as service
from smartfactory.app.ingest import IngestHandOver, IngestReport, IngestRunState

router = APIRouter(tags=["ingest"])


@router.get("/ingest/status", response_model=IngestReport, responses=responses(401))
def get_ingest_status(_principal: Viewer, workspace: WorkspaceDep) -> IngestReport:
    """The live sources this server runs (its own, and those an `ingest` handed over) and its writer.

    Nothing runs unless the server was started with ``--ingest`` or an ``ingest`` next to it
    handed its sources over: then ``running`` is false and ``runs`` empty.
    """
    return service.ingest_status(workspace)


# --- the owner endpoint: live ingestion handed over by another process --------------------------
# (`smartfactory ingest` next to the store's owner; same token and loopback rule as /_owner/v1)

owner_router = APIRouter(
    prefix=OWNER_PREFIX, include_in_schema=False, dependencies=[Depends(owner_token_required)]
)


@owner_router.post("/ingest", response_model=IngestRunState)
async def start_handed_ingest(body: IngestHandOver, workspace: WorkspaceDep) -> IngestRunState:
    """Run the sources of the caller's plant file here, on this process's writer; its id is in the answer."""
    return await service.start_ingest(
        workspace, body.plant_toml, body.plant_name, body.sources, body.origin, body.caller_pid
    )


@owner_router.get("/ingest/{run_id}", response_model=IngestRunState)
def handed_ingest(run_id: str, workspace: WorkspaceDep) -> IngestRunState:
    """A handed-over ingestion's status (rates since the caller last asked)."""
    return service.ingest_run(workspace, run_id)


@owner_router.delete("/ingest/{run_id}", response_model=IngestRunState)
async def stop_handed_ingest(run_id: str, workspace: WorkspaceDep) -> IngestRunState:
    """Stop a handed-over ingestion (its last batch committed and acknowledged); its final status."""
    return await service.stop_ingest(workspace, run_id)
