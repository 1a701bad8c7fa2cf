"""Anomaly alarms on the plant's own measurements, equipment by equipment, in time order.

Which points a detector sees: the samples of an equipment's periodic sensor signals that share
a timestamp form one point (the twin and most PLC gateways sample a machine's sensors together).
Cumulative counters (energy meters) and per-cycle process parameters are left out: a counter
only grows, and process parameters move with the product made, which the quality scenario
covers. When the store holds the equipment's states, only points taken while it was running
are scored, because a stopped machine's sensors read its stop level, not its health; the
detector learns the running level from the first ``warmup`` running points.

Alarms go to the ``alarms`` table with code ``ANOMALY`` and severity ``warning``: ``raised``
after ``confirm`` points in a row above the limit, ``cleared`` after ``clear_after`` points in a
row below half of it or when a repair (a long breakdown, planned maintenance) restores the
machine, after which the detector learns the machine's normal pattern anew. A new run replaces
the alarms of the previous one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from smartfactory.model.errors import UserError
from smartfactory.model.events import SCHEMAS, AlarmAction, EventType, Severity, State
from smartfactory.model.plant import Plant, ReasonRole
from smartfactory.scenarios.anomaly.detector import DetectorConfig, StreamingDetector
from smartfactory.store.telemetry import TelemetryStore

ALARM_CODE = "ANOMALY"
FAILURE_SEVERITY = "critical"


@dataclass(frozen=True)
class PlantSettings:
    """How the plant run groups, learns and alarms."""

    # no adaptation: on a machine, slow drift is wear, the very thing to warn of
    detector: DetectorConfig = field(default_factory=lambda: DetectorConfig(warmup=600, window=10, adapt=0.0))
    confirm: int = 5  # points in a row above the limit that raise an alarm
    clear_after: int = 30  # points in a row below ``clear_ratio`` × the limit that clear it
    clear_ratio: float = 0.5  # hysteresis, so a score hovering at the limit does not flap
    rebaseline_min: float = 20.0  # a breakdown at least this long restores the machine: learn anew
    warn_horizon_h: float = 24.0  # an alarm up to this long before a failure counts as a warning


@dataclass
class EquipmentRun:
    """One equipment's detector run: its signals, points, alarm episodes."""

    equipment: str
    signals: list[str]
    points: int
    scored: int
    threshold: float
    episodes: list[tuple[datetime, datetime | None]]


@dataclass
class PlantResult:
    """All equipment runs, the alarm rows written and timing."""

    runs: list[EquipmentRun]
    skipped: dict[str, str]
    alarms: pa.Table
    score_s: float

    def metrics(self, failures: list[tuple[str, datetime]], horizon_h: float) -> dict[str, float]:
        """Plain-number metrics of the run, with warnings against the store's recorded failures."""
        points = sum(r.scored for r in self.runs)
        episodes = [e for r in self.runs for e in r.episodes]
        warned, leads = _warned(self.runs, failures, horizon_h)
        out = {
            "equipment_monitored": float(len(self.runs)),
            "equipment_skipped": float(len(self.skipped)),
            "points_scored": float(points),
            "alarms_raised": float(len(episodes)),
            "points_per_s": points / self.score_s if self.score_s > 0 else 0.0,
            "failures_recorded": float(len(failures)),
            "failures_warned": float(warned),
        }
        if failures:
            out["failure_warning_rate"] = warned / len(failures)
        if leads:
            out["median_lead_time_h"] = float(np.median(leads))
        return out


