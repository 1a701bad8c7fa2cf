"""Compute ISO 22400-2 KPIs by hierarchy node and period: sum the elements, then divide."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypedDict, TypeVar, Unpack

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from smartfactory.kpi.definitions import Catalogue, Kpi, catalogue, evaluate, to_ibis
from smartfactory.kpi.elements import (
    COUNT_COLUMNS,
    ELEMENT_COLUMNS,
    TIME_COLUMNS,
    Sources,
    element_table,
    plant_tables,
)
from smartfactory.kpi.labels import labels
from smartfactory.kpi.periods import CalendarFrame, Per, Window, calendar_frame, window
from smartfactory.model.errors import UserError
from smartfactory.model.hierarchy import build_tree
from smartfactory.model.plant import Level, Plant
from smartfactory.store import EventStore, PgTelemetryStore, StoreFolder, TelemetryStore

KEY_COLUMNS = ["node", "level", "period_start", "period_end", "shift"]


@dataclass(frozen=True)
class KpiResult:
    """KPI rows with the elements behind them and, for each missing value, why it is missing."""

    plant: Plant
    window: Window
    by: Level
    per: Per
    kpis: list[Kpi]
    table: pa.Table  # key columns, KPI columns, element columns (times in seconds)

    def kpi_table(self) -> pa.Table:
        """Key columns and the KPIs asked for (the tidy table of ``compute``)."""
        return self.table.select([*KEY_COLUMNS, "data_coverage", *(k.id for k in self.kpis)])

    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict of keys, KPIs and elements."""
        return self.table.to_pylist()  # type: ignore[no-any-return]

    def why_null(self, row: dict[str, Any], kpi: Kpi, lang: str = "en") -> str | None:
        """Why ``kpi`` has no value in ``row`` (None when it has one)."""
        return why_null(catalogue(), row, kpi, lang)


def why_null(cat: Catalogue, row: dict[str, Any], kpi: Kpi, lang: str = "en") -> str | None:
    """The reason a KPI is null in a row, in the user's words."""
    if row.get(kpi.id) is not None and not _is_nan(row.get(kpi.id)):
        return None
    why = labels()["why"]
    if kpi.needs is not None:
        return why["needs"].get(lang) + kpi.needs.get(lang)
    if _no_data(row):
        return why["no_data"].get(lang)
    values = _element_values(cat, row)
    if kpi.valid_when and evaluate(kpi.valid_when, values) is not True and kpi.invalid is not None:
        return kpi.invalid.get(lang)
    for ref in kpi.refs:
        if ref in cat.kpis and (row.get(ref) is None or _is_nan(row.get(ref))):
            inner = why_null(cat, row, cat.kpis[ref], lang)
            if inner:
                return f"{ref}: {inner}"
    if row.get("pbt_calendar", 0) == 0 and row.get("pq", 0) == 0:
        return why["no_planned_time"].get(lang)
    return why["zero_denominator"].get(lang)


def _no_data(row: dict[str, Any]) -> bool:
    """Planned busy time on the calendar, none of it covered by data."""
    return bool(row.get("pbt_calendar", 0) > 0 and row.get("pbt", 0) == 0)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _element_values(cat: Catalogue, row: dict[str, Any]) -> dict[str, float | None]:
    return {e.id: row.get(e.column) for e in cat.elements.values()}


class KpiOptions(TypedDict, total=False):
    """How ``compute_on`` groups and selects KPIs (defaults there), passed on by the store wrappers."""

    by: Level | str
    per: Per | str
    kpis: list[str] | None
    node: str | None


class ComputeOptions(KpiOptions, total=False):
    """The keyword arguments of ``compute_result``, which ``compute`` passes on."""

    plant: Plant | None


def compute(
    store: TelemetryStore,
    start: date | datetime | str,
    end: date | datetime | str,
    **options: Unpack[ComputeOptions],
) -> pa.Table:
    """KPIs of the store from ``start`` up to ``end`` (plant-local) by node and period, as Arrow."""
    return compute_result(store, start, end, **options).kpi_table()


