"""``smartfactory browse-opcua``: map an OPC UA server's variables to a plant's [[source]] table."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from smartfactory.model.plant_file import load_plant


def browse_opcua_command(
    endpoint: Annotated[str, typer.Argument(help="OPC UA endpoint, e.g. opc.tcp://192.168.0.10:4840")],
    plant_file: Annotated[Path, typer.Option("--plant", help="plant file to match against")],
    source_id: Annotated[str, typer.Option("--source-id", help="id of the [[source]] to write")] = "opcua",
) -> None:
    """Browse an OPC UA server and print a [[source]] table mapping its variables to the plant."""
    # the OPC UA client library is loaded only by the command that needs it
    from smartfactory.connect.opcua.browse import browse_mapping

    plant = load_plant(plant_file)
    print(asyncio.run(browse_mapping(endpoint, plant, source_id=source_id)))
