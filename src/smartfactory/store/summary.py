"""What happened per machine: hours in each state, counts, energy and alarms, from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from smartfactory.model.events import State
from smartfactory.model.plant import Plant
from smartfactory.store.telemetry import TelemetryStore


@dataclass
class MachineSummary:
    """One machine's totals over the stored period."""

    equipment: str
    line: str
    networked: bool
    hours: dict[str, float] = field(default_factory=dict)
    good: int = 0
    scrap: int = 0
    rework: int = 0
    energy_kwh: float | None = None
    alarms: int = 0
    failures: int = 0


def summarise(
    store: TelemetryStore, plant: Plant
) -> tuple[list[MachineSummary], tuple[datetime | None, datetime | None]]:
    """Per-machine totals of everything stored, in plant order, and the period they cover."""
    line_of = plant.line_of_equipment()
    rows = {
        e.id: MachineSummary(e.id, line_of[e.id], e.networked, {s.value: 0.0 for s in State})
        for e in plant.equipment
    }
    for equipment, state, seconds in store.connection.execute(
        'SELECT equipment, state, sum(epoch("end") - epoch("start")) FROM states GROUP BY ALL'
    ).fetchall():
        if equipment in rows:
            rows[equipment].hours[state] = float(seconds) / 3600.0
    for equipment, good, scrap, rework in store.connection.execute(
        "SELECT equipment, sum(good), sum(scrap), sum(rework) FROM counts GROUP BY ALL"
    ).fetchall():
        if equipment in rows:
            r = rows[equipment]
            r.good, r.scrap, r.rework = int(good), int(scrap), int(rework)
    meters = {e.id: e.energy.signal for e in plant.equipment if e.energy is not None}
    for equipment, signal, used in store.connection.execute(
        "SELECT equipment, signal, max(value) - min(value) FROM measurements "
        "WHERE signal IN (SELECT unnest($signals)) GROUP BY ALL",
        {"signals": sorted(set(meters.values())) or [""]},
    ).fetchall():
        if equipment in rows and meters.get(equipment) == signal:
            rows[equipment].energy_kwh = float(used)
    for equipment, raised, failures in store.connection.execute(
        "SELECT equipment, count(*) FILTER (action = 'raised'), "
        "count(*) FILTER (action = 'raised' AND severity = 'critical') FROM alarms GROUP BY ALL"
    ).fetchall():
        if equipment in rows:
            rows[equipment].alarms, rows[equipment].failures = int(raised), int(failures)
    return list(rows.values()), store.time_range()
