"""The store's integrity rules, the same for every telemetry engine (DuckDB, PostgreSQL).

* An event sent again with the same key and the same values stores nothing: a duplicate.
* An event with a key already stored (or already earlier in the same batch) and any other value
  different is a **conflict**: the first value stays, the new one goes to the quarantine with
  both values, so nothing sent is lost and nothing stored contradicts itself.
* The states of one equipment never overlap: a state whose ``[start, end)`` overlaps a stored
  state of the same equipment (or an earlier accepted state of the same batch) is refused to the
  quarantine. Touching intervals (one ends where the next starts) are fine.

The rules live in the store, not in the sources, so every path that writes (file import,
quarantine replay, MQTT, OPC UA, Modbus, the twin, scenarios) obeys them.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import pyarrow as pa

from smartfactory.model.errors import UserError
from smartfactory.model.events import KEYS, SCHEMAS, EventType
from smartfactory.store.quarantine import Rejected

CONFLICT = "conflict"
OVERLAP = "overlap"


@dataclass
class WriteReport:
    """What one write did with the rows it was given: sent = stored + duplicates + conflicts + overlaps."""

    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    overlaps: int = 0

    @property
    def sent(self) -> int:
        """Rows given to the write."""
        return self.stored + self.duplicates + self.conflicts + self.overlaps

    @property
    def refused(self) -> int:
        """Rows sent to the quarantine (conflicts and overlaps)."""
        return self.conflicts + self.overlaps

    def __iadd__(self, other: WriteReport) -> Self:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.conflicts += other.conflicts
        self.overlaps += other.overlaps
        return self


def conform(event_type: EventType, batch: pa.Table | pa.RecordBatch) -> pa.Table:
    """The batch in the event schema's column order and types (a UserError naming what is wrong)."""
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    schema = SCHEMAS[event_type]
    missing = [n for n in schema.names if n not in table.column_names]
    extra = [n for n in table.column_names if n not in schema.names]
    if missing or extra:
        raise UserError(
            f"{event_type.value} batch does not match the event schema: "
            f"missing {missing}, unknown {extra}; columns are {schema.names}"
        )
    table = table.select(schema.names)
    for field in schema:
        if not field.nullable and table[field.name].null_count:
            raise UserError(f"{event_type.value} batch has nulls in required column {field.name!r}")
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise UserError(f"{event_type.value} batch has wrong types: {exc}") from None


def source_of(event_type: EventType) -> str:
    """The quarantine source of rows the store itself refused."""
    return f"store:{event_type.value}"


def _plain(value: Any) -> Any:
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value


def _key_text(event_type: EventType, row: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_plain(row[k])}" for k in KEYS[event_type])


def conflict(event_type: EventType, kept: Mapping[str, Any], sent: Mapping[str, Any], where: str) -> Rejected:
    """The quarantine row for ``sent``, which has ``kept``'s key and other values."""
    keys = KEYS[event_type]
    differ = [c for c in sent if c not in keys and kept.get(c) != sent.get(c)]
    stored_text = ", ".join(f"{c}={_plain(kept.get(c))}" for c in differ)
    sent_text = ", ".join(f"{c}={_plain(sent.get(c))}" for c in differ)
    reason = (
        f"{CONFLICT}: {event_type.value} ({_key_text(event_type, sent)}) {where} with {stored_text}; "
        f"sent {sent_text}; the first value stays"
    )
    return Rejected(source_of(event_type), reason, _raw(event_type, sent, {"stored": [dict(kept)]}))


def overlap(sent: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> Rejected:
    """The quarantine row for a state that overlaps ``others`` of the same equipment."""
    spans = "; ".join(f"{_plain(o['start'])} → {_plain(o['end'])} {o['state']}" for o in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    reason = (
        f"{OVERLAP}: states of {sent['equipment']} from {_plain(sent['start'])} to {_plain(sent['end'])} "
        f"({sent['state']}) overlap the stored {spans}{more}; a machine is in one state at a time"
    )
    return Rejected(
        source_of(EventType.states),
        reason,
        _raw(EventType.states, sent, {"stored": [dict(o) for o in others]}),
    )


def _raw(event_type: EventType, sent: Mapping[str, Any], extra: dict[str, Any]) -> str:
    doc = {
        "table": event_type.value,
        "key": {k: sent[k] for k in KEYS[event_type]},
        "sent": dict(sent),
        **extra,
    }
    return json.dumps(doc, default=_plain, ensure_ascii=False, sort_keys=True)


def split_overlaps(
    rows: Iterable[Mapping[str, Any]], stored: Iterable[Mapping[str, Any]]
) -> tuple[list[Mapping[str, Any]], list[Rejected]]:
    """States that fit beside ``stored`` and each other, and the quarantine rows of those that do not.

    ``rows`` are new keys (duplicates and conflicts already taken out). They are taken in time
    order, so of two new states that overlap the earlier one is kept.
    """
    spans: dict[str, list[tuple[datetime, datetime, Mapping[str, Any]]]] = {}
    for s in stored:
        spans.setdefault(str(s["equipment"]), []).append((s["start"], s["end"], s))
    for intervals in spans.values():
        intervals.sort(key=lambda t: t[0])
    kept: list[Mapping[str, Any]] = []
    refused: list[Rejected] = []
    for row in sorted(rows, key=lambda r: (r["equipment"], r["start"])):
        intervals = spans.setdefault(str(row["equipment"]), [])
        hit = _overlapping(intervals, row["start"], row["end"])
        if hit:
            refused.append(overlap(row, hit))
            continue
        bisect.insort(intervals, (row["start"], row["end"], row), key=lambda t: t[0])
        kept.append(row)
    return kept, refused


def _overlapping(
    intervals: list[tuple[datetime, datetime, Mapping[str, Any]]], start: datetime, end: datetime
) -> list[Mapping[str, Any]]:
    # the stored states of one equipment never overlap each other, so at most the one before
    # ``start`` and those starting inside [start, end) can meet the new one
    i = bisect.bisect_left(intervals, start, key=lambda t: t[0])
    hits = []
    if i > 0 and intervals[i - 1][1] > start:
        hits.append(intervals[i - 1][2])
    while i < len(intervals) and intervals[i][0] < end:
        hits.append(intervals[i][2])
        i += 1
    return hits


OPEN_STATES_SCHEMA = pa.schema(
    [
        ("equipment", pa.string()),
        ("start", pa.timestamp("us")),
        ("state", pa.string()),
        ("reason", pa.string()),
        ("order_id", pa.string()),
        ("product", pa.string()),
    ]
)
"""The open (not yet ended) state of each equipment, as both stores keep it for live ingest."""
