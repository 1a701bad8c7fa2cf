"""The scenario library, its runs on the plant's data, and the latest schedule.

A run started here goes like ``smartfactory scenario run``: it is recorded ``running`` in the
registry, the scenario trains or solves on the store's data in a background thread, and the run
is closed ``finished`` with its metrics and artefacts, or ``failed`` with the message, never
``finished`` with partial results. One run of a scenario at a time per workspace.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from smartfactory.app.errors import field_problem
from smartfactory.app.i18n import gettext as _
from smartfactory.app.workspace import Workspace
from smartfactory.assess.framework import shipped
from smartfactory.model.errors import Conflict, InvalidInput, NotFound
from smartfactory.model.text import Text
from smartfactory.scenarios import SCENARIOS, Scenario, ScenarioCard, scenario_class
from smartfactory.scenarios.recording import begin_run, complete_run
from smartfactory.store import (
    ScenarioRunRecord,
    get_scenario_run,
    list_scenario_runs,
)

# the official typical-scenario catalogue the scenario cards name ids from
CATALOGUE = "scenarios/2024/national"
SCHEDULING = "scheduling"
MAX_RUNS = 200


class UnknownScenario(NotFound):
    """No scenario of that name in the library."""

    title: ClassVar[str] = "No such scenario"

    def __init__(self, name: str) -> None:
        super().__init__(
            _("There is no scenario {name}; scenarios: {names}.").format(name=name, names=", ".join(names()))
        )
        self.name = name


class UnknownRun(NotFound):
    """No scenario run has that id."""

    title: ClassVar[str] = "No such run"

    def __init__(self, run_id: str) -> None:
        super().__init__(_("There is no scenario run {id}.").format(id=run_id))
        self.run_id = run_id


class NoSchedule(NotFound):
    """No scheduling run has made a schedule yet."""

    title: ClassVar[str] = "No schedule yet"

    def __init__(self) -> None:
        super().__init__(_("Run the scheduling scenario to make a schedule from the open orders."))


class RunInProgress(Conflict):
    """The scenario is already running on this workspace."""

    title: ClassVar[str] = "Already running"

    def __init__(self, name: str, run_id: str) -> None:
        super().__init__(
            _("Scenario {name} is already running (run {id}); wait for it to end.").format(
                name=name, id=run_id
            )
        )
        self.name = name
        self.run_id = run_id


class OfficialScenario(BaseModel):
    """An official typical smart-manufacturing scenario (典型场景) of the national catalogue."""

    id: str = Field(description="id in the catalogue, e.g. shop_floor_scheduling")
    name: Text


class RunSummary(BaseModel):
    """One run of a scenario on the plant's data."""

    id: str
    scenario: str
    official_scenario: str = Field(description="the catalogue id the run is evidence for")
    uses_ai: bool
    status: str = Field(description="running, finished or failed")
    started_at: datetime
    finished_at: datetime | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    notes: str | None = Field(None, description="what the run did, or why it failed")


class RunDetail(RunSummary):
    """A run with where its results went (tables, run ids, rows)."""

    artefacts: dict[str, Any] = Field(default_factory=dict)


class ScenarioInfo(BaseModel):
    """A scenario of the library: what it is, the official scenarios it implements, its last run."""

    name: str
    title: Text
    summary: Text
    kind: str = Field(description="learning, streaming or optimisation")
    uses_ai: bool
    official_scenario: OfficialScenario = Field(description="the official scenario its runs are evidence for")
    official_scenarios: list[OfficialScenario]
    model_card: str = Field(description="the model card in the repository, e.g. docs/scenarios/quality.md")
    public_data: str = Field(description="the public benchmark data folder, if any")
    active: bool = Field(description="a run started by this workspace is in progress")
    last_run: RunSummary | None = None


class GanttRow(BaseModel):
    """One bar of the schedule: an operation of an order on a machine, or its changeover."""

    machine: str
    order: str
    operation: str = Field(description="the routing step (work cell), e.g. OP10")
    step: int = Field(description="the step's position in the routing, from 0")
    product: str
    kind: str = Field(description="run (the operation) or setup (the changeover before it)")
    start: datetime
    end: datetime
    fixed: bool = Field(description="already started when the plan was made")


