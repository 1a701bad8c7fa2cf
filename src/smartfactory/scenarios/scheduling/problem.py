"""The plant scheduling problem and its answer, in the planner's words (orders, machines, datetimes).

Times are naive UTC datetimes, like every timestamp in the telemetry store. An order's steps
run in routing order on one machine each (any machine of the step's work cell); a step may
start as soon as the first unit of the previous step is done (lot streaming with a transfer
lot of one unit, as on a flow line with buffers), and finishes at least one unit after it.
A machine sets up when the product it runs changes. Machines work only inside their
calendar's working windows; work stops outside them and resumes in the next window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

Window = tuple[datetime, datetime]


@dataclass(frozen=True)
class Step:
    """One operation of an order: the machines that can do it, unit time and setup time."""

    name: str  # e.g. the work cell, "OP10"
    machines: tuple[str, ...]
    unit_s: float  # processing time per unit
    setup_s: float = 0.0  # changeover when the machine last ran another product
    units: int | None = None  # units still to make at this step (None: the order's quantity)


@dataclass(frozen=True)
class Job:
    """An open order: product, quantity still to make, its steps in order, release and due."""

    order: str
    product: str
    quantity: int
    steps: tuple[Step, ...]
    due: datetime | None = None
    release: datetime | None = None


@dataclass(frozen=True)
class Downtime:
    """A window in which a machine cannot work (a breakdown, a repair, a planned stop)."""

    machine: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SchedulingProblem:
    """Jobs, machines with their working windows, downtimes and the moment planning starts."""

    jobs: tuple[Job, ...]
    working: dict[str, tuple[Window, ...]]  # machine → sorted windows in which it may work
    now: datetime
    downtimes: tuple[Downtime, ...] = ()
    initial_product: dict[str, str] = field(default_factory=dict)  # machine → product it is set up for
    name: str = "plant"

    def machines(self) -> list[str]:
        """Every machine of the problem, in a stable order."""
        return sorted(self.working)


@dataclass(frozen=True)
class Operation:
    """One step of one order placed on a machine: when it starts and ends (setup excluded)."""

    order: str
    step: int
    step_name: str
    product: str
    machine: str
    start: datetime
    end: datetime
    setup_start: datetime | None = None  # the changeover before it, if one is needed
    fixed: bool = False  # already started when the schedule was made


@dataclass
class Schedule:
    """The answer: every operation on its machine (Gantt data), and how good the plan is."""

    problem: SchedulingProblem
    operations: list[Operation]
    makespan_h: float
    tardiness_h: float
    on_time_rate: float
    solve_s: float
    status: str  # "optimal" or "feasible"
    objective: int = 0
    bound: int = 0

    def by_order(self) -> dict[str, list[Operation]]:
        """Operations grouped by order, in step order."""
        out: dict[str, list[Operation]] = {}
        for op in sorted(self.operations, key=lambda o: (o.order, o.step)):
            out.setdefault(op.order, []).append(op)
        return out

    def completion(self) -> dict[str, datetime]:
        """When each order is finished (its last step ends)."""
        return {order: ops[-1].end for order, ops in self.by_order().items()}


def hours(delta: timedelta) -> float:
    """A duration in hours."""
    return delta.total_seconds() / 3600.0
