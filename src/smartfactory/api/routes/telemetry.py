"""API routes: the signals of a piece of equipment, telemetry (downsampled), states and counts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from smartfactory.api.auth.deps import Viewer, WorkspaceDep
from smartfactory.api.problems import responses
from smartfactory.app import telemetry as service
from smartfactory.app.telemetry import (
    Clock,
    CountsAnswer,
    Per,
    SignalList,
    StatesAnswer,
    TelemetryAnswer,
)

router = APIRouter(tags=["telemetry"])

EquipmentQuery = Annotated[str, Query(max_length=64, description="the equipment's id")]
StartQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="ISO 8601; without an offset, the plant's local time (default: a day before the end)",
    ),
]
EndQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="ISO 8601, not included; without an offset, the plant's local time "
        "(default: the latest stored event)",
    ),
]


@router.get(
    "/equipment/{equipment_id}/signals", response_model=SignalList, responses=responses(400, 401, 404, 422)
)
def get_signals(equipment_id: str, _principal: Viewer, workspace: WorkspaceDep) -> SignalList:
    """The signals a piece of equipment reports, with units and normal ranges, from the plant model."""
    return service.equipment_signals(workspace.plant(), equipment_id)


@router.get("/telemetry", response_model=TelemetryAnswer, responses=responses(400, 401, 422))
def get_telemetry(
    _principal: Viewer,
    workspace: WorkspaceDep,
    equipment: EquipmentQuery,
    signal: Annotated[
        list[str] | None, Query(description="a signal's name; repeat for more (default: all of them)")
    ] = None,
    start: StartQuery = None,
    end: EndQuery = None,
    points: Annotated[
        int,
        Query(
            ge=service.MIN_POINTS,
            le=service.MAX_POINTS,
            description="the most points per signal; more stored rows are downsampled to per-bucket "
            "minima and maxima",
        ),
    ] = service.DEFAULT_POINTS,
    clock: Annotated[
        Clock,
        Query(
            description="utc: ISO 8601 times with +00:00; plant: the plant's wall clock as epoch "
            "milliseconds read as UTC (for ECharts with useUTC)"
        ),
    ] = "utc",
) -> TelemetryAnswer:
    """Signals of one piece of equipment over a period (at most 366 days), as ECharts line series."""
    with workspace.telemetry() as store:
        return service.telemetry(store, workspace.plant(), equipment, signal or [], start, end, points, clock)


@router.get("/states", response_model=StatesAnswer, responses=responses(400, 401, 422))
def get_states(
    _principal: Viewer,
    workspace: WorkspaceDep,
    equipment: EquipmentQuery,
    start: StartQuery = None,
    end: EndQuery = None,
) -> StatesAnswer:
    """The states of one piece of equipment over a period (at most 31 days) and the time in each."""
    with workspace.telemetry() as store:
        return service.states(store, workspace.plant(), equipment, start, end)


@router.get("/counts", response_model=CountsAnswer, responses=responses(400, 401, 422))
def get_counts(
    _principal: Viewer,
    workspace: WorkspaceDep,
    equipment: EquipmentQuery,
    start: StartQuery = None,
    end: EndQuery = None,
    per: Annotated[
        Per,
        Query(
            description="bucket: hour (period at most 62 days), shift (366), day (731) or week (1830), "
            "in the plant's time"
        ),
    ] = "hour",
) -> CountsAnswer:
    """Good, scrap and rework units of one piece of equipment per bucket over a period."""
    with workspace.telemetry() as store:
        return service.counts(store, workspace.plant(), equipment, start, end, per)
