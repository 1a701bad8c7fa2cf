"""JSON payloads on unified-namespace topics, decoded straight into an EventBatch.

On ``.../{equipment}/{signal}``: ``{"ts": ..., "value": 1.5}``, a list of such objects (a batch),
or a bare number (stamped with the receive time). The reserved signals ``state``, ``count`` and
``alarm`` carry those events. ``ts`` is ISO-8601 with a UTC offset or epoch milliseconds. What
does not fit is rejected with a reason; in a list only the bad items are, the rest is stored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from smartfactory.connect.live import EventBatch
from smartfactory.connect.mqtt.topics import Target, TopicResolver
from smartfactory.model.events import AlarmAction, Severity, State
from smartfactory.model.plant import DataType

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_STATES = frozenset(s.value for s in State)
_SEVERITIES = frozenset(s.value for s in Severity)
_ACTIONS = frozenset(a.value for a in AlarmAction)
_MAX_COUNT = 2**31 - 1

_MEASUREMENT_FIELDS = frozenset({"ts", "value"})
_CHANGE_FIELDS = frozenset({"ts", "state", "reason", "order_id", "product"})
_INTERVAL_FIELDS = frozenset({"start", "end", "state", "reason", "order_id", "product"})
_COUNT_FIELDS = frozenset({"ts", "good", "scrap", "rework", "order_id", "product", "part_id"})
_ALARM_FIELDS = frozenset({"ts", "code", "severity", "action", "message"})


class Bad(Exception):
    """One payload (or list item) that cannot be stored; ``reason`` is "kind: detail"."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.reason = f"{kind}: {detail}"


class TimeWindow:
    """The accepted time range for one message: not older than max_age, not beyond max_future."""

    __slots__ = ("high", "low", "now_us")

    def __init__(self, now_s: float, max_future_s: float, max_age_s: float) -> None:
        self.now_us = int(now_s * 1_000_000)
        self.low = self.now_us - int(max_age_s * 1_000_000)
        self.high = self.now_us + int(max_future_s * 1_000_000)

    def check(self, ts_us: int, shown: object) -> int:
        """``ts_us`` if inside the window, else Bad naming how far off it is."""
        if ts_us > self.high:
            ahead = (ts_us - self.now_us) / 1e6
            raise Bad("future time", f"{shown!r} is {ahead:,.0f} s ahead of now (max_future_s)")
        if ts_us < self.low:
            age = (self.now_us - ts_us) / 1e6
            raise Bad("old time", f"{shown!r} is {age:,.0f} s old (max_age_s)")
        return ts_us


def time_us(value: object, field: str = "ts") -> int:
    """ISO-8601 text with an offset, or epoch milliseconds, as integer microseconds (UTC)."""
    kind = type(value)
    if kind is str:
        try:
            moment = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except ValueError:
            raise Bad("bad time", f"{field} {value!r} is not ISO-8601") from None
        if moment.tzinfo is None:
            raise Bad("bad time", f"{field} {value!r} has no UTC offset; add Z or +08:00")
        return (moment - _EPOCH) // _US
    if kind is int or kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise Bad("bad time", f"{field} is {value}")
        return round(value * 1000)  # type: ignore[operator]
    if value is None:
        raise Bad("bad shape", f"{field} is missing")
    raise Bad("bad time", f"{field} {value!r} is neither ISO-8601 text nor epoch milliseconds")


def number(target: Target, value: object) -> float:
    """A signal value checked against the signal's type and measuring range."""
    kind = type(value)
    if kind is float or kind is int:
        number_ = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number_):
            raise Bad("bad value", f"{target.signal} is {number_}")
        if target.dtype is DataType.bool:
            if number_ not in (0.0, 1.0):
                raise Bad("bad value", f"{target.signal} is a bool signal; got {value!r}")
        elif target.dtype is DataType.int and not number_.is_integer():
            raise Bad("bad value", f"{target.signal} is an int signal; got {value!r}")
    elif kind is bool:
        if target.dtype is not DataType.bool:
            raise Bad("bad value", f"{target.signal} is a {target.dtype.value} signal; got {value!r}")
        number_ = 1.0 if value else 0.0
    elif value is None:
        raise Bad("bad shape", "value is missing")
    else:
        raise Bad("bad value", f"{target.signal} = {value!r} is not a number")
    if not target.low <= number_ <= target.high:
        raise Bad(
            "out of range",
            f"{target.signal} = {number_} is outside its measuring range [{target.low}, {target.high}]",
        )
    return number_


def text(item: dict[str, Any], field: str) -> str | None:
    """An optional text field."""
    value = item.get(field)
    if value is None or type(value) is str:
        return value
    raise Bad("bad value", f"{field} must be text; got {value!r}")


def choice(item: dict[str, Any], field: str, allowed: frozenset[str]) -> str:
    """A required field from a fixed set of words."""
    value = item.get(field)
    if value is None:
        raise Bad("bad shape", f"{field} is missing")
    if value not in allowed:
        raise Bad(f"bad {field}", f"{value!r} is not one of {', '.join(sorted(allowed))}")
    return str(value)


def whole(item: dict[str, Any], field: str) -> int:
    """An optional non-negative whole count (0 when absent)."""
    value = item.get(field, 0)
    kind = type(value)
    if kind is float and value.is_integer():
        value = int(value)
    elif kind is not int:
        raise Bad("bad count", f"{field} = {value!r} is not a whole number")
    if not 0 <= value <= _MAX_COUNT:
        raise Bad("bad count", f"{field} = {value} is negative or too large")
    return int(value)


def _fields(item: object, allowed: frozenset[str], what: str) -> dict[str, Any]:
    if type(item) is not dict:
        raise Bad("bad shape", f"{what} must be an object; got {type(item).__name__}")
    extra = item.keys() - allowed
    if extra:
        raise Bad(
            "bad shape", f"unknown field(s) {', '.join(sorted(extra))}; allowed: {', '.join(sorted(allowed))}"
        )
    return item


