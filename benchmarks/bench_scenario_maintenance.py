"""The maintenance scenario's public benchmarks beside their published figures and targets.

Run alone: ``.venv/bin/python benchmarks/bench_scenario_maintenance.py [--quick]``; the data sets come from
``SMARTFACTORY_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import sys

from common import markdown
from scenario_rows import data_dir, rows_of
from smartfactory.scenarios import scenario_class

NAME = "maintenance"


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
