"""The CP-SAT model of the plant's flexible job shop: machine choice, setups, calendar, due dates.

Everything runs on the working-time clock (``workclock``). Per step of an order: one start and
end, and one optional interval per capable machine (exactly one present). Per machine: a
circuit over its candidate operations whose arcs carry the changeover when the product
changes, one NoOverlap with its blocked time, and operations already started kept as they are.
The objective is total tardiness first, then the makespan.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from smartfactory.model.errors import UserError
from smartfactory.scenarios.scheduling.problem import Job, Operation, Schedule, SchedulingProblem, hours
from smartfactory.scenarios.scheduling.workclock import WorkClock, duration_ticks, merge, subtract

TARDINESS_WEIGHT = 100  # a minute late costs as much as 100 minutes of makespan


@dataclass(frozen=True)
class Pinned:
    """An operation that has started: it keeps its machine, and starts and ends in working ticks."""

    order: str
    step: int
    machine: str
    start: int
    end: int


@dataclass
class _Task:
    job: Job
    index: int
    start: cp_model.IntVar
    end: cp_model.IntVar
    duration: int
    unit: int
    setup: int
    choice: dict[str, cp_model.IntVar]
    pinned: bool
    release: int = 0


@dataclass
class _Sequence:
    """One machine's variables: per candidate its changeover and where its interval begins, the
    circuit's arcs (first, last, candidate → candidate) and the machine's blocked time."""

    candidates: list[_Task]
    setups: list[cp_model.IntVar]
    begins: list[cp_model.IntVar]
    first: list[cp_model.IntVar]
    last: list[cp_model.IntVar]
    follows: dict[tuple[int, int], cp_model.IntVar]
    unused: cp_model.IntVar | None
    blocked: list[tuple[int, int]]


def check_capable(problem: SchedulingProblem) -> None:
    """Refuse, naming it, an order with a step no machine of the problem can do."""
    known = set(problem.working)
    for job in problem.jobs:
        if job.quantity <= 0:
            raise UserError(f"order {job.order}: quantity must be positive, got {job.quantity}")
        if not job.steps:
            raise UserError(f"order {job.order}: it has no steps (no routing for product {job.product})")
        for step in job.steps:
            if not [m for m in step.machines if m in known]:
                raise UserError(
                    f"order {job.order} cannot be scheduled: no capable machine for step {step.name} "
                    f"(product {job.product}); infeasible, no schedule made"
                )


def clock_for(problem: SchedulingProblem) -> WorkClock:
    """The common working clock of the problem's machines."""
    return WorkClock(w for windows in problem.working.values() for w in windows)


