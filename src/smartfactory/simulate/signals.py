"""Periodic sensor signals and energy meters, computed in bulk from the state history.

A signal is its state's level plus a wear term that grows as the machine nears its next
failure (so predictive maintenance has a real precursor to find) plus noise. Doing this
with numpy over all samples at once is what keeps the twin far faster than real time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartfactory.model.events import State
from smartfactory.model.plant import Equipment, Signal
from smartfactory.simulate.recorder import StateLog

_STATE_INDEX = {s: i for i, s in enumerate(State)}
_WEAR_STATES = np.array([s in (State.running, State.setup) for s in State])


@dataclass(frozen=True)
class History:
    """A machine's state intervals as arrays, the open one included up to ``until``."""

    starts: np.ndarray
    ends: np.ndarray
    states: np.ndarray
    ages: np.ndarray
    lives: np.ndarray

    @classmethod
    def of(cls, log: StateLog, until: float) -> History:
        """Arrays of ``log``'s intervals with the open one closed at ``until``."""
        starts, ends, states = list(log.starts), list(log.ends), list(log.states)
        ages, lives = list(log.ages), list(log.lives)
        if log.open_state is not None and until > log.open_start:
            starts.append(log.open_start)
            ends.append(until)
            states.append(log.open_state)
            ages.append(log.open_age)
            lives.append(log.open_life)
        return cls(
            np.asarray(starts, dtype=np.float64),
            np.asarray(ends, dtype=np.float64),
            np.asarray([_STATE_INDEX[s] for s in states], dtype=np.int8),
            np.asarray(ages, dtype=np.float64),
            np.asarray(lives, dtype=np.float64),
        )

    def locate(self, times: np.ndarray) -> np.ndarray:
        """Index of the interval holding each time (times must lie within the history)."""
        return np.clip(np.searchsorted(self.starts, times, side="right") - 1, 0, len(self.starts) - 1)


def sample_times(period: float, phase: float, lo: float, hi: float) -> np.ndarray:
    """Sampling instants ``phase + k * period`` in ``[lo, hi)``."""
    first = np.ceil((lo - phase) / period)
    last = np.ceil((hi - phase) / period)
    return phase + np.arange(first, last) * period


def signal_values(
    signal: Signal, history: History, times: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Values of a periodic signal at ``times``."""
    idx = history.locate(times)
    states = history.states[idx]
    levels = np.array([_level(signal, s) for s in State], dtype=np.float64)
    values = levels[states]
    if signal.wear_gain:
        running = states == _STATE_INDEX[State.running]
        age = history.ages[idx] + np.where(running, times - history.starts[idx], 0.0)
        lives = history.lives[idx]
        wear = np.where(
            np.isfinite(lives), np.clip(age / np.where(np.isfinite(lives), lives, 1.0), 0, 1), 0.0
        )
        values = values + np.where(_WEAR_STATES[states], signal.wear_gain * wear**signal.wear_power, 0.0)
    if signal.noise_sd:
        values = values + rng.normal(0.0, signal.noise_sd, size=len(times))
    if signal.measuring_range is not None:
        # a sensor cannot report beyond its measuring range (a vibration sensor never reads < 0)
        values = np.clip(values, *signal.measuring_range)
    if signal.dtype.value == "int":
        values = np.round(values)
    elif signal.dtype.value == "bool":
        values = (values >= 0.5).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def _level(signal: Signal, state: State) -> float:
    levels = signal.levels
    if state.value in levels:
        return levels[state.value]
    for fallback in ("idle", "running"):
        if fallback in levels and state not in (State.planned_stop, State.unplanned_down):
            return levels[fallback]
    if "idle" in levels:
        return levels["idle"]
    lo, hi = signal.normal
    return lo if state in (State.planned_stop, State.unplanned_down) else (lo + hi) / 2


def power_by_state(equipment: Equipment) -> np.ndarray:
    """kW drawn in each state (index by State order)."""
    assert equipment.energy is not None
    kw = equipment.energy.power_kw
    table = {
        State.running: kw.running,
        State.idle: kw.idle,
        State.starved: kw.idle,
        State.blocked: kw.idle,
        State.setup: kw.setup if kw.setup is not None else kw.idle,
        State.planned_stop: kw.off,
        State.unplanned_down: kw.down,
        State.no_data: 0.0,
    }
    return np.array([table[s] for s in State], dtype=np.float64)


def energy_readings(equipment: Equipment, history: History, times: np.ndarray) -> np.ndarray:
    """Cumulative kWh of the equipment's meter at ``times`` (zero at the simulation start)."""
    power = power_by_state(equipment)[history.states]
    kwh = power * (history.ends - history.starts) / 3600.0
    cumulative = np.concatenate([[0.0], np.cumsum(kwh)])
    idx = history.locate(times)
    within = np.clip(times - history.starts[idx], 0.0, None)
    return np.asarray(cumulative[idx] + power[idx] * within / 3600.0, dtype=np.float64)


def threshold_alarms(
    signal: Signal, times: np.ndarray, values: np.ndarray, was_out: int
) -> tuple[list[tuple[float, str, str]], int]:
    """Raised/cleared transitions of a signal leaving its normal range, with hysteresis.

    ``was_out`` carries the state between chunks: 0 in range, 1 above, -1 below.
    """
    lo, hi = signal.normal
    band = 0.02 * (hi - lo)
    out: list[tuple[float, str, str]] = []
    above = values > hi
    below = values < lo
    back = (values <= hi - band) & (values >= lo + band)
    candidates = np.flatnonzero(above | below | back)
    state = was_out
    for k in candidates:
        if state == 0 and (above[k] or below[k]):
            state = 1 if above[k] else -1
            out.append((float(times[k]), "high" if state == 1 else "low", "raised"))
        elif state != 0 and back[k]:
            out.append((float(times[k]), "high" if state == 1 else "low", "cleared"))
            state = 0
    return out, state
