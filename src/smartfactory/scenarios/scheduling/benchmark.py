"""The public JSSP benchmark: the tuned model against the textbook model, same limits, same run."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from smartfactory.model.errors import UserError
from smartfactory.scenarios.base import BenchmarkRow
from smartfactory.scenarios.scheduling.instances import Bounds, JobShopInstance, load_bounds, load_instance
from smartfactory.scenarios.scheduling.jobshop import JobShopResult, check_schedule
from smartfactory.scenarios.scheduling.model import solve_jobshop
from smartfactory.scenarios.scheduling.tabu import warm_up
from smartfactory.scenarios.scheduling.textbook import solve_textbook

Solver = Callable[[JobShopInstance, float, int], JobShopResult]
WORKERS = 2


@dataclass(frozen=True)
class InstanceSet:
    """A named set of instances solved at one time limit, with its target."""

    name: str
    instances: tuple[str, ...]
    time_limit_s: float


SETS: dict[str, InstanceSet] = {
    "ft": InstanceSet("ft", ("ft10",), 10.0),
    "la": InstanceSet("la", tuple(f"la{i:02d}" for i in range(1, 41)), 10.0),
    "ta-small": InstanceSet("ta-small", tuple(f"ta{i:02d}" for i in range(1, 11)), 60.0),
    "ta-large": InstanceSet("ta-large", tuple(f"ta{i:02d}" for i in range(11, 41)), 60.0),
}
DEFAULT_SETS = ("ft", "la", "ta-small")
QUICK = InstanceSet("quick", ("ft06", "la01", "la06"), 2.0)
PUBLISHED = "textbook CP-SAT, 2 workers (issue 6)"


@dataclass(frozen=True)
class Pair:
    """Both models on one instance."""

    instance: str
    bounds: Bounds
    tuned: JobShopResult
    textbook: JobShopResult

    def gaps(self) -> tuple[float, float]:
        """Gap to the best known upper bound, tuned then textbook, in percent."""
        return 100 * self.bounds.gap(self.tuned.makespan), 100 * self.bounds.gap(self.textbook.makespan)


def run_set(
    data_dir: Path,
    chosen: InstanceSet,
    progress: Callable[[Pair], None] | None = None,
    solvers: tuple[Solver, Solver] = (solve_jobshop, solve_textbook),
) -> list[Pair]:
    """Solve every instance of the set with both models (tuned first), checking each schedule."""
    folder = data_dir / "jsplib"
    if not (folder / "bounds.csv").exists():
        raise UserError(f"no JSPLIB data at {folder}: expected bounds.csv and instances/")
    bounds = load_bounds(folder / "bounds.csv")
    # numba compiles the tabu kernels on first use (or loads them from its cache); that happens
    # before the first instance's clock starts, as importing OR-Tools does
    warm_up()
    pairs = []
    for name in chosen.instances:
        instance = load_instance(folder / "instances" / name)
        results = [solve(instance, chosen.time_limit_s, WORKERS) for solve in solvers]
        for result in results:
            if check_schedule(instance, result.starts) != result.makespan:
                raise RuntimeError(f"{name}: the {result.model} schedule does not have its reported makespan")
        pair = Pair(name, bounds[name], results[0], results[1])
        pairs.append(pair)
        if progress:
            progress(pair)
    return pairs


def rows_for(chosen: InstanceSet, pairs: list[Pair]) -> list[BenchmarkRow]:
    """The set's target rows: value of the tuned model beside the textbook model's."""
    tuned = [p.gaps()[0] for p in pairs]
    textbook = [p.gaps()[1] for p in pairs]
    detail = {
        "time_limit_s": chosen.time_limit_s,
        "workers": WORKERS,
        "instances": {
            p.instance: {
                "best_known": p.bounds.upper,
                "tuned": p.tuned.makespan,
                "tuned_proven": p.tuned.optimal,
                "textbook": p.textbook.makespan,
                "textbook_proven": p.textbook.optimal,
            }
            for p in pairs
        },
    }
    solve_s = sum(p.tuned.wall_s for p in pairs)
    label = f"JSPLIB {chosen.name}, {chosen.time_limit_s:.0f} s, {WORKERS} workers"
    mean_t, mean_b = statistics.fmean(tuned), statistics.fmean(textbook)
    base = f"{PUBLISHED}: {mean_b:.3f}% this run"
    if chosen.name == "ft":
        ft10 = pairs[0]
        proven = ft10.tuned.optimal and ft10.tuned.makespan == ft10.bounds.upper
        return [
            BenchmarkRow(
                label,
                "ft10 makespan (proven optimal)",
                float(ft10.tuned.makespan),
                f"{PUBLISHED}: 938 not proven; this run {ft10.textbook.makespan}"
                f"{' proven' if ft10.textbook.optimal else ' not proven'}",
                "930 proven within 10 s",
                proven and ft10.tuned.wall_s <= chosen.time_limit_s + 0.5,
                train_s=ft10.tuned.wall_s,
                detail=detail,
            )
        ]
    if chosen.name == "la":
        return [
            BenchmarkRow(
                label,
                "mean gap %",
                mean_t,
                base + " (issue: 0.25%)",
                "≤ 0.05%",
                mean_t <= 0.05,
                train_s=solve_s,
                detail=detail,
            ),
            BenchmarkRow(
                label,
                "worst gap %",
                max(tuned),
                f"{PUBLISHED}: {max(textbook):.3f}% this run (issue: la29 4.4%)",
                "≤ 0.5%",
                max(tuned) <= 0.5,
                train_s=solve_s,
            ),
        ]
    if chosen.name == "ta-small":
        return [
            BenchmarkRow(
                label,
                "mean gap %",
                mean_t,
                base + " (issue: 0.36%)",
                "≤ 0.1%",
                mean_t <= 0.1,
                train_s=solve_s,
                detail=detail,
            )
        ]
    if chosen.name == "ta-large":
        return [
            BenchmarkRow(
                label,
                "mean gap %",
                mean_t,
                base,
                f"≤ {2 * mean_b / 3:.3f}% (⅓ below textbook)",
                mean_t <= 2 * mean_b / 3,
                train_s=solve_s,
                detail=detail,
            )
        ]
    return [BenchmarkRow(label, "mean gap %", mean_t, base, "—", None, train_s=solve_s, detail=detail)]


def benchmark(data_dir: Path, quick: bool = False, sets: Iterable[str] | None = None) -> list[BenchmarkRow]:
    """Run the chosen sets (``quick``: ft06, la01, la06 at 2 s) and return their rows."""
    if quick:
        return rows_for(QUICK, run_set(data_dir, QUICK))
    rows: list[BenchmarkRow] = []
    for name in sets or DEFAULT_SETS:
        if name not in SETS:
            raise UserError(f"unknown instance set {name!r}; sets: {', '.join(SETS)}")
        rows += rows_for(SETS[name], run_set(data_dir, SETS[name]))
    return rows
