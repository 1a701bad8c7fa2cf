"""KPI engine speed: every ISO 22400-2 KPI against a hand-written OEE query and pandas.

The plant is the discrete sample (``examples/plants/discrete_machining.toml``) with its line L1
replicated as lines L1..L8 (12 machines each, every one networked), plus a fourth OP10 machining
centre on lines L1..L4: exactly 100 machines. The twin simulates it for 30 days from
2026-03-02 (seed 1) into a store under ``benchmarks/out/`` that is kept between runs, keyed by a
hash of the plant text, start, days and seed (setup, not timed against a target).

Timed, warm, best of 5 (median in the notes), run in turn so none always goes first:

* engine (a): ``kpi.compute(store, start, end, by="equipment", per="day")``, every KPI;
* engine (b): ``kpi.compute(store, start, end, by="line", per="shift")``, every KPI;
* SQL floor: one hand-written DuckDB query on the same connection computing OEE alone by machine
  per local day (states split at local midnight; availability = running ÷ state time that is
  not ``planned_stop``/``no_data``, performance = Σ count × routing cycle ÷ running, quality =
  good ÷ produced);
* pandas: the same OEE in plain pandas (tables read through DuckDB ``.df()`` inside the timer,
  then vectorised clip / repeat / groupby / merge).

Targets: each engine workload ≤ 2× the SQL floor and ≤ 1/20 of pandas (≥ 20× faster); peak
resident memory of workload (a) in a fresh process (its own VmHWM) < 2,048 MB.

Run alone: ``.venv/bin/python benchmarks/bench_kpi.py [--quick]``.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from common import ROOT, Row, environment, markdown, median_of, spread, times, verdict
from smartfactory.cli.simulate import run_into_store
from smartfactory.kpi import compute
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store import TelemetryStore

SOURCE = ROOT / "examples" / "plants" / "discrete_machining.toml"
OUT = ROOT / "benchmarks" / "out"
START = datetime(2026, 3, 2)
SEED = 1
FLOOR_TARGET = 2.0  # engine ≤ 2× the OEE-only SQL floor
PANDAS_TARGET = 20.0  # engine ≥ 20× faster than pandas
MEMORY_TARGET_MB = 2048.0


@dataclass
class Sizes:
    lines: int  # copies of line L1 (12 machines each)
    extra: int  # lines that get a fourth OP10 machine
    days: int
    repeats: int


FULL = Sizes(lines=8, extra=4, days=30, repeats=5)
QUICK = Sizes(lines=2, extra=0, days=3, repeats=1)


# --- the plant ------------------------------------------------------------------------------


def plant_text(lines: int, extra: int) -> str:
    """The sample plant with line L1 copied ``lines`` times (and ``extra`` OP10-M4 machines)."""
    raw = tomllib.loads(SOURCE.read_text(encoding="utf-8"))
    (line,) = raw["line"]
    cells = [c for c in raw["work_cell"] if c["parent"] == line["id"]]
    cell_ids = {c["id"] for c in cells}
    machines = [e for e in raw["equipment"] if e["parent"] in cell_ids]
    routings = [r for r in raw["routing"] if r["line"] == line["id"]]
    parts = ("line", "work_cell", "equipment", "routing", "product", "order", "demand")
    out = {k: v for k, v in raw.items() if k not in parts}
    out["plant"] = {**raw["plant"], "id": "bench-100"}
    for k in parts[:-1]:
        out[k] = []
    copies: dict[str, list[str]] = {e["id"]: [] for e in machines}
    for k in range(1, lines + 1):
        lid = f"L{k}"
        out["line"].append({**line, "id": lid, "name": {"en": f"Housing line {k}", "zh": f"壳体{k}线"}})
        for c in cells:
            out["work_cell"].append({**c, "id": f"{lid}-{c['id']}", "parent": lid})
        extras = [("OP10-M4", machines[0])] if k <= extra else []
        for eid, e in [(e["id"], e) for e in machines] + extras:
            m = copy.deepcopy(e)
            m["id"], m["parent"], m["networked"] = f"{lid}-{eid}", f"{lid}-{e['parent']}", True
            m["name"] = {"en": f"{e['name']['en']} ({eid}, line {k})", "zh": f"{e['name']['zh']}（{k}线）"}
            if "energy" in m:
                m["energy"]["meter"] = f"EM-{lid}-{eid}"
            out["equipment"].append(m)
            copies.setdefault(eid, []).append(m["id"])
        # a product has one routing, so each line makes its own copies of the products
        for p in raw["product"]:
            out["product"].append({**p, "id": f"{p['id']}-{lid}"})
        for r in routings:
            steps = [{**s, "work_cell": f"{lid}-{s['work_cell']}"} for s in r["steps"]]
            out["routing"].append({**r, "product": f"{r['product']}-{lid}", "line": lid, "steps": steps})
        for o in raw.get("order", []):
            out["order"].append({**o, "id": f"{o['id']}-{lid}", "product": f"{o['product']}-{lid}"})
    demand = raw["demand"]  # the same demand per line as the sample line gets
    out["demand"] = {
        **demand,
        "products": [f"{p}-L{k}" for k in range(1, lines + 1) for p in demand["products"]],
        "mix": list(demand["mix"]) * lines,
        "per_day": demand["per_day"] * lines,
    }
    for cal in out["calendar"]:
        for window in cal.get("maintenance", []):
            named = list(window.get("equipment", []))
            if "OP10-M1" in named:
                named.append("OP10-M4")
            window["equipment"] = [c for eid in named for c in copies.get(eid, [])]
    return dump_toml(out)


def dump_toml(doc: dict[str, Any]) -> str:
    """A plant document as TOML: scalars, ``[table]``s and ``[[array]]``s, the rest inline."""
    head = [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if not isinstance(v, dict | list)]
    body: list[str] = []
    for k, v in doc.items():
        if isinstance(v, dict):
            body += ["", f"[{_key(k)}]", *(f"{_key(a)} = {_value(b)}" for a, b in v.items())]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                body += ["", f"[[{_key(k)}]]", *(f"{_key(a)} = {_value(b)}" for a, b in item.items())]
        elif isinstance(v, list):
            head.append(f"{_key(k)} = {_value(v)}")
    return "\n".join(head + body) + "\n"


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(a)} = {_value(b)}" for a, b in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


# --- the store (cached) ----------------------------------------------------------------------


@dataclass
class Setup:
    folder: Path
    plant: Plant
    cached: bool
    simulate_s: float
    rows: dict[str, int]


def prepare(sizes: Sizes) -> Setup:
    """The simulated store for these sizes, reused when a finished one is under benchmarks/out."""
    text = plant_text(sizes.lines, sizes.extra)
    plant = parse_plant(text, "<bench plant>")
    key = hashlib.sha256(f"{text}|{START.isoformat()}|{sizes.days}|{SEED}".encode()).hexdigest()[:12]
    folder = OUT / f"kpi-{len(plant.equipment)}eq-{sizes.days}d-{key}"
    done = folder / "done.json"
    if done.exists():
        info = json.loads(done.read_text())
        return Setup(folder, plant, True, info["simulate_s"], info["rows"])
    shutil.rmtree(folder, ignore_errors=True)  # a run that died half-way
    folder.mkdir(parents=True)
    plant_file = folder / "plant.toml"
    plant_file.write_text(text, encoding="utf-8")
    clock = time.perf_counter()
    run_into_store(plant, plant_file, folder, START, float(sizes.days), SEED, [], quiet=True)
    seconds = time.perf_counter() - clock
    with TelemetryStore.open(folder, mode="read") as store:
        rows = {
            t: int(store.connection.sql(f"SELECT count(*) FROM {t}").fetchall()[0][0])
            for t in ("states", "counts", "measurements", "alarms")
        }
    done.write_text(json.dumps({"simulate_s": seconds, "rows": rows}))
    return Setup(folder, plant, False, seconds, rows)


# --- the workloads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """The window as the store sees it (naive UTC) and the plant's fixed UTC offset."""

    start: datetime  # plant-local
    end: datetime
    lo: datetime  # naive UTC
    hi: datetime
    offset_s: int