class ScheduleView(BaseModel):
    """The latest schedule the scheduling scenario made, as Gantt rows, with how good it is."""

    run_id: str = Field(description="the scenario run that made it")
    schedule_id: str = Field(description="run_id of its rows in the store's schedules table")
    made_at: datetime | None
    planned_from: datetime | None
    timezone: str = Field(description="the plant's time zone (times here are UTC)")
    makespan_h: float | None
    tardiness_h: float | None
    on_time_rate: float | None
    orders: int
    machines: list[str]
    rows: list[GanttRow]


# --- the library ----------------------------------------------------------------------------


def names() -> list[str]:
    """Every scenario of the library, in its order."""
    return list(SCENARIOS)


def library(workspace: Workspace) -> list[ScenarioInfo]:
    """Every scenario with its official scenarios, whether it uses AI and its last run."""
    last: dict[str, RunSummary] = {}
    for record in list_scenario_runs(workspace.registry):
        last.setdefault(record["scenario"], _summary(record))
    official = official_names()
    return [_info(name, official, last.get(name), workspace) for name in SCENARIOS]


def scenario(workspace: Workspace, name: str) -> ScenarioInfo:
    """One scenario of the library; UnknownScenario if there is none of that name."""
    _check_name(name)
    found = next((r for r in list_scenario_runs(workspace.registry) if r["scenario"] == name), None)
    return _info(name, official_names(), None if found is None else _summary(found), workspace)


def _info(
    name: str, official: dict[str, Text], last: RunSummary | None, workspace: Workspace
) -> ScenarioInfo:
    card: ScenarioCard = scenario_class(name).card
    scenarios = [_official(o, official) for o in card.official_scenarios]
    return ScenarioInfo(
        name=name,
        title=card.title,
        summary=card.summary,
        kind=card.kind,
        uses_ai=card.uses_ai,
        official_scenario=scenarios[0],
        official_scenarios=scenarios,
        model_card=card.model_card,
        public_data=card.public_data,
        active=_runner(workspace).active(name) is not None,
        last_run=last,
    )


def _official(scenario_id: str, official: dict[str, Text]) -> OfficialScenario:
    return OfficialScenario(
        id=scenario_id, name=official.get(scenario_id, Text(en=scenario_id, zh=scenario_id))
    )


def official_names() -> dict[str, Text]:
    """The names of the official typical scenarios by catalogue id."""
    catalogue = shipped().scenarios(CATALOGUE)
    return {s.id: s.name for s in catalogue.scenarios}


def _check_name(name: str) -> None:
    if name not in SCENARIOS:
        raise UnknownScenario(name)


# --- runs -----------------------------------------------------------------------------------


def runs(workspace: Workspace, scenario_name: str | None = None, limit: int = 50) -> list[RunSummary]:
    """The newest runs, at most ``limit`` (of one scenario when named; InvalidInput for an unknown name)."""
    if scenario_name is not None and scenario_name not in SCENARIOS:
        message = _("Choose one of: {expected}.").format(expected=", ".join(names()))
        raise InvalidInput(_("Some fields are not valid."), [field_problem("query.scenario", message)])
    records = list_scenario_runs(workspace.registry)
    chosen = [r for r in records if scenario_name is None or r["scenario"] == scenario_name]
    return [_summary(r) for r in chosen[: max(0, limit)]]


def run(workspace: Workspace, run_id: str) -> RunDetail | None:
    """One run with its metrics, artefacts and notes, or None."""
    record = get_scenario_run(workspace.registry, run_id)
    if record is None:
        return None
    return RunDetail(**_summary(record).model_dump(), artefacts=record["artefacts"])


def _summary(record: ScenarioRunRecord) -> RunSummary:
    return RunSummary(
        id=record["id"],
        scenario=record["scenario"],
        official_scenario=record["official_scenario"],
        uses_ai=record["uses_ai"],
        status=record["status"],
        started_at=record["started_at"],
        finished_at=record["finished_at"],
        metrics=record["metrics"],
        notes=record["notes"],
    )


class _Runner:
    """The runs a workspace has in flight: one thread per scenario name."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, tuple[str, threading.Thread]] = {}

    def active(self, name: str) -> str | None:
        """The id of the scenario's run in flight, or None."""
        with self.lock:
            found = self.running.get(name)
            return found[0] if found is not None and found[1].is_alive() else None

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every run in flight (tests, shutdown)."""
        with self.lock:
            threads = [t for _run_id, t in self.running.values()]
        for thread in threads:
            thread.join(timeout)


_RUNNERS: weakref.WeakKeyDictionary[Workspace, _Runner] = weakref.WeakKeyDictionary()
_RUNNERS_LOCK = threading.Lock()


def _runner(workspace: Workspace) -> _Runner:
    with _RUNNERS_LOCK:
        found = _RUNNERS.get(workspace)
        if found is None:
            found = _RUNNERS[workspace] = _Runner()
        return found


def wait_for_runs(workspace: Workspace, timeout: float | None = None) -> None:
    """Block until the workspace's runs in flight are over (or ``timeout`` seconds each)."""
    _runner(workspace).wait(timeout)