def solve_flexible(
    problem: SchedulingProblem,
    time_limit_s: float = 10.0,
    workers: int = 2,
    pinned: list[Pinned] | None = None,
) -> Schedule:
    """Schedule the problem's open orders; a UserError when it is infeasible."""
    clock_started = time.perf_counter()
    check_capable(problem)
    pinned_at = {(p.order, p.step): p for p in pinned or []}
    clock = clock_for(problem)
    now = clock.ticks_up(problem.now)
    horizon = clock.total
    model = cp_model.CpModel()
    tasks: list[list[_Task]] = []
    per_machine: dict[str, list[_Task]] = {m: [] for m in problem.working}
    for j, job in enumerate(problem.jobs):
        release = max(now, clock.ticks_up(job.release)) if job.release else now
        row: list[_Task] = []
        for k, step in enumerate(job.steps):
            duration = duration_ticks(step.unit_s * (step.units if step.units is not None else job.quantity))
            fixed = pinned_at.get((job.order, k))
            low, high = (fixed.start, fixed.start) if fixed else (release, horizon)
            start = model.new_int_var(low, high, f"s{j}_{k}")
            end = model.new_int_var(low, horizon, f"e{j}_{k}")
            if fixed:
                model.add(end == fixed.end)
                duration = fixed.end - fixed.start
            else:
                model.add(end == start + duration)
            machines = [fixed.machine] if fixed else [m for m in step.machines if m in problem.working]
            choice = {m: model.new_bool_var(f"x{j}_{k}_{m}") for m in machines}
            model.add_exactly_one(choice.values())
            task = _Task(
                job,
                k,
                start,
                end,
                duration,
                duration_ticks(step.unit_s),
                duration_ticks(step.setup_s),
                choice,
                fixed is not None,
                release,
            )
            for m in machines:
                per_machine[m].append(task)
            if row:
                previous = row[-1]
                # lot streaming: the first unit must be done upstream, and the last one too
                model.add(start >= previous.start + previous.unit)
                model.add(end >= previous.end + task.unit)
            row.append(task)
        tasks.append(row)

    sequences = {}
    for machine, candidates in per_machine.items():
        spans = [(p.start, p.end) for p in pinned_at.values() if p.machine == machine]
        sequences[machine] = _machine_constraints(model, machine, candidates, problem, clock, now, spans)

    makespan = model.new_int_var(now, horizon, "makespan")
    tardiness = []
    due_ticks: dict[str, int] = {}
    for row in tasks:
        last = row[-1]
        model.add(makespan >= last.end)
        if last.job.due is not None:
            late = model.new_int_var(0, horizon, f"late_{last.job.order}")
            due_ticks[last.job.order] = clock.ticks(last.job.due)
            model.add(late >= last.end - clock.ticks(last.job.due))
            tardiness.append(late)
    model.minimize(TARDINESS_WEIGHT * sum(tardiness) + makespan)
    _hint_dispatch(
        model, tasks, sequences, problem, (now, horizon), pinned_at, makespan, tardiness, due_ticks
    )

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        raise UserError(
            f"{problem.name}: no schedule satisfies every constraint (calendar, downtimes, started "
            "operations); nothing scheduled"
        )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise UserError(f"{problem.name}: no schedule found within {time_limit_s:.0f} s; allow more time")
    operations = _decode(solver, tasks, problem, clock, pinned_at)
    return summarise(
        problem,
        operations,
        time.perf_counter() - clock_started,
        "optimal" if status == cp_model.OPTIMAL else "feasible",
        int(solver.objective_value),
        int(solver.best_objective_bound),
    )


def _machine_constraints(
    model: cp_model.CpModel,
    machine: str,
    candidates: list[_Task],
    problem: SchedulingProblem,
    clock: WorkClock,
    now: int,
    pinned_spans: list[tuple[int, int]],
) -> _Sequence:
    # each candidate's interval on this machine begins with its changeover (zero when the
    # product does not change), so setups respect the machine's blocked time as work does
    begins: list[cp_model.IntVar] = []
    setups: list[cp_model.IntVar] = []
    intervals: list[cp_model.IntervalVar] = []
    horizon = clock.total
    for n, task in enumerate(candidates):
        present = task.choice[machine]
        setup = model.new_int_var(0, 0 if task.pinned else task.setup, f"setup_{machine}_{n}")
        begin = model.new_int_var(0, horizon, f"begin_{machine}_{n}")
        model.add(begin + setup == task.start)
        model.add(setup == 0).only_enforce_if(~present)
        begins.append(begin)
        setups.append(setup)
        intervals.append(
            model.new_optional_interval_var(
                begin, task.duration + setup, task.end, present, f"i_{machine}_{n}"
            )
        )
    own = problem.working[machine]
    down = merge((d.start, d.end) for d in problem.downtimes if d.machine == machine)
    # an operation interrupted by a breakdown already covers (pauses over) that blocked time
    blocked = _clip(clock.blocked(subtract(merge(own), down)), pinned_spans)
    for n, (lo, hi) in enumerate(blocked):
        intervals.append(model.new_fixed_size_interval_var(lo, hi - lo, f"b_{machine}_{n}"))
    model.add_no_overlap(intervals)
    # changeovers: a circuit through the machine's operations; node 0 is the machine's idle state
    arcs: list[tuple[int, int, cp_model.LiteralT]] = []
    sequence = _Sequence(candidates, setups, begins, [], [], {}, None, blocked)
    initial = problem.initial_product.get(machine)
    for n, task in enumerate(candidates, start=1):
        present = task.choice[machine]
        setup_of = begins[n - 1]
        arcs.append((n, n, ~present))
        first = model.new_bool_var(f"first_{machine}_{n}")
        sequence.first.append(first)
        arcs.append((0, n, first))
        if not task.pinned:
            changeover = task.setup if task.job.product != initial else 0
            model.add(task.start - setup_of == changeover).only_enforce_if(first)
            model.add(setup_of >= now).only_enforce_if(first)
        last = model.new_bool_var(f"last_{machine}_{n}")
        sequence.last.append(last)
        arcs.append((n, 0, last))
        for m, other in enumerate(candidates, start=1):
            if m == n:
                continue
            follows = model.new_bool_var(f"arc_{machine}_{n}_{m}")
            sequence.follows[(n - 1, m - 1)] = follows
            arcs.append((n, m, follows))
            if not other.pinned:
                gap = other.setup if other.job.product != task.job.product else 0
                model.add(other.start - begins[m - 1] == gap).only_enforce_if(follows)
            model.add(begins[m - 1] >= task.end).only_enforce_if(follows)
    if not candidates:
        return sequence
    sequence.unused = model.new_bool_var(f"unused_{machine}")
    arcs.append((0, 0, sequence.unused))
    model.add_circuit(arcs)
    return sequence


