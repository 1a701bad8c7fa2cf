"""A tiny plant and hand-built events for the KPI tests, written into a real store folder.

The plant runs in UTC so the arithmetic in the tests reads straight off the clock:
- line L with work cells C1 (machine M1) and C2 (machine M2, optional), in that flow order;
- one shift A 08:00-16:00 every day with a 30-minute break at 12:00, so a day has
  POT 8 h = 28 800 s, PDOT 0.5 h = 1 800 s and PBT (calendar) 7.5 h = 27 000 s;
- a planned maintenance window for M1 every Tuesday 14:00-15:00 (optional);
- routing cycle times P1: C1 72 s, C2 45 s; P2: C1 90 s, C2 60 s;
- M1 has an energy meter (signal energy_kwh), a rated capacity of 40 units/h and a measured
  characteristic ``diameter`` (target key dia_mm, tolerance 0.1 mm; P1 target 10.0 mm, P2 20.0 mm);
  M2 has none of these;
- reason U.FAIL is a failure, U.MINOR a minor stoppage (role micro_stop).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from plants import PlantFile, calendar, cell, machine, order, product, reasons, routing, shift, signal, text
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store import REGISTRY_FILE, Registry, TelemetryStore

MON = date(2026, 3, 2)  # a Monday
TUE = MON + timedelta(days=1)
WED = MON + timedelta(days=2)

Row = dict[str, Any]

CYCLE_S = {("P1", "C1"): 72.0, ("P1", "C2"): 45.0, ("P2", "C1"): 90.0, ("P2", "C2"): 60.0}


def plant_file(
    *,
    two_machines: bool = True,
    shifts: Sequence[tuple[str, str, str]] = (("A", "08:00", "16:00"),),
    breaks: Sequence[tuple[str, int]] = (("12:00", 30),),
    pm: bool = True,
    rated_per_h: float | None = 40.0,
) -> PlantFile:
    """The plant; ``shifts`` are (id, start, end), ``breaks`` (start, minutes)."""
    m1 = machine(
        "M1",
        "C1",
        text("Machine 1", "设备 1"),
        energy={"meter": "EM-M1", "power_kw": {"running": 10.0, "idle": 2.0}},
        quality={
            "base_logit": -5.0,
            "characteristic": {
                "signal": "diameter",
                "target_key": "dia_mm",
                "tolerance": 0.1,
                "noise_sd": 0.01,
            },
        },
        signal=[signal("diameter", "mm", (0.0, 100.0), per_cycle=True)],
    )
    if rated_per_h:
        m1["rated_capacity_per_h"] = rated_per_h
    cells = ["C1", "C2"] if two_machines else ["C1"]
    out = PlantFile(
        plant_id="kpi-plant",
        name=text("KPI test plant", "KPI 测试工厂"),
        timezone="UTC",
        work_cells=[cell(c, text(f"Cell {c[1:]}", f"工位 {c[1:]}")) for c in cells],
        equipment=[m1],
        calendar=calendar(
            [shift(i, a, b) for i, a, b in shifts],
            breaks,
            [{"weekday": "tue", "start": "14:00", "hours": 1, "equipment": ["M1"]}] if pm else [],
        ),
        reasons=reasons("P.NOSHIFT", "P.BREAK", "P.PM", "U.FAIL", "U.JAM", "U.MINOR"),
        products=[
            product("P1", text("Product 1", "产品 1"), targets={"dia_mm": 10.0}),
            product("P2", text("Product 2", "产品 2"), targets={"dia_mm": 20.0}),
        ],
        routings=[
            routing(p, [{"work_cell": c, "cycle_s": CYCLE_S[(p, c)]} for c in cells]) for p in ("P1", "P2")
        ],
        orders=[order("O1", "P1", 100, datetime(2026, 3, 10))],
    )
    if two_machines:
        out.equipment.append(machine("M2", "C2", text("Machine 2", "设备 2"), kind="cnc_lathe"))
    return out


def plant_toml(**options: Any) -> str:
    """The plant file text of ``plant_file(**options)``."""
    return plant_file(**options).toml()


def small_plant(**options: Any) -> Plant:
    """The parsed plant of ``plant_file(**options)``."""
    return plant_file(**options).plant()


# --- events ---------------------------------------------------------------------------


def at(clock: str, day: date = MON) -> datetime:
    """A naive UTC time: ``at("08:30")`` is 08:30 on Monday 2 March 2026, ``"24:00"`` is midnight after."""
    parts = [int(x) for x in clock.split(":")]
    hours, minutes, seconds = [*parts, 0, 0][:3]
    return datetime.combine(day, datetime.min.time()) + timedelta(
        hours=hours, minutes=minutes, seconds=seconds
    )


def state(
    equipment: str,
    start: datetime,
    end: datetime,
    name: str,
    *,
    reason: str | None = None,
    order: str | None = None,
    product: str | None = None,
) -> Row:
    """One states row."""
    if order is not None and product is None:
        product = "P1"
    return {
        "equipment": equipment,
        "start": start,
        "end": end,
        "state": name,
        "reason": reason,
        "order_id": order,
        "product": product,
    }


def count(
    equipment: str,
    ts: datetime,
    *,
    good: int = 0,
    scrap: int = 0,
    rework: int = 0,
    product: str | None = "P1",
    order: str | None = "O1",
    part: str | None = None,
) -> Row:
    """One counts row."""
    return {
        "ts": ts,
        "equipment": equipment,
        "order_id": order,
        "product": product,
        "good": good,
        "scrap": scrap,
        "rework": rework,
        "part_id": part,
    }


def measurement(equipment: str, ts: datetime, signal: str, value: float) -> Row:
    """One measurements row."""
    return {"ts": ts, "equipment": equipment, "signal": signal, "value": value}


def arrow(kind: EventType, rows: Iterable[Row]) -> pa.Table:
    """Rows as an Arrow table of the event schema."""
    return pa.Table.from_pylist(list(rows), schema=SCHEMAS[kind])


def event_tables(
    states: Iterable[Row] = (), counts: Iterable[Row] = (), measurements: Iterable[Row] = ()
) -> dict[EventType, pa.Table]:
    """The three event tables the KPI engine reads."""
    return {
        EventType.states: arrow(EventType.states, states),
        EventType.counts: arrow(EventType.counts, counts),
        EventType.measurements: arrow(EventType.measurements, measurements),
    }


def build_store(
    folder: Path,
    plant_text: str,
    *,
    states: Iterable[Row] = (),
    counts: Iterable[Row] = (),
    measurements: Iterable[Row] = (),
) -> TelemetryStore:
    """Write the events into a store in ``folder`` and the plant into its registry; return it open."""
    plant = parse_plant(plant_text, "kpi-plant.toml")
    folder.mkdir(parents=True, exist_ok=True)
    with Registry.open(folder / REGISTRY_FILE) as registry:
        registry.save_plant(plant, "kpi-plant.toml", hashlib.sha256(plant_text.encode()).hexdigest())
    store = TelemetryStore.open(folder, mode="write")
    for kind, table in event_tables(states, counts, measurements).items():
        store.write(kind, table)
    return store


def memory_backend(
    states: Iterable[Row] = (), counts: Iterable[Row] = (), measurements: Iterable[Row] = ()
) -> Any:
    """An in-memory DuckDB Ibis backend holding the three event tables (no files: fast)."""
    con = duckdb.connect()
    for kind, table in event_tables(states, counts, measurements).items():
        con.register("_rows", table)
        con.execute(f"CREATE TABLE {kind.value} AS SELECT * FROM _rows")
        con.unregister("_rows")
    return ibis.duckdb.from_connection(con)
