"""The tabu search on the critical path: always a valid schedule, never worse than its start."""

from __future__ import annotations

import random

import numpy as np
import pytest

from jobshop_cases import FT06
from smartfactory.scenarios.scheduling import check_schedule, parse_instance, solve_jobshop
from smartfactory.scenarios.scheduling.instances import JobShopInstance
from smartfactory.scenarios.scheduling.tabu import Graph, heads_of, initial_arcs, tabu_search


def _random_instance(seed: int, jobs: int, machines: int, zero_share: float = 0.0) -> JobShopInstance:
    """A random job shop; with ``zero_share`` some operations take no time."""
    rng = random.Random(seed)
    rows = []
    for _ in range(jobs):
        order = list(range(machines))
        rng.shuffle(order)
        rows.append(tuple((m, 0 if rng.random() < zero_share else rng.randint(1, 30)) for m in order))
    return JobShopInstance(f"random-{seed}", tuple(rows), machines)


def test_ft06_reaches_its_optimum() -> None:
    instance = parse_instance(FT06, "ft06")
    found = tabu_search(instance, 5.0, threads=2)
    assert found.makespan == 55
    assert check_schedule(instance, found.starts) == 55


@pytest.mark.parametrize("seed", range(4))
def test_every_start_is_a_valid_schedule(seed: int) -> None:
    instance = _random_instance(seed, 8, 5, zero_share=0.1 * seed)
    graph = Graph.of(instance)
    mpred, msucc = initial_arcs(graph, seed)
    heads = heads_of(graph.duration, graph.job_pred, graph.job_succ, mpred, msucc)
    starts = graph.starts_of(heads)
    check_schedule(instance, starts)  # raises on a broken precedence or a machine clash


@pytest.mark.parametrize("seed", range(4))
def test_search_returns_a_valid_schedule_with_its_makespan(seed: int) -> None:
    instance = _random_instance(10 + seed, 10, 6, zero_share=0.05 * seed)
    found = tabu_search(instance, 0.3, threads=2, seed=seed)
    assert check_schedule(instance, found.starts) == found.makespan
    assert found.makespan >= instance.trivial_lower_bound()
    assert found.iterations > 0


def test_a_job_that_visits_a_machine_twice() -> None:
    instance = JobShopInstance("twice", (((0, 4), (1, 3), (0, 2)), ((1, 5), (0, 6), (1, 1))), 2)
    found = tabu_search(instance, 0.2, threads=1)
    assert check_schedule(instance, found.starts) == found.makespan


def test_machine_arcs_round_trip_a_schedule() -> None:
    instance = _random_instance(3, 7, 4)
    graph = Graph.of(instance)
    mpred, msucc = initial_arcs(graph, 1)
    heads = heads_of(graph.duration, graph.job_pred, graph.job_succ, mpred, msucc)
    again = graph.machine_arcs(graph.starts_of(heads))
    assert np.array_equal(again[0], mpred) and np.array_equal(again[1], msucc)


def test_never_worse_than_the_schedule_it_starts_from() -> None:
    instance = _random_instance(7, 12, 6)
    first = tabu_search(instance, 0.5, threads=1, seed=1)
    again = tabu_search(instance, 0.2, threads=1, seed=2, start=first.starts)
    assert again.makespan <= first.makespan
    assert check_schedule(instance, again.starts) == again.makespan


def test_stops_at_the_lower_bound_before_the_limit() -> None:
    # one machine: every order is optimal, so the search ends at once
    instance = JobShopInstance("one", (((0, 3),), ((0, 4),), ((0, 5),)), 1)
    found = tabu_search(instance, 30.0, threads=2)
    assert found.makespan == 12


@pytest.mark.parametrize("shape", [(6, 4), (16, 15)])
def test_the_tuned_solver_returns_a_checked_schedule_and_a_true_bound(shape: tuple[int, int]) -> None:
    # 6×4 takes the proof path, 16×15 (240 operations) the tabu-then-LNS path
    instance = _random_instance(21, *shape)
    result = solve_jobshop(instance, 1.0, 2)
    assert check_schedule(instance, result.starts) == result.makespan
    assert instance.trivial_lower_bound() <= result.lower_bound <= result.makespan
    assert result.optimal == (result.lower_bound >= result.makespan)


def test_a_schedule_at_the_trivial_bound_is_reported_optimal_at_once() -> None:
    instance = JobShopInstance("one", (((0, 3),), ((0, 4),), ((0, 5),)), 1)
    result = solve_jobshop(instance, 30.0, 2)
    assert result.optimal and result.makespan == 12 and result.wall_s < 5
