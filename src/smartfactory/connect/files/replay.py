"""Replay quarantined file rows through a fixed mapping; rows that now pass leave the quarantine."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from smartfactory.connect.files.mapping import LoadedMapping
from smartfactory.connect.files.rows import EVENT_TYPE, RowMapper
from smartfactory.model.events import SCHEMAS
from smartfactory.store.integrity import WriteReport
from smartfactory.store.quarantine import Quarantine, QuarantineEntry
from smartfactory.store.telemetry import TelemetryStore


@dataclass
class ReplaySummary(WriteReport):
    """What a replay did: the store's report on the rows that now pass, and what still fails."""

    tried: int = 0
    removed: int = 0
    still_open: int = 0
    still_failing: Counter[str] = field(default_factory=Counter)


def _line(entry: QuarantineEntry) -> int:
    tail = entry.source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def replay(
    store: TelemetryStore,
    loaded: LoadedMapping,
    source: str,
    *,
    equipment: set[str] | None = None,
    reasons: set[str] | None = None,
    max_future_s: float = 3600.0,
    now: datetime | None = None,
) -> ReplaySummary:
    """Re-map the quarantined rows whose source starts with ``source`` (a file path).

    Rows are replayed in line order. A state row without an end column only ends at the next
    state of its equipment, so the last replayed state of each equipment stays quarantined.
    """
    quarantine = Quarantine(store.connection)
    entries = sorted(quarantine.list(source=source), key=lambda e: (e.source.rsplit(":", 1)[0], _line(e)))
    latest = (now or datetime.now(UTC).replace(tzinfo=None)) + timedelta(seconds=max_future_s)
    mapper = RowMapper(loaded.mapping, equipment=equipment, reasons=reasons, latest=latest)
    summary = ReplaySummary(tried=len(entries))
    rows = []
    passed: list[int] = []
    open_ids: dict[str, int] = {}
    for entry in entries:
        try:
            row = json.loads(entry.raw)
        except ValueError:
            summary.still_failing["not a file row"] += 1
            continue
        if not isinstance(row, dict):
            summary.still_failing["not a file row"] += 1
            continue
        mapped = mapper.map([(entry.source, row)])
        if mapped.kinds:
            summary.still_failing[mapped.kinds[0]] += 1
            continue
        rows.extend(mapped.rows)
        passed.append(entry.id)
        open_ids[entry.source] = entry.id
    still_open = {open_ids[o.source] for o in mapper.open_states.values() if o.source in open_ids}
    summary.still_open = len(still_open)
    if rows:
        event_type = EVENT_TYPE[loaded.mapping.kind]
        # rows the store refuses now (a conflict, an overlap) go back to the quarantine with that reason
        summary += store.write_report(event_type, pa.Table.from_pylist(rows, schema=SCHEMAS[event_type]))
    summary.removed = quarantine.remove([i for i in passed if i not in still_open])
    return summary
