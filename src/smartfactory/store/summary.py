"""What happened per machine: hours in each state, counts, energy and alarms, from the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from smartfactory.model.events import State
from smartfactory.model.plant import Plant
from smartfactory.store.postgres import EventStore


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
    store: EventStore, plant: Plant
) -> tuple[list[MachineSummary], tuple[datetime | None, datetime | None]]:
    """Per-machine totals of everything stored, in plant order, and the period they cover."""
    line_of = plant.line_of_equipment()
    rows = {
        e.id: MachineSummary(e.id, line_of[e.id], e.networked, {s.value: 0.0 for s in State})
        for e in plant.equipment
    }
    # SQL both engines run (the PostgreSQL store answers it too)
    for row in store.query(
        'SELECT equipment, state, sum(extract(epoch FROM ("end" - "start"))) AS seconds '
        "FROM states GROUP BY equipment, state"
    ).to_pylist():
        if row["equipment"] in rows:
            rows[row["equipment"]].hours[row["state"]] = float(row["seconds"]) / 3600.0
    for row in store.query(
        "SELECT equipment, sum(good) AS good, sum(scrap) AS scrap, sum(rework) AS rework "
        "FROM counts GROUP BY equipment"
    ).to_pylist():
        if row["equipment"] in rows:
            r = rows[row["equipment"]]
            r.good, r.scrap, r.rework = int(row["good"]), int(row["scrap"]), int(row["rework"])
    meters = {e.id: e.energy.signal for e in plant.equipment if e.energy is not None}
    signals = sorted(set(meters.values()))
    if signals:
        names = {f"s{i}": signal for i, signal in enumerate(signals)}
        for row in store.query(
            "SELECT equipment, signal, max(value) - min(value) AS used FROM measurements "
            f"WHERE signal IN ({', '.join('$' + n for n in names)}) GROUP BY equipment, signal",
            names,
        ).to_pylist():
            if row["equipment"] in rows and meters.get(row["equipment"]) == row["signal"]:
                rows[row["equipment"]].energy_kwh = float(row["used"])
    for row in store.query(
        "SELECT equipment, count(*) FILTER (WHERE action = 'raised') AS raised, "
        "count(*) FILTER (WHERE action = 'raised' AND severity = 'critical') AS failures "
        "FROM alarms GROUP BY equipment"
    ).to_pylist():
        if row["equipment"] in rows:
            rows[row["equipment"]].alarms, rows[row["equipment"]].failures = (
                int(row["raised"]),
                int(row["failures"]),
            )
    return list(rows.values()), store.time_range()
