"""File-import helpers shared by the import and quarantine tests: the one-machine kpi plant, a
counts mapping and an import run into a store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kpi_cases import small_plant
from smartfactory.connect.files import FileConnector, FileImportConfig, ImportSummary
from smartfactory.store import TelemetryStore

NOW = datetime(2026, 3, 10)
PLANT = small_plant(two_machines=False, pm=False)

# counts by machine id at UTC+8: ts, eq, good, scrap
COUNTS_MAP = """\
kind = "counts"

[time]
column = "ts"
timezone = "+08:00"

[equipment]
column = "eq"

[counts]
good = "good"
scrap = "scrap"
"""


def write(folder: Path, name: str, text: str) -> Path:
    """``text`` written to ``folder/name``."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(
    store: TelemetryStore, data: Path, mapping: Path, *, plant: bool = True, chunk_rows: int = 65_536
) -> ImportSummary:
    """Import ``data`` by ``mapping`` into ``store`` (checked against ``PLANT`` when ``plant``)."""
    config = FileImportConfig(path=data, mapping=mapping, chunk_rows=chunk_rows, csv_block_bytes=128)
    connector = FileConnector(
        config,
        store,
        equipment={e.id for e in PLANT.equipment} if plant else None,
        reasons={r.code for r in PLANT.reasons} if plant else None,
        now=NOW,
    )
    try:
        connector.setup()
        return connector.run()
    finally:
        connector.close()
