"""Run the twin against the wall clock: 1× real time up to as fast as possible, stoppable.

A live twin (publishing over MQTT, serving OPC UA) must not emit a day of events in a second:
the simulation advances in small chunks and waits until the wall clock catches up with each.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from smartfactory.model.errors import UserError
from smartfactory.model.events import EventSink
from smartfactory.model.plant import Plant
from smartfactory.simulate.engine import Fault
from smartfactory.simulate.run import SimulationResult, simulate


class _Stopped(Exception):
    """Raised from the progress hook to end the run early."""


def parse_speed(text: str) -> float | None:
    """``"1"``, ``"60"``, ``"max"`` → a factor of real time, or None for as fast as possible."""
    if text.strip().lower() in ("max", "inf", "fastest"):
        return None
    try:
        speed = float(text)
    except ValueError:
        raise UserError(f"--speed {text!r}: give a factor of real time (1, 10, 3600) or 'max'") from None
    if not speed > 0:
        raise UserError(f"--speed {text!r}: the factor must be above 0 (or 'max')")
    return speed


def simulate_paced(
    plant: Plant,
    sink: EventSink,
    *,
    start: datetime,
    days: float,
    seed: int = 0,
    speed: float | None = 1.0,
    faults: list[Fault] | None = None,
    stop: threading.Event | None = None,
) -> SimulationResult | None:
    """Simulate at ``speed`` × real time (None: flat out); None if ``stop`` ended it early."""
    # one chunk per wall-clock second at most, so events go out close to their time
    chunk_s = 600.0 if speed is None else max(1.0, min(speed, 600.0))
    began = time.monotonic()

    def pace(simulated: float, horizon: float) -> None:
        if stop is not None and stop.is_set():
            raise _Stopped
        if speed is None:
            return
        wait = began + simulated / speed - time.monotonic()
        if wait <= 0:
            return
        if stop is None:
            time.sleep(wait)
        elif stop.wait(wait):
            raise _Stopped

    try:
        return simulate(
            plant, sink, start=start, days=days, seed=seed, faults=faults, chunk_s=chunk_s, progress=pace
        )
    except _Stopped:
        return None
