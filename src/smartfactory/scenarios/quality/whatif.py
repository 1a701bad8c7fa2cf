"""Check a recommended window the only honest way: run the twin again with it and count.

``what_if`` simulates the plant, runs the quality scenario on that store, applies the recommended
setpoints to a copy of the plant and simulates it again with the same seed, then compares the
twin's own truth (defect rates per machine) and the characteristic precision before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from smartfactory.model.plant import Plant
from smartfactory.scenarios.base import PlantRun
from smartfactory.scenarios.quality.scenario import QualityScenario
from smartfactory.scenarios.quality.window import ParameterWindow, Recommendation, apply_recommendations
from smartfactory.simulate import SimulationResult, simulate
from smartfactory.store import TelemetryStore


@dataclass(frozen=True)
class WhatIf:
    """The scenario's runs and the twin's truth before and after the recommended window."""

    before: PlantRun
    after: PlantRun
    truth_before: SimulationResult
    truth_after: SimulationResult

    def defect_rate(self, equipment: str, after: bool) -> float:
        """Scrap and rework share of a machine's units, from the twin's truth."""
        m = (self.truth_after if after else self.truth_before).machines[equipment]
        units = m.good + m.scrap + m.rework
        return (m.scrap + m.rework) / units if units else 0.0


def recommendations_of(run: PlantRun) -> list[Recommendation]:
    """The recommendations a plant run returned in its artefacts."""
    raw: list[dict[str, Any]] = run.artefacts["recommendations"]
    return [
        Recommendation(**{**r, "parameters": [ParameterWindow(**p) for p in r["parameters"]]}) for r in raw
    ]


def what_if(plant: Plant, folder: Path, start: datetime, days: float, seed: int = 0) -> WhatIf:
    """Simulate, recommend, re-simulate with the window (same seed) and run the scenario on both."""
    truth_before = _simulate(plant, folder / "before", start, days, seed)
    before = QualityScenario(plant=plant, seed=seed).run_on_plant(folder / "before")
    improved = apply_recommendations(plant, recommendations_of(before))
    truth_after = _simulate(improved, folder / "after", start, days, seed)
    after = QualityScenario(plant=improved, seed=seed).run_on_plant(folder / "after")
    return WhatIf(before, after, truth_before, truth_after)


def _simulate(plant: Plant, folder: Path, start: datetime, days: float, seed: int) -> SimulationResult:
    store = TelemetryStore.open(folder)
    try:
        return simulate(plant, store, start=start, days=days, seed=seed)
    finally:
        store.close()
