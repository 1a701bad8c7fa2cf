"""Telemetry for the API and the pages: signals, downsampled series, states and counts.

Times in the store are naive UTC. Requests give ISO 8601 times: with an offset (``Z``,
``+08:00``) they mean that instant; without one they are the plant's wall-clock time, as on
the pages. Answers hold aware UTC times; chart series can instead carry the plant's wall
clock as epoch milliseconds read as UTC (``clock="plant"``: what ``web/charts.py`` draws
with ECharts' ``useUTC``, so a chart shows plant time wherever the browser is).

Every query is bounded: a longest period per query and at most ``MAX_POINTS`` points per
signal, so no request reads or returns an unbounded number of rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from smartfactory.app.errors import invalid, not_found
from smartfactory.app.i18n import gettext as _
from smartfactory.model.calendar import shift_windows
from smartfactory.model.events import State
from smartfactory.model.plant import Equipment, Plant
from smartfactory.store import EventStore, PgTelemetryStore

MAX_POINTS = 5000  # per signal in one answer
MIN_POINTS = 10
DEFAULT_POINTS = 800
MAX_SIGNALS = 32
MAX_TELEMETRY_DAYS = 366  # downsampled, so a long period costs a scan, not a long answer
MAX_STATE_DAYS = 31  # states come back raw (a few hundred a day per machine)
DEFAULT_SPAN = timedelta(days=1)
Per = Literal["hour", "shift", "day", "week"]
PERS: tuple[Per, ...] = ("hour", "shift", "day", "week")
# the longest period per bucket size: each keeps an answer to about 1,500 buckets or fewer
MAX_COUNT_DAYS: dict[str, int] = {"hour": 62, "shift": 366, "day": 731, "week": 1830}
Clock = Literal["utc", "plant"]
EARLIEST_YEAR, LATEST_YEAR = 1970, 2200
_US = 1_000_000
_INF = float("inf")
_EPOCH = datetime(1970, 1, 1)


# --- the plant ------------------------------------------------------------------------------


def find_equipment(plant: Plant, equipment_id: str, field_name: str) -> Equipment:
    """The equipment with this id; NotFound (a path) or InvalidInput naming ``field_name`` and the ids."""
    found = plant.equipment_by_id().get(equipment_id)
    if found is not None:
        return found
    message = _("The plant has no equipment {equipment}; its equipment: {known}.").format(
        equipment=equipment_id, known=", ".join(e.id for e in plant.equipment)
    )
    # an id in the path names a resource that is not there; one in the query is a bad value
    raise not_found(field_name, message) if field_name.startswith("path.") else invalid(field_name, message)


class EquipmentSignal(BaseModel):
    """A signal of a piece of equipment, from the plant model."""

    name: str
    unit: str
    dtype: str = Field(description="float, int or bool")
    kind: Literal["sampled", "per_cycle", "energy"] = Field(
        description="sampled every sampling_s, one value per cycle, or the energy meter's cumulative reading"
    )
    normal: tuple[float, float] | None = Field(None, description="the normal operating range [low, high]")
    measuring_range: tuple[float, float] | None = None
    sampling_s: float | None = None


class SignalList(BaseModel):
    """The signals of one piece of equipment."""

    equipment: str
    signals: list[EquipmentSignal]


def signals_of(equipment: Equipment) -> list[EquipmentSignal]:
    """The equipment's signals with their units, the energy meter's last."""
    out = [
        EquipmentSignal(
            name=s.name,
            unit=s.unit,
            dtype=s.dtype.value,
            kind="per_cycle" if s.per_cycle else "sampled",
            normal=s.normal,
            measuring_range=s.measuring_range,
            sampling_s=s.sampling_s,
        )
        for s in equipment.signals
    ]
    if equipment.energy is not None:
        out.append(
            EquipmentSignal(
                name=equipment.energy.signal,
                unit="kWh",
                dtype="float",
                kind="energy",
                sampling_s=equipment.energy.sampling_s,
            )
        )
    return out


def equipment_signals(plant: Plant, equipment_id: str) -> SignalList:
    """The signals of a piece of equipment named in a path."""
    equipment = find_equipment(plant, equipment_id, "path.equipment_id")
    return SignalList(equipment=equipment.id, signals=signals_of(equipment))


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A period ``[start, end)`` in the store's time (naive UTC)."""

    start: datetime
    end: datetime

    @property
    def start_utc(self) -> datetime:
        """The start, aware."""
        return self.start.replace(tzinfo=UTC)

    @property
    def end_utc(self) -> datetime:
        """The end, aware."""
        return self.end.replace(tzinfo=UTC)


