"""The calendar side of the KPIs: the window asked for, its periods, and planned time per period.

PBT comes from the shift calendar, not from the machine (OPC 40001 MachineTool C.2.4), so the
plant's calendars are expanded here into segments: each a stretch of one equipment's time with
one calendar category (planned busy, planned down, outside planned operation) inside one period
and one UTC hour. Events are later matched to these segments in the engine.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from smartfactory.model.calendar import Timeline, build_timelines, local_epoch, shift_windows
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant, ReasonRole

US = 1_000_000
DAY_US = 86_400 * US
# events meet calendar segments by equality on (equipment, UTC hour): a segment never spans two
# hours, so a short state meets one or two segments instead of a whole day's worth
BUCKET_US = 3_600 * US


class Per(StrEnum):
    """How the window is cut into periods."""

    shift = "shift"
    day = "day"
    week = "week"
    month = "month"
    window = "window"


class Category(StrEnum):
    """Where a stretch of calendar time sits in the ISO 22400 time model."""

    busy = "pbt"  # planned busy time
    down = "pdt"  # planned down time inside planned operation time (breaks, maintenance)
    outside = "out"  # not planned operation time (no shift, holiday)


_ROLE_CATEGORY = {
    None: Category.busy,
    ReasonRole.break_: Category.down,
    ReasonRole.planned_maintenance: Category.down,
    ReasonRole.no_shift: Category.outside,
    ReasonRole.holiday: Category.outside,
}


@dataclass(frozen=True)
class Window:
    """The time asked for: plant-local wall clock and UTC microseconds, start inclusive."""

    start_local: datetime
    end_local: datetime
    lo_us: int
    hi_us: int
    tz: ZoneInfo

    @property
    def horizon_s(self) -> float:
        """Length in seconds."""
        return (self.hi_us - self.lo_us) / US

    def utc(self, us: int) -> datetime:
        """A UTC microsecond instant as a naive UTC datetime (the store's convention)."""
        return datetime(1970, 1, 1) + timedelta(microseconds=us)


def window(plant: Plant, start: date | datetime | str, end: date | datetime | str) -> Window:
    """The window from ``start`` up to (not including) ``end``; dates are local midnights."""
    tz = ZoneInfo(plant.plant.timezone)
    lo, hi = _local(start, tz), _local(end, tz)
    if hi <= lo:
        raise UserError(f"the period is empty or inverted: from {start} to {end}; 'to' must be after 'from'")
    lo_us = round(local_epoch(lo, tz) * US)
    hi_us = round(local_epoch(hi, tz) * US)
    return Window(lo, hi, lo_us, hi_us, tz)


def _local(moment: date | datetime | str, tz: ZoneInfo) -> datetime:
    if isinstance(moment, str):
        moment = parse_moment(moment)
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time())
    if moment.tzinfo is not None:
        return moment.astimezone(tz).replace(tzinfo=None)
    return moment


def parse_moment(text: str, option: str = "") -> date | datetime:
    """An ISO date (a local midnight) or date-time; a user error naming ``option`` otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        where = f"{option} " if option else ""
        allowed = "use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        raise UserError(f"{where}{text!r} is not a date or time; {allowed}") from None


@dataclass(frozen=True)
class CalendarFrame:
    """Calendar segments and the calendar's elements per equipment and period."""

    segments: pa.Table
    elements: pa.Table


SEGMENT_SCHEMA = pa.schema(
    [
        ("equipment", pa.string()),
        ("bucket", pa.int64()),
        ("seg_start", pa.timestamp("us")),
        ("seg_end", pa.timestamp("us")),
        ("cat", pa.string()),
        ("pstart", pa.timestamp("us")),
    ]
)

ELEMENT_SCHEMA = pa.schema(
    [
        ("equipment", pa.string()),
        ("pstart", pa.timestamp("us")),
        ("pend", pa.timestamp("us")),
        ("shift", pa.string()),
        ("pot", pa.int64()),
        ("pdot", pa.int64()),
        ("pbt_calendar", pa.int64()),
        ("pmt", pa.int64()),
        ("epc", pa.float64()),
        ("epc_missing", pa.int64()),
        ("ec_missing", pa.int64()),
    ]
)