def start_run(workspace: Workspace, name: str) -> RunSummary:
    """Record a run of ``name`` as running and start it in a background thread.

    UnknownScenario for a name not in the library, RunInProgress while the scenario runs, a
    UserError when the store holds no plant (nothing is recorded then).
    """
    _check_name(name)
    folder = workspace.store_path  # scenarios run on a store folder (a UserError on PostgreSQL)
    runner = _runner(workspace)
    cls = scenario_class(name)
    with runner.lock:
        current = runner.running.get(name)
        if current is not None and current[1].is_alive():
            raise RunInProgress(name, current[0])
        plant = workspace.plant()
        run_id = begin_run(workspace.registry, plant.plant.id, name, cls)
        thread = threading.Thread(
            target=_execute,
            args=(workspace, cls, run_id, folder, runner, name),
            name=f"scenario-{name}",
            daemon=True,
        )
        runner.running[name] = (run_id, thread)
        thread.start()
    record = get_scenario_run(workspace.registry, run_id)
    assert record is not None  # recorded just above
    return _summary(record)


def _execute(
    workspace: Workspace, cls: type[Scenario], run_id: str, store: Path, runner: _Runner, name: str
) -> None:
    """Run the scenario and close its record, as the CLI does."""
    try:
        # a failure is recorded as failed by complete_run; the thread has no one else to tell
        with contextlib.suppress(Exception):
            complete_run(workspace.registry, run_id, cls, store)
    finally:
        with runner.lock:
            if runner.running.get(name, ("",))[0] == run_id:
                del runner.running[name]


# --- the latest schedule --------------------------------------------------------------------


def latest_schedule(workspace: Workspace) -> ScheduleView | None:
    """The schedule of the newest finished scheduling run, or None when there is none."""
    record = next(
        (
            r
            for r in list_scenario_runs(workspace.registry)
            if r["scenario"] == SCHEDULING and r["status"] == "finished" and r["artefacts"].get("run_id")
        ),
        None,
    )
    if record is None:
        return None
    artefacts = record["artefacts"]
    table = str(artefacts.get("table", "schedules"))
    if table != "schedules":
        return None
    schedule_id = str(artefacts["run_id"])
    with workspace.telemetry() as store:
        exists = store.query(
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'schedules'"
        ).to_pylist()[0]["n"]
        stored = (
            store.query(
                'SELECT order_id, op, step, product, machine, setup_start, start, "end", fixed '
                "FROM schedules WHERE run_id = $id ORDER BY machine, start",
                {"id": schedule_id},
            ).to_pylist()
            if exists
            else []
        )
    rows: list[GanttRow] = []
    for r in stored:
        common = {
            "machine": r["machine"],
            "order": r["order_id"],
            "operation": r["step"],
            "step": r["op"],
            "product": r["product"],
            "fixed": r["fixed"],
        }
        if r["setup_start"] is not None and r["setup_start"] < r["start"]:
            rows.append(
                GanttRow(kind="setup", start=_aware(r["setup_start"]), end=_aware(r["start"]), **common)
            )
        rows.append(GanttRow(kind="run", start=_aware(r["start"]), end=_aware(r["end"]), **common))
    metrics = record["metrics"]
    planned = artefacts.get("planned_from")
    return ScheduleView(
        run_id=record["id"],
        schedule_id=schedule_id,
        made_at=record["finished_at"],
        planned_from=_aware(datetime.fromisoformat(planned)) if isinstance(planned, str) else None,
        timezone=workspace.plant().plant.timezone,
        makespan_h=metrics.get("makespan_h"),
        tardiness_h=metrics.get("tardiness_h"),
        on_time_rate=metrics.get("on_time_rate"),
        orders=len({r.order for r in rows}),
        machines=sorted({r.machine for r in rows}),
        rows=rows,
    )


def _aware(moment: datetime) -> datetime:
    """A stored (naive UTC) time as an aware UTC datetime."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def plant_local(moment: datetime, timezone: str) -> datetime:
    """An aware time as the plant's wall clock (naive), for charts drawn in plant time."""
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
