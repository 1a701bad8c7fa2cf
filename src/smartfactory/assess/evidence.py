"""Live evidence: the numbers an assessment can take from the plant's own data, with provenance.

The research notes (levels.md, Encoding notes §6) ask for *live metrics* computed from plant
data in preference to self-declared numbers, each traceable to the raw signals. Every metric
here is one small function returning an ``Evidence``: the value (or None and why), its
numerator and denominator, the period the data covered, and a provenance dict that lets a
reviewer redo the number — the SQL run against the telemetry store or the KPI call, the
store path, the plant id, the rows read, and which equipment or signals were counted and
which were not.

Windows. Store metrics look at the ``days`` days up to ``as_of`` (default: the end of the
stored data); a time at either end counts, and a state counts when it overlaps the window.
The KPIs run over that window clipped to the stored data. Scenario metrics read the scenario
registry over the ``days`` days up to ``as_of`` (default: the later of now and the end of the
stored data, since scenarios record wall-clock times even when the telemetry is a replay).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from smartfactory.kpi import KpiResult, catalogue, compute_result
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Level, Plant
from smartfactory.model.text import choose, resolve_language
from smartfactory.store import EventStore, Registry, ScenarioRunRecord, list_scenario_runs

KEY_EQUIPMENT_NETWORKING_RATE = "key_equipment_networking_rate"
SIGNAL_COLLECTION_COVERAGE = "signal_collection_coverage"
KEY_PROCESS_AUTOMATION_RATE = "key_process_automation_rate"
ENERGY_METERING_COVERAGE = "energy_metering_coverage"
OEE = "oee"
FIRST_PASS_YIELD = "first_pass_yield"
MTBF_H = "mtbf_h"
SCENARIOS_IN_USE = "scenarios_in_use"
AI_SCENARIO_SHARE = "ai_scenario_share"

NO_STORE = "no store"
NO_REGISTRY = "no registry"
_NO_STORE_ZH = "未提供存储目录"
_NO_REGISTRY_ZH = "未提供场景登记库"

_KPI_IDS = ["oee", "first_pass_yield", "mtbf"]


@dataclass(frozen=True)
class Evidence:
    """One live metric: its value (None when it cannot be measured, then ``why``) and provenance."""

    metric: str
    value: float | None
    unit: str
    numerator: float | None
    denominator: float | None
    period: tuple[datetime, datetime] | None
    provenance: dict[str, Any]
    why: str | None = None


def live_evidence(
    plant: Plant,
    store: EventStore | None,
    registry: Registry | None = None,
    *,
    as_of: datetime | None = None,
    days: int = 30,
    lang: str = "en",
) -> dict[str, Evidence]:
    """Every live metric of ``plant`` from its telemetry ``store`` and scenario ``registry``.

    Metrics that need the store are None with why ``"no store"`` without one; the scenario
    metrics are None with why ``"no registry"`` without a registry. ``as_of`` must be aware.
    Each why is in ``lang`` ("en" or "zh"), the language of the assessment it goes into.
    """
    if days <= 0:
        raise ValueError(f"days is {days}; the window needs at least one day")
    if as_of is not None and as_of.utcoffset() is None:
        raise ValueError(f"as_of {as_of.isoformat()} has no time zone; pass an aware datetime")
    sources = Sources(plant, store, registry, as_of, days, lang)
    return {metric: measure(sources) for metric, measure in METRICS.items()}


# --- what every metric reads ------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    """``days`` days up to ``end`` (aware UTC), and why ``end`` is where it is."""

    start: datetime
    end: datetime
    days: int
    end_from: str

    def params(self) -> dict[str, datetime]:
        """The bounds as the store keeps times: naive UTC."""
        return {"lo": _naive(self.start), "hi": _naive(self.end)}

    def describe(self) -> dict[str, Any]:
        """The window for provenance."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "end_from": self.end_from,
            "bounds": "both ends included; states count when they overlap the window",
        }


@dataclass(frozen=True)
class _Query:
    """SQL run against the telemetry store and the rows it returned."""

    sql: str
    params: dict[str, datetime]
    rows: list[dict[str, Any]]

    def describe(self) -> dict[str, Any]:
        """The query for provenance."""
        return {
            "sql": self.sql,
            "params": {k: v.isoformat() for k, v in self.params.items()},
            "result_rows": len(self.rows),
        }


