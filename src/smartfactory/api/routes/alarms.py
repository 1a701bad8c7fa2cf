"""API routes: alarms, and acknowledging or clearing one (engineer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from smartfactory.api.auth.deps import WorkspaceDep, require_api
from smartfactory.api.problems import responses
from smartfactory.api.routes.telemetry import EndQuery, StartQuery
from smartfactory.app import alarms as service
from smartfactory.app.alarms import Alarm, AlarmList, StateFilter
from smartfactory.app.roles import Role
from smartfactory.app.sessions import Principal

router = APIRouter(tags=["alarms"])

Viewer = Annotated[Principal, Depends(require_api(Role.viewer))]
Engineer = Annotated[Principal, Depends(require_api(Role.engineer))]
EquipmentPath = Annotated[str, Path(max_length=64, description="the equipment's id")]
CodePath = Annotated[str, Path(max_length=128, description="the alarm's code")]


@router.get("/alarms", response_model=AlarmList, responses=responses(400, 401, 422))
def get_alarms(
    _principal: Viewer,
    workspace: WorkspaceDep,
    equipment: Annotated[str | None, Query(max_length=64, description="only this equipment's")] = None,
    state: Annotated[StateFilter, Query(description="active: raised and not cleared; all")] = "all",
    start: StartQuery = None,
    end: EndQuery = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description="the most alarms")] = (
        service.DEFAULT_LIMIT
    ),
) -> AlarmList:
    """Alarms with their life (raised, acknowledged by whom and when, cleared), newest first.

    With ``start``/``end``: the alarms alive at some time in the period. Times without an
    offset are the plant's local time.
    """
    with workspace.telemetry() as store:
        return service.list_alarms(store, workspace.plant(), equipment, state, start, end, limit)


@router.post(
    "/alarms/{equipment}/{code}/acknowledge",
    response_model=Alarm,
    responses=responses(400, 401, 403, 404, 409, 422),
)
def acknowledge_alarm(
    equipment: EquipmentPath, code: CodePath, principal: Engineer, workspace: WorkspaceDep
) -> Alarm:
    """Acknowledge an active alarm; a conflict (nothing written) when it is cleared or acknowledged."""
    return service.acknowledge(workspace, equipment, code, principal.username)


@router.post(
    "/alarms/{equipment}/{code}/clear",
    response_model=Alarm,
    responses=responses(400, 401, 403, 404, 409, 422),
)
def clear_alarm(
    equipment: EquipmentPath, code: CodePath, principal: Engineer, workspace: WorkspaceDep
) -> Alarm:
    """Clear an active alarm; a conflict, writing nothing, when it is already cleared."""
    return service.clear(workspace, equipment, code, principal.username)
