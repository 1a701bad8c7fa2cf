"""API routes: ISO 22400-2 KPIs, their definitions, and the OEE loss waterfall (as ``smartfactory kpi``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from smartfactory.api.auth.deps import Viewer, workspace_of
from smartfactory.api.language import LanguageQuery
from smartfactory.api.problems import responses
from smartfactory.app import kpis as service
from smartfactory.kpi import Per
from smartfactory.model.plant import Level

router = APIRouter(tags=["kpis"])

From = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=40,
        description="plant-local start, YYYY-MM-DD or YYYY-MM-DDTHH:MM (default: the first stored day)",
    ),
]
To = Annotated[
    str | None,
    Query(
        alias="to",
        max_length=40,
        description="plant-local end, not included (default: after the last stored day)",
    ),
]
Node = Annotated[
    str | None, Query(max_length=100, description="only the equipment under this hierarchy node")
]
Lang = LanguageQuery
JSON = "application/json"


@router.get("/kpis", response_model=service.KpiReport, responses=responses(400, 401, 422))
async def kpis(
    request: Request,
    principal: Viewer,
    start: From = None,
    end: To = None,
    by: Annotated[Level, Query(description="hierarchy level to report by")] = Level.line,
    per: Annotated[Per, Query(description="how the period is cut")] = Per.day,
    node: Node = None,
    kpi: Annotated[
        list[str] | None,
        Query(
            max_length=60,
            description="KPI ids, repeated or comma-separated; all or none: every KPI (see /kpis/catalogue)",
        ),
    ] = None,
    lang: Lang = None,
) -> Response:
    """ISO 22400-2 KPIs by node and period, with the elements behind them and why a value is missing."""
    return await _json_answer(
        request,
        service.cached_kpis_json,
        service.kpis_json,
        start=start,
        end=end,
        by=by,
        per=per,
        node=node,
        kpis=kpi,
    )


@router.get("/kpis/catalogue", response_model=service.KpiCatalogue, responses=responses(401, 422))
def kpi_catalogue(principal: Viewer, lang: Lang = None) -> service.KpiCatalogue:
    """Every ISO 22400-2 KPI (names in English and Chinese, unit, formula) and element."""
    return service.kpi_catalogue()


@router.get("/kpis/losses", response_model=service.LossesResponse, responses=responses(400, 401, 422))
async def kpi_losses(
    request: Request,
    principal: Viewer,
    start: From = None,
    end: To = None,
    by: Annotated[Level, Query(description="one waterfall per node of this level")] = Level.equipment,
    node: Node = None,
    lang: Lang = None,
) -> Response:
    """The OEE loss waterfall (hours, by cause) per node and the downtime Pareto."""
    return await _json_answer(
        request, service.cached_losses_json, service.losses_json, start=start, end=end, by=by, node=node
    )


async def _json_answer(
    request: Request,
    cached: Callable[..., Awaitable[bytes | None]],
    compute: Callable[..., bytes],
    **params: Any,
) -> Response:
    """The JSON body ``cached`` finds, or on a miss what ``compute`` makes of the same parameters."""
    # a cached answer is given on the event loop (no thread); a miss computes in a thread (seconds)
    workspace = workspace_of(request)
    body = await cached(workspace, **params)
    if body is None:
        body = await run_in_threadpool(partial(compute, workspace, **params))
    return Response(body, media_type=JSON)