@dataclass(frozen=True)
class _KpiRun:
    """The KPIs over the window (one row for the whole plant) and week by week."""

    call: str
    week_call: str
    result: KpiResult
    row: dict[str, Any]
    weeks: list[dict[str, Any]]


class Sources:
    """The plant, store and registry, with every store read done once and shared."""

    def __init__(
        self,
        plant: Plant,
        store: EventStore | None,
        registry: Registry | None,
        as_of: datetime | None,
        days: int,
        lang: str = "en",
    ) -> None:
        self.plant = plant
        self.store = store
        self.registry = registry
        self.as_of = as_of.astimezone(UTC) if as_of is not None else None
        self.days = days
        self.lang = resolve_language(lang)

    def t(self, en: str, zh: str) -> str:
        """A why in the assessment's language."""
        return choose(self.lang, en, zh)

    @cached_property
    def data_range(self) -> tuple[datetime, datetime] | None:
        """First and last event time in the store (aware UTC); None when it holds none."""
        if self.store is None:
            return None
        lo, hi = self.store.time_range()
        if lo is None or hi is None:
            return None
        return lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC)

    @cached_property
    def window(self) -> _Window | None:
        """The store window; None without a store or when no ``as_of`` and no data fix its end."""
        if self.as_of is not None:
            return _window(self.as_of, self.days, "as_of")
        if self.data_range is None:
            return None
        return _window(self.data_range[1], self.days, "the end of the stored data")

    @cached_property
    def covered(self) -> tuple[datetime, datetime] | None:
        """The part of the window the stored data covers."""
        if self.window is None or self.data_range is None:
            return None
        lo = max(self.window.start, self.data_range[0])
        hi = min(self.window.end, self.data_range[1])
        return (lo, hi) if lo <= hi else None

    def base(self) -> dict[str, Any]:
        """Provenance every store metric starts from."""
        out: dict[str, Any] = {"plant_id": self.plant.plant.id}
        if self.store is not None:
            out["store"] = self.store.location
        if self.window is not None:
            out["window"] = self.window.describe()
        if self.data_range is not None:
            first, last = self.data_range
            out["stored_data"] = {"first": first.isoformat(), "last": last.isoformat()}
        return out

    def unmeasurable(self) -> str | None:
        """Why store metrics cannot be measured at all, or None when they can."""
        if self.store is None:
            return self.t(NO_STORE, _NO_STORE_ZH)
        if self.window is None:
            return self.t(
                f"the store {self.store.location} holds no events", f"存储 {self.store.location} 中没有事件"
            )
        return None

    def unmeasured(self, metric: str, unit: str) -> Evidence | None:
        """Evidence without a value when store metrics cannot be measured at all, else None."""
        why = self.unmeasurable()
        return _missing(metric, unit, why, self.base()) if why else None

    def ratio(self, metric: str, count: Callable[[Sources], _Count]) -> Evidence:
        """A store metric that ``count`` counts over the window, or none when the store cannot be read."""
        if missing := self.unmeasured(metric, "ratio"):
            return missing
        provenance = self.base()
        numerator, denominator, details, empty = count(self)
        return _ratio(metric, numerator, denominator, self.covered, provenance | details, empty)

    @cached_property
    def activity(self) -> _Query:
        """Rows per equipment and event type in the window."""
        assert self.store is not None and self.window is not None
        return self._run(_ACTIVITY_SQL)

    @cached_property
    def measured(self) -> _Query:
        """Measurements per equipment and signal in the window."""
        assert self.store is not None and self.window is not None
        return self._run(_MEASURED_SQL)

    @cached_property
    def measurement_counts(self) -> dict[tuple[str, str], int]:
        """Measurements in the window per (equipment, signal), from ``measured``."""
        return {(row["equipment"], row["signal"]): int(row["n"]) for row in self.measured.rows}

    def _run(self, sql: str) -> _Query:
        assert self.store is not None and self.window is not None
        params = self.window.params()
        return _Query(sql, params, self.store.query(sql, params).to_pylist())

    @cached_property
    def kpis(self) -> _KpiRun | str:
        """The KPI run, or why there is none."""
        assert self.store is not None
        if self.covered is None:
            return self.t("no events in the window", "时间窗口内没有事件")
        start, end = self.covered
        try:
            result = compute_result(
                self.store, start, end, by=Level.enterprise, per="window", kpis=_KPI_IDS, plant=self.plant
            )
            weekly = compute_result(
                self.store, start, end, by=Level.enterprise, per="week", kpis=_KPI_IDS, plant=self.plant
            )
        except UserError as exc:
            return str(exc)
        rows = result.rows()
        if not rows:
            return self.t("the KPI engine returned no row for the plant", "KPI 引擎未返回工厂的结果行")
        calls = _kpi_call(start, end, "window"), _kpi_call(start, end, "week")
        return _KpiRun(*calls, result, rows[0], weekly.rows())

    @cached_property
    def scenario_window(self) -> _Window:
        """The window scenario runs are read over."""
        if self.as_of is not None:
            return _window(self.as_of, self.days, "as_of")
        now = datetime.now(UTC)
        if self.data_range is not None and self.data_range[1] > now:
            return _window(self.data_range[1], self.days, "the end of the stored data (later than now)")
        return _window(now, self.days, "now")

    @cached_property
    def finished_runs(self) -> list[ScenarioRunRecord]:
        """This plant's scenario runs that finished inside the scenario window, oldest first."""
        assert self.registry is not None
        win = self.scenario_window
        runs = list_scenario_runs(self.registry, self.plant.plant.id, since=win.start, until=win.end)
        done = [
            r
            for r in runs
            if r["status"] == "finished"
            and r["finished_at"] is not None
            and win.start <= r["finished_at"] <= win.end
        ]
        return sorted(done, key=lambda r: (r["finished_at"] or win.end, r["id"]))


