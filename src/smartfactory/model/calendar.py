"""Expand a shift calendar into when each machine may work, and why not when it may not."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from smartfactory.model.plant import WEEKDAYS, Calendar, Plant, ReasonRole, clock_minutes

# When two reasons cover the same moment the more specific wins: maintenance is booked on
# purpose, a holiday removes whole shifts, a break sits inside a shift.
_PRIORITY = {
    ReasonRole.planned_maintenance: 4,
    ReasonRole.holiday: 3,
    ReasonRole.break_: 2,
    ReasonRole.no_shift: 1,
}


@dataclass(frozen=True)
class Timeline:
    """Sorted segments covering the horizon; ``reasons[i] is None`` means the machine may work."""

    starts: list[float]
    ends: list[float]
    reasons: list[str | None]
    roles: list[ReasonRole | None]
    shifts: list[str | None]

    def at(self, t: float) -> int:
        """Index of the segment holding time ``t`` (seconds since the simulation start)."""
        return max(0, bisect.bisect_right(self.starts, t) - 1)


@dataclass(frozen=True)
class ShiftWindow:
    """One shift occurrence, in seconds since the simulation start."""

    shift: str
    start: float
    end: float
    holiday: bool


def local_epoch(moment: datetime, tz: ZoneInfo) -> float:
    """Seconds since the Unix epoch of a plant-local wall-clock time (an explicit offset wins)."""
    if moment.tzinfo is not None:
        return moment.timestamp()
    return moment.replace(tzinfo=tz).timestamp()


def shift_windows(calendar: Calendar, start: datetime, horizon_s: float, tz: ZoneInfo) -> list[ShiftWindow]:
    """Every shift occurrence that overlaps the horizon, holidays flagged."""
    origin = local_epoch(start, tz)
    holidays = set(calendar.holidays)
    out = []
    first = start.date() - timedelta(days=1)
    days = int(horizon_s // 86400) + 3
    for k in range(days):
        day = first + timedelta(days=k)
        if WEEKDAYS[day.weekday()] not in calendar.days:
            continue
        for shift in calendar.shifts:
            begin_min, end_min = clock_minutes(shift.start), clock_minutes(shift.end)
            length = ((end_min - begin_min) % 1440 or 1440) * 60
            begin = local_epoch(datetime.combine(day, datetime.min.time()) + timedelta(minutes=begin_min), tz)
            s, e = begin - origin, begin - origin + length
            if e > 0 and s < horizon_s:
                out.append(ShiftWindow(shift.id, s, e, day in holidays))
    out.sort(key=lambda w: w.start)
    return out


def build_timelines(plant: Plant, start: datetime, horizon_s: float) -> dict[str, Timeline]:
    """A timeline per equipment from its line's calendar and the maintenance windows."""
    tz = ZoneInfo(plant.plant.timezone)
    origin = local_epoch(start, tz)
    codes = {role: plant.reason_for_role(role) for role in _PRIORITY}
    calendars = plant.calendar_by_id()
    line_calendar = {line.id: line.calendar for line in plant.lines}
    line_of = plant.line_of_equipment()
    cache: dict[tuple[str, frozenset[int]], Timeline] = {}
    out: dict[str, Timeline] = {}
    for equipment in plant.equipment:
        calendar = calendars[line_calendar[line_of[equipment.id]]]
        mine = frozenset(
            i for i, w in enumerate(calendar.maintenance) if not w.equipment or equipment.id in w.equipment
        )
        key = (calendar.id, mine)
        if key not in cache:
            labelled: list[tuple[float, float, ReasonRole | None, str | None]] = []
            windows = shift_windows(calendar, start, horizon_s, tz)
            for w in windows:
                labelled.append((w.start, w.end, ReasonRole.holiday if w.holiday else None, w.shift))
            first = start.date() - timedelta(days=1)
            for k in range(int(horizon_s // 86400) + 3):
                day = first + timedelta(days=k)
                for brk in calendar.breaks:
                    b = _at(day, brk.start, tz) - origin
                    for w in windows:
                        lo, hi = max(b, w.start), min(b + brk.minutes * 60, w.end)
                        if lo < hi and not w.holiday:
                            labelled.append((lo, hi, ReasonRole.break_, w.shift))
                for i in sorted(mine):
                    pm = calendar.maintenance[i]
                    if (pm.date is not None and pm.date == day) or (
                        pm.weekday is not None and WEEKDAYS[day.weekday()] == pm.weekday
                    ):
                        b = _at(day, pm.start, tz) - origin
                        labelled.append((b, b + pm.hours * 3600, ReasonRole.planned_maintenance, None))
            cache[key] = _sweep(labelled, horizon_s, codes)
        out[equipment.id] = cache[key]
    return out


def _at(day: date, clock: str, tz: ZoneInfo) -> float:
    return local_epoch(
        datetime.combine(day, datetime.min.time()) + timedelta(minutes=clock_minutes(clock)), tz
    )


def _sweep(
    labelled: list[tuple[float, float, ReasonRole | None, str | None]],
    horizon_s: float,
    codes: dict[ReasonRole, str | None],
) -> Timeline:
    points = sorted({0.0, horizon_s, *(p for s, e, _, _ in labelled for p in (s, e) if 0 < p < horizon_s)})
    starts: list[float] = []
    ends: list[float] = []
    reasons: list[str | None] = []
    roles: list[ReasonRole | None] = []
    shifts: list[str | None] = []
    for lo, hi in itertools.pairwise(points):
        mid = (lo + hi) / 2
        role: ReasonRole | None = ReasonRole.no_shift
        rank = _PRIORITY[ReasonRole.no_shift]
        shift: str | None = None
        for s, e, r, sh in labelled:
            if s <= mid < e:
                if sh is not None and shift is None:
                    shift = sh
                if r is None:
                    if rank <= _PRIORITY[ReasonRole.no_shift]:
                        role, rank = None, _PRIORITY[ReasonRole.no_shift]
                elif _PRIORITY[r] > rank or (role is None and _PRIORITY[r] >= rank):
                    role, rank = r, _PRIORITY[r]
        reason = codes[role] if role is not None else None
        if starts and roles[-1] == role and shifts[-1] == shift:
            ends[-1] = hi
            continue
        starts.append(lo)
        ends.append(hi)
        reasons.append(reason)
        roles.append(role)
        shifts.append(shift)
    return Timeline(starts, ends, reasons, roles, shifts)
