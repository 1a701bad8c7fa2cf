"""The tuned CP-SAT job-shop model: what it adds to the textbook model, and why.

* Each operation's start is bounded by the work before it in its job (head) and the work after
  it (tail), and ``end + tail <= makespan`` for every operation, not only the last: the
  makespan's lower bound then rises with every propagated start.
* The makespan is also an interval ``[makespan, horizon)`` in every machine's NoOverlap, so the
  disjunctive energy reasoning sees it and pushes the lower bound.
* The makespan starts at the trivial bound (longest job, busiest machine).
* Two phases on the same workers: the search phase (CP-SAT's ``no_lp`` full worker and its LNS
  neighbourhoods) finds the schedule and ends when it stalls; the rest of the time goes to one
  full worker with the strong disjunctive propagation (edge finding with precedences), hinted
  with the best schedule, which closes the proof where the default worker cannot (ft10: proven
  in about a second once 930 is known). Instances above ``PROOF_MAX_OPERATIONS`` only search.
"""

from __future__ import annotations

import threading
import time

from ortools.sat.python import cp_model

from smartfactory.scenarios.scheduling.instances import JobShopInstance
from smartfactory.scenarios.scheduling.jobshop import JobShopResult

STALL_SHARE = 0.25  # the search phase ends after this share of the limit without a better schedule
MIN_STALL_S = 1.0
# The proof phase only pays where a proof is within reach: up to 225 operations (ft10, la01–la30,
# la36–la40, ta01–ta10). On the 20×15 Taillard instances it never closed a proof in 60 s, and handing the full
# worker over to it cost schedule quality (ta12: +2.71 % with it, +0.22 % without, 60 s each).
PROOF_MAX_OPERATIONS = 225
SEARCH_WORKER = 'subsolvers: "no_lp"'
PROOF_WORKER = (
    'subsolver_params { name: "strong_disjunctive" use_strong_propagation_in_disjunctive: true } '
    'subsolvers: "strong_disjunctive"'
)


def build_model(
    instance: JobShopInstance,
) -> tuple[cp_model.CpModel, list[list[cp_model.IntVar]], cp_model.IntVar]:
    """The tuned model: starts per job and operation, and the makespan variable."""
    model = cp_model.CpModel()
    horizon = sum(d for job in instance.jobs for _, d in job)
    makespan = model.new_int_var(instance.trivial_lower_bound(), horizon, "makespan")
    per_machine: dict[int, list[cp_model.IntervalVar]] = {}
    starts: list[list[cp_model.IntVar]] = []
    for j, job in enumerate(instance.jobs):
        total = sum(d for _, d in job)
        head = 0
        row: list[cp_model.IntVar] = []
        for k, (machine, duration) in enumerate(job):
            tail = total - head - duration
            start = model.new_int_var(head, horizon - tail - duration, f"s{j}_{k}")
            per_machine.setdefault(machine, []).append(
                model.new_fixed_size_interval_var(start, duration, f"i{j}_{k}")
            )
            if row:
                model.add(start >= row[-1] + job[k - 1][1])
            model.add(start + duration + tail <= makespan)
            row.append(start)
            head += duration
        starts.append(row)
    rest = model.new_int_var(0, horizon, "after_makespan")
    model.add(makespan + rest == horizon)
    after = model.new_interval_var(makespan, rest, horizon, "makespan_interval")
    for intervals in per_machine.values():
        model.add_no_overlap([*intervals, after])
    model.minimize(makespan)
    return model, starts, makespan


class _StallWatch(cp_model.CpSolverSolutionCallback):
    """Stops the search once no better schedule has come for ``stall_s`` seconds."""

    def __init__(self, solver: cp_model.CpSolver, stall_s: float) -> None:
        super().__init__()
        self.solver = solver
        self.stall_s = stall_s
        self.last = time.perf_counter()
        self.found_at = 0.0
        self.done = threading.Event()

    def on_solution_callback(self) -> None:
        self.last = time.perf_counter()
        self.found_at = self.wall_time

    def watch(self) -> None:
        while not self.done.wait(0.05):
            if time.perf_counter() - self.last > self.stall_s:
                self.solver.stop_search()
                return


def solve_jobshop(instance: JobShopInstance, time_limit_s: float, workers: int = 2) -> JobShopResult:
    """Solve ``instance`` with the tuned model within ``time_limit_s`` on ``workers`` threads."""
    clock = time.perf_counter()
    model, starts, makespan = build_model(instance)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    solver.parameters.merge_text_format(SEARCH_WORKER)
    operations = sum(len(job) for job in instance.jobs)
    provable = operations <= PROOF_MAX_OPERATIONS
    watch = _StallWatch(solver, max(MIN_STALL_S, STALL_SHARE * time_limit_s) if provable else float("inf"))
    watcher = threading.Thread(target=watch.watch, daemon=True)
    watcher.start()
    try:
        status = solver.solve(model, watch)
    finally:
        watch.done.set()
        watcher.join()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"{instance.name}: no schedule found in {time_limit_s} s")
    best = tuple(tuple(int(solver.value(s)) for s in row) for row in starts)
    value, bound = int(solver.objective_value), int(solver.best_objective_bound)
    found_at = watch.found_at
    left = time_limit_s - (time.perf_counter() - clock)
    if status != cp_model.OPTIMAL and left > 0.2:
        for row, values in zip(starts, best, strict=True):
            for var, v in zip(row, values, strict=True):
                model.add_hint(var, v)
        model.add_hint(makespan, value)
        model.add(makespan <= value)
        model.add(makespan >= bound)
        proof = cp_model.CpSolver()
        proof.parameters.max_time_in_seconds = left
        proof.parameters.num_workers = workers
        proof.parameters.merge_text_format(PROOF_WORKER)
        proof_watch = _StallWatch(proof, stall_s=float("inf"))
        proof_started = time.perf_counter() - clock
        second = proof.solve(model, proof_watch)
        if second in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if int(proof.objective_value) < value:
                best = tuple(tuple(int(proof.value(s)) for s in row) for row in starts)
                value = int(proof.objective_value)
                found_at = proof_started + proof_watch.found_at
            bound = max(bound, int(proof.best_objective_bound))
            status = second
    return JobShopResult(
        instance=instance.name,
        model="tuned",
        makespan=value,
        lower_bound=bound,
        optimal=status == cp_model.OPTIMAL or bound >= value,
        wall_s=time.perf_counter() - clock,
        starts=best,
        time_to_best_s=found_at,
    )
