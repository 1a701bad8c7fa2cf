"""The pages: one router per page, thin over ``smartfactory.app``."""

from __future__ import annotations

from fastapi import APIRouter

from smartfactory.web.pages import admin, assessment, equipment, login, overview, scenarios, self_assessment


def page_router() -> APIRouter:
    """Every page route (none under /api)."""
    router = APIRouter(include_in_schema=False)
    for part in (login, overview, equipment, assessment, self_assessment, scenarios, admin):
        router.include_router(part.router)
    return router
