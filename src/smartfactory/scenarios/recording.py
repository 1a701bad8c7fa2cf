"""A scenario run on the plant's own data, recorded in the registry the same way wherever it starts.

The CLI (``smartfactory scenario run``) and the web app (a background thread) both record the run
as ``running`` first, then ``finished`` with its metrics and artefacts, or ``failed`` with the
error: a failed run is never evidence of a scenario in use.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from smartfactory.scenarios.base import PlantRun, Scenario
from smartfactory.store import Registry, finish_scenario_run, record_scenario_run

NOTES_MAX = 2000


def begin_run(registry: Registry, plant_id: str, name: str, cls: type[Scenario]) -> str:
    """Record a run of scenario ``name`` as running; returns its id."""
    card = cls.card
    return record_scenario_run(registry, plant_id, name, card.official_scenarios[0], uses_ai=card.uses_ai)


def complete_run(
    registry: Registry, run_id: str, cls: type[Scenario], store: Path
) -> tuple[PlantRun, dict[str, Any]]:
    """Run the scenario on the store and close its record; a failure is recorded, then raised."""
    started = time.perf_counter()
    try:
        result = cls().run_on_plant(store)
        metrics = {**result.metrics, "run_s": time.perf_counter() - started}
        finish_scenario_run(registry, run_id, metrics=metrics, artefacts=result.artefacts, notes=result.notes)
    except BaseException as exc:
        # also catches results the registry refuses (a metric that is not a finite number)
        finish_scenario_run(registry, run_id, status="failed", notes=failure_note(exc))
        raise
    return result, metrics


def failure_note(exc: BaseException) -> str:
    """How a failed run's notes read: the error's type and message."""
    return f"{type(exc).__name__}: {exc}"[:NOTES_MAX]
