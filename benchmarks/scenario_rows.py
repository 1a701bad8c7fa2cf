"""Shared by the scenario benchmarks: where the public data is, and BenchmarkRows as table rows."""

from __future__ import annotations

import os
from pathlib import Path

from common import ROOT, Row, verdict
from smartfactory.scenarios.base import BenchmarkRow


def data_dir() -> Path:
    """The shared data folder: ``SMARTFACTORY_DATA`` or ``../shared/data`` beside the checkout."""
    return Path(os.environ.get("SMARTFACTORY_DATA", ROOT.parent / "shared" / "data"))


def _value(value: float) -> str:
    return f"{value:.2f}" if value > 2 else f"{value:.4f}"


def _ratio(row: BenchmarkRow) -> str:
    base = row.detail.get("baseline_same_run")
    if not isinstance(base, float) or base == 0:
        return "—"
    return f"{row.value / base:.3f}× baseline"


def rows_of(rows: list[BenchmarkRow]) -> list[Row]:
    """A scenario's benchmark rows as result-table rows (train / inference seconds in the measure)."""
    out = []
    for r in rows:
        timing = ""
        if r.train_s is not None:
            infer = f", infer {r.infer_s:.2f} s" if r.infer_s is not None else ""
            timing = f" (train {r.train_s:.1f} s{infer})"
        ok = "info" if r.passed is None else verdict(r.passed)
        out.append(Row(r.benchmark, r.metric + timing, _value(r.value), r.published, _ratio(r), r.target, ok))
    return out
