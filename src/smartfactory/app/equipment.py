"""The equipment pages' reads: machines by line with state and alarms, KPIs, scenario results.

The demo data is historical, so "now" is the time of the latest stored event (``as_of``),
not the wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import psycopg
from pydantic import BaseModel, Field

from smartfactory.app import alarms as alarm_service
from smartfactory.app.i18n import language, local_text
from smartfactory.app.plant import EquipmentInfo, equipment_list
from smartfactory.app.workspace import Workspace
from smartfactory.kpi import catalogue, compute_result
from smartfactory.kpi.labels import labels
from smartfactory.model.events import State
from smartfactory.model.plant import Plant
from smartfactory.model.text import Text
from smartfactory.store import EventStore
from smartfactory.store.scenario_runs import ScenarioRunRecord, list_scenario_runs

KPIS = ("oee", "availability", "effectiveness", "quality_ratio")
# what the maintenance and anomaly scenarios leave in the store (their modules load LightGBM and
# River, too heavy to import for two names; tests check these against them)
MAINTENANCE_RISK_TABLE = "maintenance_risk"
MAINTENANCE_ALARM_CODE = "PDM_RISK"
ANOMALY_ALARM_CODE = "ANOMALY"
_MAINTENANCE_METRICS = ("precision", "recall", "lead_time_h_median", "threshold")
_ANOMALY_METRICS = ("failure_warning_rate", "median_lead_time_h", "alarms_raised", "equipment_monitored")


def state_label(state: str) -> str:
    """A machine state's name in the current language."""
    text = labels()["state"].get(state)
    return local_text(text) if text is not None else state


# --- the list -------------------------------------------------------------------------------


class MachineRow(BaseModel):
    """A machine in the list: its state at ``as_of`` and its active alarms."""

    id: str
    name: Text
    kind: str
    key: bool
    state: State | None = None
    state_since: datetime | None = None
    reason: str | None = None
    active_alarms: int = 0


class LineGroup(BaseModel):
    """A line and its machines, in plant-file order."""

    id: str
    name: Text
    machines: list[MachineRow]


class EquipmentOverview(BaseModel):
    """Every machine grouped by line, as of the latest stored event."""

    as_of: datetime | None
    timezone: str
    lines: list[LineGroup]


def overview(workspace: Workspace) -> EquipmentOverview:
    """The machines by line with their current state and active alarm count."""
    plant = workspace.plant()
    with workspace.telemetry() as store:
        as_of = store.time_range()[1]
        current = {
            row["equipment"]: row
            for row in store.query(
                "SELECT equipment, state, reason, since FROM ("
                'SELECT equipment, state, reason, "start" AS since, '
                'row_number() OVER (PARTITION BY equipment ORDER BY "start" DESC) AS n FROM states) s '
                "WHERE n = 1"
            ).to_pylist()
        }
        active = alarm_service.active_counts(store)
    groups: dict[str, LineGroup] = {}
    for info in equipment_list(workspace):
        group = groups.setdefault(info.line_id, LineGroup(id=info.line_id, name=info.line_name, machines=[]))
        now = current.get(info.id)
        state = now["state"] if now and now["state"] in State.__members__ else None
        group.machines.append(
            MachineRow(
                id=info.id,
                name=info.name,
                kind=info.kind,
                key=info.key,
                state=State(state) if state else None,
                state_since=now["since"].replace(tzinfo=UTC) if now else None,
                reason=now["reason"] if now else None,
                active_alarms=active.get(info.id, 0),
            )
        )
    return EquipmentOverview(
        as_of=as_of.replace(tzinfo=UTC) if as_of else None,
        timezone=plant.plant.timezone,
        lines=list(groups.values()),
    )


def info(workspace: Workspace, equipment_id: str) -> EquipmentInfo | None:
    """Where a piece of equipment sits and what it reports, or None."""
    return next((e for e in equipment_list(workspace) if e.id == equipment_id), None)


# --- KPIs -----------------------------------------------------------------------------------


class KpiValue(BaseModel):
    """One KPI's value (a ratio), or why it has none."""

    id: str
    name: str
    value: float | None
    why: str | None = None


class EquipmentKpis(BaseModel):
    """The headline KPIs of one piece of equipment for one plant-local day."""

    day: date | None = Field(description="the latest day with data; None when the store is empty")
    values: list[KpiValue]


