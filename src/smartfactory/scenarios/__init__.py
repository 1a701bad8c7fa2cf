"""AI and optimisation scenarios, each tied to official typical smart-manufacturing scenarios.

Scenario classes are imported only when used (``scenario_class``), so listing them does not
load LightGBM, River or OR-Tools.
"""

from __future__ import annotations

from typing import cast

from smartfactory.model.registry import registered
from smartfactory.model.text import Text
from smartfactory.scenarios.base import BenchmarkRow, PlantRun, Scenario, ScenarioCard

# name -> "module:Class"
SCENARIOS: dict[str, str] = {
    "quality": "smartfactory.scenarios.quality:QualityScenario",
    "maintenance": "smartfactory.scenarios.maintenance:MaintenanceScenario",
    "anomaly": "smartfactory.scenarios.anomaly:AnomalyScenario",
    "scheduling": "smartfactory.scenarios.scheduling:SchedulingScenario",
}


def scenario_class(name: str) -> type[Scenario]:
    """The class of a scenario by name; an unknown name is a UserError listing the known ones."""
    return cast("type[Scenario]", registered(SCENARIOS, name, ("scenario", "scenarios"), SCENARIOS))


__all__ = ["SCENARIOS", "BenchmarkRow", "PlantRun", "Scenario", "ScenarioCard", "Text", "scenario_class"]
