"""Maintenance: failure prediction, remaining useful life and predictive alarms."""

from smartfactory.scenarios.maintenance.risk import ALARM_CODE, RiskSettings
from smartfactory.scenarios.maintenance.scenario import MaintenanceScenario

__all__ = ["ALARM_CODE", "MaintenanceScenario", "RiskSettings"]