def compute_result(
    store: EventStore,
    start: date | datetime | str,
    end: date | datetime | str,
    *,
    plant: Plant | None = None,
    **options: Unpack[KpiOptions],
) -> KpiResult:
    """Like ``compute``, with the elements behind every value and the reasons for missing ones.

    ``plant`` defaults to the one saved in the store folder's registry.
    """
    plant = plant or stored_plant(store)
    return compute_on(store.ibis_backend(), plant, start, end, **options)


def stored_plant(store: EventStore) -> Plant:
    """The plant saved in the registry of the store's folder (a UserError naming the fix when none)."""
    if isinstance(store, PgTelemetryStore):
        return StoreFolder.at(store.url).plant()
    assert isinstance(store, TelemetryStore)
    return StoreFolder(store.path.parent).plant()


def compute_on(
    backend: Any,
    plant: Plant,
    start: date | datetime | str,
    end: date | datetime | str,
    *,
    by: Level | str = Level.equipment,
    per: Per | str = Per.day,
    kpis: list[str] | None = None,
    node: str | None = None,
    tables: tuple[str, str, str] = ("states", "counts", "measurements"),
) -> KpiResult:
    """KPIs on any Ibis backend holding the three event tables (DuckDB, PostgreSQL, ...)."""
    cat = catalogue()
    level = _level(by)
    chosen = cat.select(kpis)
    ready = prepare(backend, plant, start, end, per=per, node=node, tables=tables)
    needed = {e.column for k in chosen for e in cat.elements_of(k)}
    elements = element_table(ready.sources, ready.frame, plant_tables(plant), ready.window, cat, needed)
    # two queries: the heavy one over the events yields a few rows per equipment and period; the
    # roll-up and the formulas then run on those rows (compiling both as one costs more than it saves)
    per_equipment = ibis.memtable(backend.to_pyarrow(elements))
    expr = rollup(per_equipment, plant, level, ready.per)
    expr = with_kpis(expr, cat, cat.dependencies(chosen))
    table = backend.to_pyarrow(expr.order_by(["node", "period_start"]))
    table = _finish(table, plant, level)
    return KpiResult(plant, ready.window, level, ready.per, chosen, table)


@dataclass(frozen=True)
class Prepared:
    """What every KPI query starts from: the window, the event tables and the calendar frame."""

    window: Window
    per: Per
    equipment: list[str]
    sources: Sources
    frame: CalendarFrame


def prepare(
    backend: Any,
    plant: Plant,
    start: date | datetime | str,
    end: date | datetime | str,
    *,
    per: Per | str,
    node: str | None,
    tables: tuple[str, str, str] = ("states", "counts", "measurements"),
) -> Prepared:
    """Check the request and expand the calendar of the equipment asked for."""
    cut = _per(per)
    win = window(plant, start, end)
    equipment = equipment_under(plant, node)
    src = Sources(*(backend.table(name) for name in tables))
    _check_known(backend, src, plant, win)
    return Prepared(win, cut, equipment, src, calendar_frame(plant, win, cut, equipment))


_Choice = TypeVar("_Choice", bound=StrEnum)


def _level(by: Level | str) -> Level:
    return _member(Level, by, "--by", "level")


def _per(per: Per | str) -> Per:
    return _member(Per, per, "--per", "period")


def _member(choices: type[_Choice], value: _Choice | str, option: str, noun: str) -> _Choice:
    try:
        return choices(value)
    except ValueError:
        known = ", ".join(c.value for c in choices)
        raise UserError(f"{option} {value!r} is not a {noun}; use one of {known}") from None


def equipment_under(plant: Plant, node: str | None) -> list[str]:
    """The equipment ids under a hierarchy node (every equipment when None)."""
    tree = build_tree(plant)
    if node is None:
        return [e.id for e in plant.equipment]
    for n in tree.walk():
        if n.id == node:
            return [x.id for x in n.walk() if x.level is Level.equipment]
    known = [n.id for n in tree.walk() if n.level is not Level.equipment]
    raise UserError(
        f"no hierarchy node {node!r} in plant {plant.plant.id}; nodes: {', '.join(known)} or an equipment id"
    )


