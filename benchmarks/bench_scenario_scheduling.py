"""Scheduling: the tuned solver (tabu search + CP-SAT) against the textbook CP-SAT model on JSPLIB.

Both models run in the same process, one after the other on each instance, with the same time
limit and 2 workers: ft10 at 10 s, la01–la40 at 10 s, ta01–ta10 and ta11–ta40 at 60 s. The gap
is (makespan − best known upper bound) / best known upper bound, from ``jsplib/bounds.csv``.
Every schedule is checked (precedence, machines) before it counts.

Targets (issue 6, 2 cores): ft10 proven optimal (930) within 10 s; la01–la40 every instance within
0.5% and mean ≤ 0.05%; ta01–ta10 mean ≤ 0.1%; ta11–ta40 mean at least a third below the textbook
model's. The default sets (``make bench``) are ft, la and ta-small: about 25 minutes on 2 cores
(2 × (10 + 40 × ≤10 + 10 × 60) s, less where an instance is proven early). ta-large adds 60 minutes.

Run alone: ``.venv/bin/python benchmarks/bench_scenario_scheduling.py [--quick] [--set NAME]``, NAME one
of ft, la, ta-small, ta-large (repeatable); data from ``$SMARTFACTORY_DATA`` or ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from common import ROOT, Row, markdown, verdict
from smartfactory.scenarios.scheduling.benchmark import (
    DEFAULT_SETS,
    QUICK,
    SETS,
    InstanceSet,
    Pair,
    rows_for,
    run_set,
)


def data_dir() -> Path:
    """Where the public data sets are."""
    return Path(os.environ.get("SMARTFACTORY_DATA", ROOT.parent / "shared" / "data"))


def _per_instance(pairs: list[Pair]) -> list[str]:
    lines = [
        "| instance | best known | tuned | gap % | proven | time to best s | textbook | gap % | proven |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in pairs:
        tuned, textbook = p.gaps()
        best_at = "—" if p.tuned.time_to_best_s is None else f"{p.tuned.time_to_best_s:.1f}"
        cells = [
            p.instance,
            str(p.bounds.upper),
            str(p.tuned.makespan),
            f"{tuned:.2f}",
            "yes" if p.tuned.optimal else "no",
            best_at,
            str(p.textbook.makespan),
            f"{textbook:.2f}",
            "yes" if p.textbook.optimal else "no",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _table_rows(chosen: InstanceSet, pairs: list[Pair]) -> list[Row]:
    out = []
    tuned_s = sum(p.tuned.wall_s for p in pairs)
    textbook_s = sum(p.textbook.wall_s for p in pairs)
    for row in rows_for(chosen, pairs):
        baseline = row.published
        if row.metric == "mean gap %":
            base_value = statistics.fmean(p.gaps()[1] for p in pairs)
            ratio = f"{row.value / base_value:.2f}×" if base_value > 0 else "—"
        elif row.metric == "worst gap %":
            base_value = max(p.gaps()[1] for p in pairs)
            ratio = f"{row.value / base_value:.2f}×" if base_value > 0 else "—"
        else:
            ratio = "—"
        value = f"{row.value:.0f}" if row.metric.startswith("ft10") else f"{row.value:.3f}"
        if row.metric.startswith("ft10"):
            ft10 = pairs[0].tuned
            value += f" ({'proven' if ft10.optimal else 'not proven'}, {ft10.wall_s:.1f} s)"
        ok = "info" if row.passed is None else verdict(row.passed)
        out.append(Row(row.benchmark, row.metric, value, baseline, ratio, row.target, ok))
    out.append(
        Row(
            f"JSPLIB {chosen.name}",
            "solve time, all instances (info)",
            f"{tuned_s:.1f} s",
            f"textbook {textbook_s:.1f} s",
            f"{tuned_s / textbook_s:.2f}×" if textbook_s else "—",
        )
    )
    return out


def run(quick: bool, sets: list[str] | None = None, only: set[str] | None = None) -> str:
    """Markdown: one summary table, then per-instance results of both models for each set."""
    chosen = [QUICK] if quick else [SETS[name] for name in (sets or DEFAULT_SETS)]
    if only:
        # a part of a set, e.g. ta11–ta20 of ta-large when there is no hour for all of it
        chosen = [replace(c, instances=tuple(i for i in c.instances if i in only)) for c in chosen]
        chosen = [c for c in chosen if c.instances]
    rows: list[Row] = []
    sections: list[str] = []
    for instance_set in chosen:
        pairs = run_set(data_dir(), instance_set, progress=_progress)
        rows += _table_rows(instance_set, pairs)
        sections += [
            "",
            f"**{instance_set.name}** ({len(pairs)} instances, "
            f"{instance_set.time_limit_s:.0f} s each, 2 workers):",
            "",
            *_per_instance(pairs),
        ]
    title = "### Scheduling: tuned solver (tabu search + CP-SAT) vs textbook CP-SAT (JSPLIB)"
    title += " (quick)" if quick else ""
    return "\n".join([title, "", markdown(rows), *sections, ""])


def _progress(pair: Pair) -> None:
    tuned, textbook = pair.gaps()
    print(
        f"  {pair.instance}: tuned {pair.tuned.makespan} ({tuned:.2f}%) textbook {pair.textbook.makespan} "
        f"({textbook:.2f}%)",
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ft06, la01, la06 at 2 s (smoke test)")
    parser.add_argument("--set", dest="sets", action="append", choices=sorted(SETS), help="repeatable")
    parser.add_argument("--only", help="comma-separated instances: run just these of the chosen sets")
    args = parser.parse_args(argv)
    only = {name.strip() for name in args.only.split(",")} if args.only else None
    print(run(args.quick, args.sets, only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
