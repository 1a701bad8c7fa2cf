"""API routes: alarms, and acknowledging or clearing one (engineer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query

from smartfactory.api.auth.deps import Engineer, Viewer, WorkspaceDep
from smartfactory.api.problems import responses
from smartfactory.api.routes.telemetry import EndQuery, StartQuery
from smartfactory.app import alarms as service
from smartfactory.app.alarms import Alarm, AlarmList, StateFilter
from smartfactory.app.workspace import Workspace

router = APIRouter(tags=["alarms"])

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


def _alarm_action(action: str, act: Callable[[Workspace, str, str, str], Alarm], description: str) -> None:
    """Add ``POST /alarms/{equipment}/{code}/{action}``: ``act`` on the alarm as the signed-in engineer."""

    def endpoint(
        equipment: EquipmentPath, code: CodePath, principal: Engineer, workspace: WorkspaceDep
    ) -> Alarm:
        return act(workspace, equipment, code, principal.username)

    # the name and description are what a function of its own would give the OpenAPI operation
    router.add_api_route(
        f"/alarms/{{equipment}}/{{code}}/{action}",
        endpoint,
        methods=["POST"],
        name=f"{action}_alarm",
        description=description,
        response_model=Alarm,
        responses=responses(400, 401, 403, 404, 409, 422),
    )


_alarm_action(
    "acknowledge",
    service.acknowledge,
    "Acknowledge an active alarm; a conflict (nothing written) when it is cleared or acknowledged.",
)
_alarm_action(
    "clear", service.clear, "Clear an active alarm; a conflict, writing nothing, when it is already cleared."
)
