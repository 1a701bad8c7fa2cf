"""Pages: the machines by line, and one machine's signals, states, alarms, KPIs and scenario results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from smartfactory.api.auth.deps import EngineerPage, ViewerPage, workspace_of
from smartfactory.app import alarms as alarm_service
from smartfactory.app import equipment as service
from smartfactory.app import telemetry as telemetry_service
from smartfactory.app.alarms import Alarm
from smartfactory.app.freshness import freshness
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import local_text
from smartfactory.app.roles import Role
from smartfactory.app.telemetry import CountsAnswer, Series, StatesAnswer
from smartfactory.model.errors import Conflict, NotFound
from smartfactory.model.plant import Plant
from smartfactory.web.charts import PALETTE, STATE_COLORS, gantt_option, plant_time
from smartfactory.web.live import indicator
from smartfactory.web.templating import render

router = APIRouter()

TimeQuery = Annotated[str | None, Query(max_length=64)]
PAGE_POINTS = 600  # per signal on first draw; a zoom asks for the chart's width in points
PAGE_ALARMS = 20  # the newest in the period; every active one is shown besides


def kind_label(kind: str) -> str:
    """An equipment kind's name in the current language."""
    names = {
        "cnc_machining_centre": _("CNC machining centre"),
        "cnc_lathe": _("CNC lathe"),
        "grinder": _("Grinder"),
        "press": _("Press"),
        "furnace": _("Furnace"),
        "rolling_stand": _("Rolling stand"),
        "descaler": _("Descaler"),
        "cooling_unit": _("Cooling unit"),
        "leveller": _("Leveller"),
        "shear": _("Shear"),
        "robot": _("Robot"),
        "conveyor": _("Conveyor"),
        "washer": _("Washer"),
        "assembly_station": _("Assembly station"),
        "inspection_station": _("Inspection station"),
        "other": _("Other"),
    }
    return names.get(kind, kind)


def severity_label(severity: str) -> str:
    """An alarm severity in the current language."""
    names = {
        "critical": _("Critical"),
        "major": _("Major"),
        "minor": _("Minor"),
        "warning": _("Warning"),
    }
    return names.get(severity, severity)


def alarm_state_label(state: str) -> str:
    """An alarm's state in the current language."""
    names = {"raised": _("Raised"), "acknowledged": _("Acknowledged"), "cleared": _("Cleared")}
    return names.get(state, state)


def describe_alarm(plant: Plant, alarm: Alarm) -> str:
    """What an alarm means, in the current language where the code is known."""
    reason = plant.reason_by_code().get(alarm.code)
    if reason is not None:
        return local_text(reason.name)
    if alarm.code == service.MAINTENANCE_ALARM_CODE:
        return _("Failure risk above the threshold (maintenance scenario)")
    if alarm.code == service.ANOMALY_ALARM_CODE:
        return _("Unusual behaviour of the signals (anomaly scenario)")
    signal, _dot, side = alarm.code.rpartition(".")
    if signal and side == "high":
        return _("{signal} above its normal range").format(signal=signal)
    if signal and side == "low":
        return _("{signal} below its normal range").format(signal=signal)
    return alarm.message or alarm.code


def metric_label(name: str) -> str:
    """A scenario metric's name in the current language."""
    names = {
        "precision": _("Precision of the alarms"),
        "recall": _("Breakdowns warned of"),
        "lead_time_h_median": _("Median warning time (h)"),
        "threshold": _("Risk threshold"),
        "failure_warning_rate": _("Failures warned of"),
        "median_lead_time_h": _("Median warning time (h)"),
        "alarms_raised": _("Alarms raised (plant)"),
        "equipment_monitored": _("Machines monitored"),
    }
    return names.get(name, name)


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """An aware time as the plant's wall clock (naive), for chart axes and form fields."""
    return moment.astimezone(tz).replace(tzinfo=None)


def _field(moment: datetime, tz: ZoneInfo) -> str:
    return _local(moment, tz).isoformat(timespec="minutes")


def _not_found(equipment_id: str) -> NotFound:
    return NotFound(_("The plant has no equipment {equipment}.").format(equipment=equipment_id))


# --- charts ---------------------------------------------------------------------------------