def parse_time(text: str, field_name: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 time as naive UTC; without an offset it is the plant's wall clock."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(
            field_name,
            _(
                "Enter a date and time in ISO 8601, such as 2026-03-02T08:00 (plant time) "
                "or 2026-03-02T00:00Z (UTC)."
            ),
        ) from None
    # far from any data, and far enough from year 1 and 9999 that periods around it stay dates
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise invalid(
            field_name,
            _("Enter a time from the year {low} to {high}.").format(low=EARLIEST_YEAR, high=LATEST_YEAR),
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC).replace(tzinfo=None)


def latest_time(store: EventStore) -> datetime | None:
    """The time of the latest stored state, count or measurement (naive UTC), or None."""
    return store.time_range()[1]


def resolve_period(
    store: EventStore,
    tz: ZoneInfo,
    start: str | None,
    end: str | None,
    *,
    max_days: int,
    default_span: timedelta = DEFAULT_SPAN,
) -> Period:
    """The period asked for; by default the ``default_span`` up to the latest stored event."""
    lo = parse_time(start, "query.start", tz) if start else None
    hi = parse_time(end, "query.end", tz) if end else None
    if hi is None:
        latest = latest_time(store) or datetime.now(UTC).replace(tzinfo=None)
        hi = latest if lo is None or lo < latest else lo + default_span
    if lo is None:
        lo = hi - default_span
    if hi <= lo:
        raise invalid("query.end", _("The end must be after the start."))
    if hi - lo > timedelta(days=max_days):
        raise invalid(
            "query.start",
            _("The period may be at most {days} days; choose a later start or an earlier end.").format(
                days=max_days
            ),
        )
    return Period(lo, hi)


# --- telemetry ------------------------------------------------------------------------------


class Series(BaseModel):
    """One signal's points over the period, as an ECharts line series."""

    name: str = Field(description="the legend name: signal and unit")
    type: Literal["line"] = "line"
    show_symbol: bool = Field(False, serialization_alias="showSymbol")
    signal: str
    unit: str
    rows: int = Field(description="stored rows of the signal in the period")
    downsampled: bool = Field(description="true when the points are per-bucket minima and maxima")
    bucket_s: float | None = Field(None, description="the bucket width when downsampled")
    data: list[tuple[str | int, float]] = Field(
        description="[time, value] pairs in time order: ISO 8601 UTC text, or for clock=plant the "
        "plant's wall clock as epoch milliseconds"
    )


class TelemetryAnswer(BaseModel):
    """Signals of one piece of equipment over a period, ready for an ECharts time axis."""

    equipment: str
    start: datetime
    end: datetime
    timezone: str = Field(description="the plant's time zone, for showing plant time")
    clock: Clock = Field(
        description="utc: ISO 8601 times with +00:00; plant: the plant's wall clock as epoch ms read as "
        "UTC (for ECharts with useUTC)"
    )
    points: int = Field(description="the most points per signal asked for")
    series: list[Series]


