"""Job-shop and flexible job-shop scheduling with OR-Tools CP-SAT (车间智能排产 / 生产动态调度).

* ``SchedulingScenario``: the scenario (``solve``, ``reschedule``, ``run_on_plant``, ``benchmark``);
* ``plant_problem`` / ``SchedulingProblem`` → ``Schedule``: the plant's open orders and their plan;
* ``solve_jobshop`` (tuned) and ``solve_textbook`` (baseline) on JSPLIB instances.
"""

from smartfactory.scenarios.scheduling.instances import (
    Bounds,
    JobShopInstance,
    load_bounds,
    load_instance,
    parse_instance,
)
from smartfactory.scenarios.scheduling.jobshop import JobShopResult, check_schedule
from smartfactory.scenarios.scheduling.model import solve_jobshop
from smartfactory.scenarios.scheduling.plant import plant_problem
from smartfactory.scenarios.scheduling.problem import (
    Downtime,
    Job,
    Operation,
    Schedule,
    SchedulingProblem,
    Step,
)
from smartfactory.scenarios.scheduling.reschedule import breakdown, reschedule
from smartfactory.scenarios.scheduling.scenario import SchedulingScenario, schedule_metrics
from smartfactory.scenarios.scheduling.textbook import solve_textbook

__all__ = [
    "Bounds",
    "Downtime",
    "Job",
    "JobShopInstance",
    "JobShopResult",
    "Operation",
    "Schedule",
    "SchedulingProblem",
    "SchedulingScenario",
    "Step",
    "breakdown",
    "check_schedule",
    "load_bounds",
    "load_instance",
    "parse_instance",
    "plant_problem",
    "reschedule",
    "schedule_metrics",
    "solve_jobshop",
    "solve_textbook",
]