def detect_on_store(
    store: TelemetryStore, plant: Plant | None, settings: PlantSettings | None = None
) -> PlantResult:
    """Run a detector per equipment over the stored measurements and build the alarm rows."""
    settings = settings or PlantSettings()
    if store.count(EventType.measurements) == 0:
        raise UserError(f"telemetry store {store.path} has no measurements to monitor")
    excluded = _excluded_signals(plant)
    runs: list[EquipmentRun] = []
    skipped: dict[str, str] = {}
    rows: list[tuple[datetime, str, str, str, str, str]] = []
    clock_total = 0.0
    equipment_ids = [
        r["equipment"]
        for r in store.query("SELECT DISTINCT equipment FROM measurements ORDER BY equipment").to_pylist()
    ]
    for equipment in equipment_ids:
        stamps, names, matrix = _points(store, equipment, excluded.get(equipment, set()))
        if matrix is None:
            skipped[equipment] = "no periodic sensor signals"
            continue
        running = _running_mask(store, equipment, stamps)
        stamps, matrix = stamps[running], matrix[running]
        need = settings.detector.warmup + 10 * settings.confirm
        if len(matrix) < need:
            skipped[equipment] = f"{len(matrix)} running points; needs at least {need}"
            continue
        episodes: list[tuple[datetime, datetime | None]] = []
        scored = 0
        thresholds = []
        for lo, hi, restored in _segments(store, equipment, stamps, plant, settings.rebaseline_min):
            if hi - lo < need:
                continue
            detector = StreamingDetector(settings.detector, features=names)
            clock = time.perf_counter()
            scores = detector.score_batch(matrix[lo:hi])
            clock_total += time.perf_counter() - clock
            scored += int(np.isfinite(scores).sum())
            thresholds.append(detector.threshold)
            found = _episodes(stamps[lo:hi], scores, detector.threshold, settings)
            if found and found[-1][1] is None and restored is not None:
                # the repair that ends the segment ends the alarm too
                found[-1] = (found[-1][0], restored)
            episodes.extend(found)
        for start, end in episodes:
            top = ", ".join(names)
            rows.append(
                (
                    start,
                    equipment,
                    ALARM_CODE,
                    Severity.warning.value,
                    AlarmAction.raised.value,
                    f"{equipment}: unusual behaviour of {top} (anomaly scenario)",
                )
            )
            if end is not None:
                rows.append(
                    (end, equipment, ALARM_CODE, Severity.warning.value, AlarmAction.cleared.value, "")
                )
        runs.append(
            EquipmentRun(
                equipment,
                names,
                len(matrix),
                scored,
                float(np.median(thresholds)) if thresholds else float("nan"),
                episodes,
            )
        )
    if not runs:
        reasons = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise UserError(f"no equipment has enough sensor data for the anomaly scenario ({reasons})")
    rows.sort(key=lambda r: (r[0], r[1]))
    table = pa.table(
        [pa.array([r[i] for r in rows], type=SCHEMAS[EventType.alarms].field(i).type) for i in range(6)],
        schema=SCHEMAS[EventType.alarms],
    )
    return PlantResult(runs, skipped, table, clock_total)


def recorded_failures(store: TelemetryStore) -> list[tuple[str, datetime]]:
    """Failures the store knows of: raised critical alarms (the twin's and most PLCs' convention)."""
    table = store.query(
        "SELECT equipment, ts FROM alarms WHERE severity = $s AND action = $a AND code <> $c ORDER BY ts",
        {"s": FAILURE_SEVERITY, "a": AlarmAction.raised.value, "c": ALARM_CODE},
    )
    return [(r["equipment"], r["ts"]) for r in table.to_pylist()]


def replace_alarms(store: TelemetryStore, alarms: pa.Table) -> int:
    """Delete the previous run's anomaly alarms and write these; returns rows written."""
    store.connection.execute("DELETE FROM alarms WHERE code = $c", {"c": ALARM_CODE})
    return store.write(EventType.alarms, alarms) if alarms.num_rows else 0


def _excluded_signals(plant: Plant | None) -> dict[str, set[str]]:
    if plant is None:
        return {}
    out: dict[str, set[str]] = {}
    for equipment in plant.equipment:
        names = {s.name for s in equipment.signals if s.sampling_s is None}
        if equipment.energy is not None:
            names.add(equipment.energy.signal)
        out[equipment.id] = names
    return out


def _points(
    store: TelemetryStore, equipment: str, excluded: set[str]
) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    table = store.query(
        "SELECT ts, signal, value FROM measurements WHERE equipment = $e ORDER BY ts, signal",
        {"e": equipment},
    )
    if table.num_rows == 0:
        return np.empty(0, dtype="datetime64[us]"), [], None
    ts = table["ts"].to_numpy()
    signal = np.asarray(table["signal"].to_pylist(), dtype=object)
    value = table["value"].to_numpy()
    candidates = [s for s in sorted(set(signal.tolist())) if s not in excluded]
    names = [s for s in candidates if not _is_counter(value[signal == s])]
    if not names:
        return ts[:0], [], None
    # the largest group of signals sampled together defines the equipment's points
    stamps_of = {s: ts[signal == s] for s in names}
    size = {s: len(v) for s, v in stamps_of.items()}
    base = max(names, key=lambda s: size[s])
    together = [s for s in names if len(np.intersect1d(stamps_of[s], stamps_of[base])) >= 0.9 * size[base]]
    stamps = stamps_of[base]
    matrix = np.full((len(stamps), len(together)), np.nan)
    for j, s in enumerate(together):
        mask = signal == s
        where = np.searchsorted(stamps, ts[mask])
        ok = (where < len(stamps)) & (stamps[np.minimum(where, len(stamps) - 1)] == ts[mask])
        matrix[where[ok], j] = value[mask][ok]
    keep = np.isfinite(matrix).all(axis=1)
    return stamps[keep], together, matrix[keep]


