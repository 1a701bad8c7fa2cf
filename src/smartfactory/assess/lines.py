"""The line of a location such as ``criterion[3].params`` in TOML text: tomllib reports none."""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")


class Lines:
    """Finds where a table, an entry of a table array or a key is written in one TOML text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [(n, m.group(1)) for n, line in enumerate(self.lines, 1) if (m := _HEADER.match(line))]

    def line_of(self, loc: Sequence[int | str]) -> int | None:
        """The line of the deepest part of ``loc`` found; keys inside inline tables give their key's line."""
        lo, hi, prefix, best = 1, len(self.lines) + 1, "", None
        i = 0
        while i < len(loc):
            part = loc[i]
            if isinstance(part, int):
                i += 1
                continue
            name = f"{prefix}.{part}" if prefix else part
            starts = [n for n, header in self.headers if header == name and lo <= n < hi]
            if not starts:
                return self._key(part, lo, hi) or best
            after = loc[i + 1] if i + 1 < len(loc) else None
            index = after if isinstance(after, int) else 0
            if index >= len(starts):
                return best
            start = starts[index]
            # a table runs to the next header that is not one of its own sub-tables
            end = next((n for n, h in self.headers if n > start and not h.startswith(f"{name}.")), hi)
            lo, hi, prefix, best = start, min(end, hi), name, start
            i += 1
        return best

    def _key(self, key: str, lo: int, hi: int) -> int | None:
        # a table's own keys come before its first sub-table
        stop = next((n for n, _ in self.headers if lo < n < hi), hi)
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        return next((n for n in range(lo, stop) if pattern.match(self.lines[n - 1])), None)
