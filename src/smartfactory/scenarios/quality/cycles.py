"""One row per judged cycle from the telemetry store: process parameters, tool wear, outcome.

The features are the equipment's process parameters (the per-cycle signals its ``quality``
section names) and tool wear, counted as cycles since the last tool change (a ``setup`` state
with the plant's tool-change reason). The quality characteristic (thickness, bore diameter) is
measured on the same cycle but is an outcome, not a cause: it decides rework, so it is never a
feature. A cycle cut short by a breakdown has no parameters and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError
from smartfactory.model.plant import Equipment, Plant, ReasonRole
from smartfactory.store import TelemetryStore

WEAR = "tool_wear_cycles"


@dataclass(frozen=True)
class Cycles:
    """The judged cycles of one piece of equipment."""

    equipment: str
    parameters: list[str]
    frame: pd.DataFrame  # ts, product, parameters..., tool_wear_cycles, defect, [characteristic]

    @property
    def features(self) -> list[str]:
        """The model's input columns."""
        return [*self.parameters, WEAR]


def quality_equipment(plant: Plant) -> list[Equipment]:
    """Networked equipment with process parameters in its quality section."""
    return [e for e in plant.equipment if e.networked and e.quality is not None and e.quality.parameters]


def read_cycles(store: TelemetryStore, plant: Plant, equipment: Equipment) -> Cycles:
    """The judged cycles of ``equipment``: parameters, tool wear and defect (scrap or rework)."""
    quality = equipment.quality
    if quality is None or not quality.parameters:
        raise UserError(f"equipment {equipment.id!r} has no process parameters in its quality section")
    params = [p.signal for p in quality.parameters]
    signals = list(params)
    if quality.characteristic is not None:
        signals.append(quality.characteristic.signal)
    pivot = ", ".join(f"max(CASE WHEN m.signal = '{s}' THEN m.value END) AS \"{s}\"" for s in signals)
    sql = (
        f"SELECT c.ts, c.product, (c.scrap + c.rework > 0) AS defect, {pivot} "
        "FROM counts c JOIN measurements m ON m.equipment = c.equipment AND m.ts = c.ts "
        "WHERE c.equipment = $equipment GROUP BY c.ts, c.product, c.scrap, c.rework ORDER BY c.ts"
    )
    frame = store.query(sql, {"equipment": equipment.id}).to_pandas()
    frame = frame.dropna(subset=params).reset_index(drop=True)
    frame["defect"] = frame["defect"].astype(int)
    frame[WEAR] = _wear(store, plant, equipment.id, frame["ts"])
    return Cycles(equipment.id, params, frame)


def _wear(store: TelemetryStore, plant: Plant, equipment: str, ts: pd.Series) -> np.ndarray:
    """Cycles since the last tool change before each cycle (since the data start if none)."""
    reason = plant.reason_for_role(ReasonRole.tool_change)
    rank = np.arange(len(ts))
    if reason is None or not len(ts):
        return rank.astype(np.float64)
    changes = store.query(
        "SELECT \"start\" FROM states WHERE equipment = $e AND state = 'setup' AND reason = $r "
        'ORDER BY "start"',
        {"e": equipment, "r": reason},
    ).to_pandas()["start"]
    times = ts.to_numpy(dtype="datetime64[us]")
    change_times = changes.to_numpy(dtype="datetime64[us]")
    if not len(change_times):
        return rank.astype(np.float64)
    # cycles finished before each change: the change resets the count for the cycles after it
    done_before = np.searchsorted(times, change_times, side="left")
    last = np.searchsorted(change_times, times, side="right") - 1
    base = np.where(last >= 0, done_before[np.clip(last, 0, None)], 0)
    return (rank - base).astype(np.float64)
