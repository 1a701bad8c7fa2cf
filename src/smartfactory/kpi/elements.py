"""The element engine: ISO 22400-2 time elements and quantities per equipment and period.

Everything is one Ibis expression over the stored event tables and the calendar segments of
``periods``, so the same query runs on DuckDB (the embedded store) and PostgreSQL. Times are
summed as integer microseconds, so every engine gets exactly the same elements.

How events meet the calendar: each state interval is clipped to the calendar segments it
overlaps (a segment lies inside one period and one UTC hour, so the join is an equality join on
equipment and hour plus an overlap test; a state spanning hours is expanded to one row per hour).
Point events (counts, failure starts, meter readings) fall into the segment that holds them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from smartfactory.kpi.definitions import Catalogue
from smartfactory.kpi.periods import BUCKET_US, CalendarFrame, Category, Window
from smartfactory.model.events import State
from smartfactory.model.plant import Plant, ReasonRole

KEYS = ["equipment", "pstart"]
_ONE_US = ibis.interval(microseconds=1)
_EPOCH = ibis.timestamp("1970-01-01 00:00:00")

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


# Float sums (energy, capability) are taken in fixed point: each value as an integer number of
# 2⁻³⁶ units (about 1.5e-11), summed exactly as integers, so a sum does not depend on the order a
# parallel aggregate adds in, and the same query gives the same digits every time and on every
# engine. A value moves by at most 7.3e-12; a sum of one equipment and period may reach 1.3e8.
FIXED = float(2**36)


def _fixed(x: ir.FloatingValue) -> ir.IntegerValue:
    return (x * FIXED).round()


def _unfixed(total: ir.IntegerScalar) -> ir.FloatingScalar:
    return total.cast("float64") / FIXED


def _micros(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    return later.delta(earlier, unit="microsecond")


def _bucket(ts: ir.TimestampValue) -> ir.IntegerValue:
    """The UTC hour holding ``ts``, as an integer (exact on every engine: integer microseconds)."""
    return ts.delta(_EPOCH, unit="microsecond") // BUCKET_US


def _clip(intervals: ir.Table, start: str, end: str, segments: ir.Table, keep: list[str]) -> ir.Table:
    """Intervals clipped to the segments they overlap: ``keep`` columns, segment cat/pstart, dur."""
    s = intervals.mutate(_b0=_bucket(intervals[start]), _b1=_bucket(intervals[end] - _ONE_US))
    g = segments

    def pick(j: ir.Table, src: ir.Table) -> ir.Table:
        return j.select(
            *[src[c] for c in keep],
            cat=g.cat,
            pstart=g.pstart,
            dur=_micros(ibis.least(src[end], g.seg_end), ibis.greatest(src[start], g.seg_start)),
        )

    def meet(part: ir.Table, bucket: ir.IntegerValue) -> ir.Table:
        joined = part.join(
            g,
            [
                part.equipment == g.equipment,
                bucket == g.bucket,
                part[start] < g.seg_end,
                part[end] > g.seg_start,
            ],
        )
        return pick(joined, part)

    # each interval meets the segments of each hour it touches (most touch one)
    hours = s.mutate(_b=ibis.range(s._b0, s._b1 + 1).unnest())
    return meet(hours, hours._b)


def _locate(points: ir.Table, ts: str, segments: ir.Table, keep: list[str]) -> ir.Table:
    """Point events with the period (and category) of the segment holding them."""
    g = segments
    j = points.join(
        g,
        [points.equipment == g.equipment, _bucket(points[ts]) == g.bucket, g.seg_start <= points[ts],
         points[ts] < g.seg_end],
    )  # fmt: skip
    return j.select(*[points[c] for c in keep], cat=g.cat, pstart=g.pstart)


# which element columns each part of the query yields; a part nobody asks for is not run
PARTS: dict[str, tuple[str, ...]] = {
    "orders": ("aoet",),
    "failures": ("fe", "ttr"),
    "quantities": ("pq", "gq", "sq", "rq", "pru_pq", "pq_no_pru", "pq_first", "sq_first"),
    "parts": ("ip", "gp"),
    "energy": ("energy_kwh",),
    "capability": ("cn", "cz", "czz"),
}
# always computed: the calendar elements and the state time (PBT and data coverage need them)
ALWAYS = ("pot", "pdot", "pbt_calendar", "pmt", "epc", "epc_missing", "ec_missing",
          "apt", "asut", "adet", "adot", "cmt", "ndt", "pbt", "aupt", "aubt")  # fmt: skip


def element_table(
    src: Sources,
    frame: CalendarFrame,
    plant: PlantTables,
    win: Window,
    catalogue: Catalogue,
    columns: set[str] | None = None,
) -> ir.Table:
    """Elements per equipment and period (times in integer microseconds); all when ``columns`` is None."""
    wanted = set(ELEMENT_COLUMNS) if columns is None else set(columns)
    q = _Query(src, frame, plant, win)
    out = q.calendar
    parts = [q.state_time(catalogue)]
    for name, produced in PARTS.items():
        if wanted & set(produced):
            parts.append(getattr(q, name)())
    for part_table in parts:
        joined = out.left_join(part_table, KEYS)
        out = joined.select(*[c for c in joined.columns if not c.endswith("_right")])
    out = out.mutate(**{c: out[c].fill_null(0) for c in ELEMENT_COLUMNS if c in out.columns})
    covered = out.apt + out.asut + out.adet + out.adot
    out = out.mutate(ndt=ibis.greatest(out.pbt_calendar - covered, 0))
    return out.mutate(
        pbt=out.pbt_calendar - out.ndt,
        aupt=out.apt + out.asut,
        aubt=out.apt + out.asut + out.adet,
    )


class _Query:
    """The parts of the element query, sharing the window, the segments and the filtered tables."""

    def __init__(self, src: Sources, frame: CalendarFrame, plant: PlantTables, win: Window) -> None:
        self.plant = plant
        self.win = win
        self.lo, self.hi = win.utc(win.lo_us), win.utc(win.hi_us)
        self.segments = ibis.memtable(frame.segments)
        self.calendar = ibis.memtable(frame.elements)
        s = src.states
        # no equipment filter here: the joins with the segments keep only the equipment asked for
        states = s.filter(s.end > self.lo, s.start < self.hi)
        minor = list(plant.minor_reasons)
        is_minor = states.reason.isin(minor).fill_null(False) if minor else ibis.literal(False)
        self.states = states.mutate(
            has_order=states.order_id.notnull(),
            failure=(states.state == State.unplanned_down.value) & ~is_minor,
        )
        c = src.counts
        self.counts = c.filter(c.ts >= self.lo, c.ts < self.hi)
        self.measurements = src.measurements

    def state_time(self, catalogue: Catalogue) -> ir.Table:
        """APT, ASUT, ADET, ADOT inside planned busy time; failure time inside planned operation."""
        seg = self.segments
        planned = seg.filter(seg.cat != Category.outside.value)
        clipped = _clip(self.states, "start", "end", planned, ["equipment", "state", "has_order", "failure"])
        # sum first over the few distinct (state, order?, failure?, category) combinations, so the
        # state mapping below runs on thousands of rows, not on every clipped interval
        keys = [*KEYS, "cat", "state", "has_order", "failure"]
        t = clipped.group_by(keys).aggregate(dur=clipped.dur.sum())
        cases = []
        for state, rule in catalogue.state_map.items():
            cond = t.state == state.value
            if rule.with_order != rule.element:
                cases.append((cond & t.has_order, rule.with_order))
            cases.append((cond, rule.element))
        t = t.mutate(_element=ibis.cases(*cases, else_="ADOT"), _inside=t.cat == Category.busy.value)

        def part(name: str) -> ir.IntegerScalar:
            return (t._inside & (t._element == name)).ifelse(t.dur, 0).sum()

        return t.group_by(KEYS).aggregate(
            apt=part("APT"),
            asut=part("ASUT"),
            adet=part("ADET"),
            adot=part("ADOT"),
            cmt=t.failure.ifelse(t.dur, 0).sum(),
        )

    def orders(self) -> ir.Table:
        """AOET: first to last state carrying each order id, inside planned busy time."""
        seg = self.segments
        busy = seg.filter(seg.cat == Category.busy.value)
        with_order = self.states.filter(self.states.has_order)
        spans = with_order.group_by(["equipment", "order_id"]).aggregate(
            ostart=with_order.start.min(), oend=with_order.end.max()
        )
        clipped = _clip(spans, "ostart", "oend", busy, ["equipment"])
        return clipped.group_by(KEYS).aggregate(aoet=clipped.dur.sum())

    def failures(self) -> ir.Table:
        """FE and TTR: runs of failure states (a chunked or re-sent row continues its run)."""
        fails = self.states.filter(self.states.failure)
        w = ibis.window(group_by=fails.equipment, order_by=fails.start)
        fails = fails.mutate(
            _prev_end=fails.end.lag().over(w), _prev_reason=fails.reason.fill_null("").lag().over(w)
        )
        fails = fails.mutate(
            _new=(
                fails._prev_end.isnull()
                | (fails._prev_end != fails.start)
                | (fails._prev_reason != fails.reason.fill_null(""))
            ).ifelse(1, 0)  # PostgreSQL has no boolean → bigint cast
        )
        fails = fails.mutate(_run=fails._new.cumsum(group_by=fails.equipment, order_by=fails.start))
        runs = fails.group_by(["equipment", "_run"]).aggregate(
            rstart=fails.start.min(), ttr=_micros(fails.end, fails.start).sum()
        )
        located = _locate(runs, "rstart", self.segments, ["equipment", "ttr"])
        return located.group_by(KEYS).aggregate(fe=located.count(), ttr=located.ttr.sum())

    def quantities(self) -> ir.Table:
        """PQ, GQ, SQ, RQ and PRU×PQ from counts and the routing."""
        counts = self.counts.mutate(_pq=self.counts.good + self.counts.scrap + self.counts.rework)
        routing = ibis.memtable(self.plant.routing)
        c = _locate(counts, "ts", self.segments, ["equipment", "product", "good", "scrap", "rework", "_pq"])
        c = c.left_join(routing, [c.equipment == routing.equipment, c.product == routing.product]).select(
            *[c[k] for k in c.columns], pru_us=routing.pru_us, first=routing.first.fill_null(False)
        )
        return c.group_by(KEYS).aggregate(
            pq=c._pq.sum(),
            gq=c.good.sum(),
            sq=c.scrap.sum(),
            rq=c.rework.sum(),
            pru_pq=(c._pq.cast("int64") * c.pru_us).sum(),
            pq_no_pru=c.pru_us.isnull().ifelse(c._pq, 0).sum(),
            pq_first=c.first.ifelse(c._pq, 0).sum(),
            sq_first=c.first.ifelse(c.scrap, 0).sum(),
        )

    def parts(self) -> ir.Table:
        """IP and GP: serialised parts at their first count on the equipment, and whether it was good."""
        c = self.counts.filter(self.counts.part_id.notnull())
        firsts = c.group_by(["equipment", "part_id"]).aggregate(
            first_ts=c.ts.min(), first_good=c.good.argmin(c.ts)
        )
        located = _locate(firsts, "first_ts", self.segments, ["equipment", "first_good"])
        return located.group_by(KEYS).aggregate(
            ip=located.count(), gp=(located.first_good > 0).ifelse(1, 0).sum()
        )

    @functools.cached_property
    def watched(self) -> ir.Table:
        """Readings of meters and characteristics: one scan of the measurements serves both parts."""
        signals = sorted(
            set(self.plant.meters.column("signal").to_pylist())
            | set(self.plant.characteristics.column("signal").to_pylist())
        )
        m = self.measurements
        # from a day early: the last meter reading before the window gives the first increment
        since = self.win.utc(self.win.lo_us - 86_400_000_000)
        return m.filter(m.signal.isin(signals or [""]), m.ts >= since, m.ts < self.hi)

    def energy(self) -> ir.Table:
        """Energy: increments of cumulative meters (a drop is a reset)."""
        meters = ibis.memtable(self.plant.meters)
        m = self.watched
        m = m.join(meters, [m.equipment == meters.equipment, m.signal == meters.signal]).select(
            m.equipment, m.ts, m.value
        )
        mw = ibis.window(group_by=m.equipment, order_by=m.ts)
        m = m.mutate(_prev=m.value.lag().over(mw))
        m = m.mutate(
            _delta=ibis.cases((m._prev.isnull(), 0.0), (m.value < m._prev, m.value), else_=m.value - m._prev)
        )
        m = m.filter(m.ts >= self.lo).mutate(_delta=_fixed(m._delta))
        readings = _locate(m, "ts", self.segments, ["equipment", "_delta"])
        return readings.group_by(KEYS).aggregate(energy_kwh=_unfixed(readings._delta.sum()))

    def capability(self) -> ir.Table:
        """CN, CZ, CZZ: characteristic measurements against the target of the product made."""
        chars = ibis.memtable(self.plant.characteristics)
        targets = ibis.memtable(self.plant.targets)
        x = self.watched
        x = x.filter(x.ts >= self.lo)
        x = x.join(chars, [x.equipment == chars.equipment, x.signal == chars.signal]).select(
            x.equipment, x.ts, x.value, chars.target_key, chars.tolerance
        )
        made = self.counts.select("equipment", "ts", "product")
        x = x.join(made, [x.equipment == made.equipment, x.ts == made.ts]).select(
            x.equipment, x.ts, x.value, x.target_key, x.tolerance, made.product
        )
        x = x.join(targets, [x.product == targets.product, x.target_key == targets.target_key]).select(
            x.equipment, x.ts, _z=(x.value - targets.target) / x.tolerance
        )
        x = x.mutate(_zz=_fixed(x._z * x._z), _z=_fixed(x._z))
        samples = _locate(x, "ts", self.segments, ["equipment", "_z", "_zz"])
        return samples.group_by(KEYS).aggregate(
            cn=samples.count(), cz=_unfixed(samples._z.sum()), czz=_unfixed(samples._zz.sum())
        )
