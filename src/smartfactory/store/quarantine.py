"""The quarantine: rows and payloads that failed decoding or validation, kept with their reason.

A table ``quarantine`` in the telemetry DuckDB file. Nothing a source sends is silently lost:
what cannot be stored goes here with where it came from (``file:line`` or a topic), why, the
raw row or payload, and a hash of the mapping that rejected it, so it can be replayed after the
mapping is fixed. Adding the same (source, raw, mapping hash) again stores nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

_SCHEMA = pa.schema(
    [
        pa.field("received_at", pa.timestamp("us"), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.binary(), nullable=False),
        pa.field("mapping_hash", pa.string()),
        pa.field("seq", pa.int64(), nullable=False),
    ]
)

_CREATE = (
    "CREATE SEQUENCE IF NOT EXISTS quarantine_id; "
    "CREATE TABLE IF NOT EXISTS quarantine ("
    "id BIGINT PRIMARY KEY DEFAULT nextval('quarantine_id'), "
    "received_at TIMESTAMP NOT NULL, source VARCHAR NOT NULL, reason VARCHAR NOT NULL, "
    "raw BLOB NOT NULL, mapping_hash VARCHAR)"
)


@dataclass(frozen=True)
class Rejected:
    """One row or payload to quarantine: where it came from, why, and its raw content."""

    source: str
    reason: str
    raw: bytes | str


@dataclass(frozen=True)
class QuarantineEntry:
    """One stored quarantine row."""

    id: int
    received_at: datetime
    source: str
    reason: str
    raw: bytes
    mapping_hash: str | None

    def raw_text(self) -> str:
        """The raw content as text (undecodable bytes shown as escapes)."""
        return self.raw.decode("utf-8", errors="backslashreplace")


class QuarantineReader:
    """What both engines' quarantine tables answer the same way: list, show, count, remove.

    An engine says how it runs SQL (``_rows``) and writes a named parameter (``_param``).
    """

    _SELECT = "SELECT id, received_at, source, reason, raw, mapping_hash FROM quarantine"
    _BINARY = ""  # the collation that orders text by its bytes, where the default does not

    def _rows(self, sql: str, params: dict[str, Any]) -> builtins.list[tuple[Any, ...]]:
        raise NotImplementedError

    def _param(self, name: str) -> str:
        raise NotImplementedError

    def _removed(self, ids: builtins.list[int]) -> int:
        raise NotImplementedError

    def add(
        self,
        rejected: Iterable[Rejected],
        mapping_hash: str | None = None,
        received_at: datetime | None = None,
    ) -> int:
        """Quarantine rows; return how many were new (the same source, raw and hash again: none)."""
        when = (received_at or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
        items = list(rejected)
        if not items:
            return 0
        return self._added(items, mapping_hash, when)

    def _added(self, items: builtins.list[Rejected], mapping_hash: str | None, when: datetime) -> int:
        raise NotImplementedError

    def list(
        self, source: str | None = None, reason: str | None = None, limit: int | None = None
    ) -> builtins.list[QuarantineEntry]:
        """Quarantined rows, oldest first; ``source`` matches a prefix (a file matches its lines)."""
        clauses: builtins.list[str] = []
        params: dict[str, Any] = {}
        for name, value in (("source", source), ("reason", reason)):
            if value is not None:
                clauses.append(f"starts_with({name}, {self._param(name)})")
                params[name] = value
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return [_entry(row) for row in self._rows(f"{self._SELECT} {where} ORDER BY id{tail}", params)]

    def show(self, entry_id: int) -> QuarantineEntry | None:
        """One quarantined row by id, or None."""
        rows = self._rows(f"{self._SELECT} WHERE id = {self._param('id')}", {"id": int(entry_id)})
        return _entry(rows[0]) if rows else None

    def count(self, source: str | None = None) -> dict[str, int]:
        """Quarantined rows by reason kind (the text before the first ':')."""
        where, params = (
            (f"WHERE starts_with(source, {self._param('source')})", {"source": source})
            if source
            else ("", {})
        )
        rows = self._rows(
            f"SELECT split_part(reason, ':', 1) AS kind, count(*) FROM quarantine {where} "
            f"GROUP BY kind ORDER BY count(*) DESC, split_part(reason, ':', 1){self._BINARY}",
            params,
        )
        return {str(kind): int(n) for kind, n in rows}

    def remove(self, ids: Sequence[int]) -> int:
        """Delete quarantined rows by id (after a successful replay); return how many went."""
        return self._removed([int(i) for i in ids]) if ids else 0


class Quarantine(QuarantineReader):
    """The quarantine table of one telemetry DuckDB connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, *, create: bool = True) -> None:
        self.connection = connection
        if create:
            connection.execute(_CREATE)

    def exists(self) -> bool:
        """Whether the table exists (a read-only store written before quarantine existed has none)."""
        rows = self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'quarantine'"
        ).fetchall()
        return bool(rows and rows[0][0])

    def _added(self, items: builtins.list[Rejected], mapping_hash: str | None, when: datetime) -> int:
        table = pa.Table.from_pylist(
            [
                {
                    "received_at": when,
                    "source": r.source,
                    "reason": r.reason,
                    "raw": r.raw.encode("utf-8") if isinstance(r.raw, str) else r.raw,
                    "mapping_hash": mapping_hash,
                    "seq": i,
                }
                for i, r in enumerate(items)
            ],
            schema=_SCHEMA,
        )
        self.connection.register("_quarantine_batch", table)
        try:
            rows = self.connection.execute(
                "INSERT INTO quarantine (received_at, source, reason, raw, mapping_hash) "
                "SELECT received_at, source, reason, raw, mapping_hash FROM ("
                "SELECT DISTINCT ON (source, raw, mapping_hash) * FROM _quarantine_batch b "
                "WHERE NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.source = b.source "
                "AND q.raw = b.raw AND q.mapping_hash IS NOT DISTINCT FROM b.mapping_hash) "
                "ORDER BY seq) ORDER BY seq"
            ).fetchall()
        finally:
            self.connection.unregister("_quarantine_batch")
        return int(rows[0][0]) if rows else 0

    def _rows(self, sql: str, params: dict[str, Any]) -> builtins.list[tuple[Any, ...]]:
        return self.connection.execute(sql, params).fetchall()

    def _param(self, name: str) -> str:
        return f"${name}"

    def _removed(self, ids: builtins.list[int]) -> int:
        rows = self.connection.execute(
            "DELETE FROM quarantine WHERE list_contains($ids, id)", {"ids": ids}
        ).fetchall()
        return int(rows[0][0]) if rows else 0


def _entry(row: tuple[Any, ...]) -> QuarantineEntry:
    return QuarantineEntry(
        id=int(row[0]),
        received_at=row[1],
        source=str(row[2]),
        reason=str(row[3]),
        raw=bytes(row[4]),
        mapping_hash=row[5],
    )
