"""The quality scenario's public benchmark and its plant check, beside published figures and targets.

Public: Steel Plates Faults, stratified 10-fold CV, beside LightGBM defaults on the same folds.
Plant: the steel plate twin (``examples/plants/steel_plate_rolling.toml``, 7 days from 2026-03-02,
seed 1) is simulated, the scenario recommends windows, and the twin runs again with them (same seed):
thickness precision and the finishing stand's defect rate before and after (quick: 2 days).

Run alone: ``.venv/bin/python benchmarks/bench_scenario_quality.py [--quick]``; the data sets come from
``SMARTFACTORY_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from common import ROOT, Row, markdown, verdict
from scenario_rows import data_dir, rows_of
from smartfactory.model.plant_file import load_plant
from smartfactory.scenarios import scenario_class
from smartfactory.scenarios.quality import what_if

NAME = "quality"


def plant_rows(quick: bool) -> list[Row]:
    """Thickness precision and the finishing stand's defect rate, before and after the window."""
    days = 2.0 if quick else 7.0
    name = f"steel plate twin, {days:g} days, re-simulated with the window"
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        plant = load_plant(ROOT / "examples" / "plants" / "steel_plate_rolling.toml")
        check = what_if(plant, Path(folder), datetime(2026, 3, 2), days, seed=1)
    seconds = time.perf_counter() - clock
    before = check.before.metrics["thickness_precision"]
    after = check.after.metrics["thickness_precision"]
    fm_before, fm_after = check.defect_rate("FM-1", False), check.defect_rate("FM-1", True)
    return [
        Row(
            name,
            f"thickness precision after ({seconds:.0f} s in all)",
            f"{after:.4f}",
            f"before {before:.4f}",
            f"{after / before:.3f}×",
            "> before",
            verdict(after > before),
        ),
        Row(
            name,
            "FM-1 defect rate after",
            f"{fm_after:.4f}",
            f"before {fm_before:.4f}",
            f"{fm_after / fm_before:.3f}×" if fm_before else "—",
            "< before",
            verdict(fm_after < fm_before),
        ),
    ]


def run(quick: bool) -> str:
    """The markdown table of the scenario's public benchmark and plant check."""
    scenario = scenario_class(NAME)()
    rows = rows_of(scenario.benchmark(data_dir(), quick=quick)) + plant_rows(quick)
    return f"### scenario {NAME}{' (quick)' if quick else ''}\n\n" + markdown(rows) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print(run(parser.parse_args().quick))
    sys.exit(0)
