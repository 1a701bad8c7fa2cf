"""API route: how fresh the stored data is (newest event per table and per machine, age, stale)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from smartfactory.api.auth.deps import Viewer, WorkspaceDep
from smartfactory.api.problems import responses
from smartfactory.app import freshness as service
from smartfactory.app.freshness import Freshness

router = APIRouter(tags=["freshness"])


@router.get("/freshness", response_model=Freshness, responses=responses(400, 401, 422))
def get_freshness(
    _principal: Viewer,
    workspace: WorkspaceDep,
    stale_after_s: Annotated[
        float | None,
        Query(gt=0, le=31_536_000, description="stale after this many seconds (default: the setting)"),
    ] = None,
) -> Freshness:
    """The newest stored event per table and per machine in plant time, its age in seconds, and
    whether it is stale; ``version`` changes whenever new events are committed."""
    return service.freshness(workspace, stale_after_s=stale_after_s)