def span(plant: Plant, days: int) -> Span:
    tz = ZoneInfo(plant.plant.timezone)
    end = START + timedelta(days=days)
    offset = START.replace(tzinfo=tz).utcoffset()
    if offset is None or end.replace(tzinfo=tz).utcoffset() != offset:
        raise RuntimeError(f"{tz} changes its UTC offset in the window; the baselines assume a fixed one")
    return Span(START, end, START - offset, end - offset, int(offset.total_seconds()))


def routing_table(plant: Plant) -> pa.Table:
    """Equipment, product, planned cycle seconds: the small dimension table the baselines join."""
    rows: dict[str, list[Any]] = {"equipment": [], "product": [], "cycle_s": []}
    for r in plant.routings:
        for step in r.steps:
            for eq in plant.equipment_of(step.work_cell):
                rows["equipment"].append(eq.id)
                rows["product"].append(r.product)
                rows["cycle_s"].append(step.cycle_s)
    return pa.table(rows)


FLOOR_SQL = """
WITH st AS (
    SELECT equipment, state,
           greatest("start", $lo) + INTERVAL {off} SECOND AS t0,
           least("end", $hi) + INTERVAL {off} SECOND AS t1
    FROM states
    WHERE "end" > $lo AND "start" < $hi
), by_day AS (  -- one row per state and local day it touches: split at local midnight
    SELECT equipment, state, t0, t1,
           unnest(generate_series(date_trunc('day', t0), date_trunc('day', t1 - INTERVAL 1 MICROSECOND),
                                  INTERVAL 1 DAY)) AS day
    FROM st
), state_time AS (
    SELECT equipment, day,
           sum(dur) FILTER (WHERE state = 'running') AS run_us,
           sum(dur) FILTER (WHERE state NOT IN ('planned_stop', 'no_data')) AS planned_us
    FROM (SELECT equipment, state, day,
                 date_diff('microsecond', greatest(t0, day), least(t1, day + INTERVAL 1 DAY)) AS dur
          FROM by_day)
    GROUP BY equipment, day
), produced AS (
    SELECT c.equipment, date_trunc('day', c.ts + INTERVAL {off} SECOND) AS day,
           sum(c.good + c.scrap + c.rework) AS pq,
           sum(c.good) AS gq,
           sum((c.good + c.scrap + c.rework) * r.cycle_s) AS ideal_s
    FROM counts c LEFT JOIN bench_routing r ON c.equipment = r.equipment AND c.product = r.product
    WHERE c.ts >= $lo AND c.ts < $hi
    GROUP BY c.equipment, day
), oee AS (
    SELECT s.equipment, s.day,
           s.run_us / nullif(s.planned_us, 0) AS availability,
           p.ideal_s * 1e6 / nullif(s.run_us, 0) AS performance,
           p.gq / nullif(p.pq, 0) AS quality
    FROM state_time s LEFT JOIN produced p USING (equipment, day)
)
SELECT *, availability * performance * quality AS oee FROM oee ORDER BY equipment, day
"""


