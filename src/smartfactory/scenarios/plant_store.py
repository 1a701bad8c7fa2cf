"""Reading the plant and writing scenario results in a store folder (shared by the scenarios)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from smartfactory.model.plant import Plant
from smartfactory.store import StoreFolder, TelemetryStore

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def plant_of(store_folder: Path, plant: Plant | None) -> Plant:
    """``plant`` if given, else the plant saved in the folder's registry; a UserError if neither."""
    return StoreFolder(store_folder).plant(plant)


def replace_table(
    store: TelemetryStore,
    name: str,
    table: pa.Table,
    where: dict[str, str],
    from_time: tuple[str, datetime] | None = None,
) -> int:
    """Create table ``name`` if needed, delete its rows matching ``where`` (and, with ``from_time``,
    those whose time column is at or after the time) and append ``table``."""
    columns = ", ".join(f'"{f.name}" {_SQL_TYPES[f.type]}' for f in table.schema)
    store.connection.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({columns})')
    conditions = [f'"{k}" = ${k}' for k in where]
    params: dict[str, object] = dict(where)
    if from_time is not None:
        conditions.append(f'"{from_time[0]}" >= $from_time')
        params["from_time"] = from_time[1]
    if conditions:
        store.connection.execute(f'DELETE FROM "{name}" WHERE {" AND ".join(conditions)}', params)
    store.connection.register("_scenario_rows", table)
    try:
        store.connection.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM _scenario_rows')
    finally:
        store.connection.unregister("_scenario_rows")
    return int(table.num_rows)
