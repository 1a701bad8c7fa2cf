"""Page: the plant overview ("/"), its live part alone, and the freshness indicator that drives its refresh.

The page refreshes itself by HTMX polling, chosen over server-sent events: the indicator asks
``/overview/freshness`` every few seconds (a small answer: the store's version is one cheap query,
the newest events a few), and only when that reports a store version other than the one the page
shows does ``/overview/live`` send the tiles, charts and tables again (cached per version, so many
open pages cost one computation). An event stream would hold a connection per open tab and still
look at the version on a timer, the vendored htmx has no SSE extension, and buffering proxies
break streams; a poll is a plain request that survives all of them.
"""

from __future__ import annotations

import threading
import weakref
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from smartfactory.api.auth.deps import ViewerPage, workspace_of
from smartfactory.app import overview as service
from smartfactory.app.freshness import freshness
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, percent
from smartfactory.app.kpis import KpiReport, LossesResponse, LossWaterfall
from smartfactory.app.workspace import Workspace
from smartfactory.kpi import catalogue
from smartfactory.kpi.targets import targets
from smartfactory.web.charts import gantt_option, pareto_option, trend_option, waterfall_option
from smartfactory.web.live import indicator
from smartfactory.web.templating import json_data, render, templates

router = APIRouter()

CHANGED_EVENT = "sf-data-changed"  # the HX-Trigger event the live part reloads on

# the page's body depends only on the overview (itself per store version and language), so it
# is rendered once per overview; a request then renders only the layout around it
_rendered: weakref.WeakKeyDictionary[service.Overview, dict[str, Markup]] = weakref.WeakKeyDictionary()
_rendered_lock = threading.Lock()


@router.get("/")
async def overview_page(request: Request, principal: ViewerPage) -> Response:
    """The plant overview: tiles per line, the state timeline, losses and trends, and how fresh they are."""
    view, content = await _part(request, "overview_content.html")
    fresh = await run_in_threadpool(freshness, workspace_of(request))
    page = render(
        request,
        "overview.html",
        title=_("Plant overview"),
        view=view,
        content=content,
        fresh=indicator(fresh),
    )
    return page  # type: ignore[no-any-return]


@router.get("/overview/live")
async def overview_live(request: Request, principal: ViewerPage) -> Response:
    """The part of the overview that changes with new data (tiles, charts, tables), alone."""
    _view, html = await _part(request, "overview_live.html")
    return HTMLResponse(html)


@router.get("/overview/freshness")
def overview_freshness(
    request: Request,
    principal: ViewerPage,
    seen: Annotated[str | None, Query(max_length=64, description="the store version the page shows")] = None,
    equipment: Annotated[str | None, Query(max_length=64, description="one machine's freshness")] = None,
) -> Response:
    """The freshness indicator alone; a ``seen`` version that is not the current one makes the page reload."""
    fresh = freshness(workspace_of(request))
    response = render(request, "freshness.html", fresh=indicator(fresh, equipment))
    if seen and seen != fresh.version:
        response.headers["HX-Trigger"] = CHANGED_EVENT
    return response  # type: ignore[no-any-return]


async def _part(request: Request, name: str) -> tuple[service.Overview, Markup]:
    """A part of the page, rendered once per overview: a cached one is answered on the event loop,
    anything to compute or render goes to a thread (computing the overview takes seconds)."""
    workspace = workspace_of(request)
    view = await service.cached_overview(workspace)
    if view is not None:
        with _rendered_lock:
            found = _rendered.get(view, {}).get(name)
        if found is not None:
            return view, found
    return await run_in_threadpool(_render_part, workspace, name)


def _render_part(workspace: Workspace, name: str) -> tuple[service.Overview, Markup]:
    view = service.overview(workspace)
    with _rendered_lock:
        found = _rendered.setdefault(view, {}).get(name)
    if found is not None:
        return view, found
    html = Markup(templates.env.get_template(name).render(view=view, charts=charts(view), lang=language()))
    with _rendered_lock:
        _rendered[view][name] = html
    return view, html


# --- charts ----------------------------------------------------------------------------------


def charts(view: service.Overview) -> dict[str, Markup]:
    """Every chart of the page as the JSON its ``<script type="application/json">`` block holds."""
    out: dict[str, Any] = {}
    if view.timeline is not None:
        tl = view.timeline
        out["timeline"] = gantt_option(tl.rows, tl.bars, kinds=tl.kinds, start=tl.start, end=tl.end)
    if view.losses is not None:
        if view.losses.pareto:
            out["pareto"] = pareto(view.losses)
        for w in view.losses.waterfalls:
            out[f"waterfall-{w.node}"] = waterfall(w)
    for tile in view.tiles:
        if view.trend_day is not None:
            out[f"trend-day-{tile.line}"] = trend(view.trend_day, tile.line, service.TREND_DAYS)
        if view.trend_shift is not None:
            out[f"trend-shift-{tile.line}"] = trend(view.trend_shift, tile.line, service.TREND_SHIFTS)
    return {key: json_data(option) for key, option in out.items()}


def pareto(report: LossesResponse) -> dict[str, Any]:
    """The downtime Pareto of the biggest stop causes."""
    top = report.pareto[: service.PARETO_CAUSES]
    return pareto_option(
        [r.name for r in top],
        [r.hours for r in top],
        [r.cumulative for r in top],
        value_name=_("Stop hours"),
        cumulative_name=_("Cumulative share"),
        unit=_("h"),
    )


def waterfall(w: LossWaterfall) -> dict[str, Any]:
    """Planned busy time, its biggest losses, the rest of the stops, speed and quality, productive time."""
    stops = [x for x in w.losses if x.category == "availability"]
    shown, rest = stops[: service.WATERFALL_CAUSES], stops[service.WATERFALL_CAUSES :]
    labels = [_("Planned busy time"), *(x.name for x in shown)]
    values = [w.pbt_h, *(-x.hours for x in shown)]
    if rest:
        labels.append(_("Other stops"))
        values.append(-sum(x.hours for x in rest))
    for x in w.losses:
        if x.category == "effectiveness":
            labels.append(_("Speed loss"))
            values.append(-x.hours)
        elif x.category == "quality":
            labels.append(_("Quality loss"))
            values.append(-x.hours)
    labels.append(_("Fully productive time"))
    values.append(w.productive_h)
    kinds = ["total", *(["delta"] * (len(values) - 2)), "total"]
    return waterfall_option(labels, values, kinds, unit=_("h"), name=w.name)


def trend(report: KpiReport, line: str, last: int) -> dict[str, Any]:
    """The tile KPIs of one line over the last ``last`` periods, with the OEE target."""
    rows = sorted((r for r in report.rows if r.node == line), key=lambda r: r.period_start)[-last:]
    x = [_period_label(r.period_start, r.shift) for r in rows]
    names = {k: _kpi_name(k) for k in service.TILE_KPIS}
    series = {names[k]: [r.values.get(k) for r in rows] for k in service.TILE_KPIS}
    goal = targets().get("oee")
    marks = {}
    if goal is not None:
        label = _("OEE target {value}").format(value=percent(goal.good, 0))
        if not goal.verified:
            label += " " + _("(unverified)")
        marks[label] = goal.good
    return trend_option(x, series, percent=True, targets=marks)


def _kpi_name(kpi: str) -> str:
    return catalogue().kpis[kpi].name.get(language())


def _period_label(start: datetime, shift: str | None) -> str:
    return f"{start:%m-%d}" + (f" {shift}" if shift else "")