def telemetry(
    store: EventStore,
    plant: Plant,
    equipment_id: str,
    signals: list[str],
    start: str | None = None,
    end: str | None = None,
    points: int = DEFAULT_POINTS,
    clock: Clock = "utc",
) -> TelemetryAnswer:
    """The signals' values over the period: raw rows, or per-bucket min and max when there are more.

    Downsampling cuts the period in ``points // 2`` equal buckets and keeps, per bucket, the
    row with the minimum and the row with the maximum, in time order: peaks and dips survive,
    and no signal gets more than ``points`` points.
    """
    equipment = find_equipment(plant, equipment_id, "query.equipment")
    known = {s.name: s for s in signals_of(equipment)}
    wanted = _wanted_signals(signals, known, equipment.id)
    if not MIN_POINTS <= points <= MAX_POINTS:
        raise invalid(
            "query.points",
            _("Enter a number of points from {low} to {high}.").format(low=MIN_POINTS, high=MAX_POINTS),
        )
    tz = ZoneInfo(plant.plant.timezone)
    period = resolve_period(store, tz, start, end, max_days=MAX_TELEMETRY_DAYS)
    params: dict[str, Any] = {
        "e": equipment.id,
        "lo": period.start,
        "hi": period.end,
        "ninf": -_INF,
        "inf": _INF,
    }
    # NaN and infinities are not values a chart (or JSON) can show: both engines order NaN above
    # every number, so the two comparisons leave it out too
    where = "equipment = $e AND ts >= $lo AND ts < $hi AND value > $ninf AND value < $inf"
    among, named = _one_of("signal", wanted)
    stats = store.query(
        f"SELECT signal, count(*) AS n, min(ts) AS first, max(ts) AS last FROM measurements "
        f"WHERE {where} AND {among} GROUP BY signal",
        {**params, **named},
    ).to_pylist()
    counted = {row["signal"]: row for row in stats}
    raw = [s for s in wanted if counted.get(s, {}).get("n", 0) <= points]
    thick = [s for s in wanted if s not in raw]
    shown = _clock_of(clock, tz)
    data: dict[str, list[tuple[str | int, float]]] = {s: [] for s in wanted}
    if raw and any(counted.get(s) for s in raw):
        among, named = _one_of("signal", raw)
        rows = store.query(
            f"SELECT signal, ts, value FROM measurements WHERE {where} AND {among} ORDER BY signal, ts",
            {**params, **named},
        ).to_pydict()
        for signal, t, value in zip(rows["signal"], rows["ts"], rows["value"], strict=True):
            data[signal].append((shown(t), value))
    widths: dict[str, float] = {}
    if thick:
        first = min(counted[s]["first"] for s in thick)
        last = max(counted[s]["last"] for s in thick)
        buckets = points // 2
        span_us = _us(last) - _us(first) + 1
        width_us = -(-span_us // buckets)  # ceiling: the last row falls in the last bucket
        bucket, at_min, at_max = _bucket_sql(store)
        among, named = _one_of("signal", thick)
        rows = store.query(
            f"SELECT signal, {bucket} AS b, min(value) AS vmin, max(value) AS vmax, "
            f"{at_min} AS tmin, {at_max} AS tmax "
            f"FROM measurements WHERE {where} AND {among} GROUP BY signal, b ORDER BY signal, b",
            {**params, **named, "origin": _us(first), "width": width_us},
        ).to_pydict()
        for k, signal in enumerate(rows["signal"]):
            low = (rows["tmin"][k], rows["vmin"][k])
            high = (rows["tmax"][k], rows["vmax"][k])
            pair = [low] if low[0] == high[0] else sorted((low, high))
            data[signal].extend((shown(t), value) for t, value in pair)
        for signal in thick:
            widths[signal] = width_us / _US
    series = [
        Series(
            name=f"{name} ({known[name].unit})" if known[name].unit else name,
            signal=name,
            unit=known[name].unit,
            rows=int(counted.get(name, {}).get("n", 0)),
            downsampled=name in widths,
            bucket_s=widths.get(name),
            data=data[name],
        )
        for name in wanted
    ]
    return TelemetryAnswer(
        **_answer_head(equipment, period, plant),
        clock=clock,
        points=points,
        series=series,
    )


def _wanted_signals(signals: list[str], known: dict[str, EquipmentSignal], equipment_id: str) -> list[str]:
    if not signals:
        return list(known)
    if len(signals) > MAX_SIGNALS:
        raise invalid("query.signal", _("Give at most {count} signals.").format(count=MAX_SIGNALS))
    if len(set(signals)) != len(signals):
        raise invalid("query.signal", _("Give each signal once."))
    unknown = [s for s in signals if s not in known]
    if unknown:
        raise invalid(
            "query.signal",
            _("Equipment {equipment} has no signal {signal}; its signals: {known}.").format(
                equipment=equipment_id, signal=", ".join(unknown), known=", ".join(known) or "—"
            ),
        )
    return signals


def _one_of(column: str, values: list[str]) -> tuple[str, dict[str, str]]:
    """``column IN ($v0, $v1, …)`` and its parameters: a list both engines take."""
    named = {f"{column}_{i}": v for i, v in enumerate(values)}
    return f"{column} IN ({', '.join('$' + n for n in named)})", named


def _bucket_sql(store: EventStore) -> tuple[str, str, str]:
    """The bucket of a row, and the time of its bucket's minimum and maximum, in the store's SQL.

    DuckDB has ``arg_min``/``arg_max`` (one pass); PostgreSQL has neither, and its first element
    of the times ordered by value is the same answer.
    """
    if isinstance(store, PgTelemetryStore):
        return (
            "(CAST(extract(epoch FROM ts) * 1000000 AS bigint) - $origin) / $width",
            "(array_agg(ts ORDER BY value, ts))[1]",
            "(array_agg(ts ORDER BY value DESC, ts))[1]",
        )
    return "(epoch_us(ts) - $origin) // $width", "arg_min(ts, value)", "arg_max(ts, value)"


def _clock_of(clock: Clock, tz: ZoneInfo) -> Callable[[datetime], str | int]:
    """How a stored time (naive UTC) is shown: ISO 8601 UTC to the millisecond, or plant wall-clock ms."""
    if clock == "plant":

        def wall_ms(t: datetime) -> str | int:
            local = t.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
            return (local - _EPOCH) // timedelta(milliseconds=1)

        return wall_ms

    def iso(t: datetime) -> str | int:
        return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}+00:00"

    return iso