def _is_counter(values: np.ndarray) -> bool:
    # a cumulative counter never decreases and rises most of the time
    if len(values) < 10:
        return False
    steps = np.diff(values)
    return bool((steps >= 0).all() and (steps > 0).mean() > 0.5)


def _running_mask(store: TelemetryStore, equipment: str, stamps: np.ndarray) -> np.ndarray:
    states = store.query(
        'SELECT "start", state FROM states WHERE equipment = $e ORDER BY "start"', {"e": equipment}
    )
    if states.num_rows == 0:
        return np.ones(len(stamps), dtype=bool)
    starts = states["start"].to_numpy()
    labels = np.asarray(states["state"].to_pylist(), dtype=object)
    # the state in force just before the sample: a sample taken at a switch belongs to the old state
    where = np.searchsorted(starts, stamps, side="left") - 1
    valid = where >= 0
    out = np.zeros(len(stamps), dtype=bool)
    out[valid] = labels[where[valid]] == State.running.value
    return out


def _segments(
    store: TelemetryStore, equipment: str, stamps: np.ndarray, plant: Plant | None, rebaseline_min: float
) -> list[tuple[int, int, datetime | None]]:
    """Index ranges of points between restorations (long breakdowns, planned maintenance)."""
    maintenance: set[str] = set()
    if plant is not None:
        maintenance = {r.code for r in plant.reasons if r.role == ReasonRole.planned_maintenance}
    table = store.query(
        'SELECT "start", "end", state, reason FROM states WHERE equipment = $e AND '
        '(state = $down OR reason IN (SELECT unnest($pm))) ORDER BY "start"',
        {"e": equipment, "down": State.unplanned_down.value, "pm": sorted(maintenance) or [""]},
    )
    cuts: list[tuple[int, datetime]] = []
    for row in table.to_pylist():
        if (row["end"] - row["start"]).total_seconds() >= rebaseline_min * 60.0:
            at = np.datetime64(row["end"], "us")
            cuts.append((int(np.searchsorted(stamps, at, side="left")), row["start"]))
    out: list[tuple[int, int, datetime | None]] = []
    lo = 0
    for index, start in cuts:
        if index > lo:
            out.append((lo, index, start))
        lo = max(lo, index)
    out.append((lo, len(stamps), None))
    return out


def _episodes(
    stamps: np.ndarray, scores: np.ndarray, threshold: float, settings: PlantSettings
) -> list[tuple[datetime, datetime | None]]:
    above = scores > threshold
    below = scores < threshold * settings.clear_ratio
    episodes: list[tuple[datetime, datetime | None]] = []
    active = False
    streak = 0
    start: datetime | None = None
    for i in range(len(scores)):
        streak = streak + 1 if (below[i] if active else above[i]) else 0
        if not active and streak >= settings.confirm:
            active, streak, start = True, 0, _as_datetime(stamps[i])
        elif active and streak >= settings.clear_after:
            assert start is not None
            episodes.append((start, _as_datetime(stamps[i])))
            active, streak = False, 0
    if active and start is not None:
        episodes.append((start, None))
    return episodes


def _as_datetime(stamp: np.datetime64) -> datetime:
    micros = int(stamp.astype("datetime64[us]").astype(np.int64))
    return datetime(1970, 1, 1) + timedelta(microseconds=micros)


def _warned(
    runs: list[EquipmentRun], failures: list[tuple[str, datetime]], horizon_h: float
) -> tuple[int, list[float]]:
    episodes = {r.equipment: r.episodes for r in runs}
    warned = 0
    leads: list[float] = []
    horizon = timedelta(hours=horizon_h)
    for equipment, at in failures:
        best: float | None = None
        for start, end in episodes.get(equipment, []):
            # an alarm raised before the failure and still on at some time within the horizon before it
            if start <= at and (end is None or end >= at - horizon):
                lead = (at - start).total_seconds() / 3600.0
                best = lead if best is None else max(best, lead)
        if best is not None:
            warned += 1
            leads.append(best)
    return warned, leads
