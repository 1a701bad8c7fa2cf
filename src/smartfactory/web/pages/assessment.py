"""Page: the assessment — level and ladder, CMMM grade and radar, criteria with evidence, gaps, roadmap."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smartfactory.api.auth.deps import ViewerPage, workspace_of
from smartfactory.app import assessment as service
from smartfactory.app.i18n import gettext as _
from smartfactory.web.charts import radar_option
from smartfactory.web.templating import render

router = APIRouter()

Budget = Annotated[int | None, Query(ge=0, le=service.MAX_BUDGET)]


@router.get("/assessment")
def assessment_page(
    request: Request,
    _principal: ViewerPage,
    budget: Budget = None,
) -> Response:
    """The plant's assessment with live evidence, and the roadmap for a budget."""
    view = service.page(workspace_of(request), budget)
    radar = radar_option(view.radar.indicators, view.radar.series)
    return render(request, "assessment.html", title=_("Assessment"), view=view, radar=radar)  # type: ignore[no-any-return]


@router.get("/assessment/roadmap")
def roadmap_fragment(
    request: Request,
    _principal: ViewerPage,
    budget: Annotated[int, Query(ge=0, le=service.MAX_BUDGET)],
) -> Response:
    """The roadmap re-planned for the budget slider's value (an HTMX fragment)."""
    roadmap = service.roadmap_only(workspace_of(request), budget)
    return render(request, "assessment_roadmap.html", roadmap=roadmap)  # type: ignore[no-any-return]
