"""The spool: batches the store could not take, kept on disk in order until it can.

Each spooled batch is one segment folder ``seg-<n>`` holding an Arrow IPC file per table. A
segment is written under a temporary name, fsynced, then renamed, so a crash leaves either a
whole segment or none; a segment is deleted only after its batch is committed to the store, and
replaying one twice stores nothing twice (the store dedupes by event key).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

_PREFIX = "seg-"
_TMP = ".tmp"


@dataclass(frozen=True)
class Segment:
    """One spooled batch on disk."""

    number: int
    path: Path

    def tables(self) -> dict[str, pa.Table]:
        """The segment's tables by name."""
        out: dict[str, pa.Table] = {}
        for file in sorted(self.path.glob("*.arrow")):
            with pa.memory_map(str(file)) as source:
                out[file.stem] = ipc.open_file(source).read_all()
        return out


class Spool:
    """An append-only folder of segments, oldest first."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # a crash while writing leaves a temporary folder: it was never acknowledged, drop it
        for stale in self.folder.glob(f"{_PREFIX}*{_TMP}"):
            shutil.rmtree(stale, ignore_errors=True)
        numbers = [s.number for s in self.segments()]
        self._next = max(numbers, default=0) + 1

    def segments(self) -> list[Segment]:
        """Whole segments in the order they were written."""
        found = []
        for path in self.folder.glob(f"{_PREFIX}*"):
            if path.name.endswith(_TMP) or not path.is_dir():
                continue
            digits = path.name.removeprefix(_PREFIX)
            if digits.isdigit():
                found.append(Segment(int(digits), path))
        return sorted(found, key=lambda s: s.number)

    def pending(self) -> int:
        """How many segments wait to be replayed."""
        return len(self.segments())

    def append(self, tables: dict[str, pa.Table]) -> Segment:
        """Write one batch durably (fsync) as the newest segment."""
        number = self._next
        self._next += 1
        final = self.folder / f"{_PREFIX}{number:012d}"
        temporary = final.with_name(final.name + _TMP)
        temporary.mkdir()
        for name, table in tables.items():
            file = temporary / f"{name}.arrow"
            with pa.OSFile(str(file), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            _fsync(file)
        _fsync(temporary)
        os.replace(temporary, final)
        _fsync(self.folder)
        return Segment(number, final)

    def remove(self, segment: Segment) -> None:
        """Drop a segment once its batch is in the store."""
        shutil.rmtree(segment.path, ignore_errors=True)
        _fsync(self.folder)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
