"""Source rows → event rows by a mapping; a row that does not fit says why (it goes to quarantine)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from smartfactory.connect.files.mapping import Kind, Mapping
from smartfactory.model.counters import increments
from smartfactory.model.events import EventType, State
from smartfactory.store.quarantine import Rejected

Row = dict[str, Any]

EVENT_TYPE = {
    Kind.states: EventType.states,
    Kind.counts: EventType.counts,
    Kind.measurements: EventType.measurements,
}


class RowError(ValueError):
    """Why one row cannot be stored: ``kind`` groups the summary, ``detail`` says what was wrong."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def raw_text(row: Row) -> str:
    """A source row as JSON text (column → value), as kept in quarantine and read back by replay."""
    return json.dumps(row, ensure_ascii=False, default=str)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value).strip()


def parse_time(value: Any, fmt: str, zone: tzinfo) -> datetime:
    """A source time as naive UTC: aware times are converted, naive ones are read in ``zone``."""
    if _blank(value):
        raise RowError("bad time", "empty")
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        elif fmt in ("epoch_s", "epoch_ms"):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError("not a number")
            moment = datetime.fromtimestamp(number / (1000 if fmt == "epoch_ms" else 1), UTC)
        else:
            text = str(value).strip()
            moment = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
    except (ValueError, OverflowError, OSError) as exc:
        raise RowError("bad time", f"{value!r} does not match format {fmt!r} ({exc})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _count(value: Any, column: str) -> int:
    number = _counter(value, column)
    if not number.is_integer() or number > 2**31 - 1:
        raise RowError("bad count", f"{column} = {value!r} is not a whole count")
    return int(number)


def _value(value: Any, column: str) -> float:
    return _number(value, column, "bad value")


def _number(value: Any, column: str, kind: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(kind, f"{column} = {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RowError(kind, f"{column} is {number}")
    return number


@dataclass
class _Open:
    row: Row
    source: str
    raw: str


@dataclass
class Mapped:
    """What one chunk of source rows became: event rows to store and rows to quarantine."""

    rows: list[Row] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


class RowMapper:
    """Applies a mapping to source rows chunk by chunk, carrying state between chunks.

    States without an end column end where the next state of the same equipment starts; the last
    state of each equipment stays open and is not stored. Cumulative counters become increments
    per equipment (the first reading gives 0, a drop is a reset).
    """

    def __init__(
        self,
        mapping: Mapping,
        *,
        equipment: set[str] | None = None,
        reasons: set[str] | None = None,
        latest: datetime | None = None,
    ) -> None:
        self.mapping = mapping
        self.equipment = equipment
        self.reasons = reasons
        self.latest = latest
        self.zone = mapping.time.zone()
        self.open_states: dict[str, _Open] = {}
        self.counter: dict[str, tuple[datetime, float]] = {}

    def map(self, rows: list[tuple[str, Row]]) -> Mapped:
        """Map ``(source, row)`` pairs; ``source`` is ``file:line``."""
        out = Mapped()
        for source, row in rows:
            raw = raw_text(row)
            try:
                out.rows.extend(self._one(row, source, raw))
            except RowError as exc:
                out.rejected.append(Rejected(source, str(exc), raw))
                out.kinds.append(exc.kind)
        return out

    # --- one row ----------------------------------------------------------------------

    def _one(self, row: Row, source: str, raw: str) -> list[Row]:
        m = self.mapping
        ts = parse_time(row.get(m.time.column), m.time.format, self.zone)
        if self.latest is not None and ts > self.latest:
            raise RowError(
                "future time", f"{ts:%Y-%m-%d %H:%M:%S} UTC is after {self.latest:%Y-%m-%d %H:%M:%S}"
            )
        equipment = self._equipment(row)
        common = {
            "order_id": _text(row.get(m.order_column)) if m.order_column else None,
            "product": _text(row.get(m.product_column)) if m.product_column else None,
        }
        if m.kind is Kind.states:
            return self._state(row, source, raw, ts, equipment, common)
        if m.kind is Kind.counts:
            return self._counts(row, ts, equipment, common)
        return self._measurements(row, ts, equipment)

    def _equipment(self, row: Row) -> str:
        spec = self.mapping.equipment
        name = _text(row.get(spec.column))
        if name is None:
            raise RowError("unknown equipment", f"{spec.column} is empty")
        equipment = spec.map.get(name, name)
        if self.equipment is not None and equipment not in self.equipment:
            mapped = f" (mapped from {name!r})" if equipment != name else ""
            raise RowError("unknown equipment", f"{equipment!r}{mapped} is not in the plant")
        return equipment

    def _state(self, row: Row, source: str, raw: str, ts: datetime, equipment: str, common: Row) -> list[Row]:
        spec = self.mapping.state
        assert spec is not None
        code = _text(row.get(spec.column))
        if code is None:
            raise RowError("unknown state", f"{spec.column} is empty")
        state = spec.map.get(code)
        if state is None:
            try:
                state = State(code)
            except ValueError:
                known = sorted(spec.map) or [s.value for s in State]
                raise RowError("unknown state", f"{code!r} is not mapped; known codes: {known}") from None
        reason = _text(row.get(spec.reason_column)) if spec.reason_column else None
        if reason is not None:
            reason = spec.reason_map.get(reason, reason)
            if self.reasons is not None and reason not in self.reasons:
                raise RowError("unknown reason", f"{reason!r} is not a reason code of the plant")
        event = {"equipment": equipment, "start": ts, "end": None, "state": state.value, "reason": reason}
        event.update(common)
        end_column = self.mapping.time.end_column
        if end_column is not None:
            end = parse_time(row.get(end_column), self.mapping.time.format, self.zone)
            if end <= ts:
                raise RowError("bad time", f"end {end} is not after start {ts}")
            event["end"] = end
            return [event]
        previous = self.open_states.get(equipment)
        if previous is not None and ts <= previous.row["start"]:
            raise RowError(
                "out of order",
                f"starts at {ts} UTC, not after the previous state of {equipment} ({previous.source})",
            )
        self.open_states[equipment] = _Open(event, source, raw)
        if previous is None:
            return []
        previous.row["end"] = ts
        return [previous.row]

    def _counts(self, row: Row, ts: datetime, equipment: str, common: Row) -> list[Row]:
        spec = self.mapping.counts
        assert spec is not None
        quantities = {"good": 0, "scrap": 0, "rework": 0}
        if spec.counter is not None:
            reading = _counter(row.get(spec.counter), spec.counter)
            previous = self.counter.get(equipment)
            if previous is not None and ts <= previous[0]:
                raise RowError("out of order", f"counter reading at {ts} UTC is not after the previous one")
            step = 0.0 if previous is None else increments([previous[1], reading])[1]
            self.counter[equipment] = (ts, reading)
            quantities[spec.counter_counts.value] = round(step)
        else:
            for name in ("good", "scrap", "rework"):
                column = getattr(spec, name)
                if column is not None:
                    quantities[name] = _count(row.get(column), column)
        return [{"ts": ts, "equipment": equipment, **common, **quantities, "part_id": None}]

    def _measurements(self, row: Row, ts: datetime, equipment: str) -> list[Row]:
        spec = self.mapping.signals
        assert spec is not None
        out: list[Row] = []
        wide = spec.wide()
        if wide:
            for column, signal in wide.items():
                value = row.get(column)
                if _blank(value):
                    continue  # a wide export leaves cells empty where a signal has no reading
                out.append(
                    {"ts": ts, "equipment": equipment, "signal": signal, "value": _value(value, column)}
                )
            return out
        assert spec.signal_column is not None and spec.value_column is not None
        name = _text(row.get(spec.signal_column))
        if name is None:
            raise RowError("unknown signal", f"{spec.signal_column} is empty")
        value = _value(row.get(spec.value_column), spec.value_column)
        return [{"ts": ts, "equipment": equipment, "signal": spec.map.get(name, name), "value": value}]


def _counter(value: Any, column: str) -> float:
    if _blank(value):
        raise RowError("bad count", f"{column} is empty")
    number = _number(value, column, "bad count")
    if number < 0:
        raise RowError("bad count", f"{column} = {value!r} is negative")
    return number
