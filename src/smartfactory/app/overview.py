"""The plant overview: a tile per line for the current shift and day, the machines' state timeline,
the downtime Pareto, the OEE loss waterfall and the KPI trends by day and by shift.

"Current" is the shift and the day that hold the latest stored event, not the wall clock: the
store may hold history (the demo is March 2026), and a dashboard that showed empty tiles for
today would hide it. The page says "as of" that event, and how fresh it is (``app.freshness``).

Every number comes from the KPI service with parameters a caller can repeat against
``GET /api/v1/kpis`` (each tile names them), and the whole overview is cached per store version
and language like the KPI results are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from smartfactory.app.cache import MISSING, Snapshot, cached_snapshot, snapshot
from smartfactory.app.freshness import version_token
from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, local_text, when
from smartfactory.app.kpis import (
    KpiQuery,
    KpiReport,
    KpiRow,
    LossesResponse,
    kpi_report,
    loss_response,
    utc_to_local,
)
from smartfactory.app.workspace import Workspace
from smartfactory.kpi import Per, catalogue
from smartfactory.kpi.labels import labels
from smartfactory.kpi.targets import Rating, rate, targets
from smartfactory.model.calendar import local_epoch, shift_windows
from smartfactory.model.hierarchy import TreeNode, build_tree
from smartfactory.model.plant import Level, Line, Plant

TILE_KPIS = ("oee", "availability", "effectiveness", "quality_ratio")
# scrap_ratio brings the scrap quantity (SQ) into the rows' elements
QUERY_KPIS = (*TILE_KPIS, "scrap_ratio")
TREND_DAYS = 7
TREND_SHIFTS = 21
TREND_SHIFT_DAYS = 14  # 21 shifts of a two-shift, six-day week fit in 12 days; a little more
PARETO_CAUSES = 12
WATERFALL_CAUSES = 8


@dataclass(frozen=True)
class TileValue:
    """One KPI of a tile: the raw value exactly as the KPI API returns it, and its rating."""

    kpi: str
    name: str
    value: float | None
    rating: Rating
    why: str | None


@dataclass(frozen=True)
class TilePeriod:
    """A tile's numbers for one period (the current shift or day) and the API query behind them."""

    kind: str  # "shift" or "day"
    label: str
    start: datetime  # plant-local, naive
    end: datetime
    per: Per
    shift: str | None
    coverage: float | None
    values: list[TileValue]
    good: float | None
    scrap: float | None

    @property
    def query(self) -> dict[str, str]:
        """The parameters of ``GET /api/v1/kpis`` whose row for this line holds these numbers."""
        return {
            "from": self.start.isoformat(timespec="minutes"),
            "to": self.end.isoformat(timespec="minutes"),
            "by": Level.line.value,
            "per": self.per.value,
        }


@dataclass(frozen=True)
class LineTile:
    """A line's tile: coloured by the OEE of the current shift (of the day when there is none)."""

    line: str
    name: str
    rating: Rating
    shift: TilePeriod | None
    day: TilePeriod | None


@dataclass(frozen=True)
class TargetView:
    """A target the tiles are coloured against, with where it comes from."""

    kpi: str
    name: str
    good: float
    warn: float
    confidence: str
    verified: bool
    source: str
    note: str


@dataclass(frozen=True)
class HierarchyItem:
    """A node of the hierarchy header, down to the lines."""

    id: str
    level: Level
    name: str
    children: list[HierarchyItem]


@dataclass(frozen=True)
class Timeline:
    """The machines' states over one day, for a Gantt chart (times plant-local)."""

    start: datetime
    end: datetime
    rows: list[str]  # equipment ids, in plant order
    kinds: dict[str, str]  # state → its name
    bars: list[dict[str, Any]]  # row, start, end (plant-local epoch ms, see web.charts), kind, label


@dataclass(eq=False)
class Overview:
    """Everything the overview page shows, in one language (compared by identity: cached)."""

    plant: str
    plant_name: str
    timezone: str
    hierarchy: HierarchyItem
    as_of: datetime | None  # the latest stored event, plant-local and aware
    day: date | None
    tiles: list[LineTile]
    targets: list[TargetView]
    timeline: Timeline | None = None
    losses: LossesResponse | None = None
    trend_day: KpiReport | None = None
    trend_shift: KpiReport | None = None
    version: str = ""  # the store version it was computed at (``freshness.version_token``)

    @property
    def empty(self) -> bool:
        """No events stored yet."""
        return self.as_of is None


