"""The event contract every source and the store share: states, counts, measurements, alarms.

Events travel as Arrow record batches with the schemas below: one schema per event type,
timestamps in UTC (naive, microseconds), so a source can hand a batch straight to the store.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import pyarrow as pa


class State(StrEnum):
    """What a piece of equipment is doing (mapped to ISO 22400 time elements by kpi)."""

    running = "running"
    idle = "idle"
    starved = "starved"
    blocked = "blocked"
    setup = "setup"
    planned_stop = "planned_stop"
    unplanned_down = "unplanned_down"
    no_data = "no_data"


class AlarmAction(StrEnum):
    """The life of an alarm."""

    raised = "raised"
    acknowledged = "acknowledged"
    cleared = "cleared"


class Severity(StrEnum):
    """Alarm severity, most severe first."""

    critical = "critical"
    major = "major"
    minor = "minor"
    warning = "warning"


class EventType(StrEnum):
    """The four event types; each is one table in the telemetry store."""

    states = "states"
    counts = "counts"
    measurements = "measurements"
    alarms = "alarms"


TS = pa.timestamp("us")

SCHEMAS: dict[EventType, pa.Schema] = {
    # a state holds from start (inclusive) to end (exclusive); reason only for stops
    EventType.states: pa.schema(
        [
            pa.field("equipment", pa.string(), nullable=False),
            pa.field("start", TS, nullable=False),
            pa.field("end", TS, nullable=False),
            pa.field("state", pa.string(), nullable=False),
            pa.field("reason", pa.string()),
            pa.field("order_id", pa.string()),
            pa.field("product", pa.string()),
        ]
    ),
    # one row per completed cycle (or per counter reading from a source)
    EventType.counts: pa.schema(
        [
            pa.field("ts", TS, nullable=False),
            pa.field("equipment", pa.string(), nullable=False),
            pa.field("order_id", pa.string()),
            pa.field("product", pa.string()),
            pa.field("good", pa.int32(), nullable=False),
            pa.field("scrap", pa.int32(), nullable=False),
            pa.field("rework", pa.int32(), nullable=False),
            pa.field("part_id", pa.string()),
        ]
    ),
    EventType.measurements: pa.schema(
        [
            pa.field("ts", TS, nullable=False),
            pa.field("equipment", pa.string(), nullable=False),
            pa.field("signal", pa.string(), nullable=False),
            pa.field("value", pa.float64(), nullable=False),
        ]
    ),
    EventType.alarms: pa.schema(
        [
            pa.field("ts", TS, nullable=False),
            pa.field("equipment", pa.string(), nullable=False),
            pa.field("code", pa.string(), nullable=False),
            pa.field("severity", pa.string(), nullable=False),
            pa.field("action", pa.string(), nullable=False),
            pa.field("message", pa.string()),
        ]
    ),
}

# The columns that identify an event: writing a row with the same key again stores nothing.
KEYS: dict[EventType, tuple[str, ...]] = {
    EventType.states: ("equipment", "start"),
    EventType.counts: ("equipment", "ts"),
    EventType.measurements: ("equipment", "signal", "ts"),
    EventType.alarms: ("equipment", "code", "action", "ts"),
}

# The column each event type is ordered and partitioned by in time.
TIME_COLUMN: dict[EventType, str] = {
    EventType.states: "start",
    EventType.counts: "ts",
    EventType.measurements: "ts",
    EventType.alarms: "ts",
}


class EventSink(Protocol):
    """Where events go: the store, Parquet files, later MQTT or OPC UA."""

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Write one batch of one event type; return the rows newly stored."""
        ...

    def close(self) -> None:
        """Flush and release the sink."""
        ...
