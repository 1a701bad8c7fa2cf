"""Quality: defect prediction from process data and the process window with the fewest defects."""

from smartfactory.scenarios.quality.scenario import QualityScenario
from smartfactory.scenarios.quality.whatif import WhatIf, recommendations_of, what_if
from smartfactory.scenarios.quality.window import Recommendation, apply_recommendations

__all__ = [
    "QualityScenario",
    "Recommendation",
    "WhatIf",
    "apply_recommendations",
    "recommendations_of",
    "what_if",
]