def signal_option(
    series: Series, normal: tuple[float, float] | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """A line chart of one signal over the period, zoomable; its normal range as dashed lines."""
    line: dict[str, Any] = series.model_dump(by_alias=True)
    line["itemStyle"] = {"color": PALETTE[0]}
    line["lineStyle"] = {"width": 1}
    if normal is not None:
        line["markLine"] = {
            "silent": True,
            "symbol": "none",
            "lineStyle": {"type": "dashed", "color": "#6b7280"},
            "label": {"formatter": "{c}", "position": "insideEndTop"},
            "data": [{"yAxis": normal[0]}, {"yAxis": normal[1]}],
        }
    return {
        "useUTC": True,  # times are the plant's wall clock (web/charts.py)
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 24, "top": 28, "bottom": 44, "containLabel": True},
        "xAxis": {"type": "time", "min": plant_time(start), "max": plant_time(end)},
        "yAxis": {"type": "value", "scale": True, "name": series.unit},
        "dataZoom": [
            {"type": "inside", "xAxisIndex": 0},
            {"type": "slider", "xAxisIndex": 0, "height": 16, "bottom": 6},
        ],
        "series": [line],
    }


def state_gantt(label: str, states: StatesAnswer, tz: ZoneInfo) -> dict[str, Any]:
    """The machine's state timeline over the period (one row)."""
    start, end = _local(states.start, tz), _local(states.end, tz)
    names = {state: service.state_label(state) for state in STATE_COLORS}
    bars = []
    for span in states.states:
        lo, hi = max(_local(span.start, tz), start), min(_local(span.end, tz), end)
        text = f"{names[span.state.value]} · {lo:%m-%d %H:%M}–{hi:%H:%M}"
        if span.reason:
            text += f" · {span.reason}"
        bars.append({"row": label, "start": lo, "end": hi, "kind": span.state.value, "label": text})
    option = gantt_option([label], bars, kinds=names, start=start, end=end)
    # one row: the page's heading already names the machine
    option["yAxis"]["axisLabel"] = {"show": False}
    return option


def counts_option(counts: CountsAnswer, tz: ZoneInfo) -> dict[str, Any]:
    """Good, scrap and rework per hour as stacked bars."""
    hours = [f"{_local(b.start, tz):%m-%d %H:00}" for b in counts.buckets]
    parts = [
        ("good", _("Good"), "#16a34a"),
        ("scrap", _("Scrap"), "#dc2626"),
        ("rework", _("Rework"), "#f59e0b"),
    ]
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 32, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "category", "data": hours},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "stack": "units",
                "name": name,
                "itemStyle": {"color": color},
                "data": [getattr(b, key) for b in counts.buckets],
            }
            for key, name, color in parts
        ],
    }


# --- pages ----------------------------------------------------------------------------------


@router.get("/equipment")
def equipment_list_page(request: Request, _principal: ViewerPage) -> Response:
    """Every machine by line, with its current state and active alarms."""
    data = service.overview(workspace_of(request))
    return render(  # type: ignore[no-any-return]
        request,
        "equipment_list.html",
        title=_("Equipment"),
        overview=data,
        state_label=service.state_label,
        kind_label=kind_label,
        state_colors=STATE_COLORS,
    )


