"""What a job-shop solve returns, and an independent check of a job-shop schedule."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from smartfactory.scenarios.scheduling.instances import JobShopInstance


@dataclass(frozen=True)
class JobShopResult:
    """A job-shop schedule: start time of every operation, its makespan and the proof status."""

    instance: str
    model: str
    makespan: int
    lower_bound: int
    optimal: bool
    wall_s: float
    starts: tuple[tuple[int, ...], ...]  # starts[job][operation]
    time_to_best_s: float | None = None


def check_schedule(instance: JobShopInstance, starts: tuple[tuple[int, ...], ...]) -> int:
    """The makespan of ``starts`` after checking every precedence and machine; ValueError if broken."""
    if len(starts) != instance.n_jobs:
        raise ValueError(f"{len(starts)} jobs scheduled, the instance has {instance.n_jobs}")
    busy: dict[int, list[tuple[int, int]]] = {}
    makespan = 0
    for j, job in enumerate(instance.jobs):
        if len(starts[j]) != len(job):
            raise ValueError(f"job {j}: {len(starts[j])} starts for {len(job)} operations")
        ready = 0
        for k, (machine, duration) in enumerate(job):
            start = starts[j][k]
            if start < ready:
                raise ValueError(
                    f"job {j} operation {k} starts at {start} before its predecessor ends at {ready}"
                )
            ready = start + duration
            busy.setdefault(machine, []).append((start, ready))
        makespan = max(makespan, ready)
    for machine, spans in busy.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                raise ValueError(f"machine {machine} runs two operations at once at time {start}")
    return makespan