_ACTIVITY_SQL = """\
SELECT 'states' AS event_type, equipment, count(*) AS n FROM states
 WHERE "start" <= $hi AND "end" >= $lo GROUP BY equipment
UNION ALL
SELECT 'counts', equipment, count(*) FROM counts WHERE ts >= $lo AND ts <= $hi GROUP BY equipment
UNION ALL
SELECT 'measurements', equipment, count(*) FROM measurements WHERE ts >= $lo AND ts <= $hi GROUP BY equipment
ORDER BY equipment, event_type"""

_MEASURED_SQL = """\
SELECT equipment, signal, count(*) AS n FROM measurements
 WHERE ts >= $lo AND ts <= $hi GROUP BY equipment, signal ORDER BY equipment, signal"""


def _window(end: datetime, days: int, end_from: str) -> _Window:
    return _Window(end - timedelta(days=days), end, days, end_from)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _kpi_call(start: datetime, end: datetime, per: str) -> str:
    return (
        f"smartfactory.kpi.compute_result(store, {start.isoformat()!r}, {end.isoformat()!r}, "
        f'by="enterprise", per="{per}", kpis={_KPI_IDS!r}, plant=plant)'
    )


# what a store metric counts: numerator, denominator, the provenance details, and why it has no
# value when the denominator is 0
_Count = tuple[int, int, dict[str, Any], str]


def _ratio(
    metric: str,
    numerator: int,
    denominator: int,
    period: tuple[datetime, datetime] | None,
    provenance: dict[str, Any],
    empty: str,
) -> Evidence:
    """numerator / denominator, or None with ``empty`` as the reason when nothing is counted."""
    if denominator == 0:
        return Evidence(metric, None, "ratio", numerator, denominator, period, provenance, empty)
    return Evidence(metric, numerator / denominator, "ratio", numerator, denominator, period, provenance)


def _missing(metric: str, unit: str, why: str, provenance: dict[str, Any]) -> Evidence:
    return Evidence(metric, None, unit, None, None, None, provenance, why)


# --- store metrics ------------------------------------------------------------------------


def key_equipment_networking_rate(src: Sources) -> Evidence:
    """Key equipment with at least one state, count or measurement in the window / all key equipment."""
    return src.ratio(KEY_EQUIPMENT_NETWORKING_RATE, _networked_key_equipment)


