"""API routes: the scenario library, runs on the plant's data, the latest schedule."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from smartfactory.api.auth.deps import WorkspaceDep, require_api
from smartfactory.api.problems import ApiProblem, FieldProblem, responses
from smartfactory.app import scenarios as service
from smartfactory.app.i18n import gettext as _
from smartfactory.app.roles import Role
from smartfactory.app.scenarios import RunDetail, RunSummary, ScenarioInfo, ScheduleView
from smartfactory.app.sessions import Principal

router = APIRouter(tags=["scenarios"])
RUN_ROUTE = "scenario_run"  # the Location of a started run

Viewer = Annotated[Principal, Depends(require_api(Role.viewer))]
Engineer = Annotated[Principal, Depends(require_api(Role.engineer))]


def unknown_scenario(name: str) -> ApiProblem:
    """The 404 of a scenario name the library does not hold."""
    return ApiProblem(
        404,
        _("No such scenario"),
        _("There is no scenario {name}; scenarios: {names}.").format(
            name=name, names=", ".join(service.names())
        ),
    )


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
    if scenario is not None and scenario not in service.names():
        raise ApiProblem(
            422,
            _("Invalid request"),
            _("Some fields are not valid."),
            [
                FieldProblem(
                    field="query.scenario",
                    message=_("Choose one of: {expected}.").format(expected=", ".join(service.names())),
                )
            ],
        )
    return service.runs(workspace, scenario, limit)


@router.get(
    "/scenarios/runs/{run_id}", name=RUN_ROUTE, response_model=RunDetail, responses=responses(401, 404)
)
def get_run(run_id: str, _principal: Viewer, workspace: WorkspaceDep) -> RunDetail:
    """One run: status, metrics, artefacts (where its results went) and notes."""
    found = service.run(workspace, run_id)
    if found is None:
        raise ApiProblem(404, _("No such run"), _("There is no scenario run {id}.").format(id=run_id))
    return found


@router.get("/scenarios/schedule/latest", response_model=ScheduleView, responses=responses(401, 404))
def get_latest_schedule(_principal: Viewer, workspace: WorkspaceDep) -> ScheduleView:
    """The latest schedule as Gantt rows (machine, order, operation, start, end; UTC), with its
    makespan, tardiness and on-time rate."""
    found = service.latest_schedule(workspace)
    if found is None:
        raise ApiProblem(
            404,
            _("No schedule yet"),
            _("Run the scheduling scenario to make a schedule from the open orders."),
        )
    return found


@router.get("/scenarios/{name}", response_model=ScenarioInfo, responses=responses(401, 404))
def get_scenario(name: str, _principal: Viewer, workspace: WorkspaceDep) -> ScenarioInfo:
    """One scenario of the library with its last run."""
    try:
        return service.scenario(workspace, name)
    except service.UnknownScenario:
        raise unknown_scenario(name) from None


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
    try:
        started = service.start_run(workspace, name)
    except service.UnknownScenario:
        raise unknown_scenario(name) from None
    except service.RunInProgress as exc:
        raise ApiProblem(
            409,
            _("Already running"),
            _("Scenario {name} is already running (run {id}); wait for it to end.").format(
                name=name, id=exc.run_id
            ),
        ) from None
    response.headers["Location"] = request.url_for(RUN_ROUTE, run_id=started.id).path
    return started
