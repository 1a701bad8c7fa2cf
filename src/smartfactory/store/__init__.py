"""Telemetry store (DuckDB embedded, PostgreSQL server) and registry store (SQLAlchemy)."""

from smartfactory.store.folder import REGISTRY_FILE, StoreFolder
from smartfactory.store.postgres import EventStore, PgQuarantine, PgTelemetryStore, is_postgres_url
from smartfactory.store.registry import Registry
from smartfactory.store.scenario_runs import (
    ScenarioRunRecord,
    finish_scenario_run,
    get_scenario_run,
    list_scenario_runs,
    record_scenario_run,
)
from smartfactory.store.summary import MachineSummary, summarise
from smartfactory.store.telemetry import TELEMETRY_FILE, TelemetryStore

__all__ = [
    "REGISTRY_FILE",
    "TELEMETRY_FILE",
    "EventStore",
    "MachineSummary",
    "PgQuarantine",
    "PgTelemetryStore",
    "Registry",
    "ScenarioRunRecord",
    "StoreFolder",
    "TelemetryStore",
    "finish_scenario_run",
    "get_scenario_run",
    "is_postgres_url",
    "list_scenario_runs",
    "record_scenario_run",
    "summarise",
]
