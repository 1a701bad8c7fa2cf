"""The Modbus TCP live source: polls register blocks on a drift-free schedule into the ingest writer.

Modbus has no timestamps and no acknowledgements: a value's time is this host's clock when its
poll started (UTC), and nothing waits on a commit. A state register becomes state changes only
when its code changes; cumulative counters become count rows by increment (a drop is a reset);
a lost connection (and stopping) starts ``no_data`` for equipment whose state is polled, so KPIs
do not stretch the last known state over a gap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel

from smartfactory.connect.live import Backoff, EventBatch, SourceBase, SourceStatus
from smartfactory.connect.modbus.adapter import (
    ModbusClientAdapter,
    ModbusConnectionError,
    ModbusReadError,
    ReadGroup,
    decode,
    plan_reads,
)
from smartfactory.connect.modbus.config import (
    GOOD_COUNT,
    SCRAP_COUNT,
    STATE_SIGNAL,
    ModbusConfig,
    Register,
    plant_problems,
)
from smartfactory.model.counters import increments
from smartfactory.model.errors import UserError
from smartfactory.model.events import State

if TYPE_CHECKING:
    from smartfactory.connect.writer import IngestWriter
    from smartfactory.model.plant import Plant

logger = logging.getLogger(__name__)

ILLEGAL_DATA_ADDRESS = 2


@dataclass
class ModbusStatus(SourceStatus):
    """The status line's counters plus the polls done and the ticks skipped because a poll ran late."""

    polls: int = 0
    missed_polls: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {**super().as_dict(), "polls": self.polls, "missed_polls": self.missed_polls}


@dataclass
class _Schedule:
    """The read groups polled every ``interval`` seconds and when they are next due (monotonic)."""

    interval: float
    groups: list[ReadGroup]
    next_due: float = 0.0

    def advance(self, now: float) -> int:
        """Move to the next tick after ``now`` without drifting; return the ticks skipped."""
        self.next_due += self.interval
        if self.next_due > now:
            return 0
        missed = math.floor((now - self.next_due) / self.interval) + 1
        self.next_due += missed * self.interval
        return missed


