"""Sources into the store: connectors (files, MQTT, OPC UA, Modbus), validation, quarantine, spool.

Every connector is a folder that declares its config schema (a Pydantic model, ``config_schema``)
and follows the same lifecycle: ``setup`` (check config and source, before writing anything),
``run`` (move data into the store, quarantining what does not fit), ``close``. The file
connector below is synchronous; live sources follow the async form in ``connect/live.py``
(``LiveSource``) and write through ``connect/writer.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel


class Connector(Protocol):
    """The lifecycle every connector follows."""

    config_schema: ClassVar[type[BaseModel]]

    def setup(self) -> None:
        """Validate the config and open the source; raise UserError before anything is written."""
        ...

    def run(self) -> Any:
        """Move data into the store; return what was done."""
        ...

    def close(self) -> None:
        """Release the source."""
        ...
