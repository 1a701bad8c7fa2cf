"""The scheduling scenario: the plant's open orders → a finite-capacity schedule (车间智能排产),
rescheduled after breakdowns (生产动态调度)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from smartfactory.model.errors import UserError
from smartfactory.model.plant import Order, Plant
from smartfactory.scenarios.base import BenchmarkRow, PlantRun, Scenario, ScenarioCard
from smartfactory.scenarios.scheduling.benchmark import benchmark as run_benchmark
from smartfactory.scenarios.scheduling.flexible import solve_flexible
from smartfactory.scenarios.scheduling.orders import RecordedOrder, order_book, recorded_orders
from smartfactory.scenarios.scheduling.plant import plant_problem, to_utc
from smartfactory.scenarios.scheduling.plant_store import (
    data_end,
    set_up_for,
    stored_downtimes,
    units_done,
    units_lost,
    write_schedule,
)
from smartfactory.scenarios.scheduling.problem import Downtime, Schedule, SchedulingProblem
from smartfactory.scenarios.scheduling.reschedule import reschedule
from smartfactory.store import StoreFolder


class SchedulingScenario(Scenario):
    """Flexible job-shop scheduling of the plant's orders with OR-Tools CP-SAT."""

    card: ClassVar[ScenarioCard] = ScenarioCard.named("scheduling")

    def __init__(self, time_limit_s: float = 10.0, workers: int = 2) -> None:
        self.time_limit_s = time_limit_s
        self.workers = workers
        self.last: Schedule | None = None

    def solve(self, problem: SchedulingProblem) -> Schedule:
        """Schedule a problem; a UserError names an order no machine can make (nothing returned)."""
        self.last = solve_flexible(problem, self.time_limit_s, self.workers)
        return self.last

    def reschedule(self, schedule: Schedule, down: Downtime, now: datetime) -> Schedule:
        """Replan after a breakdown: started operations stay, the rest avoids the down window."""
        self.last = reschedule(schedule, down, now, self.time_limit_s, self.workers)
        return self.last

    def evidence(self) -> dict[str, float]:
        """Makespan, tardiness, on-time rate, solve time and gap of the last solve."""
        if self.last is None:
            return {}
        return schedule_metrics(self.last)

    def run_on_plant(self, store_folder: Path, *, now: datetime | None = None) -> PlantRun:
        """Schedule the plant's open orders as of ``now`` (default: the end of the stored data)
        and write the plan to the store's ``schedules`` table."""
        folder = StoreFolder(Path(store_folder))
        plant, recorded = _stored_plant(folder)
        if not folder.telemetry_path.exists():
            raise UserError(
                f"no telemetry store in {folder.path}; run `smartfactory simulate` or `ingest` first"
            )
        with folder.open_telemetry("write") as store:
            start = now or data_end(store) or _first_release(plant, order_book(plant, recorded))
            orders = order_book(plant, recorded, start)
            problem = plant_problem(
                plant,
                start,
                orders=orders,
                done=units_done(store, plant, start),
                lost=units_lost(store, plant, start),
                downtimes=stored_downtimes(store, plant, start),
                initial_product=set_up_for(store, start),
            )
            schedule = self.solve(problem)
            run_id = uuid.uuid4().hex
            rows = write_schedule(store, schedule, run_id)
        return PlantRun(
            metrics=schedule_metrics(schedule),
            artefacts={
                "table": "schedules",
                "run_id": run_id,
                "rows": rows,
                "planned_from": start.isoformat(),
            },
            official_scenario="shop_floor_scheduling",
            notes=f"{len(problem.jobs)} open orders, {len(problem.working)} machines, {schedule.status}",
        )

    def benchmark(self, data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
        """ft10, la01–la40 and ta01–ta10 (``quick``: ft06, la01, la06 at 2 s), both models."""
        return run_benchmark(Path(data_dir), quick)


def schedule_metrics(schedule: Schedule) -> dict[str, float]:
    """The numbers a run records: makespan and tardiness in hours, on-time rate, solve time, gap."""
    metrics = {
        "makespan_h": round(schedule.makespan_h, 3),
        "tardiness_h": round(schedule.tardiness_h, 3),
        "on_time_rate": round(schedule.on_time_rate, 4),
        "solve_s": round(schedule.solve_s, 3),
        "orders": float(len(schedule.by_order())),
        "operations": float(len(schedule.operations)),
    }
    if schedule.objective > 0:
        metrics["gap"] = round((schedule.objective - schedule.bound) / schedule.objective, 4)
    return metrics


def _stored_plant(folder: StoreFolder) -> tuple[Plant, list[RecordedOrder]]:
    """The plant in the folder's registry and the orders its twin runs recorded."""
    if not folder.has_registry():
        raise UserError(
            f"no registry at {folder.registry_location}: the scheduler needs the plant "
            "(load it with `smartfactory simulate`)"
        )
    with folder.open_registry() as registry:
        plant = registry.get_plant()
        recorded = recorded_orders(registry, plant.plant.id) if plant is not None else []
    if plant is None:
        raise UserError(
            f"the registry {folder.registry_location} holds no plant; "
            "the scheduler needs its routings and orders"
        )
    return plant, recorded


def _first_release(plant: Plant, orders: list[Order]) -> datetime:
    moments = [o.release or o.due for o in orders]
    if not moments:
        raise UserError(f"plant {plant.plant.id} has no orders to schedule")
    return min(to_utc(m, plant) for m in moments)
