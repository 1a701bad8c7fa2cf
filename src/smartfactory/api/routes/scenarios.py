"""API routes: the scenario library, runs on the plant's data, the latest schedule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from smartfactory.api.auth.deps import Engineer, Viewer, WorkspaceDep
from smartfactory.api.problems import responses
from smartfactory.app import scenarios as service
from smartfactory.app.scenarios import RunDetail, RunSummary, ScenarioInfo, ScheduleView

router = APIRouter(tags=["scenarios"])
RUN_ROUTE = "scenario_run"  # the Location of a started run


@router.get("/scenarios", response_model=list[ScenarioInfo], responses=responses(401))
def get_library(_principal: Viewer, workspace: WorkspaceDep) -> list[ScenarioInfo]:
    """The scenario library: each scenario, the official typical scenario it implements (zh/en),
    whether it uses AI, and its last run."""
    return service.library(workspace)


@router.get("/scenarios/runs", response_model=list[RunSummary], responses=responses(401, 422))
def get_runs(
    _principal: Viewer,
    workspace: WorkspaceDep,
    scenario: Annotated[str | None, Query(description="only this scenario's runs")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_RUNS, description="at most this many")] = 50,
) -> list[RunSummary]:
    """The newest scenario runs first, with their status and metrics."""
    return service.runs(workspace, scenario, limit)


@router.get(
    "/scenarios/runs/{run_id}", name=RUN_ROUTE, response_model=RunDetail, responses=responses(401, 404)
)
def get_run(run_id: str, _principal: Viewer, workspace: WorkspaceDep) -> RunDetail:
    """One run: status, metrics, artefacts (where its results went) and notes."""
    found = service.run(workspace, run_id)
    if found is None:
        raise service.UnknownRun(run_id)
    return found


@router.get("/scenarios/schedule/latest", response_model=ScheduleView, responses=responses(401, 404))
def get_latest_schedule(_principal: Viewer, workspace: WorkspaceDep) -> ScheduleView:
    """The latest schedule as Gantt rows (machine, order, operation, start, end; UTC), with its
    makespan, tardiness and on-time rate."""
    found = service.latest_schedule(workspace)
    if found is None:
        raise service.NoSchedule()
    return found


@router.get("/scenarios/{name}", response_model=ScenarioInfo, responses=responses(401, 404))
def get_scenario(name: str, _principal: Viewer, workspace: WorkspaceDep) -> ScenarioInfo:
    """One scenario of the library with its last run."""
    return service.scenario(workspace, name)


@router.post(
    "/scenarios/{name}/runs",
    status_code=202,
    response_model=RunSummary,
    responses=responses(400, 401, 403, 404, 409),
)
def post_run(
    name: str, _principal: Engineer, workspace: WorkspaceDep, request: Request, response: Response
) -> RunSummary:
    """Start a run of the scenario on the plant's data (engineer). It runs in the background:
    follow it at the Location given (status running, then finished or failed)."""
    started = service.start_run(workspace, name)
    response.headers["Location"] = request.url_for(RUN_ROUTE, run_id=started.id).path
    return started
