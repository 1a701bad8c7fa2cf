"""Telemetry store (DuckDB) and registry store (SQLAlchemy)."""

from smartfactory.store.registry import Registry
from smartfactory.store.summary import MachineSummary, summarise
from smartfactory.store.telemetry import TELEMETRY_FILE, TelemetryStore

REGISTRY_FILE = "registry.sqlite"

__all__ = ["REGISTRY_FILE", "TELEMETRY_FILE", "MachineSummary", "Registry", "TelemetryStore", "summarise"]
