"""OPC UA data values → rows of an :class:`EventBatch`: measurements, state changes, counts, rejects.

Pure bookkeeping, no I/O, so it is tested on an ``EventBatch`` directly. One :class:`Decoder` lives as
long as its source: counter readings and the last count time per equipment survive reconnects, so a
counter that moved while the connection was down is stored as one increment when it comes back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from asyncua import ua
from asyncua.ua.status_codes import StatusCodes

from smartfactory.connect.live import EventBatch
from smartfactory.connect.opcua.config import (
    COUNTER_SIGNALS,
    GOOD_COUNT,
    SCRAP_COUNT,
    STATE_SIGNAL,
    NodeEntry,
    OpcUaConfig,
)
from smartfactory.model.events import State
from smartfactory.model.plant import DataType, Plant

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_STATES = frozenset(s.value for s in State)
# the server has no value yet (a fresh server, a node not written since it started): not a payload
_NOT_YET = frozenset({StatusCodes.BadWaitingForInitialData})
# the two top bits of a status code: 00 good, 01 uncertain, 10 bad
_SEVERITY = 0xC0000000
_UNCERTAIN = 0x40000000

Role = Literal["measurement", "state", "counter"]


@dataclass(frozen=True)
class Target:
    """Where one monitored node's values go."""

    entry: NodeEntry
    role: Role
    dtype: DataType = DataType.float
    low: float = -math.inf
    high: float = math.inf


def targets(config: OpcUaConfig, plant: Plant) -> list[Target]:
    """One target per configured node, in config order (the config is checked against the plant)."""
    equipment = plant.equipment_by_id()
    out: list[Target] = []
    for entry in config.nodes:
        if entry.signal == STATE_SIGNAL:
            out.append(Target(entry, "state"))
            continue
        if entry.signal in COUNTER_SIGNALS:
            out.append(Target(entry, "counter", DataType.int))
            continue
        signal = next((s for s in equipment[entry.equipment].signals if s.name == entry.signal), None)
        if signal is None:  # the energy meter's counter: a float reading without a declared range
            out.append(Target(entry, "measurement"))
            continue
        low, high = signal.measuring_range or (-math.inf, math.inf)
        out.append(Target(entry, "measurement", signal.dtype, low, high))
    return out


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware (or naive UTC) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def iso(us: int) -> str:
    """An ISO 8601 UTC text of a µs timestamp, for messages."""
    return datetime.fromtimestamp(us / 1e6, UTC).isoformat()


