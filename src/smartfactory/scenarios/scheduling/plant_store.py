"""What the telemetry store tells the scheduler (progress, breakdowns, set-ups) and where the plan goes."""

from __future__ import annotations

from datetime import datetime, timedelta

from smartfactory.model.events import State
from smartfactory.model.plant import Plant
from smartfactory.scenarios.scheduling.gantt import SCHEDULE_SCHEMA, schedule_table
from smartfactory.scenarios.scheduling.problem import Downtime, Schedule
from smartfactory.store.telemetry import TelemetryStore

DEFAULT_REPAIR_MIN = 60.0  # expected repair when a machine has no reliability data
MIN_REMAINING_REPAIR_MIN = 10.0


def data_end(store: TelemetryStore) -> datetime | None:
    """The last moment the store has data for (UTC), or None when it is empty."""
    return store.time_range()[1]


def units_done(store: TelemetryStore, plant: Plant, now: datetime) -> dict[tuple[str, str], int]:
    """Units each order has been through at each work cell before ``now`` (good, scrap or rework)."""
    return _units_per_cell(store, plant, now, "good + scrap + rework")


def units_lost(store: TelemetryStore, plant: Plant, now: datetime) -> dict[tuple[str, str], int]:
    """Units of each order that left the flow at each work cell before ``now`` (scrap, rework)."""
    return _units_per_cell(store, plant, now, "scrap + rework")


def _units_per_cell(
    store: TelemetryStore, plant: Plant, now: datetime, units: str
) -> dict[tuple[str, str], int]:
    cell_of = {e.id: str(e.parent) for e in plant.equipment}
    table = store.query(
        f"SELECT equipment, order_id, sum({units})::BIGINT AS units FROM counts "
        "WHERE ts < $now AND order_id IS NOT NULL GROUP BY ALL",
        {"now": now},
    ).to_pylist()
    done: dict[tuple[str, str], int] = {}
    for row in table:
        cell = cell_of.get(row["equipment"])
        if cell is not None:
            key = (row["order_id"], cell)
            done[key] = done.get(key, 0) + int(row["units"])
    return done


def stored_downtimes(store: TelemetryStore, plant: Plant, now: datetime) -> list[Downtime]:
    """Unplanned stops that reach past ``now``; one still open at the data's end lasts for the
    machine's median repair time (less what has passed), at least ten minutes."""
    end = data_end(store)
    rows = store.query(
        'SELECT equipment, start, "end" FROM states WHERE state = $down AND "end" > $now ORDER BY start',
        {"down": State.unplanned_down.value, "now": now},
    ).to_pylist()
    equipment = plant.equipment_by_id()
    out = []
    for row in rows:
        if row["equipment"] not in equipment:
            continue
        stop_end = row["end"]
        if end is not None and stop_end >= end:
            reliability = equipment[row["equipment"]].reliability
            median = reliability.repair_median_min if reliability else DEFAULT_REPAIR_MIN
            elapsed = (stop_end - row["start"]).total_seconds() / 60.0
            stop_end = stop_end + timedelta(minutes=max(median - elapsed, MIN_REMAINING_REPAIR_MIN))
        out.append(Downtime(row["equipment"], max(row["start"], now), stop_end))
    return out


def set_up_for(store: TelemetryStore, now: datetime) -> dict[str, str]:
    """The product each machine last worked on before ``now`` (it needs no changeover for it)."""
    rows = store.query(
        "SELECT equipment, arg_max(product, start) AS product FROM states "
        "WHERE start < $now AND product IS NOT NULL GROUP BY equipment",
        {"now": now},
    ).to_pylist()
    return {r["equipment"]: r["product"] for r in rows if r["product"]}


def write_schedule(store: TelemetryStore, schedule: Schedule, run_id: str) -> int:
    """Append the schedule to the store's ``schedules`` table; the rows written."""
    columns = ", ".join(
        f'"{f.name}" {_SQL[str(f.type)]}{"" if f.nullable else " NOT NULL"}' for f in SCHEDULE_SCHEMA
    )
    store.connection.execute(f"CREATE TABLE IF NOT EXISTS schedules ({columns})")
    table = schedule_table(schedule, run_id)
    store.connection.register("_schedule", table)
    try:
        store.connection.execute("INSERT INTO schedules SELECT * FROM _schedule")
    finally:
        store.connection.unregister("_schedule")
    return int(table.num_rows)


_SQL = {"string": "VARCHAR", "int32": "INTEGER", "timestamp[us]": "TIMESTAMP", "bool": "BOOLEAN"}
