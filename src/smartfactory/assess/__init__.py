"""Assessment: the gradient ladder, the CMMM model and the scenario catalogue as data, and scoring."""

from smartfactory.assess.framework import (
    FrameworkFileError,
    Library,
    list_frameworks,
    load_cmmm,
    load_framework,
    load_gradient,
    load_metrics,
    load_scenarios,
)
from smartfactory.assess.schema import (
    CmmmFramework,
    Criterion,
    Framework,
    GradientFramework,
    MetricCatalogue,
    ScenarioCatalogue,
    Text,
)
from smartfactory.assess.scoring import CmmmScore, Industry, LevelScore, grade_of, score_cmmm

__all__ = [
    "CmmmFramework",
    "CmmmScore",
    "Criterion",
    "Framework",
    "FrameworkFileError",
    "GradientFramework",
    "Industry",
    "LevelScore",
    "Library",
    "MetricCatalogue",
    "ScenarioCatalogue",
    "Text",
    "grade_of",
    "list_frameworks",
    "load_cmmm",
    "load_framework",
    "load_gradient",
    "load_metrics",
    "load_scenarios",
    "score_cmmm",
]