def calendar_frame(plant: Plant, win: Window, per: Per, equipment: list[str]) -> CalendarFrame:
    """Segments and calendar elements of ``equipment`` over the window, cut into periods."""
    timelines = build_timelines(plant, win.start_local, win.horizon_s)
    calendars = plant.calendar_by_id()
    line_calendar = {line.id: line.calendar for line in plant.lines}
    line_of = plant.line_of_equipment()
    by_id = plant.equipment_by_id()
    origin_us = win.lo_us
    groups: dict[int, list[str]] = {}
    for eq in equipment:
        groups.setdefault(id(timelines[eq]), []).append(eq)
    seg_parts: list[pa.Table] = []
    el_parts: list[pa.Table] = []
    for members in groups.values():
        timeline = timelines[members[0]]
        calendar = calendars[line_calendar[line_of[members[0]]]]
        periods = _periods(plant, win, per, calendar_id=calendar.id)
        a, b, cat, pm, pidx = _atoms(timeline, periods, win)
        n = len(a)
        starts = origin_us + a
        ends = origin_us + b
        pstart = np.array([origin_us + round(p[0] * US) for p in periods], dtype=np.int64)
        pend = np.array([origin_us + round(p[1] * US) for p in periods], dtype=np.int64)
        shift = [p[2] for p in periods]
        dur = b - a
        sums = {
            c: np.bincount(pidx, weights=np.where(cat == c.value, dur, 0), minlength=len(periods))
            for c in Category
        }
        pmt = np.bincount(pidx, weights=np.where(pm, dur, 0), minlength=len(periods))
        busy = sums[Category.busy].astype(np.int64)
        down = sums[Category.down].astype(np.int64)
        for eq in members:
            seg_parts.append(
                pa.table(
                    {
                        "equipment": pa.array([eq] * n, pa.string()),
                        "bucket": pa.array(starts // BUCKET_US, pa.int64()),
                        "seg_start": pa.array(starts, pa.timestamp("us")),
                        "seg_end": pa.array(ends, pa.timestamp("us")),
                        "cat": pa.array(cat, pa.string()),
                        "pstart": pa.array(pstart[pidx], pa.timestamp("us")),
                    },
                    schema=SEGMENT_SCHEMA,
                )
            )
            rated = by_id[eq].rated_capacity_per_h
            k = len(periods)
            el_parts.append(
                pa.table(
                    {
                        "equipment": pa.array([eq] * k, pa.string()),
                        "pstart": pa.array(pstart, pa.timestamp("us")),
                        "pend": pa.array(pend, pa.timestamp("us")),
                        "shift": pa.array(shift, pa.string()),
                        "pot": pa.array(busy + down, pa.int64()),
                        "pdot": pa.array(down, pa.int64()),
                        "pbt_calendar": pa.array(busy, pa.int64()),
                        "pmt": pa.array(pmt.astype(np.int64), pa.int64()),
                        "epc": pa.array(busy / (3600 * US) * rated if rated else np.zeros(k), pa.float64()),
                        "epc_missing": pa.array(np.full(k, 0 if rated else 1), pa.int64()),
                        "ec_missing": pa.array(np.full(k, 0 if by_id[eq].energy else 1), pa.int64()),
                    },
                    schema=ELEMENT_SCHEMA,
                )
            )
    segments = pa.concat_tables(seg_parts) if seg_parts else SEGMENT_SCHEMA.empty_table()
    elements = pa.concat_tables(el_parts) if el_parts else ELEMENT_SCHEMA.empty_table()
    return CalendarFrame(segments, elements)


Period = tuple[float, float, str | None]


def _periods(plant: Plant, win: Window, per: Per, calendar_id: str) -> list[Period]:
    """Periods in seconds since the window start; shifts depend on the line's calendar."""
    horizon = win.horizon_s
    if per is Per.window:
        return [(0.0, horizon, None)]
    if per is Per.shift:
        calendar = plant.calendar_by_id()[calendar_id]
        out: list[Period] = []
        for w in shift_windows(calendar, win.start_local, horizon, win.tz):
            lo, hi = max(w.start, 0.0), min(w.end, horizon)
            if hi > lo and not w.holiday:
                out.append((lo, hi, w.shift))
        return out
    cuts = [0.0]
    day = win.start_local.date() + timedelta(days=1)
    while True:
        at = (round(local_epoch(datetime.combine(day, time()), win.tz) * US) - win.lo_us) / US
        if at >= horizon:
            break
        starts_period = (
            per is Per.day or (per is Per.week and day.weekday() == 0) or (per is Per.month and day.day == 1)
        )
        if starts_period and at > 0:
            cuts.append(at)
        day += timedelta(days=1)
    cuts.append(horizon)
    return [(lo, hi, None) for lo, hi in itertools.pairwise(cuts)]


def _atoms(
    timeline: Timeline, periods: list[Period], win: Window
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut the timeline at period and UTC-day boundaries; each atom in one of each."""
    horizon_us = win.hi_us - win.lo_us
    points = {0, horizon_us}
    points.update(round(s * US) for s in timeline.starts)
    points.update(round(p[0] * US) for p in periods)
    points.update(round(p[1] * US) for p in periods)
    first_bucket = -(-win.lo_us // BUCKET_US) * BUCKET_US
    points.update(range(first_bucket - win.lo_us, horizon_us, BUCKET_US))
    cuts = sorted(p for p in points if 0 <= p <= horizon_us)
    period_starts = [round(p[0] * US) for p in periods]
    period_ends = [round(p[1] * US) for p in periods]
    a_out, b_out, cat_out, pm_out, p_out = [], [], [], [], []
    for lo, hi in itertools.pairwise(cuts):
        mid = (lo + hi) / 2
        k = bisect.bisect_right(period_starts, mid) - 1
        if k < 0 or mid >= period_ends[k]:
            continue
        role = timeline.roles[timeline.at(mid / US)]
        a_out.append(lo)
        b_out.append(hi)
        cat_out.append(_ROLE_CATEGORY[role].value)
        pm_out.append(role is ReasonRole.planned_maintenance)
        p_out.append(k)
    return (
        np.array(a_out, dtype=np.int64),
        np.array(b_out, dtype=np.int64),
        np.array(cat_out, dtype=object),
        np.array(pm_out, dtype=bool),
        np.array(p_out, dtype=np.int64),
    )
