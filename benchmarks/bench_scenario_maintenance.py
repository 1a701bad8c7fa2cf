"""The maintenance scenario's public benchmarks beside their published figures and targets.

Run alone: ``.venv/bin/python benchmarks/bench_scenario_maintenance.py [--quick]``; the data sets come from
``SMARTFACTORY_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common import ROOT, Row, markdown, verdict
from smartfactory.scenarios import scenario_class
from smartfactory.scenarios.base import BenchmarkRow

NAME = "maintenance"


def data_dir() -> Path:
    """The shared data folder."""
    return Path(os.environ.get("SMARTFACTORY_DATA", ROOT.parent / "shared" / "data"))


def _value(metric: str, value: float) -> str:
    return f"{value:.2f}" if value > 2 else f"{value:.4f}"


def _ratio(row: BenchmarkRow) -> str:
    base = row.detail.get("baseline_same_run")
    if not isinstance(base, float) or base == 0:
        return "—"
    return f"{row.value / base:.3f}× baseline"


def rows_of(rows: list[BenchmarkRow]) -> list[Row]:
    """The scenario's benchmark rows as result-table rows (train / inference seconds in the measure)."""
    out = []
    for r in rows:
        timing = ""
        if r.train_s is not None:
            infer = f", infer {r.infer_s:.2f} s" if r.infer_s is not None else ""
            timing = f" (train {r.train_s:.1f} s{infer})"
        ok = "info" if r.passed is None else verdict(r.passed)
        value = _value(r.metric, r.value)
        out.append(Row(r.benchmark, r.metric + timing, value, r.published, _ratio(r), r.target, ok))
    return out


def run(quick: bool) -> str:
    """The markdown table of the scenario's public benchmarks."""
    scenario = scenario_class(NAME)()
    rows = scenario.benchmark(data_dir(), quick=quick)
    return f"### scenario {NAME}{' (quick)' if quick else ''}\n\n" + markdown(rows_of(rows)) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick))
    sys.exit(0)
