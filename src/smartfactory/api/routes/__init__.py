"""The API under /api/v1: one router per part, all thin over ``smartfactory.app``."""

from __future__ import annotations

from fastapi import APIRouter

from smartfactory.api.routes import (
    alarms,
    assessments,
    auth,
    freshness,
    ingest,
    kpis,
    plant,
    scenarios,
    telemetry,
    users,
)

PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every API route, under /api/v1."""
    router = APIRouter(prefix=PREFIX)
    for part in (auth, plant, telemetry, kpis, alarms, assessments, scenarios, users, ingest, freshness):
        router.include_router(part.router)
    return router