def latest_day(store: EventStore, plant: Plant) -> date | None:
    """The plant-local day holding the latest stored event."""
    last = store.time_range()[1]
    if last is None:
        return None
    local = (last - timedelta(microseconds=1)).replace(tzinfo=UTC).astimezone(ZoneInfo(plant.plant.timezone))
    return local.date()


def day_kpis(store: EventStore, plant: Plant, equipment_id: str, day: date | None = None) -> EquipmentKpis:
    """OEE, availability, effectiveness and quality ratio of the equipment on ``day`` (default: latest)."""
    day = day or latest_day(store, plant)
    cat = catalogue()
    lang = language()
    if day is None:
        return EquipmentKpis(
            day=None, values=[KpiValue(id=k, name=cat.kpi(k).name.get(lang), value=None) for k in KPIS]
        )
    result = compute_result(
        store,
        day,
        day + timedelta(days=1),
        by="equipment",
        per="day",
        kpis=list(KPIS),
        node=equipment_id,
        plant=plant,
    )
    row: dict[str, Any] = next((r for r in result.rows() if r["node"] == equipment_id), {})
    values = []
    for kpi_id in KPIS:
        kpi = cat.kpi(kpi_id)
        value = row.get(kpi_id)
        if isinstance(value, float) and value != value:  # NaN: no value
            value = None
        values.append(
            KpiValue(
                id=kpi_id,
                name=kpi.name.get(lang),
                value=value,
                why=result.why_null(row, kpi, lang) if value is None and row else None,
            )
        )
    return EquipmentKpis(day=day, values=values)


# --- scenario results -----------------------------------------------------------------------


class ScenarioResult(BaseModel):
    """The latest run of a scenario and what it found for one piece of equipment."""

    scenario: str
    run_id: str | None = None
    status: str | None = None
    finished_at: datetime | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    covers: bool = Field(False, description="whether the run looked at this equipment")
    signals: list[str] = Field(default_factory=list)
    alarms: int = Field(0, description="the run's alarms for this equipment")
    active_alarms: int = 0
    risk: float | None = Field(None, description="maintenance: the latest hourly failure risk")
    risk_at: datetime | None = None
    risk_peak: float | None = Field(None, description="maintenance: the highest risk in the last 24 h")
    threshold: float | None = None


def scenario_results(workspace: Workspace, equipment_id: str) -> list[ScenarioResult]:
    """The latest maintenance and anomaly runs and their results for the equipment."""
    plant = workspace.plant()
    runs = list_scenario_runs(workspace.registry, plant.plant.id)
    out = []
    with workspace.telemetry() as store:
        for name in ("maintenance", "anomaly"):
            run = next((r for r in runs if r["scenario"] == name), None)
            if run is None:
                out.append(ScenarioResult(scenario=name))
                continue
            out.append(_scenario_result(store, name, run, equipment_id))
    return out


def _scenario_result(
    store: EventStore, name: str, run: ScenarioRunRecord, equipment_id: str
) -> ScenarioResult:
    keep = _MAINTENANCE_METRICS if name == "maintenance" else _ANOMALY_METRICS
    result = ScenarioResult(
        scenario=name,
        run_id=run["id"],
        status=run["status"],
        finished_at=run["finished_at"],
        metrics={k: v for k, v in run["metrics"].items() if k in keep},
    )
    if run["status"] != "finished":
        return result
    code = MAINTENANCE_ALARM_CODE if name == "maintenance" else ANOMALY_ALARM_CODE
    result.alarms, result.active_alarms = alarm_service.count_lives(store, equipment_id, code)
    if name == "anomaly":
        monitored = run["artefacts"].get("equipment", {})
        result.covers = equipment_id in monitored
        result.signals = list(monitored.get(equipment_id, []))
        return result
    result.threshold = run["metrics"].get("threshold")
    try:
        rows = store.query(
            f'SELECT hour, risk FROM "{MAINTENANCE_RISK_TABLE}" WHERE equipment = $e '
            "ORDER BY hour DESC LIMIT 24",
            {"e": equipment_id},
        ).to_pylist()
    except (duckdb.CatalogException, psycopg.errors.UndefinedTable):  # the run's table was dropped since
        rows = []
    if rows:
        result.covers = True
        result.risk = float(rows[0]["risk"])
        result.risk_at = rows[0]["hour"].replace(tzinfo=UTC)
        result.risk_peak = max(float(r["risk"]) for r in rows)
    return result
