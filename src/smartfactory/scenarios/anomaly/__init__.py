"""Streaming multivariate anomaly detection (official scenario: equipment operation monitoring)."""

from smartfactory.scenarios.anomaly.detector import DetectorConfig, StreamingDetector
from smartfactory.scenarios.anomaly.scenario import AnomalyScenario

__all__ = ["AnomalyScenario", "DetectorConfig", "StreamingDetector"]