def _answer_head(equipment: Equipment, period: Period, plant: Plant) -> dict[str, Any]:
    """The fields an answer about one piece of equipment over a period starts with."""
    return {
        "equipment": equipment.id,
        "start": period.start_utc,
        "end": period.end_utc,
        "timezone": plant.plant.timezone,
    }


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


# --- states ---------------------------------------------------------------------------------


class StateSpan(BaseModel):
    """A state the equipment was in, from start (inclusive) to end (exclusive)."""

    start: datetime
    end: datetime
    state: State
    reason: str | None = None
    order_id: str | None = None
    product: str | None = None


class StatesAnswer(BaseModel):
    """The states of one piece of equipment that overlap a period, and the time in each."""

    equipment: str
    start: datetime
    end: datetime
    timezone: str
    states: list[StateSpan] = Field(description="in time order; the first and last may reach outside")
    seconds: dict[str, float] = Field(description="seconds in each state inside the period")


def states(
    store: EventStore,
    plant: Plant,
    equipment_id: str,
    start: str | None = None,
    end: str | None = None,
) -> StatesAnswer:
    """The equipment's states over the period (at most ``MAX_STATE_DAYS`` days)."""
    equipment = find_equipment(plant, equipment_id, "query.equipment")
    tz = ZoneInfo(plant.plant.timezone)
    period = resolve_period(store, tz, start, end, max_days=MAX_STATE_DAYS)
    rows = store.query(
        'SELECT "start", "end", state, reason, order_id, product FROM states '
        'WHERE equipment = $e AND "start" < $hi AND "end" > $lo ORDER BY "start"',
        {"e": equipment.id, "lo": period.start, "hi": period.end},
    ).to_pylist()
    spans: list[StateSpan] = []
    seconds: dict[str, float] = {}
    for row in rows:
        state = row["state"] if row["state"] in State.__members__ else State.no_data.value
        spans.append(
            StateSpan(
                start=row["start"].replace(tzinfo=UTC),
                end=row["end"].replace(tzinfo=UTC),
                state=State(state),
                reason=row["reason"],
                order_id=row["order_id"],
                product=row["product"],
            )
        )
        inside = min(row["end"], period.end) - max(row["start"], period.start)
        seconds[state] = seconds.get(state, 0.0) + inside.total_seconds()
    return StatesAnswer(
        **_answer_head(equipment, period, plant),
        states=spans,
        seconds=seconds,
    )


# --- counts ---------------------------------------------------------------------------------


class CountTotals(BaseModel):
    """Good, scrap and rework units."""

    good: int = 0
    scrap: int = 0
    rework: int = 0


class CountBucket(CountTotals):
    """The units completed in one bucket (an hour, shift, day or week of the plant's time)."""

    start: datetime
    end: datetime
    shift: str | None = Field(None, description="the shift's id, for per=shift")


class CountsAnswer(BaseModel):
    """Good, scrap and rework of one piece of equipment per bucket, and over the period."""

    equipment: str
    start: datetime
    end: datetime
    timezone: str
    per: Per
    buckets: list[CountBucket] = Field(
        description="every bucket overlapping the period, empty ones included; only the period's units count"
    )
    total: CountTotals = Field(description="the whole period (per=shift: units outside shifts too)")


