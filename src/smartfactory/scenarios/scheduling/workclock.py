"""Working time: the clock that only runs while machines may work.

The solver schedules in whole minutes of *working* time of the problem's common calendar (the
union of the machines' working windows), so an operation longer than a shift simply pauses
over breaks, nights and holidays. What one machine may not use of that common time (its own
maintenance windows, breakdowns) becomes blocked intervals on that machine.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from smartfactory.model.errors import UserError

TICK_S = 60  # the solver's time unit: one minute of working time

Window = tuple[datetime, datetime]


def merge(windows: Iterable[Window]) -> list[Window]:
    """Sorted, non-overlapping windows covering the same time."""
    out: list[Window] = []
    for start, end in sorted(w for w in windows if w[1] > w[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(windows: list[Window], holes: list[Window]) -> list[Window]:
    """``windows`` without the time covered by ``holes`` (both sorted and merged)."""
    out: list[Window] = []
    for start, end in windows:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            out.append((cursor, end))
    return out


class WorkClock:
    """Maps datetimes to working minutes of a set of windows and back."""

    def __init__(self, windows: Iterable[Window]) -> None:
        self.windows = merge(windows)
        if not self.windows:
            raise UserError(
                "the machines have no working time in the planning horizon; check the shift calendar"
            )
        self._starts = [w[0] for w in self.windows]
        self._cumulative: list[int] = []  # working ticks before each window
        total = 0
        for start, end in self.windows:
            self._cumulative.append(total)
            total += int((end - start).total_seconds() // TICK_S)
        self.total = total

    def ticks(self, moment: datetime) -> int:
        """Working minutes from the first window to ``moment`` (rounded down)."""
        before, seconds = self._position(moment)
        return before + int(seconds // TICK_S)

    def ticks_up(self, moment: datetime) -> int:
        """Working minutes to ``moment``, rounded up (for release times and 'not before')."""
        before, seconds = self._position(moment)
        return before + math.ceil(seconds / TICK_S)

    def _position(self, moment: datetime) -> tuple[int, float]:
        """The working ticks before the last window starting by ``moment``, and its seconds up to it."""
        i = bisect.bisect_right(self._starts, moment) - 1
        if i < 0:
            return 0, 0.0
        start, end = self.windows[i]
        return self._cumulative[i], (min(moment, end) - start).total_seconds()

    def moment(self, ticks: int, *, ending: bool) -> datetime:
        """The datetime at which ``ticks`` working minutes have passed.

        At a window boundary an end belongs to the window that closes, a start to the next one.
        """
        if ticks > self.total:
            raise UserError(
                f"the plan needs more working time than the calendar gives ({self.total / 60:.0f} h); "
                "plan a longer horizon"
            )
        i = bisect.bisect_right(self._cumulative, ticks) - 1
        if ending and i > 0 and self._cumulative[i] == ticks:
            i -= 1
        start, _ = self.windows[i]
        return start + timedelta(seconds=(ticks - self._cumulative[i]) * TICK_S)

    def blocked(self, windows: Iterable[Window]) -> list[tuple[int, int]]:
        """The working-minute intervals a machine cannot use: common time outside its own windows."""
        own = merge(windows)
        holes = subtract(self.windows, own)
        return [(self.ticks(s), self.ticks_up(e)) for s, e in holes if self.ticks_up(e) > self.ticks(s)]


def duration_ticks(seconds: float) -> int:
    """A processing time in whole working minutes (rounded up: a plan must not be too short)."""
    return max(0, math.ceil(seconds / TICK_S - 1e-9))