def _hint_dispatch(
    model: cp_model.CpModel,
    tasks: list[list[_Task]],
    sequences: dict[str, _Sequence],
    problem: SchedulingProblem,
    span: tuple[int, int],
    pinned_at: dict[tuple[str, int], Pinned],
    makespan: cp_model.IntVar,
    tardiness: list[cp_model.IntVar],
    due_ticks: dict[str, int],
) -> None:
    """Hint the solver with a whole schedule made by a dispatching rule (earliest due order
    first, each step on the machine where it ends first), so that it starts from a schedule:
    the changeover circuits and the calendar make a first one slow to find by search alone.
    Nothing is hinted when the rule cannot place every operation within the horizon."""
    now, horizon = span
    placed: dict[int, tuple[str, int, int, int]] = {}  # id(task) → machine, begin, start, end
    order_on: dict[str, list[_Task]] = {m: [] for m in sequences}
    free = dict.fromkeys(sequences, now)
    product = {m: problem.initial_product.get(m) for m in sequences}
    for row in tasks:  # what has started stays where it is
        for task in row:
            pin = pinned_at.get((task.job.order, task.index))
            if pin is not None:
                placed[id(task)] = (pin.machine, pin.start, pin.start, pin.end)
    for machine in sequences:
        started = sorted(
            (t for t in sequences[machine].candidates if placed.get(id(t), ("",))[0] == machine),
            key=lambda t: placed[id(t)][2],
        )
        for task in started:
            order_on[machine].append(task)
            free[machine] = max(free[machine], placed[id(task)][3])
            product[machine] = task.job.product
    for row in sorted(tasks, key=lambda r: (due_ticks.get(r[0].job.order, horizon), r[0].release)):
        previous: _Task | None = None
        for task in row:
            if id(task) not in placed:
                low = task.release
                if previous is not None:
                    _, _, p_start, p_end = placed[id(previous)]
                    low = max(low, p_start + previous.unit, p_end + task.unit - task.duration)
                best: tuple[int, str, int, int] | None = None
                for machine in task.choice:
                    setup = task.setup if task.job.product != product[machine] else 0
                    begin = _fit(
                        max(free[machine], low - setup), setup + task.duration, sequences[machine].blocked
                    )
                    end = begin + setup + task.duration
                    if end <= horizon and (best is None or end < best[0]):
                        best = (end, machine, begin, begin + setup)
                if best is None:
                    return
                end, machine, begin, start = best
                placed[id(task)] = (machine, begin, start, end)
                order_on[machine].append(task)
                free[machine], product[machine] = end, task.job.product
            previous = task
    for row in tasks:
        for task in row:
            machine, _, start, end = placed[id(task)]
            model.add_hint(task.start, start)
            model.add_hint(task.end, end)
            for m, chosen in task.choice.items():
                model.add_hint(chosen, m == machine)
    for machine, sequence in sequences.items():
        index = {id(t): n for n, t in enumerate(sequence.candidates)}
        ordered = [index[id(t)] for t in order_on[machine]]
        for n, task in enumerate(sequence.candidates):
            here = placed[id(task)][0] == machine
            begin = placed[id(task)][1] if here else placed[id(task)][2]
            model.add_hint(sequence.begins[n], begin)
            model.add_hint(sequence.setups[n], placed[id(task)][2] - begin)
            model.add_hint(sequence.first[n], bool(ordered) and ordered[0] == n)
            model.add_hint(sequence.last[n], bool(ordered) and ordered[-1] == n)
        pairs = set(itertools.pairwise(ordered))
        for key, literal in sequence.follows.items():
            model.add_hint(literal, key in pairs)
        if sequence.unused is not None:
            model.add_hint(sequence.unused, not ordered)
    ends = {row[-1].job.order: placed[id(row[-1])][3] for row in tasks}
    model.add_hint(makespan, max([now, *ends.values()]))
    for late, (order, due) in zip(tardiness, due_ticks.items(), strict=True):
        model.add_hint(late, max(0, ends[order] - due))


