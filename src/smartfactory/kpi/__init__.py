"""ISO 22400-2 KPIs from stored events: elements by equipment and period, rolled up, then divided."""

from smartfactory.kpi.compute import KpiResult, compute, compute_on, compute_result, why_null
from smartfactory.kpi.definitions import Catalogue, Element, Kpi, catalogue
from smartfactory.kpi.periods import Per, Window, window

__all__ = [
    "Catalogue",
    "Element",
    "Kpi",
    "KpiResult",
    "Per",
    "Window",
    "catalogue",
    "compute",
    "compute_on",
    "compute_result",
    "why_null",
    "window",
]
