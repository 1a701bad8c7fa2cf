"""Shared helpers for the benchmarks: timing, medians and the markdown result table."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("benchmark", "measure", "value", "baseline", "ratio", "target", "ok")


@dataclass
class Row:
    """One line of a result table; ``ok`` is PASS, FAIL or info."""

    benchmark: str
    measure: str
    value: str
    baseline: str
    ratio: str
    target: str = "—"
    ok: str = "info"

    def cells(self) -> tuple[str, ...]:
        return (self.benchmark, self.measure, self.value, self.baseline, self.ratio, self.target, self.ok)


def markdown(rows: list[Row]) -> str:
    """The rows as one markdown table."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def median_of(samples: list[float]) -> float:
    return statistics.median(samples)


def spread(samples: list[float]) -> str:
    """min–max of the samples, for the notes under a table."""
    if len(samples) == 1:
        return f"{samples[0]:.3f} s"
    return f"{min(samples):.3f}–{max(samples):.3f} s"


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def speed(x: float) -> str:
    """A speed-up over real time, e.g. 1,034,512×."""
    return f"{x:,.0f}×"


def rate(x: float) -> str:
    """Rows per second."""
    return f"{x:,.0f} rows/s"


def times(x: float) -> str:
    return f"{x:.2f}×"


def environment() -> str:
    """One line naming the machine and library versions the numbers came from."""
    import duckdb
    import numpy
    import pyarrow
    import simpy

    return (
        f"python {platform.python_version()}, duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, "
        f"simpy {simpy.__version__}, numpy {numpy.__version__}; {os.cpu_count()} CPUs, "
        f"{platform.machine()} {platform.system()}"
    )