def sql_floor(con: duckdb.DuckDBPyConnection, s: Span, routing: pa.Table) -> pa.Table:
    """OEE alone by machine and local day in one hand-written DuckDB query."""
    con.register("bench_routing", routing)
    try:
        sql = FLOOR_SQL.format(off=s.offset_s)
        return con.sql(sql, params={"lo": s.lo, "hi": s.hi}).to_arrow_table()
    finally:
        con.unregister("bench_routing")


def pandas_oee(con: duckdb.DuckDBPyConnection, s: Span, routing: pd.DataFrame) -> pd.DataFrame:
    """The same OEE in straightforward pandas, reading the tables through DuckDB."""
    window = {"lo": s.lo, "hi": s.hi}
    states = con.sql('SELECT * FROM states WHERE "end" > $lo AND "start" < $hi', params=window).df()
    counts = con.sql("SELECT * FROM counts WHERE ts >= $lo AND ts < $hi", params=window).df()
    offset, one_day = pd.Timedelta(seconds=s.offset_s), pd.Timedelta(days=1)

    # state time, split at local midnight: repeat each row once per day it touches
    t0 = states["start"].clip(lower=pd.Timestamp(s.lo)) + offset
    t1 = states["end"].clip(upper=pd.Timestamp(s.hi)) + offset
    first = t0.dt.floor("D")
    n_days = ((t1 - pd.Timedelta(microseconds=1)).dt.floor("D") - first) // one_day + 1
    parts = states.loc[states.index.repeat(n_days), ["equipment", "state"]]
    parts["t0"], parts["t1"] = t0.loc[parts.index], t1.loc[parts.index]
    parts["day"] = first.loc[parts.index] + parts.groupby(level=0).cumcount() * one_day
    parts = parts.reset_index(drop=True)
    lo = parts[["t0", "day"]].max(axis=1)
    hi = pd.concat([parts["t1"], parts["day"] + one_day], axis=1).min(axis=1)
    parts["dur"] = (hi - lo).dt.total_seconds()
    parts["running"] = parts["dur"].where(parts["state"] == "running", 0.0)
    parts["planned"] = parts["dur"].where(~parts["state"].isin(["planned_stop", "no_data"]), 0.0)
    state_time = parts.groupby(["equipment", "day"], as_index=False)[["running", "planned"]].sum()

    # quantities: counts × routing cycle time, by local day
    c = counts.merge(routing, on=["equipment", "product"], how="left")
    c["day"] = (c["ts"] + offset).dt.floor("D")
    c["pq"] = c["good"] + c["scrap"] + c["rework"]
    c["ideal_s"] = c["pq"] * c["cycle_s"]
    produced = c.groupby(["equipment", "day"], as_index=False).agg(
        pq=("pq", "sum"), gq=("good", "sum"), ideal_s=("ideal_s", "sum")
    )

    out = state_time.merge(produced, on=["equipment", "day"], how="left")
    out["availability"] = out["running"] / out["planned"].replace(0, np.nan)
    out["performance"] = out["ideal_s"] / out["running"].replace(0, np.nan)
    out["quality"] = out["gq"] / out["pq"].replace(0, np.nan)
    out["oee"] = out["availability"] * out["performance"] * out["quality"]
    return out.sort_values(["equipment", "day"]).reset_index(drop=True)