@router.get("/equipment/{equipment_id}")
def equipment_page(
    request: Request,
    principal: ViewerPage,
    equipment_id: Annotated[str, Path(max_length=64)],
    start: TimeQuery = None,
    end: TimeQuery = None,
) -> Response:
    """One machine: signal charts, state timeline, counts, alarms, scenario results (KPIs load after)."""
    workspace = workspace_of(request)
    found = service.info(workspace, equipment_id)
    if found is None:
        raise _not_found(equipment_id)
    plant = workspace.plant()
    tz = ZoneInfo(plant.plant.timezone)
    model = plant.equipment_by_id()[equipment_id]
    normal = {s.name: s.normal for s in model.signals}
    with workspace.telemetry() as store:
        # the states' limit (31 days) is the page's: its charts all show the same period
        states = telemetry_service.states(store, plant, equipment_id, start, end)
        period_start, period_end = states.start.isoformat(), states.end.isoformat()
        signals = telemetry_service.telemetry(
            store, plant, equipment_id, [], period_start, period_end, PAGE_POINTS, clock="plant"
        )
        counts = telemetry_service.counts(store, plant, equipment_id, period_start, period_end, "hour")
        in_period = alarm_service.list_alarms(
            store, plant, equipment_id, "all", period_start, period_end, PAGE_ALARMS
        )
        active = alarm_service.list_alarms(
            store, plant, equipment_id, "active", limit=alarm_service.MAX_LIMIT
        )
        as_of = store.time_range()[1]
    seen = {(a.code, a.raised_at) for a in in_period.alarms}
    alarms = sorted(
        [*in_period.alarms, *(a for a in active.alarms if (a.code, a.raised_at) not in seen)],
        key=lambda a: (not a.active, -a.raised_at.timestamp()),
    )
    local_start, local_end = _local(states.start, tz), _local(states.end, tz)
    charts = []
    for k, series in enumerate(signals.series):
        query = urlencode({"equipment": equipment_id, "signal": series.signal, "clock": "plant"})
        charts.append(
            {
                "id": f"signal-{k}",
                "series": series,
                "option": signal_option(series, normal.get(series.signal), local_start, local_end),
                "zoom_url": f"/api/v1/telemetry?{query}",
            }
        )
    return render(  # type: ignore[no-any-return]
        request,
        "equipment.html",
        title=local_text(found.name),
        equipment=found,
        tz=plant.plant.timezone,
        as_of=as_of.replace(tzinfo=UTC) if as_of else None,
        start_field=_field(states.start, tz),
        end_field=_field(states.end, tz),
        charts=charts,
        gantt=state_gantt(local_text(found.name), states, tz),
        counts=counts,
        counts_chart=counts_option(counts, tz),
        state_seconds=sorted(states.seconds.items(), key=lambda item: -item[1]),
        alarms=alarms,
        alarms_shown=len(in_period.alarms),
        alarms_url="/api/v1/alarms?"
        + urlencode({"equipment": equipment_id, "start": period_start, "end": period_end, "limit": 2000}),
        alarms_total=in_period.total,
        scenarios=service.scenario_results(workspace, equipment_id),
        can_act=principal.role.allows(Role.engineer),
        fresh=indicator(freshness(workspace), equipment_id),
        **_row_helpers(plant),
    )


@router.get("/equipment/{equipment_id}/kpis")
def equipment_kpis(
    request: Request, _principal: ViewerPage, equipment_id: Annotated[str, Path(max_length=64)]
) -> Response:
    """The machine's KPIs of the latest day (a fragment the page loads after itself: they take longest)."""
    workspace = workspace_of(request)
    if service.info(workspace, equipment_id) is None:
        raise _not_found(equipment_id)
    with workspace.telemetry() as store:
        kpis = service.day_kpis(store, workspace.plant(), equipment_id)
    return render(request, "equipment_kpis.html", kpis=kpis)  # type: ignore[no-any-return]


@router.post("/equipment/{equipment_id}/alarms/{code}/{action}")
def alarm_action(
    request: Request,
    principal: EngineerPage,
    equipment_id: Annotated[str, Path(max_length=64)],
    code: Annotated[str, Path(max_length=128)],
    action: Literal["acknowledge", "clear"],
) -> Response:
    """Acknowledge or clear an alarm from its row; answers the row again (with why, if refused)."""
    workspace = workspace_of(request)
    act = alarm_service.acknowledge if action == "acknowledge" else alarm_service.clear
    error = None
    try:
        alarm = act(workspace, equipment_id, code, principal.username)
    except Conflict as exc:
        # the row comes back with why (another user acted first); other errors get the error page
        error = exc.summary
        with workspace.telemetry() as store:
            latest = alarm_service.latest_life(store, equipment_id, code)
        assert latest is not None  # a conflict means the alarm has a life
        alarm = latest
    plant = workspace.plant()
    return render(  # type: ignore[no-any-return]
        request,
        "alarm_row.html",
        alarm=alarm,
        error=error,
        tz=plant.plant.timezone,
        can_act=True,
        **_row_helpers(plant),
    )


def _row_helpers(plant: Plant) -> dict[str, Any]:
    return {
        "describe_alarm": lambda alarm: describe_alarm(plant, alarm),
        "severity_label": severity_label,
        "alarm_state_label": alarm_state_label,
        "state_label": service.state_label,
        "metric_label": metric_label,
        "state_colors": STATE_COLORS,
    }