def _networked_key_equipment(src: Sources) -> _Count:
    query = src.activity
    events: dict[str, dict[str, int]] = {}
    for row in query.rows:
        events.setdefault(row["equipment"], {})[row["event_type"]] = int(row["n"])
    equipment = src.plant.equipment_by_id()
    key = [e for e in src.plant.equipment if e.key]
    connected = [e.id for e in key if e.id in events]
    details = {
        "query": query.describe(),
        "rule": src.t(
            "key equipment (key = true) with at least one state, count or measurement in the window",
            "时间窗口内至少有一条状态、计数或测量记录的关键设备（key = true）",
        ),
        "events_counted": sum(sum(by_type.values()) for by_type in events.values()),
        "key_equipment": [e.id for e in key],
        "connected": {eid: events[eid] for eid in connected},
        "not_connected": [e.id for e in key if e.id not in events],
        "declared_networked_but_silent": [e.id for e in key if e.networked and e.id not in events],
        "declared_not_networked_but_sending": [e.id for e in key if not e.networked and e.id in events],
        "not_key_with_events": [eid for eid in events if eid in equipment and not equipment[eid].key],
        "unknown_equipment_with_events": sorted(eid for eid in events if eid not in equipment),
    }
    empty = src.t("the plant marks no equipment as key", "工厂模型未把任何设备标为关键设备")
    return len(connected), len(key), details, empty


def _declared_signals(plant: Plant) -> list[tuple[str, str]]:
    """(equipment, signal) of every declared signal and energy meter, in file order."""
    declared: dict[tuple[str, str], None] = {}
    for e in plant.equipment:
        for s in e.signals:
            declared[(e.id, s.name)] = None
        if e.energy is not None:
            declared[(e.id, e.energy.signal)] = None
    return list(declared)


def signal_collection_coverage(src: Sources) -> Evidence:
    """Declared signals (and energy meters) with at least one measurement in the window / all declared."""
    return src.ratio(SIGNAL_COLLECTION_COVERAGE, _measured_signals)


def _measured_signals(src: Sources) -> _Count:
    seen = src.measurement_counts
    declared = _declared_signals(src.plant)
    measured = [pair for pair in declared if pair in seen]
    details = {
        "query": src.measured.describe(),
        "rule": src.t(
            "signals of [[equipment.signal]] plus each energy meter's signal, measured at least once",
            "[[equipment.signal]] 声明的信号及各能源计量表的信号，至少测到一次",
        ),
        "rows_read": sum(seen.values()),
        "measured": [f"{eq}/{sig}: {seen[(eq, sig)]}" for eq, sig in measured],
        "not_measured": [f"{eq}/{sig}" for eq, sig in declared if (eq, sig) not in seen],
        "undeclared_seen": [f"{eq}/{sig}" for eq, sig in seen if (eq, sig) not in set(declared)],
    }
    return (
        len(measured),
        len(declared),
        details,
        src.t("the plant declares no signals", "工厂模型未声明任何信号"),
    )


def energy_metering_coverage(src: Sources) -> Evidence:
    """Equipment whose energy meter has readings in the window / all equipment."""
    return src.ratio(ENERGY_METERING_COVERAGE, _metered_equipment)


def _metered_equipment(src: Sources) -> _Count:
    seen = src.measurement_counts
    metered: dict[str, dict[str, Any]] = {}
    silent: list[str] = []
    for e in src.plant.equipment:
        if e.energy is None:
            continue
        readings = seen.get((e.id, e.energy.signal), 0)
        if readings:
            metered[e.id] = {"meter": e.energy.meter, "signal": e.energy.signal, "readings": readings}
        else:
            silent.append(e.id)
    details = {
        "query": src.measured.describe(),
        "rule": src.t(
            "equipment with an [equipment.energy] meter whose signal has readings in the window",
            "装有 [equipment.energy] 计量表且其信号在时间窗口内有读数的设备",
        ),
        "metered": metered,
        "meter_without_readings": silent,
        "no_meter": [e.id for e in src.plant.equipment if e.energy is None],
    }
    return (
        len(metered),
        len(src.plant.equipment),
        details,
        src.t("the plant has no equipment", "工厂模型中没有设备"),
    )