def engine(store: TelemetryStore, s: Span, by: str, per: str, kpis: list[str] | None = None) -> pa.Table:
    return compute(store, s.start, s.end, by=by, per=per, kpis=kpis)


# --- agreement between the three OEEs ---------------------------------------------------------


def agreement(floor: pa.Table, frame: pd.DataFrame, kpis: pa.Table) -> list[str]:
    """Max |ΔOEE| floor vs pandas (same definition) and floor vs the engine (ISO time model)."""
    f = floor.to_pandas()[["equipment", "day", "oee"]]
    f["day"] = pd.to_datetime(f["day"]).dt.as_unit("us")
    p = frame[["equipment", "day", "oee"]].copy()
    p["day"] = p["day"].dt.as_unit("us")
    fp = f.merge(p, on=["equipment", "day"], how="outer", suffixes=("_sql", "_pd"), indicator=True)
    both = fp["_merge"] == "both"
    d = (fp["oee_sql"] - fp["oee_pd"]).abs()
    null_mismatch = int((fp["oee_sql"].isna() != fp["oee_pd"].isna()).sum())
    if len(f) != len(p) or not both.all() or null_mismatch or d.max() > 1e-9:
        raise RuntimeError(
            f"SQL floor and pandas disagree: {len(f)} vs {len(p)} rows, {int((~both).sum())} unmatched, "
            f"{null_mismatch} null mismatches, max |ΔOEE| {d.max():.3g}"
        )
    e = kpis.select(["node", "period_start", "oee"]).to_pandas()
    e["day"] = e["period_start"].dt.tz_localize(None).dt.as_unit("us")
    fe = f.merge(
        e.rename(columns={"node": "equipment"})[["equipment", "day", "oee"]],
        on=["equipment", "day"],
        how="outer",
        suffixes=("_sql", "_engine"),
    )
    valued = fe["oee_sql"].notna() & fe["oee_engine"].notna()
    de = (fe["oee_sql"] - fe["oee_engine"]).abs()[valued]
    only_one = int((fe["oee_sql"].notna() != fe["oee_engine"].notna()).sum())
    return [
        f"OEE check: SQL floor and pandas agree on all {len(f):,} machine-days (max |ΔOEE| {d.max():.1e})",
        f"OEE of the baselines vs the engine's, {int(valued.sum()):,} machine-days with a value in both "
        f"({only_one} with a value in one only): max |ΔOEE| {de.max():.4f}, mean {de.mean():.5f}. "
        "The engine takes planned busy time from the calendar and counts states inside it only; "
        "the baselines take it from the states (e.g. a failure running into a planned-maintenance "
        "window lowers their availability, not the engine's)",
    ]