class Decoder:
    """Turns data change notifications into batch rows, rejecting what cannot be stored."""

    def __init__(self, source: str, config: OpcUaConfig, plant: Plant) -> None:
        self.source = source
        self.config = config
        self.targets = targets(config, plant)
        self.max_future_us = int(config.max_future_s * 1e6)
        self.max_age_us = int(config.max_age_s * 1e6)
        # after a reconnect, a state's first value may carry an old source time: it must not be
        # dated before the no_data change recorded at the loss
        self.state_floor_us: int | None = None
        self.counters: dict[tuple[str, str], int] = {}
        self.last_state_us: dict[str, int] = {}
        self._last_count_us: dict[str, int] = {}
        self._pending_counts: dict[tuple[str, int], list[int]] = {}

    def state_equipment(self) -> list[str]:
        """Equipment whose state is monitored (these get a no_data change when the connection is lost)."""
        return sorted({t.entry.equipment for t in self.targets if t.role == "state"})

    def value(
        self,
        batch: EventBatch,
        target: Target,
        value: object,
        status: int,
        source_time: datetime | None,
        server_time: datetime | None,
        now_us: int,
    ) -> int:
        """Decode one data value into ``batch``; return the rows added (rejects not counted)."""
        if status in _NOT_YET:
            return 0
        moment = source_time or server_time
        ts_us = micros(moment) if moment is not None else now_us
        if status & _SEVERITY:
            kind = "uncertain status" if status & _SEVERITY == _UNCERTAIN else "bad status"
            return self._reject(batch, target, f"{kind}: {_status_name(status)}", value, status, ts_us)
        if ts_us > now_us + self.max_future_us:
            reason = f"future timestamp: {iso(ts_us)} is more than {self.config.max_future_s:g} s ahead"
            return self._reject(batch, target, reason, value, status, ts_us)
        if ts_us < now_us - self.max_age_us:
            reason = f"old timestamp: {iso(ts_us)} is more than {self.config.max_age_s:g} s old"
            return self._reject(batch, target, reason, value, status, ts_us)
        if target.role == "state":
            return self._state(batch, target, value, status, ts_us)
        if target.role == "counter":
            return self._counter(batch, target, value, status, ts_us)
        return self._measurement(batch, target, value, status, ts_us)

    def flush_counts(self, batch: EventBatch) -> int:
        """Write the counts gathered since the last flush: one row per equipment and time."""
        rows = 0
        for (equipment, ts_us), (good, scrap, rework) in sorted(self._pending_counts.items()):
            last = self._last_count_us.get(equipment)
            if last is not None and ts_us <= last:
                ts_us = (
                    last + 1
                )  # a count row's key is (equipment, ts): a second row at `last` would be dropped
            self._last_count_us[equipment] = ts_us
            batch.count(ts_us, equipment, good=good, scrap=scrap, rework=rework)
            rows += 1
        self._pending_counts.clear()
        return rows

    def lost(self, batch: EventBatch, lost_us: int) -> None:
        """The connection is gone: every equipment with a monitored state enters no_data."""
        for equipment in self.state_equipment():
            # never before the last state we stored (server clocks run ahead of ours sometimes)
            ts_us = max(lost_us, self.last_state_us.get(equipment, lost_us - 1) + 1)
            batch.state_change(equipment, ts_us, State.no_data.value)
            self.last_state_us[equipment] = ts_us

    # --- the three roles --------------------------------------------------------------

    def _measurement(self, batch: EventBatch, target: Target, value: object, status: int, ts_us: int) -> int:
        number = _number(value)
        if number is None or (isinstance(value, bool) and target.dtype is not DataType.bool):
            reason = (
                f"wrong type: {type(value).__name__} {_short(value)} where {target.entry.signal} is a number"
            )
            return self._reject(batch, target, reason, value, status, ts_us)
        if math.isnan(number) or math.isinf(number):
            return self._reject(
                batch, target, f"nan: {target.entry.signal} is {number}", value, status, ts_us
            )
        if target.dtype is DataType.bool and number not in (0.0, 1.0):
            reason = f"wrong type: {number:g} where {target.entry.signal} is a bool (0 or 1)"
            return self._reject(batch, target, reason, value, status, ts_us)
        if target.dtype is DataType.int and not number.is_integer():
            reason = f"wrong type: {number:g} where {target.entry.signal} is an integer"
            return self._reject(batch, target, reason, value, status, ts_us)
        if not target.low <= number <= target.high:
            reason = (
                f"out of range: {target.entry.signal} = {number:g} is outside its measuring range "
                f"[{target.low:g}, {target.high:g}]"
            )
            return self._reject(batch, target, reason, value, status, ts_us)
        batch.measurement(target.entry.equipment, target.entry.signal, ts_us, number)
        return 1

    def _state(self, batch: EventBatch, target: Target, value: object, status: int, ts_us: int) -> int:
        state = self._state_of(value)
        if state is None:
            if isinstance(value, int | str) and not isinstance(value, bool) and _is_code(value):
                known = (
                    ", ".join(f"{k}={v.value}" for k, v in sorted(self.config.state_codes.items())) or "none"
                )
                reason = f"unknown state code: {value} is not in state_codes (known: {known})"
            elif isinstance(value, str):
                reason = f"unknown state: {value!r}; allowed: {', '.join(sorted(_STATES))}"
            else:
                reason = f"wrong type: {type(value).__name__} {_short(value)} where state is a name or a code"
            return self._reject(batch, target, reason, value, status, ts_us)
        equipment = target.entry.equipment
        if self.state_floor_us is not None:
            ts_us = max(ts_us, self.state_floor_us)
        batch.state_change(equipment, ts_us, state)
        self.last_state_us[equipment] = max(ts_us, self.last_state_us.get(equipment, ts_us))
        return 1

    def _state_of(self, value: object) -> str | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            code = self.config.state_codes.get(value)
            return code.value if code is not None else None
        if isinstance(value, str):
            text = value.strip()
            if text in _STATES:
                return text
            if _is_code(text):
                code = self.config.state_codes.get(int(text))
                return code.value if code is not None else None
        return None

    def _counter(self, batch: EventBatch, target: Target, value: object, status: int, ts_us: int) -> int:
        number = _number(value)
        if isinstance(value, bool) or number is None or not math.isfinite(number) or not number.is_integer():
            reason = (
                f"wrong type: {type(value).__name__} {_short(value)} where {target.entry.signal} "
                "is an integer counter"
            )
            return self._reject(batch, target, reason, value, status, ts_us)
        if number < 0:
            reason = f"out of range: {target.entry.signal} = {number:g} is negative"
            return self._reject(batch, target, reason, value, status, ts_us)
        reading = int(number)
        key = (target.entry.equipment, target.entry.signal)
        previous = self.counters.get(key)
        self.counters[key] = reading
        if previous is None:
            return 0  # the first reading is the baseline
        # a counter that goes backwards was reset: it counted `reading` parts since (model.counters)
        increment = reading - previous if reading >= previous else reading
        if increment == 0:
            return 0
        pending = self._pending_counts.setdefault((target.entry.equipment, ts_us), [0, 0, 0])
        column = 0 if target.entry.signal == GOOD_COUNT else 1 if target.entry.signal == SCRAP_COUNT else 2
        pending[column] += increment
        return 1

    def _reject(
        self, batch: EventBatch, target: Target, reason: str, value: object, status: int, ts_us: int
    ) -> int:
        raw = {
            "node": target.entry.address,
            "equipment": target.entry.equipment,
            "signal": target.entry.signal,
            "value": value if isinstance(value, int | float | str | bool) or value is None else repr(value),
            "status": _status_name(status),
            "time": iso(ts_us),
        }
        if isinstance(raw["value"], float) and not math.isfinite(raw["value"]):
            raw["value"] = str(raw["value"])
        batch.reject(self.source, reason, json.dumps(raw, ensure_ascii=False))
        return 0


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    return None


def _is_code(value: int | str) -> bool:
    if isinstance(value, int):
        return True
    return value.lstrip("-").isdigit()


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _status_name(status: int) -> str:
    try:
        return ua.StatusCode(ua.UInt32(status)).name
    except Exception:  # an unknown code from a vendor: its number says enough
        return f"0x{status:08X}"
