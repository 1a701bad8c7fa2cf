"""Cumulative counters (piece counters, energy meters) turned into increments, resets included."""

from __future__ import annotations

from collections.abc import Sequence


def increments(readings: Sequence[float]) -> list[float]:
    """Per-reading increments of a cumulative counter: the first gives 0, a drop is a reset."""
    out: list[float] = []
    previous: float | None = None
    for value in readings:
        if previous is None:
            out.append(0.0)
        elif value < previous:
            out.append(float(value))  # reset: the counter restarted from zero since the last reading
        else:
            out.append(float(value - previous))
        previous = value
    return out
