"""Simulation speed: simulated seconds per wall second of the digital twin.

For each sample plant (30 days from 2026-03-02, seed 1) three runs are timed, median kept:

* into a ``MemorySink`` (pure twin speed); baseline: a bare SimPy loop doing as many timeout
  events as the twin recorded state intervals, over the same horizon (the event-loop floor);
* into a ``TelemetryStore`` in a temp folder, open + simulate + close (end to end); baseline:
  the MemorySink run of the same plant, so the ratio is the price of the store.

``ratio`` is wall time ÷ baseline wall time (lower is better). Target: ≥ 50,000× real time.

Run alone: ``.venv/bin/python benchmarks/bench_simulation.py [--quick]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
import simpy

from common import ROOT, Row, environment, markdown, median_of, speed, spread, times, verdict
from smartfactory.model.events import EventType
from smartfactory.model.plant_file import load_plant
from smartfactory.simulate import MemorySink, simulate
from smartfactory.store import TelemetryStore

PLANTS = ("discrete_machining", "steel_plate_rolling")
START = datetime(2026, 3, 2)
SEED = 1
TARGET = 50_000.0


@dataclass
class Sizes:
    days: float
    repeats: int


FULL = Sizes(days=30.0, repeats=3)
QUICK = Sizes(days=2.0, repeats=1)


def bare_simpy(intervals: dict[str, int], horizon: float) -> float:
    """Wall seconds of a SimPy run with one process per machine doing its count of timeouts."""

    def machine(env: simpy.Environment, n: int) -> simpy.events.ProcessGenerator:
        step = horizon / n
        for _ in range(n):
            yield env.timeout(step)

    env = simpy.Environment()
    clock = time.perf_counter()
    for n in intervals.values():
        if n:
            env.process(machine(env, n))
    env.run(until=horizon + 1.0)
    return time.perf_counter() - clock


def bench_plant(name: str, sizes: Sizes) -> tuple[list[Row], list[str]]:
    path = ROOT / "examples" / "plants" / f"{name}.toml"
    plant = load_plant(path)
    horizon = sizes.days * 86400.0
    label = f"sim {name} {sizes.days:g} d"

    memory_s: list[float] = []
    store_s: list[float] = []
    bare_s: list[float] = []
    emitted: dict[str, int] = {}
    stored: dict[str, int] = {}
    intervals: dict[str, int] = {}
    for _ in range(sizes.repeats):
        sink = MemorySink()
        clock = time.perf_counter()
        result = simulate(plant, sink, start=START, days=sizes.days, seed=SEED)
        memory_s.append(time.perf_counter() - clock)
        emitted = {k: v for k, v in result.events_written.items()}
        states = sink.table(EventType.states)
        intervals = {
            str(row["values"]): int(row["counts"]) for row in pc.value_counts(states["equipment"]).to_pylist()
        }
        del sink, states

        with tempfile.TemporaryDirectory(prefix="bench-sim-") as folder:
            clock = time.perf_counter()
            store = TelemetryStore.open(Path(folder), mode="write")
            try:
                result = simulate(plant, store, start=START, days=sizes.days, seed=SEED)
            finally:
                store.close()
            store_s.append(time.perf_counter() - clock)
            stored = dict(result.events_written)

        bare_s.append(bare_simpy(intervals, horizon))

    mem, sto, bare = median_of(memory_s), median_of(store_s), median_of(bare_s)
    rows = [
        Row(
            label,
            "MemorySink: sim s / wall s",
            speed(horizon / mem),
            f"bare SimPy, {sum(intervals.values()):,} timeouts: {speed(horizon / bare)}",
            times(mem / bare),
            f"≥ {speed(TARGET)}",
            verdict(horizon / mem >= TARGET),
        ),
        Row(
            label,
            "TelemetryStore: sim s / wall s",
            speed(horizon / sto),
            f"MemorySink: {speed(horizon / mem)}",
            times(sto / mem),
            f"≥ {speed(TARGET)}",
            verdict(horizon / sto >= TARGET),
        ),
    ]
    notes = [
        f"{label}: wall MemorySink {spread(memory_s)}, TelemetryStore {spread(store_s)}, "
        f"bare SimPy {spread(bare_s)} ({sizes.repeats} runs)",
        f"{label}: emitted {_counts(emitted)}; newly stored {_counts(stored)}",
    ]
    lost = {k: emitted[k] - stored.get(k, 0) for k in emitted if emitted[k] != stored.get(k, 0)}
    if lost:
        notes.append(
            f"{label}: the store kept fewer rows than the twin emitted (duplicate keys skipped): "
            f"{_counts(lost)}"
        )
    return rows, notes


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in counts.items())


def run(quick: bool = False) -> str:
    """Run the benchmark and return its table (with notes) as markdown text."""
    sizes = QUICK if quick else FULL
    rows: list[Row] = []
    notes: list[str] = []
    for name in PLANTS:
        if not (ROOT / "examples" / "plants" / f"{name}.toml").exists():
            notes.append(f"{name}: plant file not found, skipped")
            continue
        plant_rows, plant_notes = bench_plant(name, sizes)
        rows += plant_rows
        notes += plant_notes
    header = (
        f"### Simulation speed ({sizes.days:g} simulated days from {START:%Y-%m-%d}, seed {SEED}, "
        f"median of {sizes.repeats})\n\n"
        "ratio = wall time ÷ baseline wall time (lower is better)\n"
    )
    return header + "\n" + markdown(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (smoke test)")
    args = parser.parse_args(argv)
    print(environment())
    print(run(args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
