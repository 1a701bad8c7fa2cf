"""The quarantine as use cases: what failed validation or the store's integrity rules, and why.

``smartfactory quarantine list|show`` calls these (through the store's owner when ``serve`` or
``ingest`` holds the file), so the rows look the same whichever process reads them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from smartfactory.app.workspace import Workspace
from smartfactory.model.errors import NotFound
from smartfactory.store.quarantine import QuarantineEntry


class QuarantinedRow(BaseModel):
    """One quarantined row or payload."""

    id: int
    received_at: datetime = Field(description="when it was refused (UTC)")
    source: str = Field(description="where it came from: file:line, a topic, or store:<table>")
    reason: str
    mapping_hash: str | None = None
    raw: str = Field(description="the raw content as text (undecodable bytes as escapes)")


class QuarantineList(BaseModel):
    """Quarantined rows, oldest first, and how many there are by reason kind."""

    rows: list[QuarantinedRow]
    counts: dict[str, int] = Field(description="reason kind (the text before ':') → rows")


def _row(entry: QuarantineEntry) -> QuarantinedRow:
    return QuarantinedRow(
        id=entry.id,
        received_at=entry.received_at,
        source=entry.source,
        reason=entry.reason,
        mapping_hash=entry.mapping_hash,
        raw=entry.raw_text(),
    )


def quarantine_list(
    workspace: Workspace, source: str | None = None, reason: str | None = None, limit: int = 50
) -> QuarantineList:
    """Rows whose source and reason start with the given texts, at most ``limit``."""
    with workspace.telemetry() as store:
        book = store.quarantine()
        if not book.exists():
            return QuarantineList(rows=[], counts={})
        entries = book.list(source=source, reason=reason, limit=limit)
        return QuarantineList(rows=[_row(e) for e in entries], counts=book.count(source=source))


def quarantine_entry(workspace: Workspace, entry_id: int) -> QuarantinedRow:
    """One quarantined row by id (NotFound naming the list command when there is none)."""
    with workspace.telemetry() as store:
        book = store.quarantine()
        entry = book.show(entry_id) if book.exists() else None
    if entry is None:
        raise NotFound(f"no quarantined row with id {entry_id}; see `smartfactory quarantine list`")
    return _row(entry)
