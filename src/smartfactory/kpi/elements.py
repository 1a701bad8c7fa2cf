"""The element engine: ISO 22400-2 time elements and quantities per equipment and period.

Everything is one Ibis expression over the stored event tables and the calendar segments of
``periods``, so the same query runs on DuckDB (the embedded store) and PostgreSQL. Times are
summed as integer microseconds, so every engine gets exactly the same elements.

How events meet the calendar: each state interval is clipped to the calendar segments it
overlaps (a segment lies inside one period and one UTC day, so the join is an equality join on
equipment and day plus an overlap test; the rare state spanning days joins on a day range).
Point events (counts, failure starts, meter readings) fall into the segment that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from smartfactory.kpi.definitions import Catalogue
from smartfactory.kpi.periods import CalendarFrame, Category, Window
from smartfactory.model.events import State
from smartfactory.model.plant import Plant, ReasonRole

KEYS = ["equipment", "pstart"]
_ONE_US = ibis.interval(microseconds=1)

# the integer-microsecond elements; converted to seconds before formulas
TIME_COLUMNS = ["pot", "pdot", "pbt_calendar", "ndt", "pbt", "adot", "adet", "asut", "apt", "aupt", "aubt",
                "aoet", "pru_pq", "ttr", "cmt", "pmt"]  # fmt: skip
COUNT_COLUMNS = ["pq", "gq", "sq", "rq", "pq_no_pru", "ip", "gp", "pq_first", "sq_first", "fe", "cn",
                 "epc_missing", "ec_missing"]  # fmt: skip
FLOAT_COLUMNS = ["energy_kwh", "epc", "cz", "czz"]
ELEMENT_COLUMNS = TIME_COLUMNS + COUNT_COLUMNS + FLOAT_COLUMNS


@dataclass(frozen=True)
class Sources:
    """The stored event tables, as tables of one Ibis backend."""

    states: ir.Table
    counts: ir.Table
    measurements: ir.Table


@dataclass(frozen=True)
class PlantTables:
    """What the engine needs of the plant, as small Arrow tables."""

    routing: pa.Table  # equipment, product, pru_us, first
    meters: pa.Table  # equipment, signal
    characteristics: pa.Table  # equipment, signal, target_key, tolerance
    targets: pa.Table  # product, target_key, target
    minor_reasons: tuple[str, ...]  # unplanned-down reasons that are minor stoppages, not failures


def plant_tables(plant: Plant) -> PlantTables:
    """Routing cycle times per equipment, energy meters, characteristics and product targets."""
    routing: dict[str, list[object]] = {"equipment": [], "product": [], "pru_us": [], "first": []}
    for r in plant.routings:
        for k, step in enumerate(r.steps):
            for eq in plant.equipment_of(step.work_cell):
                routing["equipment"].append(eq.id)
                routing["product"].append(r.product)
                routing["pru_us"].append(round(step.cycle_s * 1_000_000))
                routing["first"].append(k == 0)
    meters = {
        "equipment": [e.id for e in plant.equipment if e.energy],
        "signal": [e.energy.signal for e in plant.equipment if e.energy],
    }
    chars: dict[str, list[object]] = {"equipment": [], "signal": [], "target_key": [], "tolerance": []}
    for e in plant.equipment:
        ch = e.quality.characteristic if e.quality else None
        if ch is not None:
            chars["equipment"].append(e.id)
            chars["signal"].append(ch.signal)
            chars["target_key"].append(ch.target_key)
            chars["tolerance"].append(ch.tolerance)
    targets: dict[str, list[object]] = {"product": [], "target_key": [], "target": []}
    for p in plant.products:
        for key, value in p.targets.items():
            targets["product"].append(p.id)
            targets["target_key"].append(key)
            targets["target"].append(float(value))
    minor = tuple(r.code for r in plant.reasons if r.role == ReasonRole.micro_stop)
    text, real = pa.string(), pa.float64()
    return PlantTables(
        routing=pa.table(
            routing,
            schema=pa.schema(
                [("equipment", text), ("product", text), ("pru_us", pa.int64()), ("first", pa.bool_())]
            ),
        ),
        meters=pa.table(meters, schema=pa.schema([("equipment", text), ("signal", text)])),
        characteristics=pa.table(
            chars,
            schema=pa.schema(
                [("equipment", text), ("signal", text), ("target_key", text), ("tolerance", real)]
            ),
        ),
        targets=pa.table(
            targets, schema=pa.schema([("product", text), ("target_key", text), ("target", real)])
        ),
        minor_reasons=minor,
    )


def _micros(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    return later.delta(earlier, unit="microsecond")


def _clip(intervals: ir.Table, start: str, end: str, segments: ir.Table, keep: list[str]) -> ir.Table:
    """Intervals clipped to the segments they overlap: ``keep`` columns, segment cat/pstart, dur."""
    s = intervals.mutate(_b0=intervals[start].date(), _b1=(intervals[end] - _ONE_US).date())
    g = segments

    def pick(j: ir.Table, src: ir.Table) -> ir.Table:
        return j.select(
            *[src[c] for c in keep],
            cat=g.cat,
            pstart=g.pstart,
            dur=_micros(ibis.least(src[end], g.seg_end), ibis.greatest(src[start], g.seg_start)),
        )

    short = s.filter(s._b0 == s._b1)
    one_day = short.join(
        g,
        [
            short.equipment == g.equipment,
            short._b0 == g.bucket,
            short[start] < g.seg_end,
            short[end] > g.seg_start,
        ],
    )
    long = s.filter(s._b0 != s._b1)
    days = long.join(
        g,
        [long.equipment == g.equipment, g.bucket >= long._b0, g.bucket <= long._b1,
         long[start] < g.seg_end, long[end] > g.seg_start],
    )  # fmt: skip
    return pick(one_day, short).union(pick(days, long))


def _locate(points: ir.Table, ts: str, segments: ir.Table, keep: list[str]) -> ir.Table:
    """Point events with the period (and category) of the segment holding them."""
    g = segments
    j = points.join(
        g,
        [points.equipment == g.equipment, points[ts].date() == g.bucket, g.seg_start <= points[ts],
         points[ts] < g.seg_end],
    )  # fmt: skip
    return j.select(*[points[c] for c in keep], cat=g.cat, pstart=g.pstart)


def element_table(
    src: Sources,
    frame: CalendarFrame,
    plant: PlantTables,
    win: Window,
    catalogue: Catalogue,
) -> ir.Table:
    """Every element per equipment and period (times in integer microseconds)."""
    lo, hi = win.utc(win.lo_us), win.utc(win.hi_us)
    segments = ibis.memtable(frame.segments)
    planned = segments.filter(segments.cat != Category.outside.value)
    busy_segments = segments.filter(segments.cat == Category.busy.value)
    cal = ibis.memtable(frame.elements)
    equipment = frame.elements.column("equipment").unique().to_pylist()

    states = src.states.filter(
        src.states.end > lo, src.states.start < hi, src.states.equipment.isin(equipment)
    )
    minor = list(plant.minor_reasons)
    down = states.state == State.unplanned_down.value
    is_minor = states.reason.isin(minor).fill_null(False) if minor else ibis.literal(False)
    states = states.mutate(
        has_order=states.order_id.notnull(),
        failure=down & ~is_minor,
    )

    # --- state time ------------------------------------------------------------------------
    clipped = _clip(states, "start", "end", planned, ["equipment", "state", "has_order", "failure"])
    cases = []
    for state, rule in catalogue.state_map.items():
        cond = clipped.state == state.value
        if rule.with_order != rule.element:
            cases.append((cond & clipped.has_order, rule.with_order))
        cases.append((cond, rule.element))
    element = ibis.cases(*cases, else_="ADOT")
    inside = clipped.cat == Category.busy.value

    def part(name: str) -> ir.IntegerScalar:
        return (inside & (element == name)).ifelse(clipped.dur, 0).sum()

    state_time = clipped.group_by(KEYS).aggregate(
        apt=part("APT"),
        asut=part("ASUT"),
        adet=part("ADET"),
        adot=part("ADOT"),
        cmt=clipped.failure.ifelse(clipped.dur, 0).sum(),
    )

    # --- orders: first to last state carrying each order id, inside planned busy time ------
    with_order = states.filter(states.has_order)
    spans = with_order.group_by(["equipment", "order_id"]).aggregate(
        ostart=with_order.start.min(), oend=with_order.end.max()
    )
    order_time = (
        _clip(spans, "ostart", "oend", busy_segments, ["equipment"])
        .group_by(KEYS)
        .aggregate(aoet=lambda t: t.dur.sum())
    )

    # --- failures: runs of failure states (a chunked or re-sent row continues its run) ---
    fails = states.filter(states.failure)
    w = ibis.window(group_by=fails.equipment, order_by=fails.start)
    fails = fails.mutate(
        _prev_end=fails.end.lag().over(w), _prev_reason=fails.reason.fill_null("").lag().over(w)
    )
    fails = fails.mutate(
        _new=(
            fails._prev_end.isnull()
            | (fails._prev_end != fails.start)
            | (fails._prev_reason != fails.reason.fill_null(""))
        ).cast("int64")
    )
    fails = fails.mutate(_run=fails._new.cumsum(group_by=fails.equipment, order_by=fails.start))
    runs = fails.group_by(["equipment", "_run"]).aggregate(
        rstart=fails.start.min(), ttr=_micros(fails.end, fails.start).sum()
    )
    located_runs = _locate(runs, "rstart", segments, ["equipment", "ttr"])
    failure_time = located_runs.group_by(KEYS).aggregate(fe=located_runs.count(), ttr=located_runs.ttr.sum())

    # --- counts --------------------------------------------------------------------------
    counts = src.counts.filter(src.counts.ts >= lo, src.counts.ts < hi, src.counts.equipment.isin(equipment))
    pw = ibis.window(group_by=[counts.equipment, counts.part_id], order_by=counts.ts)
    counts = counts.mutate(
        _pq=counts.good + counts.scrap + counts.rework,
        _first_seen=counts.part_id.notnull() & (ibis.row_number().over(pw) == 0),
    )
    routing = ibis.memtable(plant.routing)
    c = _locate(
        counts, "ts", segments, ["equipment", "product", "good", "scrap", "rework", "_pq", "_first_seen"]
    )
    c = c.left_join(routing, [c.equipment == routing.equipment, c.product == routing.product]).select(
        *[c[k] for k in c.columns], pru_us=routing.pru_us, first=routing.first.fill_null(False)
    )
    quantities = c.group_by(KEYS).aggregate(
        pq=c._pq.sum(),
        gq=c.good.sum(),
        sq=c.scrap.sum(),
        rq=c.rework.sum(),
        pru_pq=(c._pq.cast("int64") * c.pru_us).sum(),
        pq_no_pru=c.pru_us.isnull().ifelse(c._pq, 0).sum(),
        ip=c._first_seen.ifelse(1, 0).sum(),
        gp=(c._first_seen & (c.good > 0)).ifelse(1, 0).sum(),
        pq_first=c.first.ifelse(c._pq, 0).sum(),
        sq_first=c.first.ifelse(c.scrap, 0).sum(),
    )

    # --- energy: increments of cumulative meters ------------------------------------------
    meters = ibis.memtable(plant.meters)
    m = src.measurements
    m = m.filter(m.ts > win.utc(win.lo_us - 86_400_000_000), m.ts < hi)
    m = m.join(meters, [m.equipment == meters.equipment, m.signal == meters.signal]).select(
        m.equipment, m.ts, m.value
    )
    mw = ibis.window(group_by=m.equipment, order_by=m.ts)
    m = m.mutate(_prev=m.value.lag().over(mw))
    m = m.mutate(
        _delta=ibis.cases((m._prev.isnull(), 0.0), (m.value < m._prev, m.value), else_=m.value - m._prev)
    )
    m = m.filter(m.ts >= lo)
    readings = _locate(m, "ts", segments, ["equipment", "_delta"])
    energy = readings.group_by(KEYS).aggregate(energy_kwh=readings._delta.sum())

    # --- measured characteristics against the target of the product made ------------------
    chars = ibis.memtable(plant.characteristics)
    targets = ibis.memtable(plant.targets)
    x = src.measurements
    x = x.filter(x.ts >= lo, x.ts < hi)
    x = x.join(chars, [x.equipment == chars.equipment, x.signal == chars.signal]).select(
        x.equipment, x.ts, x.value, chars.target_key, chars.tolerance
    )
    made = counts.select("equipment", "ts", "product")
    x = x.join(made, [x.equipment == made.equipment, x.ts == made.ts]).select(
        x.equipment, x.ts, x.value, x.target_key, x.tolerance, made.product
    )
    x = x.join(targets, [x.product == targets.product, x.target_key == targets.target_key]).select(
        x.equipment, x.ts, _z=(x.value - targets.target) / x.tolerance
    )
    samples = _locate(x, "ts", segments, ["equipment", "_z"])
    capability = samples.group_by(KEYS).aggregate(
        cn=samples.count(), cz=samples._z.sum(), czz=(samples._z * samples._z).sum()
    )

    out = cal
    for part_table in (state_time, order_time, failure_time, quantities, energy, capability):
        joined = out.left_join(part_table, KEYS)
        out = joined.select(*[c for c in joined.columns if not c.endswith("_right")])
    out = out.mutate(**{c: out[c].fill_null(0) for c in ELEMENT_COLUMNS if c in out.columns})
    covered = out.apt + out.asut + out.adet + out.adot
    out = out.mutate(ndt=ibis.greatest(out.pbt_calendar - covered, 0))
    out = out.mutate(
        pbt=out.pbt_calendar - out.ndt,
        aupt=out.apt + out.asut,
        aubt=out.apt + out.asut + out.adet,
    )
    return out