# --- the service ---------------------------------------------------------------------------


def overview(workspace: Workspace) -> Overview:
    """The overview of the plant in the request's language (cached per store version)."""
    with snapshot(workspace) as snap:
        return snap.cached_live(("overview", language()), build_overview)


async def cached_overview(workspace: Workspace) -> Overview | None:
    """The overview from the cache only, for the event loop: None when it must be computed."""
    snap = await cached_snapshot(workspace)
    found = snap.peek_live(("overview", language()), build_overview)
    return None if found is MISSING else found


def build_overview(snap: Snapshot) -> Overview:
    """Compute the overview (uncached)."""
    plant = snap.plant
    tz = ZoneInfo(plant.plant.timezone)
    first, last = snap.time_range()
    view = Overview(
        plant=plant.plant.id,
        plant_name=local_text(plant.plant.name),
        timezone=plant.plant.timezone,
        hierarchy=hierarchy(plant),
        as_of=None,
        day=None,
        tiles=[],
        targets=target_views(),
        version=version_token(snap.version),
    )
    if last is None:
        return view
    as_of = utc_to_local(last, tz)
    # the latest event may end exactly at midnight: the current day is the one it ends in
    moment = as_of - timedelta(microseconds=1)
    day = moment.date()
    view.as_of = as_of.replace(tzinfo=tz)
    view.day = day
    day_start = datetime.combine(day, time())
    day_end = day_start + timedelta(days=1)
    day_rows = _rows_by_line(kpi_report(snap, _query(day_start, day_end, Per.day, QUERY_KPIS)))
    shifts = {line.id: current_shift(plant, line, moment) for line in plant.lines}
    shift_rows: dict[str, KpiRow] = {}
    for window in {s[1:] for s in shifts.values() if s is not None}:
        report = kpi_report(snap, _query(window[0], window[1], Per.shift, QUERY_KPIS))
        for line_id, row in _rows_by_line(report).items():
            found = shifts.get(line_id)
            if found is not None and found[1:] == window:
                shift_rows[line_id] = row
    shift_names = _shift_names(plant)
    for line in plant.lines:
        name = local_text(line.name)
        shift = shifts[line.id]
        shift_tile = None
        if shift is not None and line.id in shift_rows:
            label = _("{shift}, {start} – {end}").format(
                shift=shift_names.get((line.calendar, shift[0]), shift[0]),
                start=f"{shift[1]:%m-%d %H:%M}",
                end=f"{shift[2]:%m-%d %H:%M}",
            )
            shift_tile = _tile_period("shift", label, shift[1], shift[2], Per.shift, shift_rows[line.id])
        day_tile = None
        if line.id in day_rows:
            label = when(day, with_time=False)
            day_tile = _tile_period("day", label, day_start, day_end, Per.day, day_rows[line.id])
        headline = shift_tile or day_tile
        oee = next((v for v in headline.values if v.kpi == "oee"), None) if headline else None
        view.tiles.append(LineTile(line.id, name, oee.rating if oee else Rating.none, shift_tile, day_tile))
    view.timeline = timeline(snap, day_start, day_end)
    view.losses = loss_response(snap, day_start, day_end, Level.line, None)
    # trends start no earlier than the day of the first stored event: no empty days before the data
    since = datetime.combine(utc_to_local(first or last, tz).date(), time())
    view.trend_day = kpi_report(
        snap, _query(max(since, day_start - timedelta(days=TREND_DAYS - 1)), day_end, Per.day, TILE_KPIS)
    )
    # enough days for 21 shifts of a two- or three-shift calendar, up to the current shift's end
    shift_end = max([day_end, *(s[2] for s in shifts.values() if s is not None)])
    view.trend_shift = kpi_report(
        snap,
        _query(max(since, day_start - timedelta(days=TREND_SHIFT_DAYS)), shift_end, Per.shift, TILE_KPIS),
    )
    return view


def _query(start: datetime, end: datetime, per: Per, kpis: tuple[str, ...]) -> KpiQuery:
    return KpiQuery(start, end, Level.line, per, None, kpis)


def _rows_by_line(report: KpiReport) -> dict[str, KpiRow]:
    return {row.node: row for row in report.rows}


