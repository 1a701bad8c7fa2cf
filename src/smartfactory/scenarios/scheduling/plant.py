"""The plant's open orders as a scheduling problem: routings, work cells, calendar, downtimes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from smartfactory.model.calendar import build_timelines, local_epoch
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Order, Plant
from smartfactory.scenarios.scheduling.problem import Downtime, Job, SchedulingProblem, Step, Window

MIN_HORIZON_DAYS = 14
MAX_HORIZON_DAYS = 370


def to_utc(moment: datetime, plant: Plant) -> datetime:
    """A plant-local (or aware) datetime as naive UTC, the store's convention."""
    epoch = local_epoch(moment, ZoneInfo(plant.plant.timezone))
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def to_local(moment_utc: datetime, plant: Plant) -> datetime:
    """A naive UTC datetime as the plant's local wall-clock time (naive)."""
    return moment_utc.replace(tzinfo=UTC).astimezone(ZoneInfo(plant.plant.timezone)).replace(tzinfo=None)


def open_jobs(
    plant: Plant,
    done: Mapping[tuple[str, str], int] | None = None,
    *,
    lost: Mapping[tuple[str, str], int] | None = None,
    orders: Iterable[Order] | None = None,
) -> list[Job]:
    """The orders (default: the plant file's) with what is left of them.

    ``done[(order, work_cell)]`` = units processed at the cell, ``lost[(order, work_cell)]`` =
    units that left the flow there (scrap, rework): those never reach the later steps, so an
    order whose units all passed or left the line is finished even when it is short.
    """
    done = done or {}
    lost = lost or {}
    cells = {c.id for c in plant.work_cells}
    jobs = []
    for order in plant.orders if orders is None else orders:
        try:
            routing = plant.routing_for(order.product)
        except KeyError:
            raise UserError(
                f"order {order.id} cannot be scheduled: product {order.product} has no routing"
            ) from None
        steps: list[Step] = []
        # a unit counted downstream has passed every step before it, even where that machine
        # reports nothing (not networked): a step has done at least what the next one has, plus
        # what it lost itself
        passed = 0
        through: list[int] = []
        for step in reversed(routing.steps):
            key = (order.id, step.work_cell)
            passed = max(done.get(key, 0), passed + lost.get(key, 0))
            through.append(passed)
        gone = 0  # units lost at the steps before this one
        for step, units in zip(routing.steps, reversed(through), strict=True):
            left = order.quantity - min(order.quantity, units + gone)
            gone += lost.get((order.id, step.work_cell), 0)
            if left <= 0:
                continue
            machines = (
                tuple(e.id for e in plant.equipment_of(step.work_cell)) if step.work_cell in cells else ()
            )
            steps.append(Step(step.work_cell, machines, step.cycle_s, step.setup_s, left))
        if not steps:
            continue
        jobs.append(
            Job(
                order=order.id,
                product=order.product,
                quantity=order.quantity,
                steps=tuple(steps),
                due=to_utc(order.due, plant),
                release=to_utc(order.release, plant) if order.release else None,
            )
        )
    return jobs


def working_windows(
    plant: Plant, machines: Iterable[str], now: datetime, days: float
) -> dict[str, tuple[Window, ...]]:
    """Each machine's working windows (UTC) from ``now`` for ``days``: shifts less breaks,
    holidays and planned maintenance, from the plant's calendar."""
    timelines = build_timelines(plant, to_local(now, plant), days * 86400.0)
    out: dict[str, tuple[Window, ...]] = {}
    for machine in machines:
        line = timelines[machine]
        out[machine] = tuple(
            (now + timedelta(seconds=s), now + timedelta(seconds=e))
            for s, e, reason in zip(line.starts, line.ends, line.reasons, strict=True)
            if reason is None
        )
    return out


def plant_problem(
    plant: Plant,
    now: datetime,
    *,
    done: Mapping[tuple[str, str], int] | None = None,
    downtimes: Iterable[Downtime] = (),
    initial_product: Mapping[str, str] | None = None,
    horizon_days: float | None = None,
    lost: Mapping[tuple[str, str], int] | None = None,
    orders: Iterable[Order] | None = None,
) -> SchedulingProblem:
    """The open orders of ``plant`` at ``now`` (naive UTC) as one scheduling problem (``orders``:
    the order book, default the plant file's; ``done`` and ``lost`` as for ``open_jobs``)."""
    jobs = open_jobs(plant, done, lost=lost, orders=orders)
    if not jobs:
        raise UserError(
            f"plant {plant.plant.id}: no open orders at {now:%Y-%m-%d %H:%M} UTC; nothing to schedule"
        )
    machines = sorted({m for job in jobs for step in job.steps for m in step.machines})
    work_h = sum(job.quantity * s.unit_s + s.setup_s for job in jobs for s in job.steps) / 3600.0
    days = horizon_days or float(MIN_HORIZON_DAYS)
    while True:
        working = working_windows(plant, machines, now, days)
        available_h = max(
            (sum((e - s).total_seconds() for s, e in w) / 3600.0 for w in working.values()), default=0
        )
        # a plan that runs every operation one after another must fit: then any plan does
        if horizon_days is not None or available_h >= work_h or days >= MAX_HORIZON_DAYS:
            break
        days = min(days * 2, MAX_HORIZON_DAYS)
    return SchedulingProblem(
        jobs=tuple(jobs),
        working=working,
        now=now,
        downtimes=tuple(downtimes),
        initial_product=dict(initial_product or {}),
        name=plant.plant.id,
    )
