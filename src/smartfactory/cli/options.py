"""Defaults and options several commands share: the store folder and the demo plant."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from smartfactory.model.errors import UserError

DEFAULT_STORE = Path(".smartfactory")
DEMO_PLANT = Path("examples/plants/discrete_machining.toml")
DEMO_START = date(2026, 3, 2)

# a --store value: a folder (DuckDB telemetry + SQLite registry) or a ``postgresql://`` URL. Typed
# ``str``: a URL must reach ``Workspace.open`` / ``StoreFolder.at`` as written (a Path would fold
# its "//"); commands that need the folder itself ask ``StoreFolder.at(store).path``.
STORE_HELP = "store folder (DuckDB telemetry + SQLite registry), or a postgresql://user@host/db URL"
StoreOption = Annotated[str, typer.Option("--store", help=STORE_HELP, metavar="FOLDER|URL")]
DEFAULT_STORE_OPTION = str(DEFAULT_STORE)


def folder_only(store: str | Path, command: str) -> None:
    """A UserError when ``store`` names a PostgreSQL database (also as a Path, which folds its "//")."""
    if str(store).startswith(("postgresql:", "postgres:", "postgresql+psycopg:")):
        raise UserError(
            f"{command} writes to an embedded store folder only, not yet to a PostgreSQL store; "
            "give --store a folder"
        )
