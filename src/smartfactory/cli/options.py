"""Defaults and options several commands share: the store folder and the demo plant."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_STORE = Path(".smartfactory")
DEMO_PLANT = Path("examples/plants/discrete_machining.toml")
DEMO_START = date(2026, 3, 2)

StoreOption = Annotated[
    Path, typer.Option("--store", help="store folder (DuckDB telemetry + SQLite registry)")
]