def _kpi_evidence(
    src: Sources,
    metric: str,
    kpi_id: str,
    fraction: Callable[[dict[str, Any]], tuple[float | None, float | None]] | None,
) -> Evidence:
    """A KPI over the window for the whole plant, its elements, and its weekly trend."""
    kpi = catalogue().kpi(kpi_id)
    if missing := src.unmeasured(metric, kpi.unit):
        return missing
    provenance = src.base()
    run = src.kpis
    if isinstance(run, str):
        return _missing(metric, kpi.unit, run, provenance)
    row = run.row
    value = _number(row.get(kpi.id))
    numerator, denominator = fraction(row) if fraction else (None, None)
    elements = {e.id: row.get(e.column) for e in catalogue().elements_of(kpi)}
    provenance |= {
        "kpi_call": run.call,
        "kpi": {"id": kpi.id, "formula": kpi.formula, "valid_when": kpi.valid_when},
        "node": row["node"],
        "kpi_period": [row["period_start"].isoformat(), row["period_end"].isoformat()],
        "components": {ref: _number(row.get(ref)) for ref in kpi.refs if ref in catalogue().kpis},
        "elements": elements,
        "data_coverage": _number(row.get("data_coverage")),
        "trend": _trend(run, kpi.id),
    }
    why_null = run.result.why_null(row, kpi, src.lang) if value is None else None
    return Evidence(metric, value, kpi.unit, numerator, denominator, src.covered, provenance, why_null)


def _trend(run: _KpiRun, kpi_id: str) -> dict[str, Any]:
    """Weekly values and their least-squares slope per week (x = each week's midpoint)."""
    weeks = [
        {
            "start": w["period_start"].isoformat(),
            "end": w["period_end"].isoformat(),
            "value": _number(w.get(kpi_id)),
        }
        for w in run.weeks
    ]
    points: list[tuple[float, float]] = []
    if run.weeks:
        origin = run.weeks[0]["period_start"]
        for w in run.weeks:
            v = _number(w.get(kpi_id))
            if v is not None:
                middle = w["period_start"] + (w["period_end"] - w["period_start"]) / 2
                points.append(((middle - origin) / timedelta(weeks=1), v))
    return {
        "kpi_call": run.week_call,
        "weeks": weeks,
        "slope_per_week": least_squares_slope(points),
        "method": "least-squares slope of the weekly values against each week's midpoint in weeks; "
        "weeks without a value are left out; None with fewer than two values",
    }


def least_squares_slope(points: list[tuple[float, float]]) -> float | None:
    """Slope of the least-squares line through ``points``; None with fewer than two distinct x."""
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def oee(src: Sources) -> Evidence:
    """Overall equipment effectiveness of the whole plant over the window."""
    return _kpi_evidence(src, OEE, "oee", None)


def first_pass_yield(src: Sources) -> Evidence:
    """First pass yield GP / IP of the whole plant over the window."""

    def fraction(row: dict[str, Any]) -> tuple[float | None, float | None]:
        return _number(row.get("gp")), _number(row.get("ip"))

    return _kpi_evidence(src, FIRST_PASS_YIELD, "first_pass_yield", fraction)


def mtbf_h(src: Sources) -> Evidence:
    """Mean operating time between failures, hours: AUPT in hours / failure events."""

    def fraction(row: dict[str, Any]) -> tuple[float | None, float | None]:
        aupt = _number(row.get("aupt"))
        return (aupt / 3600 if aupt is not None else None), _number(row.get("fe"))

    return _kpi_evidence(src, MTBF_H, "mtbf", fraction)


# --- plant-model metric -------------------------------------------------------------------


def key_process_automation_rate(src: Sources) -> Evidence:
    """Key steps (work cells holding key equipment) whose equipment is all automated / all key steps."""
    plant = src.plant
    products: dict[str, list[str]] = {}
    for routing in plant.routings:
        for step in routing.steps:
            products.setdefault(step.work_cell, []).append(routing.product)
    steps: list[dict[str, Any]] = []
    other: list[str] = []
    for cell in plant.work_cells:
        equipment = plant.equipment_of(cell.id)
        if not any(e.key for e in equipment):
            other.append(cell.id)
            continue
        steps.append(
            {
                "work_cell": cell.id,
                "automated": all(e.automated for e in equipment),
                "equipment_automated": {e.id: e.automated for e in equipment},
                "key_equipment": [e.id for e in equipment if e.key],
                "routings": products.get(cell.id, []),
            }
        )
    automated = [s for s in steps if s["automated"]]
    provenance = {
        "plant_id": plant.plant.id,
        "source": src.t(
            "the plant model (equipment key and automated flags); no store is read",
            "工厂模型（设备的 key 与 automated 标记）；不读取存储目录",
        ),
        "rule": src.t(
            "a key step is a work cell holding key equipment; it is automated when all its equipment is",
            "含关键设备的工作单元为关键工序；其设备全部自动化时该工序计为数控化",
        ),
        "key_steps": steps,
        "automated_steps": [s["work_cell"] for s in automated],
        "manual_steps": [s["work_cell"] for s in steps if not s["automated"]],
        "cells_without_key_equipment": other,
    }
    return _ratio(
        KEY_PROCESS_AUTOMATION_RATE, len(automated), len(steps), None, provenance,
        src.t("no work cell holds key equipment", "没有含关键设备的工作单元"),
    )  # fmt: skip