# --- peak memory in a fresh process ------------------------------------------------------------

# The child reports its own high-water mark: VmHWM of /proc/self/status on Linux. ru_maxrss (of
# RUSAGE_CHILDREN or wait4) is no good here: Linux carries the RSS peak of the forked copy of this
# process (hundreds of MB: pandas, ibis, the warm-up results) across exec into the child's figure.
PEAK = """
import resource, sys
try:
    with open("/proc/self/status") as status:
        kib = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
except OSError:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
print(kib)
"""

ENGINE_CHILD = (
    """
import time
from datetime import datetime
from smartfactory.kpi import compute
from smartfactory.store import TelemetryStore
clock = time.perf_counter()
with TelemetryStore.open({folder!r}, mode="read") as store:
    rows = compute(store, datetime.fromisoformat({start!r}), datetime.fromisoformat({end!r}),
                   by="equipment", per="day").num_rows
print(rows, time.perf_counter() - clock)
"""
    + PEAK
)

FLOOR_CHILD = (
    """
import time
from datetime import datetime
import duckdb, pyarrow as pa
clock = time.perf_counter()
con = duckdb.connect({file!r}, read_only=True)
con.register("bench_routing", pa.table({routing!r}))
rows = con.sql({sql!r}, params={{"lo": datetime.fromisoformat({lo!r}), "hi": datetime.fromisoformat({hi!r})}})
print(rows.to_arrow_table().num_rows, time.perf_counter() - clock)
"""
    + PEAK
)