def _tile_period(kind: str, label: str, start: datetime, end: datetime, per: Per, row: KpiRow) -> TilePeriod:
    cat = catalogue()
    values = [
        TileValue(
            kpi=k,
            name=cat.kpis[k].name.get(language()),
            value=row.values.get(k),
            rating=rate(k, row.values.get(k)),
            why=row.why_null.get(k),
        )
        for k in TILE_KPIS
    ]
    return TilePeriod(
        kind=kind,
        label=label,
        start=start,
        end=end,
        per=per,
        shift=row.shift,
        coverage=row.data_coverage,
        values=values,
        good=row.elements.get("GQ"),
        scrap=row.elements.get("SQ"),
    )


def current_shift(plant: Plant, line: Line, moment: datetime) -> tuple[str, datetime, datetime] | None:
    """The line's shift holding ``moment`` (plant-local), else the latest one begun before it."""
    calendar = plant.calendar_by_id()[line.calendar]
    tz = ZoneInfo(plant.plant.timezone)
    origin = datetime.combine(moment.date() - timedelta(days=2), time())
    base = local_epoch(origin, tz)
    found = None
    for w in shift_windows(calendar, origin, 3 * 86_400, tz):
        if w.holiday:
            continue
        lo = datetime.fromtimestamp(base + w.start, tz).replace(tzinfo=None)
        hi = datetime.fromtimestamp(base + w.end, tz).replace(tzinfo=None)
        if lo <= moment:
            found = (w.shift, lo, hi)
    return found


def _shift_names(plant: Plant) -> dict[tuple[str, str], str]:
    return {(c.id, s.id): local_text(s.name) for c in plant.calendars for s in c.shifts}


def hierarchy(plant: Plant) -> HierarchyItem:
    """The hierarchy from the enterprise down to the lines, named in the request's language."""

    def item(node: TreeNode) -> HierarchyItem:
        children = [] if node.level is Level.line else [item(c) for c in node.children]
        return HierarchyItem(node.id, node.level, local_text(node.name), children)

    return item(build_tree(plant))


def target_views() -> list[TargetView]:
    """The targets the tiles are coloured against."""
    cat = catalogue()
    return [
        TargetView(
            kpi=t.kpi,
            name=cat.kpis[t.kpi].name.get(language()),
            good=t.good,
            warn=t.warn,
            confidence=t.confidence,
            verified=t.verified,
            source=t.source,
            note=t.note.get(language()),
        )
        for t in targets().values()
    ]


# --- the state timeline ---------------------------------------------------------------------


def timeline(snap: Snapshot, start: datetime, end: datetime) -> Timeline:
    """Every machine's states from ``start`` to ``end`` (plant-local), clipped to that period."""
    plant = snap.plant
    tz = ZoneInfo(plant.plant.timezone)
    utc = ZoneInfo("UTC")
    lo = datetime.fromtimestamp(local_epoch(start, tz), utc).replace(tzinfo=None)
    hi = datetime.fromtimestamp(local_epoch(end, tz), utc).replace(tzinfo=None)
    table = snap.db.query(
        'SELECT equipment, greatest("start", $lo) AS s, least("end", $hi) AS e, state, reason '
        'FROM states WHERE "end" > $lo AND "start" < $hi ORDER BY equipment, "start"',
        {"lo": lo, "hi": hi},
    )
    starts = _local_ms(table.column("s"), plant.plant.timezone)
    ends = _local_ms(table.column("e"), plant.plant.timezone)
    lang = language()
    reasons = {r.code: local_text(r.name) for r in plant.reasons}
    rows = [e.id for e in plant.equipment]
    known = set(rows)
    bars: list[dict[str, Any]] = []
    for eq, s, e, state, reason in zip(
        table.column("equipment").to_pylist(),
        starts,
        ends,
        table.column("state").to_pylist(),
        table.column("reason").to_pylist(),
        strict=True,
    ):
        if eq not in known:
            continue
        bar: dict[str, Any] = {"row": eq, "start": s, "end": e, "kind": state}
        if reason:
            bar["label"] = f"{eq} · {reasons.get(reason, reason)}"
        bars.append(bar)
    kinds = {k: v.get(lang) for k, v in labels()["state"].items()}
    return Timeline(start, end, rows, kinds, bars)


def _local_ms(column: pa.ChunkedArray, tz: str) -> list[int]:
    """Naive UTC timestamps as the plant's wall clock in epoch ms (the charts' time convention)."""
    aware = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=tz))
    local = pc.local_timestamp(aware)
    return [v // 1000 for v in local.cast(pa.int64()).to_pylist()]
