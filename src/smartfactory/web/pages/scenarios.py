"""Page: the scenario library, its runs, the latest schedule as a Gantt chart, and Run buttons."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from smartfactory.api.auth.deps import EngineerPage, ViewerPage, workspace_of
from smartfactory.app import scenarios as service
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import local_text, number
from smartfactory.app.roles import Role
from smartfactory.app.scenarios import ScenarioInfo, ScheduleView, plant_local
from smartfactory.app.sessions import Principal
from smartfactory.model.errors import UserError
from smartfactory.web.charts import gantt_option
from smartfactory.web.templating import render

router = APIRouter()


PAGE = "/scenarios"
RUNS_SHOWN = 30
SETUP_COLOR = "#94a3b8"


def status_label(status: str) -> str:
    """A run status in the user's language."""
    labels = {"running": _("Running"), "finished": _("Finished"), "failed": _("Failed")}
    return labels.get(status, status)


def status_badge(status: str) -> str:
    """The badge class of a run status."""
    return {"finished": "good", "failed": "bad"}.get(status, "unverified")


def metric(value: float) -> str:
    """A metric with as many decimals as its size needs, in the user's locale."""
    size = abs(value)
    return number(value, 0 if size >= 100 else 2 if size >= 1 else 3)


def _common(request: Request, principal: Principal) -> dict[str, Any]:
    """What the page and its rows both show with."""
    return {
        "tz": workspace_of(request).plant().plant.timezone,
        "can_run": principal.role.allows(Role.engineer),
        "status_label": status_label,
        "status_badge": status_badge,
        "metric": metric,
    }


def schedule_chart(view: ScheduleView) -> dict[str, Any]:
    """The schedule as an ECharts Gantt option: a row per machine, a colour per order, grey
    changeovers; times in the plant's wall clock."""
    tz = view.timezone
    bars = []
    for row in view.rows:
        start, end = plant_local(row.start, tz), plant_local(row.end, tz)
        if row.kind == "setup":
            label = _("Changeover to {product} for {order} ({operation})").format(
                product=row.product, order=row.order, operation=row.operation
            )
            kind = "setup"
        else:
            label = _("{order}: {operation} of {product}").format(
                order=row.order, operation=row.operation, product=row.product
            )
            kind = row.order
        bars.append({"row": row.machine, "start": start, "end": end, "kind": kind, "label": label})
    return gantt_option(
        view.machines,
        bars,
        kinds={"setup": _("Changeover")},
        colors={"setup": SETUP_COLOR},
    )


def _row(request: Request, principal: Principal, info: ScenarioInfo, error: str | None = None) -> Response:
    return render(  # type: ignore[no-any-return]
        request,
        "scenario_row.html",
        s=info,
        error=error,
        **_common(request, principal),
    )


def _info(request: Request, name: str) -> ScenarioInfo:
    return service.scenario(workspace_of(request), name)


@router.get(PAGE)
def scenarios_page(request: Request, principal: ViewerPage) -> Response:
    """The library with a Run button per scenario (engineers), the runs and the latest schedule."""
    return _page(request, principal)


def _page(request: Request, principal: Principal, problem: str | None = None, status: int = 200) -> Response:
    workspace = workspace_of(request)
    schedule = service.latest_schedule(workspace)
    return render(  # type: ignore[no-any-return]
        request,
        "scenarios.html",
        status_code=status,
        title=_("Scenarios"),
        problem=problem,
        library=service.library(workspace),
        runs=service.runs(workspace, limit=RUNS_SHOWN),
        schedule=schedule,
        chart=schedule_chart(schedule) if schedule is not None and schedule.rows else None,
        official={key: local_text(text) for key, text in service.official_names().items()},
        **_common(request, principal),
    )


@router.get(PAGE + "/rows/{name}")
def scenario_row(name: str, request: Request, principal: ViewerPage) -> Response:
    """One row of the library (HTMX polls it while the scenario runs)."""
    info = _info(request, name)
    response = _row(request, principal, info)
    if not info.active and request.headers.get("HX-Request"):
        # the run is over: reload the page so the runs and the schedule show its results
        response.headers["HX-Refresh"] = "true"
    return response


@router.post(PAGE + "/{name}/run")
def run_scenario(name: str, request: Request, principal: EngineerPage) -> Response:
    """Start a run (engineer): the row comes back polling its status (HTMX), or the page reloads."""
    error, status = None, 200
    try:
        service.start_run(workspace_of(request), name)
    except service.UnknownScenario:
        raise  # the error page, not a message in a row
    except service.RunInProgress as exc:
        error, status = _("This scenario is already running; wait for it to end."), exc.status
    except UserError as exc:
        error, status = str(exc), exc.status
    if not request.headers.get("HX-Request"):
        # without JavaScript: back to the page (303, so a reload does not post again)
        return (
            RedirectResponse(PAGE, status_code=303)
            if error is None
            else _page(request, principal, error, status)
        )
    return _row(request, principal, _info(request, name), error)
