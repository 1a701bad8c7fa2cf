"""Rescheduling after a breakdown: what has started stays, the rest is planned again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from smartfactory.model.errors import UserError
from smartfactory.scenarios.scheduling.flexible import Pinned, clock_for, solve_flexible
from smartfactory.scenarios.scheduling.problem import Downtime, Schedule


def breakdown(machine: str, start: datetime, end: datetime) -> Downtime:
    """A breakdown of ``machine`` from ``start`` to the expected end of its repair (naive UTC)."""
    if end <= start:
        raise UserError(f"breakdown of {machine}: the repair end {end} must be after its start {start}")
    return Downtime(machine, start, end)


def reschedule(
    schedule: Schedule, down: Downtime, now: datetime, time_limit_s: float = 10.0, workers: int = 2
) -> Schedule:
    """A new schedule from ``now``: operations started before ``now`` keep machine and start; an
    operation running on the broken machine pauses over the repair; the rest is re-solved."""
    problem = schedule.problem
    if down.machine not in problem.working:
        raise UserError(f"breakdown names machine {down.machine!r}, which is not in the schedule")
    clock = clock_for(problem)
    pinned = []
    for op in schedule.operations:
        if op.start >= now:
            continue
        start, end = clock.ticks(op.start), clock.ticks(op.end)
        if op.machine == down.machine and op.start < down.end and op.end > down.start:
            if op.start >= down.start:
                continue  # it would have started during the breakdown: it has not, plan it again
            end += clock.ticks_up(down.end) - clock.ticks(down.start)
        pinned.append(Pinned(op.order, op.step, op.machine, start, end))
    new_problem = replace(problem, now=max(now, problem.now), downtimes=(*problem.downtimes, down))
    return solve_flexible(new_problem, time_limit_s, workers, pinned)