def peak_rss(code: str) -> tuple[float, list[str]]:
    """Peak resident set of a fresh Python process running ``code``, in MB, and its output lines."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    lines = done.stdout.split("\n")
    lines = [x for x in lines if x.strip()]
    return int(lines[-1]) * 1024 / 1e6, lines[:-1]


# --- the benchmark -----------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    clock = time.perf_counter()
    action()
    return time.perf_counter() - clock


def secs(x: float) -> str:
    return f"{x:.3f} s"


def run(quick: bool = False) -> str:
    """Run the benchmark and return its table (with notes) as markdown text."""
    sizes = QUICK if quick else FULL
    setup = prepare(sizes)
    plant = setup.plant
    s = span(plant, sizes.days)
    routing = routing_table(plant)
    routing_df = routing.to_pandas()
    n_eq = len(plant.equipment)

    with TelemetryStore.open(setup.folder, mode="read") as store:
        con = store.connection
        jobs: dict[str, Callable[[], Any]] = {
            "a": lambda: engine(store, s, "equipment", "day"),
            "b": lambda: engine(store, s, "line", "shift"),
            "oee": lambda: engine(store, s, "equipment", "day", ["oee"]),
            "floor": lambda: sql_floor(con, s, routing),
            "pandas": lambda: pandas_oee(con, s, routing_df),
        }
        results = {k: job() for k, job in jobs.items()}  # warm-up, and the results to check
        samples: dict[str, list[float]] = {k: [] for k in jobs}
        for run_no in range(sizes.repeats):
            order = list(jobs)[run_no % len(jobs) :] + list(jobs)[: run_no % len(jobs)]
            for k in order:
                samples[k].append(timed(jobs[k]))
    checks = agreement(results["floor"], results["pandas"], results["a"])

    engine_mb, engine_out = peak_rss(
        ENGINE_CHILD.format(folder=str(setup.folder), start=s.start.isoformat(), end=s.end.isoformat())
    )
    floor_mb, _ = peak_rss(
        FLOOR_CHILD.format(
            file=str(setup.folder / "telemetry.duckdb"),
            routing=routing.to_pydict(),
            sql=FLOOR_SQL.format(off=s.offset_s),
            lo=s.lo.isoformat(),
            hi=s.hi.isoformat(),
        )
    )
    child_rows, child_s = engine_out[-1].split()
    if int(child_rows) != results["a"].num_rows:
        raise RuntimeError(f"memory child computed {child_rows} rows, not {results['a'].num_rows}")

    best = {k: min(v) for k, v in samples.items()}
    label = f"kpi {n_eq} eq × {sizes.days} d"
    n_kpi = results["a"].num_columns - 6  # node, level, period_start, period_end, shift, data_coverage
    work = {
        "a": f"(a) {n_kpi} KPIs by equipment per day, {results['a'].num_rows:,} rows",
        "b": f"(b) {n_kpi} KPIs by line per shift, {results['b'].num_rows:,} rows",
    }
    rows: list[Row] = []
    for k in ("a", "b"):
        to_floor, to_pandas = best[k] / best["floor"], best[k] / best["pandas"]
        rows += [
            Row(
                label,
                work[k],
                secs(best[k]),
                f"SQL OEE floor: {secs(best['floor'])}",
                times(to_floor),
                f"≤ {FLOOR_TARGET:g}×",
                verdict(to_floor <= FLOOR_TARGET),
            ),
            Row(
                label,
                work[k],
                secs(best[k]),
                f"pandas OEE: {secs(best['pandas'])}",
                times(to_pandas),
                f"≤ {1 / PANDAS_TARGET:g}× (≥ {PANDAS_TARGET:g}× faster)",
                verdict(to_pandas <= 1 / PANDAS_TARGET),
            ),
        ]
    rows.append(
        Row(
            label,
            f"(c) OEE alone by equipment per day, {results['oee'].num_rows:,} rows",
            secs(best["oee"]),
            f"SQL OEE floor: {secs(best['floor'])}",
            times(best["oee"] / best["floor"]),
            "like for like (info)",
            "info",
        )
    )
    rows += [
        Row(
            label,
            f"SQL OEE floor, {results['floor'].num_rows:,} rows",
            secs(best["floor"]),
            f"pandas OEE: {secs(best['pandas'])}",
            times(best["floor"] / best["pandas"]),
        ),
        Row(
            label,
            "peak RSS of (a) in a fresh process",
            f"{engine_mb:,.0f} MB",
            f"SQL floor process: {floor_mb:,.0f} MB",
            times(engine_mb / floor_mb),
            f"< {MEMORY_TARGET_MB:,.0f} MB",
            verdict(engine_mb < MEMORY_TARGET_MB),
        ),
    ]
    names = {"a": "engine (a)", "b": "engine (b)", "oee": "engine OEE only (c)", "floor": "SQL floor",
             "pandas": "pandas"}  # fmt: skip
    made = "reused from cache, simulated" if setup.cached else "simulated now"
    notes = [
        f"plant: {n_eq} machines on {len(plant.lines)} lines ({sizes.lines} copies of line L1 of "
        f"discrete_machining, {sizes.extra} with a fourth OP10 machine, all networked); "
        f"{sizes.days} days from {START:%Y-%m-%d}, seed {SEED}",
        f"store {setup.folder.relative_to(ROOT)} ({made} in {setup.simulate_s:.1f} s): "
        + ", ".join(f"{n:,} {t}" for t, n in setup.rows.items()),
        *(
            f"{names[k]}: best {secs(min(v))}, median {secs(median_of(v))}, {spread(v)} ({len(v)} runs)"
            for k, v in samples.items()
        ),
        f"engine (a) in the fresh process, cold (imports not counted, plant read from the registry): "
        f"{float(child_s):.2f} s",
        *checks,
    ]
    header = (
        f"### KPI engine ({n_eq} machines × {sizes.days} days, best of {sizes.repeats}, warm)\n\n"
        "ratio = engine wall time ÷ baseline wall time (lower is better); memory row: MB ÷ MB\n"
    )
    return header + "\n" + markdown(rows) + "\n\n" + "\n".join(f"- {x}" for x in notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, one run (smoke test)")
    args = parser.parse_args(argv)
    print(environment())
    print(run(args.quick), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
