"""The textbook CP-SAT job-shop model: the baseline every improvement is measured against.

Intervals, one NoOverlap per machine, precedence inside each job, minimise the makespan;
default solver parameters apart from the time limit and the number of workers.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from smartfactory.scenarios.scheduling.instances import JobShopInstance
from smartfactory.scenarios.scheduling.jobshop import JobShopResult


def solve_textbook(instance: JobShopInstance, time_limit_s: float, workers: int = 2) -> JobShopResult:
    """Solve ``instance`` with the textbook model and default parameters."""
    clock = time.perf_counter()
    model = cp_model.CpModel()
    horizon = sum(d for job in instance.jobs for _, d in job)
    starts: list[list[cp_model.IntVar]] = []
    ends: list[cp_model.IntVar] = []
    per_machine: dict[int, list[cp_model.IntervalVar]] = {}
    for j, job in enumerate(instance.jobs):
        row = []
        previous_end: cp_model.IntVar | None = None
        for k, (machine, duration) in enumerate(job):
            start = model.new_int_var(0, horizon, f"s{j}_{k}")
            end = model.new_int_var(0, horizon, f"e{j}_{k}")
            per_machine.setdefault(machine, []).append(
                model.new_interval_var(start, duration, end, f"i{j}_{k}")
            )
            if previous_end is not None:
                model.add(start >= previous_end)
            previous_end = end
            row.append(start)
        starts.append(row)
        if previous_end is not None:
            ends.append(previous_end)
    for intervals in per_machine.values():
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    wall = time.perf_counter() - clock
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"{instance.name}: no schedule found in {time_limit_s} s")
    return JobShopResult(
        instance=instance.name,
        model="textbook",
        makespan=int(solver.objective_value),
        lower_bound=int(solver.best_objective_bound),
        optimal=status == cp_model.OPTIMAL,
        wall_s=wall,
        starts=tuple(tuple(int(solver.value(s)) for s in row) for row in starts),
    )