@dataclass
class _Edges:
    starts: list[datetime] = field(default_factory=list)  # naive UTC
    ends: list[datetime] = field(default_factory=list)
    shifts: list[str | None] = field(default_factory=list)


def counts(
    store: EventStore,
    plant: Plant,
    equipment_id: str,
    start: str | None = None,
    end: str | None = None,
    per: Per = "hour",
) -> CountsAnswer:
    """Good, scrap and rework per hour, shift, day or week (plant time) over the period."""
    equipment = find_equipment(plant, equipment_id, "query.equipment")
    if per not in PERS:
        raise invalid("query.per", _("Choose one of: {expected}.").format(expected=", ".join(PERS)))
    tz = ZoneInfo(plant.plant.timezone)
    period = resolve_period(store, tz, start, end, max_days=MAX_COUNT_DAYS[per])
    edges = _bucket_edges(plant, equipment, period, per, tz)
    table = store.query(
        "SELECT ts, good, scrap, rework FROM counts "
        "WHERE equipment = $e AND ts >= $lo AND ts < $hi ORDER BY ts",
        {"e": equipment.id, "lo": period.start, "hi": period.end},
    )
    # microseconds since the epoch (the stored times are naive UTC)
    stamps = table["ts"].cast(pa.timestamp("us")).cast(pa.int64()).to_numpy()
    columns = {name: table[name].to_numpy().astype(np.int64) for name in ("good", "scrap", "rework")}
    lows = np.array([_us(s) for s in edges.starts], dtype=np.int64)
    highs = np.array([_us(e) for e in edges.ends], dtype=np.int64)
    where = np.searchsorted(lows, stamps, side="right") - 1
    if len(lows):
        inside = (where >= 0) & (stamps < highs[np.clip(where, 0, None)])
    else:
        inside = np.zeros(len(stamps), dtype=bool)
    sums = {
        name: np.bincount(where[inside], weights=values[inside], minlength=len(lows)).astype(np.int64)
        for name, values in columns.items()
    }
    buckets = [
        CountBucket(
            start=lo.replace(tzinfo=UTC),
            end=hi.replace(tzinfo=UTC),
            shift=edges.shifts[k],
            good=int(sums["good"][k]),
            scrap=int(sums["scrap"][k]),
            rework=int(sums["rework"][k]),
        )
        for k, (lo, hi) in enumerate(zip(edges.starts, edges.ends, strict=True))
    ]
    return CountsAnswer(
        **_answer_head(equipment, period, plant),
        per=per,
        buckets=buckets,
        total=CountTotals(**{name: int(values.sum()) for name, values in columns.items()}),
    )


def _bucket_edges(plant: Plant, equipment: Equipment, period: Period, per: Per, tz: ZoneInfo) -> _Edges:
    """Buckets covering the period, aligned to the plant's hours, shifts, days or weeks."""
    edges = _Edges()
    local_start = period.start_utc.astimezone(tz)
    local_end = period.end_utc.astimezone(tz)
    if per == "shift":
        line = plant.line_of_equipment()[equipment.id]
        calendar = plant.calendar_by_id()[next(x.calendar for x in plant.lines if x.id == line)]
        origin = datetime.combine(local_start.date(), time())
        horizon = (local_end.replace(tzinfo=None) - origin).total_seconds()
        base = origin.replace(tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
        for window in shift_windows(calendar, origin, horizon, tz):
            lo = base + timedelta(seconds=window.start)
            hi = base + timedelta(seconds=window.end)
            if hi > period.start and lo < period.end:
                edges.starts.append(lo)
                edges.ends.append(hi)
                edges.shifts.append(window.shift)
        return edges
    if per == "hour":
        first = local_start.replace(minute=0, second=0, microsecond=0).astimezone(UTC).replace(tzinfo=None)
        moment = first
        while moment < period.end:
            edges.starts.append(moment)
            edges.ends.append(moment + timedelta(hours=1))
            edges.shifts.append(None)
            moment += timedelta(hours=1)
        return edges
    day = local_start.date()
    if per == "week":
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if per == "week" else 1)
    while _midnight(day, tz) < period.end:
        edges.starts.append(_midnight(day, tz))
        edges.ends.append(_midnight(day + step, tz))
        edges.shifts.append(None)
        day += step
    return edges


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    """The plant's midnight starting ``day``, as naive UTC."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
