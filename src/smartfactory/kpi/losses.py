"""The OEE loss waterfall and the downtime Pareto: where planned busy time goes, and why.

Planned busy time (PBT) − availability losses (each stop reason) − speed loss (APT − PRU×PQ)
− quality loss (PRU×PQ × (1 − GQ/PQ)) = fully productive time = OEE × PBT, with OEE exactly
as ISO 22400-2 defines it (availability × effectiveness × quality ratio of the summed elements).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis

from smartfactory.kpi.compute import compute_on, node_map, prepare, stored_plant
from smartfactory.kpi.elements import _clip
from smartfactory.kpi.labels import labels
from smartfactory.kpi.periods import Category, Per, Window
from smartfactory.model.plant import Level, Plant
from smartfactory.model.text import Text
from smartfactory.store import EventStore

H = 3600.0


@dataclass(frozen=True)
class Loss:
    """One bar of the waterfall: a category and its cause (a reason code or a state)."""

    category: str
    cause: str
    name: Text
    hours: float


@dataclass(frozen=True)
class Waterfall:
    """Planned busy time of one node broken down into its losses and fully productive time."""

    node: str
    pbt_calendar_h: float
    no_data_h: float
    pbt_h: float
    losses: list[Loss]
    productive_h: float
    oee: float | None


@dataclass(frozen=True)
class ParetoRow:
    """A stop cause with its hours, its share of all stop hours and the running share."""

    cause: str
    name: Text
    hours: float
    share: float
    cumulative: float


@dataclass(frozen=True)
class LossReport:
    """Waterfalls per node and the Pareto of availability losses over all of them."""

    window: Window
    by: Level
    waterfalls: list[Waterfall]
    pareto: list[ParetoRow]


def losses(
    store: EventStore,
    start: date | datetime | str,
    end: date | datetime | str,
    *,
    by: Level | str = Level.equipment,
    node: str | None = None,
    plant: Plant | None = None,
) -> LossReport:
    """The loss waterfall per node at ``by`` and the downtime Pareto, for the stored plant."""
    plant = plant or stored_plant(store)
    return losses_on(store.ibis_backend(), plant, start, end, by=by, node=node)


def losses_on(
    backend: Any,
    plant: Plant,
    start: date | datetime | str,
    end: date | datetime | str,
    *,
    by: Level | str = Level.equipment,
    node: str | None = None,
    tables: tuple[str, str, str] = ("states", "counts", "measurements"),
) -> LossReport:
    """``losses`` on any Ibis backend holding the event tables."""
    result = compute_on(
        backend, plant, start, end, by=by, per=Per.window, kpis=["oee"], node=node, tables=tables
    )
    ready = prepare(backend, plant, start, end, per=Per.window, node=node, tables=tables)
    stops = _stop_hours(backend, ready.sources.states, ready, plant, result.by)
    names = _cause_names(plant)
    category = labels()["category"]
    waterfalls = []
    for row in result.rows():
        mine = sorted(stops.get(row["node"], {}).items(), key=lambda kv: -kv[1])
        bars = [Loss("availability", cause, names(cause), hours) for cause, hours in mine]
        bars.append(
            Loss("effectiveness", "speed", category["effectiveness"], (row["apt"] - row["pru_pq"]) / H)
        )
        quality = row["gq"] / row["pq"] if row["pq"] else 1.0
        productive = row["pru_pq"] * quality
        bars.append(Loss("quality", "quality", category["quality"], (row["pru_pq"] - productive) / H))
        waterfalls.append(
            Waterfall(
                node=row["node"],
                pbt_calendar_h=row["pbt_calendar"] / H,
                no_data_h=row["ndt"] / H,
                pbt_h=row["pbt"] / H,
                losses=bars,
                productive_h=productive / H,
                oee=row["oee"],
            )
        )
    totals: dict[str, float] = {}
    for per_node in stops.values():
        for cause, hours in per_node.items():
            totals[cause] = totals.get(cause, 0.0) + hours
    grand = sum(totals.values())
    pareto, running = [], 0.0
    for cause, hours in sorted(totals.items(), key=lambda kv: -kv[1]):
        running += hours
        share = hours / grand if grand else 0.0
        pareto.append(ParetoRow(cause, names(cause), hours, share, running / grand if grand else 0.0))
    return LossReport(result.window, result.by, waterfalls, pareto)


def _stop_hours(
    backend: Any, states: Any, ready: Any, plant: Plant, level: Level
) -> dict[str, dict[str, float]]:
    """Hours of every non-running state inside planned busy time, by node and cause."""
    win = ready.window
    lo, hi = win.utc(win.lo_us), win.utc(win.hi_us)
    segments = ibis.memtable(ready.frame.segments)
    busy = segments.filter(segments.cat == Category.busy.value)
    s = states.filter(states.end > lo, states.start < hi, states.state != "running")
    s = s.filter(s.equipment.isin(ready.equipment))
    clipped = _clip(s, "start", "end", busy, ["equipment", "state", "reason"])
    nodes = ibis.memtable(node_map(plant, level))
    j = clipped.join(nodes, clipped.equipment == nodes.equipment)
    cause = j.reason.fill_null(j.state)
    grouped = j.group_by([j.node, cause.name("cause")]).aggregate(us=j.dur.sum())
    out: dict[str, dict[str, float]] = {}
    for row in backend.to_pyarrow(grouped).to_pylist():
        out.setdefault(row["node"], {})[row["cause"]] = row["us"] / 1e6 / H
    return out


def _cause_names(plant: Plant) -> Any:
    reasons = {r.code: r.name for r in plant.reasons}
    states = labels()["state"]

    def name(cause: str) -> Text:
        return reasons.get(cause) or states.get(cause) or Text(en=cause, zh=cause)

    return name