class ModbusSource(SourceBase):
    """Polls one Modbus TCP device (one unit id) for the registers of its ``[[source]]`` config."""

    kind: ClassVar[str] = "modbus"
    config_schema: ClassVar[type[BaseModel]] = ModbusConfig
    status_type: ClassVar[type[SourceStatus]] = ModbusStatus
    config: ModbusConfig
    status: ModbusStatus

    def __init__(self, name: str, config: BaseModel, plant: Plant, writer: IngestWriter) -> None:
        super().__init__(name, config, plant, writer)
        cfg = self.config
        self._adapter = ModbusClientAdapter(cfg.host, cfg.port, cfg.device_id, cfg.timeout_s)
        by_interval: dict[float, list[Register]] = {}
        for register in cfg.registers:
            by_interval.setdefault(cfg.interval(register), []).append(register)
        self._schedules = [
            _Schedule(interval, plan_reads(regs)) for interval, regs in sorted(by_interval.items())
        ]
        self._state_equipment = sorted({r.equipment for r in cfg.registers if r.signal == STATE_SIGNAL})
        self._last_state: dict[str, str] = {}
        self._last_code: dict[str, int] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._failing: dict[tuple[str, int], str] = {}
        self._ranges: dict[tuple[str, str], tuple[float, float]] = {}
        self._gap_started: float | None = None
        self._ever_connected = False

    # --- lifecycle --------------------------------------------------------------------

    async def setup(self) -> None:
        """Check every register's equipment and signal against the plant."""
        problems = plant_problems(self.config, self.plant, f"source {self.name}")
        if problems:
            raise UserError(f"modbus source {self.name!r} does not match the plant", problems)
        equipment = self.plant.equipment_by_id()
        for register in self.config.registers:
            for signal in equipment[register.equipment].signals:
                if signal.name == register.signal and signal.measuring_range is not None:
                    self._ranges[(register.equipment, register.signal)] = signal.measuring_range

    async def run(self) -> None:
        """Connect, poll until cancelled, reconnect with backoff after the connection drops."""
        backoff = Backoff()
        try:
            while True:
                try:
                    await self._adapter.connect()
                except ModbusConnectionError as exc:
                    self.status.last_error = str(exc)
                    await backoff.wait()
                    continue
                backoff.reset()
                self._connected()
                try:
                    await self._poll_forever()
                except ModbusConnectionError as exc:
                    logger.warning("modbus source %s: %s", self.name, exc)
                    self._lost(str(exc))
                    self._adapter.close()
                    await backoff.wait()
                except Exception as exc:  # a library surprise must not end ingestion: start over
                    logger.exception("modbus source %s: unexpected error, reconnecting", self.name)
                    self._lost(f"unexpected error: {exc!r}")
                    self._adapter.close()
                    await backoff.wait()
        except asyncio.CancelledError:
            # no more polls: from now on nothing is known about these machines
            self._to_no_data(self.writer.batch, _now_us())
            raise

    async def close(self) -> None:
        """Close the connection."""
        self._adapter.close()
        self.status.connected = False

    # --- connection -------------------------------------------------------------------

    def _connected(self) -> None:
        if self._ever_connected:
            self.status.reconnects += 1
        self._ever_connected = True
        self.status.connected = True
        if self._gap_started is not None:
            self.status.gaps.append((self._gap_started, time.time()))
            self._gap_started = None
        now = time.monotonic()
        for schedule in self._schedules:
            schedule.next_due = now

    def _lost(self, reason: str) -> None:
        self.status.connected = False
        self.status.last_error = reason
        self._gap_started = time.time()
        self._to_no_data(self.writer.batch, _now_us())

    def _to_no_data(self, batch: EventBatch, ts_us: int) -> None:
        for equipment in self._state_equipment:
            if self._last_state.get(equipment, State.no_data.value) != State.no_data.value:
                batch.state_change(equipment, ts_us, State.no_data.value)
                self.status.points += 1
            self._last_state[equipment] = State.no_data.value
            self._last_code.pop(equipment, None)

    # --- polling ----------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            schedule = min(self._schedules, key=lambda s: s.next_due)
            wait = schedule.next_due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._poll(schedule)
            self.status.missed_polls += schedule.advance(time.monotonic())
            await self.writer.room()

    async def _poll(self, schedule: _Schedule) -> None:
        """Read every group of the schedule, then decode all of it into the batch in one go."""
        ts_us = _now_us()
        results: list[tuple[ReadGroup, list[int] | list[bool] | ModbusReadError]] = []
        for group in list(schedule.groups):
            try:
                results.append((group, await self._adapter.read(group.table, group.address, group.count)))
            except ModbusReadError as exc:
                if exc.exception_code == ILLEGAL_DATA_ADDRESS and len(group.members) > 1:
                    # one bad address fails the whole block: read its registers one by one from now on
                    singles = plan_reads_singly(group)
                    index = schedule.groups.index(group)
                    schedule.groups[index : index + 1] = singles
                    for single in singles:
                        try:
                            values = await self._adapter.read(single.table, single.address, single.count)
                            results.append((single, values))
                        except ModbusReadError as one:
                            results.append((single, one))
                else:
                    results.append((group, exc))
        # no await from here on: the writer swaps its batch between commits
        self._record(self.writer.batch, ts_us, results)

    def _record(
        self,
        batch: EventBatch,
        ts_us: int,
        results: list[tuple[ReadGroup, list[int] | list[bool] | ModbusReadError]],
    ) -> None:
        """Decode read results taken at ``ts_us`` into ``batch``."""
        points_before, rejects_before = batch.points, len(batch.rejected)
        counts: dict[str, list[int]] = {}
        for group, outcome in results:
            batch.received()
            if isinstance(outcome, ModbusReadError):
                for register in group.members:
                    self._read_failed(batch, register, outcome)
                continue
            for register in group.members:
                self._failing.pop((register.table, register.address), None)
                self._value(batch, ts_us, register, group.slice_for(register, outcome), counts)
        for equipment, (good, scrap) in counts.items():
            if good or scrap:
                # one row for both counters: the store keys counts by (equipment, ts)
                batch.count(ts_us, equipment, good, scrap)
        self.status.polls += 1
        self.status.messages += len(results)
        self.status.points += batch.points - points_before
        self.status.rejected += len(batch.rejected) - rejects_before
        self.status.last_message_at = time.time()

    def _value(
        self,
        batch: EventBatch,
        ts_us: int,
        register: Register,
        words: Sequence[int] | Sequence[bool],
        counts: dict[str, list[int]],
    ) -> None:
        raw = decode(register, words)
        if register.signal == STATE_SIGNAL:
            self._state(batch, ts_us, register, int(raw), words)
        elif register.signal in (GOOD_COUNT, SCRAP_COUNT):
            self._counter(batch, register, int(raw), words, counts)
        else:
            self._measurement(batch, ts_us, register, float(raw), words)

    def _measurement(
        self, batch: EventBatch, ts_us: int, register: Register, raw: float, words: object
    ) -> None:
        value = raw * register.scale + register.offset
        if not math.isfinite(value):
            kind = "nan" if math.isnan(value) else "not finite"
            self._reject(batch, register, f"{kind}: {register.data_type} {raw} for {register.label}", words)
            return
        bounds = self._ranges.get((register.equipment, register.signal))
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            self._reject(
                batch,
                register,
                f"out of range: {value:g} outside the measuring range [{bounds[0]:g}, {bounds[1]:g}] "
                f"of {register.label}",
                words,
            )
            return
        batch.measurement(register.equipment, register.signal, ts_us, value)

    def _state(self, batch: EventBatch, ts_us: int, register: Register, code: int, words: object) -> None:
        equipment = register.equipment
        if self._last_code.get(equipment) == code:
            return
        self._last_code[equipment] = code
        codes = self.config.codes_for(register)
        state = codes.get(code)
        if state is None:
            known = ", ".join(str(c) for c in sorted(codes))
            self._reject(
                batch, register, f"unknown state code: {code} for {equipment} (known: {known})", words
            )
            return
        if self._last_state.get(equipment) != state.value:
            batch.state_change(equipment, ts_us, state.value)
            self._last_state[equipment] = state.value

    def _counter(
        self, batch: EventBatch, register: Register, reading: int, words: object, counts: dict[str, list[int]]
    ) -> None:
        if reading < 0:
            self._reject(
                batch, register, f"bad counter: negative reading {reading} for {register.label}", words
            )
            return
        key = (register.equipment, register.signal)
        previous = self._counters.get(key)
        self._counters[key] = reading
        if previous is None:
            return  # the first reading is the baseline
        step = int(increments([previous, reading])[1])
        totals = counts.setdefault(register.equipment, [0, 0])
        totals[0 if register.signal == GOOD_COUNT else 1] += step

    def _read_failed(self, batch: EventBatch, register: Register, error: ModbusReadError) -> None:
        key = (register.table, register.address)
        message = str(error)
        if self._failing.get(key) == message:
            return  # the same failure every poll is one quarantine entry, not one per second
        self._failing[key] = message
        self._reject(
            batch, register, f"read error: {message} for {register.label}", None, error.exception_code
        )

    def _reject(
        self,
        batch: EventBatch,
        register: Register,
        reason: str,
        words: object,
        exception_code: int | None = None,
    ) -> None:
        cfg = self.config
        raw: dict[str, object] = {
            "host": cfg.host,
            "port": cfg.port,
            "device_id": cfg.device_id,
            "table": register.table,
            "address": register.address,
            "data_type": register.data_type,
            "word_order": register.word_order,
            "equipment": register.equipment,
            "signal": register.signal,
        }
        if words is not None:
            raw["words"] = [int(w) for w in words] if isinstance(words, Sequence) else words
        if exception_code is not None:
            raw["exception_code"] = exception_code
        where = f"modbus://{cfg.host}:{cfg.port}/{cfg.device_id}/{register.table}/{register.address}"
        batch.reject(where, reason, json.dumps(raw, sort_keys=True))


def plan_reads_singly(group: ReadGroup) -> list[ReadGroup]:
    """One read per register of a group (after the device refused the block)."""
    return [ReadGroup(r.table, r.address, r.words, [r]) for r in group.members]


def _now_us() -> int:
    return time.time_ns() // 1000