def _fit(begin: int, length: int, blocked: list[tuple[int, int]]) -> int:
    """The first moment at or after ``begin`` from which ``length`` ticks clear the blocked time."""
    for lo, hi in blocked:  # sorted, not overlapping
        if hi <= begin:
            continue
        if lo >= begin + length:
            break
        begin = hi
    return begin


def _clip(blocked: list[tuple[int, int]], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for lo, hi in blocked:
        pieces = [(lo, hi)]
        for s_lo, s_hi in spans:
            pieces = [p for a, b in pieces for p in ((a, min(b, s_lo)), (max(a, s_hi), b)) if p[1] > p[0]]
        out.extend(pieces)
    return out


def _decode(
    solver: cp_model.CpSolver,
    tasks: list[list[_Task]],
    problem: SchedulingProblem,
    clock: WorkClock,
    pinned_at: dict[tuple[str, int], Pinned],
) -> list[Operation]:
    operations: list[Operation] = []
    placed: dict[str, list[tuple[int, _Task]]] = {}
    for row in tasks:
        for task in row:
            machine = next(m for m, x in task.choice.items() if solver.boolean_value(x))
            placed.setdefault(machine, []).append((solver.value(task.start), task))
    for machine, items in placed.items():
        items.sort(key=lambda item: item[0])
        product = problem.initial_product.get(machine)
        for start, task in items:
            end = solver.value(task.end)
            setup_start = None
            if task.job.product != product and task.setup > 0:
                setup_start = clock.moment(start - task.setup, ending=False)
            operations.append(
                Operation(
                    order=task.job.order,
                    step=task.index,
                    step_name=task.job.steps[task.index].name,
                    product=task.job.product,
                    machine=machine,
                    start=clock.moment(start, ending=False),
                    end=clock.moment(end, ending=True),
                    setup_start=setup_start,
                    fixed=(task.job.order, task.index) in pinned_at,
                )
            )
            product = task.job.product
    return operations


def summarise(
    problem: SchedulingProblem,
    operations: list[Operation],
    solve_s: float,
    status: str,
    objective: int = 0,
    bound: int = 0,
) -> Schedule:
    """A schedule with its makespan, total tardiness and on-time rate (absolute time)."""
    schedule = Schedule(problem, operations, 0.0, 0.0, 1.0, solve_s, status, objective, bound)
    completion = schedule.completion()
    if completion:
        schedule.makespan_h = hours(max(completion.values()) - problem.now)
    due = {job.order: job.due for job in problem.jobs if job.due is not None}
    late = [max(0.0, hours(completion[o] - d)) for o, d in due.items() if o in completion]
    schedule.tardiness_h = sum(late)
    schedule.on_time_rate = sum(1 for x in late if x == 0) / len(late) if late else 1.0
    return schedule