# --- scenario metrics -----------------------------------------------------------------------


def _scenario_provenance(src: Sources) -> dict[str, Any]:
    out: dict[str, Any] = {"plant_id": src.plant.plant.id}
    if src.registry is not None:
        out["registry"] = src.registry.url
        out["window"] = src.scenario_window.describe() | {
            "bounds": "runs with status finished and finished_at inside the window (both ends included)"
        }
        out["call"] = (
            f"smartfactory.store.list_scenario_runs(registry, {src.plant.plant.id!r}, "
            f"since={src.scenario_window.start.isoformat()!r}, until={src.scenario_window.end.isoformat()!r})"
        )
    return out


def _in_use(runs: list[ScenarioRunRecord]) -> dict[str, list[ScenarioRunRecord]]:
    by_official: dict[str, list[ScenarioRunRecord]] = {}
    for run in runs:
        by_official.setdefault(run["official_scenario"], []).append(run)
    return dict(sorted(by_official.items()))


def _run_summary(run: ScenarioRunRecord) -> dict[str, Any]:
    finished = run["finished_at"]
    return {
        "id": run["id"],
        "scenario": run["scenario"],
        "uses_ai": run["uses_ai"],
        "finished_at": finished.isoformat() if finished else None,
    }


def _scenario_period(src: Sources) -> tuple[datetime, datetime]:
    return src.scenario_window.start, src.scenario_window.end


def scenarios_in_use(src: Sources) -> Evidence:
    """Distinct official scenarios with a finished run in the window."""
    provenance = _scenario_provenance(src)
    if src.registry is None:
        return _missing(SCENARIOS_IN_USE, "count", src.t(NO_REGISTRY, _NO_REGISTRY_ZH), provenance)
    in_use = _in_use(src.finished_runs)
    provenance |= {
        "rows_read": len(src.finished_runs),
        "in_use": {official: [_run_summary(r) for r in runs] for official, runs in in_use.items()},
    }
    count = float(len(in_use))
    return Evidence(SCENARIOS_IN_USE, count, "count", count, None, _scenario_period(src), provenance)


def ai_scenario_share(src: Sources) -> Evidence:
    """Of the official scenarios in use, the share with a finished run that used AI."""
    provenance = _scenario_provenance(src)
    if src.registry is None:
        return _missing(AI_SCENARIO_SHARE, "ratio", src.t(NO_REGISTRY, _NO_REGISTRY_ZH), provenance)
    in_use = _in_use(src.finished_runs)
    with_ai = [official for official, runs in in_use.items() if any(r["uses_ai"] for r in runs)]
    provenance |= {
        "rows_read": len(src.finished_runs),
        "rule": src.t(
            "an official scenario counts as AI when one of its finished runs in the window used AI",
            "官方场景在时间窗口内有一次已完成的运行使用了 AI，即计为应用 AI",
        ),
        "with_ai": with_ai,
        "without_ai": [official for official in in_use if official not in with_ai],
    }
    return _ratio(
        AI_SCENARIO_SHARE, len(with_ai), len(in_use), _scenario_period(src), provenance,
        src.t("no scenario is in use in the window", "时间窗口内没有在用场景"),
    )  # fmt: skip


METRICS: dict[str, Callable[[Sources], Evidence]] = {
    KEY_EQUIPMENT_NETWORKING_RATE: key_equipment_networking_rate,
    SIGNAL_COLLECTION_COVERAGE: signal_collection_coverage,
    KEY_PROCESS_AUTOMATION_RATE: key_process_automation_rate,
    ENERGY_METERING_COVERAGE: energy_metering_coverage,
    OEE: oee,
    FIRST_PASS_YIELD: first_pass_yield,
    MTBF_H: mtbf_h,
    SCENARIOS_IN_USE: scenarios_in_use,
    AI_SCENARIO_SHARE: ai_scenario_share,
}