def _check_known(backend: Any, src: Sources, plant: Plant, win: Window) -> None:
    """States or counts of equipment the plant does not know have no calendar: refuse, never drop."""
    lo, hi = win.utc(win.lo_us), win.utc(win.hi_us)
    in_states = src.states.filter(src.states.end > lo, src.states.start < hi).select("equipment")
    in_counts = src.counts.filter(src.counts.ts >= lo, src.counts.ts < hi).select("equipment")
    seen = in_states.union(in_counts, distinct=True)
    found = set(backend.to_pyarrow(seen).column("equipment").to_pylist())
    known = {e.id for e in plant.equipment}
    unknown = sorted(found - known)
    if unknown:
        raise UserError(
            f"no calendar for equipment {', '.join(unknown)}: it has events in the store but is not in "
            f"plant {plant.plant.id}; add it to the plant file (known: {', '.join(sorted(known))})"
        )


def node_map(plant: Plant, level: Level) -> pa.Table:
    """Equipment id → the id of its ancestor (or itself) at ``level``."""
    parent: dict[str, str] = {}
    levels: dict[str, Level] = {}
    for n in build_tree(plant).walk():
        levels[n.id] = n.level
        for child in n.children:
            parent[child.id] = n.id
    rows: dict[str, list[str]] = {"equipment": [], "node": []}
    for e in plant.equipment:
        at = e.id
        while levels[at] is not level:
            at = parent[at]
        rows["equipment"].append(e.id)
        rows["node"].append(at)
    return pa.table(rows)


def rollup(elements: ir.Table, plant: Plant, level: Level, per: Per) -> ir.Table:
    """Sum every element over the equipment under each node at ``level``, per period."""
    nodes = ibis.memtable(node_map(plant, level))
    j = elements.join(nodes, elements.equipment == nodes.equipment)
    keys = [nodes.node, j.pstart, j.pend]
    if per is Per.shift:
        keys.append(j.shift)
    out = j.group_by(keys).aggregate(**{c: j[c].sum() for c in ELEMENT_COLUMNS if c in elements.columns})
    if per is not Per.shift:
        out = out.mutate(shift=ibis.null("string"))
    out = out.rename(period_start="pstart", period_end="pend")
    seconds = {c: out[c].cast("float64") / 1_000_000 for c in TIME_COLUMNS if c in out.columns}
    return out.mutate(**seconds, level=ibis.literal(level.value))


def with_kpis(table: ir.Table, cat: Catalogue, kpis: list[Kpi]) -> ir.Table:
    """Add one column per KPI (in dependency order) computed from the element columns."""
    exprs: dict[str, ir.Value] = {}

    def resolve(name: str) -> ir.Value:
        if name in exprs:
            return exprs[name]
        element = cat.elements.get(name)
        if element is None:
            raise ValueError(f"{name} is used before it is defined")
        column = table[element.column]
        return column.cast("float64") if element.column in COUNT_COLUMNS else column

    for k in kpis:
        if k.formula is None:
            exprs[k.id] = ibis.null("float64")
            continue
        value = to_ibis(k.formula, resolve).cast("float64")
        if k.valid_when:
            value = ibis.ifelse(to_ibis(k.valid_when, resolve).fill_null(False), value, ibis.null("float64"))
        exprs[k.id] = value
    # planned busy time without any data gives no KPI at all, not a 0 from a calendar-only denominator
    no_data = (table.pbt_calendar > 0) & (table.pbt == 0)
    exprs = {k: ibis.ifelse(no_data, ibis.null("float64"), v) for k, v in exprs.items()}
    coverage = (table.pbt / table.pbt_calendar.nullif(0)).cast("float64")
    return table.mutate(data_coverage=coverage, **exprs)


def _finish(table: pa.Table, plant: Plant, level: Level) -> pa.Table:
    """Period bounds as plant-local aware times; NaN (0/0 on some engines) as null."""
    tz = plant.plant.timezone
    for name in ("period_start", "period_end"):
        i = table.schema.get_field_index(name)
        utc = table.column(name).cast(pa.timestamp("us", tz="UTC"))
        table = table.set_column(i, name, utc.cast(pa.timestamp("us", tz=tz)))
    for i, f in enumerate(table.schema):
        if pa.types.is_floating(f.type):
            col = table.column(i)
            table = table.set_column(i, f.name, pc.if_else(pc.is_nan(col), None, col))
    return table
