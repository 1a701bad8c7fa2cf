"""The file connector: import a CSV or Parquet export in bounded memory, chunk by chunk.

Lifecycle: ``setup`` (load the mapping, open the file, check every mapped column exists —
before anything is written), ``run`` (read chunks, map, store, quarantine the rest), ``close``.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from smartfactory.connect.files.mapping import LoadedMapping, load_mapping
from smartfactory.connect.files.rows import EVENT_TYPE, Row, RowMapper
from smartfactory.model.errors import UserError
from smartfactory.model.events import SCHEMAS
from smartfactory.store.integrity import WriteReport
from smartfactory.store.postgres import EventStore

Progress = Callable[[int, int], None]


class FileImportConfig(BaseModel):
    """The connector's config schema: the file, its mapping, and the validation limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path
    mapping: Path
    max_future_s: float = Field(default=3600.0, ge=0)
    chunk_rows: int = Field(default=65_536, gt=0)
    csv_block_bytes: int = Field(default=1 << 20, gt=0)


@dataclass
class ImportSummary(WriteReport):
    """What an import did: what the store did with the mapped rows, and what the mapping refused."""

    rows_read: int = 0
    open_states: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    newly_quarantined: int = 0

    @property
    def quarantined_total(self) -> int:
        """All rows that failed, new to the quarantine or not (the mapping's and the store's)."""
        return sum(self.quarantined.values()) + self.refused


class FileConnector:
    """Imports one CSV or Parquet file into the telemetry store by a mapping.

    The store may be given after ``setup``, so a bad file or mapping fails before it is opened.
    """

    config_schema = FileImportConfig

    def __init__(
        self,
        config: FileImportConfig,
        store: EventStore | None = None,
        *,
        equipment: set[str] | None = None,
        reasons: set[str] | None = None,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.equipment = equipment
        self.reasons = reasons
        self.progress = progress
        self.now = now
        self.loaded: LoadedMapping | None = None
        self.columns: list[str] = []
        self.total = 0
        self._handle: IO[bytes] | None = None
        self._parquet: pq.ParquetFile | None = None

    # --- lifecycle --------------------------------------------------------------------

    def setup(self) -> None:
        """Load the mapping and open the file; a mapped column the file lacks is an error here."""
        self.loaded = load_mapping(self.config.mapping)
        path = self.config.path
        if not path.is_file():
            raise UserError(f"no file {path}")
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            try:
                self._parquet = pq.ParquetFile(path)
            except (pa.ArrowInvalid, OSError) as exc:
                raise UserError(f"{path} is not a readable Parquet file: {exc}") from None
            self.columns = list(self._parquet.schema_arrow.names)
            self.total = int(self._parquet.metadata.num_rows)
        elif suffix in (".csv", ".txt"):
            with path.open(encoding="utf-8-sig", newline="") as text:
                header = next(csv.reader(text), None)
            if not header:
                raise UserError(f"{path} is empty: a CSV import needs a header row")
            self.columns = header
            self.total = path.stat().st_size
        else:
            raise UserError(f"{path}: import reads .csv or .parquet files, not {suffix or 'no suffix'}")
        missing = [c for c in self.loaded.mapping.columns() if c not in self.columns]
        if missing:
            raise UserError(
                f"{path} has no column {', '.join(repr(c) for c in missing)} named in mapping "
                f"{self.loaded.source}; its columns are {self.columns}"
            )

    def run(self) -> ImportSummary:
        """Read, map and store every chunk; failing rows go to quarantine and the import goes on."""
        if self.loaded is None:
            self.setup()
        assert self.loaded is not None
        if self.store is None:
            raise UserError("the file connector has no store to write to")
        mapping = self.loaded.mapping
        now = self.now or datetime.now(UTC).replace(tzinfo=None)
        mapper = RowMapper(
            mapping,
            equipment=self.equipment,
            reasons=self.reasons,
            latest=now + timedelta(seconds=self.config.max_future_s),
        )
        quarantine = self.store.quarantine()
        event_type = EVENT_TYPE[mapping.kind]
        summary = ImportSummary()
        for rows, done in self._chunks():
            summary.rows_read += len(rows)
            mapped = mapper.map(rows)
            if mapped.rows:
                table = pa.Table.from_pylist(mapped.rows, schema=SCHEMAS[event_type])
                summary += self.store.write_report(event_type, table)
            summary.quarantined.update(mapped.kinds)
            summary.newly_quarantined += quarantine.add(mapped.rejected, self.loaded.digest)
            if self.progress is not None:
                self.progress(done, self.total)
        summary.open_states = len(mapper.open_states)
        return summary

    def close(self) -> None:
        """Release the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None

    def __enter__(self) -> FileConnector:
        self.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ----------------------------------------------------------------------

    def _chunks(self) -> Iterator[tuple[list[tuple[str, Row]], int]]:
        """``((source, row) pairs, progress so far)``: CSV progress in bytes, Parquet in rows."""
        path = self.config.path
        if self._parquet is not None:
            number = 0
            for batch in self._parquet.iter_batches(batch_size=self.config.chunk_rows):
                rows = batch.to_pylist()
                chunk = [(f"{path}:{number + i + 1}", row) for i, row in enumerate(rows)]
                number += len(rows)
                yield chunk, number
            return
        self._handle = path.open("rb")
        reader = pacsv.open_csv(
            self._handle,
            read_options=pacsv.ReadOptions(block_size=self.config.csv_block_bytes),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in self.columns}),
        )
        line = 1  # the header
        for batch in reader:
            rows = batch.to_pylist()
            chunk = [(f"{path}:{line + i + 1}", _strip(row)) for i, row in enumerate(rows)]
            line += len(rows)
            yield chunk, min(self._handle.tell(), self.total)


def _strip(row: dict[str, Any]) -> Row:
    return {k: v for k, v in row.items() if v is not None}