Handler = Callable[[EventBatch, Target, Any, TimeWindow], None]


def _measurement(batch: EventBatch, target: Target, item: Any, window: TimeWindow) -> None:
    item = _fields(item, _MEASUREMENT_FIELDS, "a point")
    raw_ts = item.get("ts")
    ts = window.check(time_us(raw_ts), raw_ts)
    batch.measurement(target.equipment, target.signal, ts, number(target, item.get("value")))


def _points_at_once(batch: EventBatch, target: Target, items: list[Any], window: TimeWindow) -> bool:
    """Take a whole list of ``{"ts": epoch ms, "value": number}`` in one go; False to go item by item.

    A batch of points is the common case and item-by-item checks dominate its cost. This path
    takes a list only when every item would pass those checks (plain float signal, integer epoch
    ms, finite numbers in range, no other fields); anything else goes the slow way, which rejects
    exactly the bad items with their reasons.
    """
    if not items or target.dtype is not DataType.float:
        return False
    try:
        if any(type(item) is not dict or len(item) != 2 for item in items):
            return False
        stamps = [item["ts"] for item in items]
        values = [item["value"] for item in items]
    except KeyError:
        return False
    if any(type(t) is not int for t in stamps) or any(
        type(v) is not float and type(v) is not int for v in values
    ):
        return False
    stamps_us = [t * 1000 for t in stamps]
    if min(stamps_us) < window.low or max(stamps_us) > window.high:
        return False
    numbers = [float(v) for v in values]
    if not all(map(math.isfinite, numbers)) or min(numbers) < target.low or max(numbers) > target.high:
        return False
    batch.measurements(target.equipment, target.signal, stamps_us, numbers)
    return True


def _state(batch: EventBatch, target: Target, item: Any, window: TimeWindow) -> None:
    if type(item) is dict and "start" in item:
        item = _fields(item, _INTERVAL_FIELDS, "a state interval")
        start = window.check(time_us(item["start"], "start"), item["start"])
        end = window.check(time_us(item.get("end"), "end"), item.get("end"))
        if end <= start:
            raise Bad("bad time", f"end {item.get('end')!r} is not after start {item['start']!r}")
        batch.state(
            target.equipment,
            start,
            end,
            choice(item, "state", _STATES),
            text(item, "reason"),
            text(item, "order_id"),
            text(item, "product"),
        )
        return
    item = _fields(item, _CHANGE_FIELDS, "a state change")
    ts = window.check(time_us(item.get("ts")), item.get("ts"))
    batch.state_change(
        target.equipment,
        ts,
        choice(item, "state", _STATES),
        text(item, "reason"),
        text(item, "order_id"),
        text(item, "product"),
    )


def _count(batch: EventBatch, target: Target, item: Any, window: TimeWindow) -> None:
    item = _fields(item, _COUNT_FIELDS, "a count")
    if not ("good" in item or "scrap" in item or "rework" in item):
        raise Bad("bad shape", "a count needs at least one of good, scrap, rework")
    ts = window.check(time_us(item.get("ts")), item.get("ts"))
    batch.count(
        ts,
        target.equipment,
        whole(item, "good"),
        whole(item, "scrap"),
        whole(item, "rework"),
        text(item, "order_id"),
        text(item, "product"),
        text(item, "part_id"),
    )


def _alarm(batch: EventBatch, target: Target, item: Any, window: TimeWindow) -> None:
    item = _fields(item, _ALARM_FIELDS, "an alarm")
    ts = window.check(time_us(item.get("ts")), item.get("ts"))
    code = item.get("code")
    if type(code) is not str or not code:
        raise Bad("bad shape", f"code must be non-empty text; got {code!r}")
    batch.alarm(
        ts,
        target.equipment,
        code,
        choice(item, "severity", _SEVERITIES),
        choice(item, "action", _ACTIONS),
        text(item, "message"),
    )


_HANDLERS: dict[str, Handler] = {
    "measurement": _measurement,
    "state": _state,
    "count": _count,
    "alarm": _alarm,
}


class JsonDecoder:
    """Decodes one message at a time into the batch; never raises on a bad payload."""

    def __init__(
        self,
        resolver: TopicResolver,
        *,
        max_future_s: float = 3600.0,
        max_age_s: float = 30 * 86400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.resolver = resolver
        self.max_future_s = max_future_s
        self.max_age_s = max_age_s
        self.clock = clock

    def decode(self, batch: EventBatch, topic: str, payload: bytes) -> None:
        """Add the message's rows to ``batch``, or its rejects (with reasons)."""
        target = self.resolver.resolve(topic)
        if isinstance(target, str):
            batch.reject(topic, target, payload)
            return
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            batch.reject(topic, f"bad json: {exc}", payload)
            return
        window = TimeWindow(self.clock(), self.max_future_s, self.max_age_s)
        handler = _HANDLERS[target.kind]
        kind = type(data)
        if kind is list:
            if target.kind == "measurement" and _points_at_once(batch, target, data, window):
                return
            if not data:
                batch.reject(topic, "bad shape: empty list", payload)
            for item in data:
                try:
                    handler(batch, target, item, window)
                except Bad as bad:
                    batch.reject(topic, bad.reason, orjson.dumps(item))
            return
        try:
            if target.kind == "measurement" and (kind is int or kind is float or kind is bool):
                # a bare value has no source time: the receive time stands in (not idempotent)
                batch.measurement(target.equipment, target.signal, window.now_us, number(target, data))
            else:
                handler(batch, target, data, window)
        except Bad as bad:
            batch.reject(topic, bad.reason, payload)
