"""Job-shop benchmark instances in the OR-Library text format (JSPLIB) and their known bounds."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from smartfactory.model.errors import UserError


@dataclass(frozen=True)
class JobShopInstance:
    """A classic job shop: each job is a sequence of (machine, processing time) operations."""

    name: str
    jobs: tuple[tuple[tuple[int, int], ...], ...]
    n_machines: int

    @property
    def n_jobs(self) -> int:
        """Number of jobs."""
        return len(self.jobs)

    def trivial_lower_bound(self) -> int:
        """The longest job or the busiest machine: no schedule can be shorter."""
        loads = [0] * self.n_machines
        for job in self.jobs:
            for machine, duration in job:
                loads[machine] += duration
        return max(max(sum(d for _, d in job) for job in self.jobs), max(loads))


@dataclass(frozen=True)
class Bounds:
    """Best known bounds of an instance (``optimum`` when proven)."""

    instance: str
    lower: int
    upper: int
    optimum: int | None

    def gap(self, makespan: int) -> float:
        """Relative gap of ``makespan`` to the best known upper bound."""
        return (makespan - self.upper) / self.upper


def parse_instance(text: str, name: str) -> JobShopInstance:
    """Parse an OR-Library job-shop file: ``n m`` then one line per job of ``machine time`` pairs."""
    rows: list[tuple[int, list[int]]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            rows.append((number, [int(token) for token in line.split()]))
        except ValueError:
            raise UserError(f"instance {name}, line {number}: expected integers, got {line[:60]!r}") from None
    if not rows:
        raise UserError(f"instance {name}: no 'jobs machines' header line")
    number, header = rows[0]
    if len(header) != 2 or header[0] <= 0 or header[1] <= 0:
        raise UserError(f"instance {name}, line {number}: the header must be two positive integers 'n m'")
    n_jobs, n_machines = header
    body = rows[1:]
    if len(body) != n_jobs:
        raise UserError(
            f"instance {name}: the header announces {n_jobs} jobs but {len(body)} job lines follow"
        )
    jobs = []
    for number, values in body:
        if len(values) != 2 * n_machines:
            raise UserError(
                f"instance {name}, line {number}: a job needs {n_machines} 'machine time' pairs, "
                f"got {len(values)} numbers"
            )
        pairs = tuple((values[i], values[i + 1]) for i in range(0, len(values), 2))
        for machine, duration in pairs:
            if not 0 <= machine < n_machines:
                raise UserError(
                    f"instance {name}, line {number}: machine {machine} is not in 0..{n_machines - 1}"
                )
            if duration < 0:
                raise UserError(f"instance {name}, line {number}: negative processing time {duration}")
        jobs.append(pairs)
    return JobShopInstance(name, tuple(jobs), n_machines)


def load_instance(path: Path) -> JobShopInstance:
    """Read and parse one instance file (its name is the file name)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read instance file {path}: {exc.strerror}") from None
    return parse_instance(text, path.name)


def load_bounds(path: Path) -> dict[str, Bounds]:
    """The ``bounds.csv`` table of JSPLIB: instance → current lower / upper bound and optimum."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise UserError(f"cannot read bounds file {path}: {exc.strerror}") from None
    out: dict[str, Bounds] = {}
    for number, row in enumerate(rows, start=2):
        try:
            optimum = int(row["optimum"]) if row.get("optimum") else None
            out[row["instance"]] = Bounds(
                row["instance"], int(row["lower_bound"]), int(row["upper_bound"]), optimum
            )
        except (KeyError, ValueError, TypeError):
            raise UserError(
                f"{path}, line {number}: needs instance, lower_bound, upper_bound (integers) and optimum"
            ) from None
    return out
