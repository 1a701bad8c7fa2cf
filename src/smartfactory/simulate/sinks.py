"""Event sinks that need nothing of the store: in memory (tests) and Parquet files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from smartfactory.model.events import SCHEMAS, EventType


class MemorySink:
    """Keeps every batch in memory; ``table(kind)`` gives all rows of one event type."""

    def __init__(self) -> None:
        self.batches: dict[EventType, list[pa.Table]] = {t: [] for t in EventType}

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Keep the batch."""
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self.batches[event_type].append(table)
        return int(table.num_rows)

    def table(self, event_type: EventType) -> pa.Table:
        """All rows written of one event type."""
        parts = self.batches[event_type]
        return pa.concat_tables(parts) if parts else SCHEMAS[event_type].empty_table()

    def close(self) -> None:
        """Nothing to release."""


class ParquetSink:
    """Writes one Parquet file per event type under a folder (or beside a given file name)."""

    def __init__(self, target: str | Path) -> None:
        target = Path(target)
        # FILE.parquet means "files named FILE.<event type>.parquet next to it"
        if target.suffix == ".parquet":
            self.folder, self.stem = target.parent, target.stem
        else:
            self.folder, self.stem = target, "events"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writers: dict[EventType, pq.ParquetWriter] = {}
        self.paths: dict[EventType, Path] = {}

    def path(self, event_type: EventType) -> Path:
        """The file that holds one event type."""
        return self.folder / f"{self.stem}.{event_type.value}.parquet"

    def write(self, event_type: EventType, batch: pa.Table | pa.RecordBatch) -> int:
        """Append the batch to the event type's file."""
        if event_type not in self.writers:
            self.paths[event_type] = self.path(event_type)
            self.writers[event_type] = pq.ParquetWriter(self.paths[event_type], SCHEMAS[event_type])
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self.writers[event_type].write_table(table.cast(SCHEMAS[event_type]))
        return int(table.num_rows)

    def close(self) -> None:
        """Finish every file."""
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()
