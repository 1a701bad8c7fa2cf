"""Run every benchmark and print one markdown table each (``make bench``).

Benchmarks report; they do not fail the build: a missed target shows as FAIL in its table and
the exit status stays 0. Only a benchmark that crashes (a broken benchmark, not a slow one)
makes the exit status 1, after the others have run.

    .venv/bin/python benchmarks/run_all.py           # full sizes, about 2.5 minutes on 2 cores
                                                     # (+1 minute the first time: the KPI store)
    .venv/bin/python benchmarks/run_all.py --quick   # small sizes, one run each (smoke test)
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_assess
import bench_ingest
import bench_kpi
import bench_live
import bench_opcua
import bench_scenario_anomaly
import bench_scenario_maintenance
import bench_scenario_quality
import bench_scenario_scheduling
import bench_simulation
import bench_store
import bench_web
from common import environment

BENCHMARKS: dict[str, Callable[[bool], str]] = {
    "simulation": bench_simulation.run,
    "store": bench_store.run,
    "kpi": bench_kpi.run,
    "assess": bench_assess.run,
    "ingest": bench_ingest.run,
    "opcua": bench_opcua.run,
    "quality": bench_scenario_quality.run,
    "maintenance": bench_scenario_maintenance.run,
    "anomaly": bench_scenario_anomaly.run,
    "scheduling": bench_scenario_scheduling.run,
    "web": bench_web.run,
    "live": bench_live.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the smartfactory benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each (smoke test)")
    parser.add_argument(
        "--only", choices=sorted(BENCHMARKS), action="append", help="run only these (repeatable)"
    )
    args = parser.parse_args(argv)
    print(f"## smartfactory benchmarks{' (quick)' if args.quick else ''}\n")
    print(environment() + "\n", flush=True)
    crashed: list[str] = []
    clock = time.perf_counter()
    for name in args.only or list(BENCHMARKS):
        started = time.perf_counter()
        try:
            print(BENCHMARKS[name](args.quick), flush=True)
        except Exception:
            crashed.append(name)
            print(f"### {name}: the benchmark crashed\n\n```\n{traceback.format_exc()}```\n", flush=True)
        print(f"({name}: {time.perf_counter() - started:.1f} s)\n", flush=True)
    print(f"total {time.perf_counter() - clock:.1f} s")
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
