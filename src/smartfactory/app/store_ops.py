"""The CLI's use cases on a store: summary, export, a scenario run, an assessment with live evidence.

Each is a function of a ``Workspace`` returning a model, so ``smartfactory summary``, ``export``,
``scenario run`` and ``assess --store`` run them in their own process, or through the store's
owner while ``serve`` or ``ingest`` holds the store (``smartfactory.app.remote``). Paths are
taken as given: a caller in another process sends absolute ones.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from smartfactory.app.workspace import Workspace
from smartfactory.assess.answers import parse_answers, resolve
from smartfactory.assess.framework import Library, shipped
from smartfactory.assess.result import Assessment
from smartfactory.assess.run import assess
from smartfactory.model.events import EventType
from smartfactory.scenarios import scenario_class
from smartfactory.scenarios.recording import begin_run, complete_run
from smartfactory.store import MachineSummary, summarise


class StoreSummary(BaseModel):
    """Per machine: hours in each state, good / scrap / rework, energy, alarms; the period stored."""

    first: datetime | None  # the earliest stored event (UTC)
    last: datetime | None  # the latest stored event (UTC)
    machines: list[MachineSummary]  # in plant order


def store_summary(workspace: Workspace) -> StoreSummary:
    """What happened per machine over everything stored (``smartfactory summary``)."""
    plant = workspace.plant()
    with workspace.telemetry() as telemetry:
        rows, (first, last) = summarise(telemetry, plant)
    return StoreSummary(first=first, last=last, machines=rows)


class ExportedFiles(BaseModel):
    """The folder each exported table was written to, by table."""

    folders: dict[str, str]


def export_events(
    workspace: Workspace,
    to: str,
    tables: list[EventType] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> ExportedFiles:
    """Stored events as Parquet partitioned by day under ``to`` (``smartfactory export``)."""
    with workspace.telemetry() as telemetry:
        written = telemetry.export_parquet(Path(to), tables, start, end)
    return ExportedFiles(folders={name: str(path) for name, path in written.items()})


class ScenarioRunReport(BaseModel):
    """A finished scenario run on the plant's data, recorded as evidence (``scenario run``)."""

    run_id: str
    scenario: str
    official_scenario: str
    uses_ai: bool
    metrics: dict[str, float | int]  # as the scenario reported them (ints stay ints in JSON)
    artefacts: dict[str, Any]
    notes: str | None


def run_scenario(workspace: Workspace, name: str) -> ScenarioRunReport:
    """Run scenario ``name`` on the stored data now, record the run, and return it when finished.

    The scenario writes its results into the store, so the workspace is the store's writer (the
    CLI's own, or the owner's when the call goes through it).
    """
    cls = scenario_class(name)
    plant = workspace.plant()
    run_id = begin_run(workspace.registry, plant.plant.id, name, cls)
    result, metrics = complete_run(workspace.registry, run_id, cls, workspace.store_path)
    return ScenarioRunReport(
        run_id=run_id,
        scenario=name,
        official_scenario=result.official_scenario,
        uses_ai=cls.card.uses_ai,
        metrics=metrics,
        artefacts=result.artefacts,
        notes=result.notes,
    )


def assess_store(
    workspace: Workspace,
    framework: str,
    answers_text: str,
    answers_source: str,
    lang: str,
    allow_missing: bool = False,
    industry: str | None = None,
    budget: int | None = None,
    days: int = 30,
    frameworks_dir: str | None = None,
) -> Assessment:
    """Assess answers (their text; ``answers_source`` names the file) with the store's live evidence."""
    library = Library(Path(frameworks_dir)) if frameworks_dir is not None else shipped()
    fw = resolve(framework, library)
    checked = parse_answers(answers_text, answers_source, fw, allow_missing=allow_missing, lang=lang)
    plant = workspace.plant()
    with workspace.telemetry() as telemetry:
        return assess(
            fw.gradient.id,
            checked,
            plant,
            telemetry,
            workspace.registry,
            industry,
            budget,
            lang,
            library=library,
            days=days,
        )
