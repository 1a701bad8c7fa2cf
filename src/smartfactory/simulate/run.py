"""Run the digital twin of a plant and stream its events to a sink."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import simpy

from smartfactory.model.calendar import build_timelines, local_epoch
from smartfactory.model.errors import UserError
from smartfactory.model.events import SCHEMAS, AlarmAction, EventSink, EventType, Severity, State
from smartfactory.model.plant import Plant
from smartfactory.simulate.engine import Fault, Line, Machine, ReleasedOrder
from smartfactory.simulate.randomness import RandomStream
from smartfactory.simulate.signals import (
    History,
    energy_readings,
    sample_times,
    signal_values,
    threshold_alarms,
)

logger = logging.getLogger(__name__)

Progress = Callable[[float, float], None]


@dataclass
class MachineTruth:
    """What really happened to one machine, as the twin knows it."""

    equipment: str
    networked: bool
    state_seconds: dict[str, float]
    good: int
    scrap: int
    rework: int
    failures: int
    energy_kwh: float


@dataclass
class SimulationResult:
    """The twin's own record of a run: ground truth, flows and what went to the sink."""

    plant_id: str
    seed: int
    start_utc: datetime
    horizon_s: float
    wall_s: float
    machines: dict[str, MachineTruth]
    lines: dict[str, dict[str, Any]]
    events_written: dict[str, int] = field(default_factory=dict)
    # the order book the twin worked to: the plant file's orders and the demand it generated
    orders: list[ReleasedOrder] = field(default_factory=list)

    def truth_json(self) -> dict[str, Any]:
        """The ground truth as plain JSON-ready data."""
        return {
            "machines": {k: vars(v) for k, v in self.machines.items()},
            "lines": self.lines,
            "orders": self.orders_json(),
        }

    def orders_json(self) -> list[dict[str, Any]]:
        """The order book as JSON: id, product, quantity, release, due and when the order closed
        (its last unit left the line; None while open), in UTC, ISO 8601.

        Stored with the run so that the plant's own data holds the orders the twin generated
        (the scheduler plans the ones still open); a real plant's come from its ERP.
        """

        def moment(seconds: float) -> str:
            # whole seconds, rounded down: an order closed by the end of the run reads as closed then
            at = self.start_utc + timedelta(seconds=math.floor(seconds))
            return at.replace(tzinfo=UTC).isoformat()

        return [
            {
                "id": o.id,
                "product": o.product,
                "quantity": o.quantity,
                "release": moment(o.release_s),
                "due": moment(o.due_s),
                "closed": None if o.closed_s is None else moment(o.closed_s),
            }
            for o in self.orders
        ]


def simulate(
    plant: Plant,
    sink: EventSink,
    *,
    start: datetime,
    days: float,
    seed: int = 0,
    faults: list[Fault] | None = None,
    chunk_s: float = 6 * 3600.0,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate ``plant`` from local time ``start`` for ``days`` and write events to ``sink``."""
    if days <= 0:
        raise UserError(f"days must be positive, got {days}")
    clock = time.perf_counter()
    horizon = days * 86400.0
    tz = ZoneInfo(plant.plant.timezone)
    origin_epoch = local_epoch(start, tz)
    origin_us = round(origin_epoch * 1e6)
    faults = faults or []
    check_faults(plant, faults)
    logger.info("simulating %s for %g days from %s (seed %d)", plant.plant.id, days, start, seed)

    seeds = np.random.SeedSequence(seed)
    env = simpy.Environment()
    timelines = build_timelines(plant, start, horizon)
    orders = _orders(plant, start, horizon, origin_epoch, tz, np.random.default_rng(seeds.spawn(1)[0]))
    machine_seeds = seeds.spawn(len(plant.equipment))
    lines: dict[str, Line] = {}
    machines: list[Machine] = []
    seed_of = dict(zip([e.id for e in plant.equipment], machine_seeds, strict=True))
    for line_cfg in plant.lines:
        line = Line(env, plant, line_cfg.id, orders)
        lines[line.id] = line
        env.process(line.release())
        for step, cell in enumerate(line.cells):
            for equipment in plant.equipment_of(cell.id):
                machine = Machine(
                    env,
                    plant,
                    equipment,
                    line,
                    step,
                    timelines[equipment.id],
                    RandomStream(seed_of[equipment.id]),
                    [f for f in faults if f.equipment == equipment.id],
                )
                machines.append(machine)
                env.process(machine.run())

    emitter = _Emitter(sink, machines, origin_us, seed)
    t = 0.0
    while t < horizon:
        t = min(t + chunk_s, horizon)
        env.run(until=t)
        emitter.flush(t, final=t >= horizon)
        if progress:
            progress(t, horizon)
    sink_close = getattr(sink, "flush", None)
    if callable(sink_close):
        sink_close()

    truth = {m.id: _truth(m, horizon) for m in machines}
    line_truth = {
        line.id: {
            "released": line.flow.released,
            "finished": line.flow.finished,
            "removed_at": list(line.flow.removed_at),
            "buffer_in": list(line.flow.buffer_in),
            "buffer_out": list(line.flow.buffer_out),
            "buffer_level": [len(store.items) for store in line.inputs],
            "orders": len(line.orders),
        }
        for line in lines.values()
    }
    logger.debug("simulated %d events in %.1f s", sum(emitter.written.values()), time.perf_counter() - clock)
    return SimulationResult(
        plant_id=plant.plant.id,
        seed=seed,
        start_utc=datetime(1970, 1, 1) + timedelta(microseconds=origin_us),
        horizon_s=horizon,
        wall_s=time.perf_counter() - clock,
        machines=truth,
        lines=line_truth,
        events_written=emitter.written,
        orders=orders,
    )


def check_faults(plant: Plant, faults: list[Fault]) -> None:
    """Refuse faults that name equipment or reasons the plant does not have."""
    known = plant.equipment_by_id()
    reasons = plant.reason_by_code()
    for f in faults:
        if f.equipment not in known:
            raise UserError(f"fault names unknown equipment {f.equipment!r}; equipment: {sorted(known)}")
        if f.reason not in reasons:
            raise UserError(f"fault names unknown reason {f.reason!r}; reasons: {sorted(reasons)}")
        if f.at_s < 0:
            raise UserError(f"fault on {f.equipment!r} is before the simulation start")


def _orders(
    plant: Plant, start: datetime, horizon: float, origin: float, tz: ZoneInfo, rng: np.random.Generator
) -> list[ReleasedOrder]:
    out = []
    for o in plant.orders:
        release = local_epoch(o.release, tz) - origin if o.release else 0.0
        out.append(
            ReleasedOrder(o.id, o.product, o.quantity, max(release, 0.0), local_epoch(o.due, tz) - origin)
        )
    demand = plant.demand
    if demand is not None:
        weights = np.asarray(demand.mix or [1.0] * len(demand.products), dtype=float)
        weights = weights / weights.sum()
        gap = 86400.0 / demand.per_day
        t = 0.0
        n = 0
        while t < horizon:
            n += 1
            product = demand.products[int(rng.choice(len(weights), p=weights))]
            qty = int(rng.integers(demand.quantity[0], demand.quantity[1] + 1))
            stamp = (start + timedelta(seconds=t)).strftime("%y%m%d")
            out.append(ReleasedOrder(f"MO-{stamp}-G{n:04d}", product, qty, t, t + demand.due_days * 86400.0))
            t += gap * float(rng.uniform(0.7, 1.3))
    return out


def _truth(machine: Machine, horizon: float) -> MachineTruth:
    history = History.of(machine.log, horizon)
    seconds: dict[str, float] = {s.value: 0.0 for s in State}
    for code, total in zip(history.states.tolist(), (history.ends - history.starts).tolist(), strict=True):
        seconds[list(State)[code].value] += total
    c = machine.counts
    energy = 0.0
    if machine.equipment.energy is not None and len(history.starts):
        energy = float(energy_readings(machine.equipment, history, np.array([horizon]))[0])
    return MachineTruth(
        equipment=machine.id,
        networked=machine.equipment.networked,
        state_seconds=seconds,
        good=sum(c.good),
        scrap=sum(c.scrap),
        rework=sum(c.rework),
        failures=machine.failures,
        energy_kwh=energy,
    )


class _Emitter:
    """Turns the machines' logs into Arrow batches, chunk by chunk, for the sink."""

    def __init__(self, sink: EventSink, machines: list[Machine], origin_us: int, seed: int) -> None:
        self.sink = sink
        self.machines = [m for m in machines if m.equipment.networked]
        self.origin_us = origin_us
        self.cursor: dict[str, dict[str, int]] = {
            m.id: {"states": 0, "counts": 0, "cycle": 0, "alarms": 0} for m in self.machines
        }
        self.sampled_until = 0.0
        self.alarm_state: dict[tuple[str, str], int] = {}
        self.rngs = {
            m.id: np.random.default_rng(np.random.SeedSequence([seed, 7, i]))
            for i, m in enumerate(self.machines)
        }
        self.phase = {m.id: float(self.rngs[m.id].uniform(0, 1)) for m in self.machines}
        self.written: dict[str, int] = {t.value: 0 for t in EventType}

    def _ts(self, seconds: np.ndarray | list[float]) -> pa.Array:
        micros = np.rint(np.asarray(seconds, dtype=np.float64) * 1e6).astype(np.int64) + self.origin_us
        return pa.array(micros, type=pa.timestamp("us"))

    def flush(self, now: float, final: bool) -> None:
        """Emit everything that happened up to ``now``."""
        if final:
            for m in self.machines:
                m.log.close(now)
        states, counts, measurements, alarms = [], [], [], []
        for m in self.machines:
            states.append(self._states(m))
            counts.append(self._counts(m))
            measurements.append(self._cycle_signals(m))
            sampled, signal_alarms = self._periodic(m, now, final)
            measurements.extend(sampled)
            alarms.append(self._alarms(m, now, signal_alarms))
        self.sampled_until = now
        for event_type, parts in (
            (EventType.states, states),
            (EventType.counts, counts),
            (EventType.measurements, measurements),
            (EventType.alarms, alarms),
        ):
            batch = [p for p in parts if p is not None and p.num_rows]
            if batch:
                table = pa.concat_tables(batch)
                self.written[event_type.value] += self.sink.write(event_type, table)

    def _unsent(self, m: Machine, log: str, length: int) -> slice | None:
        """The rows of one of the machine's logs not emitted yet (None: none), now counted as emitted."""
        cursor = self.cursor[m.id]
        lo, cursor[log] = cursor[log], length
        return None if lo == length else slice(lo, length)

    def _states(self, m: Machine) -> pa.Table | None:
        log = m.log
        new = self._unsent(m, "states", len(log.starts))
        if new is None:
            return None
        return _table(
            EventType.states,
            [
                [m.id] * (new.stop - new.start),
                self._ts(log.starts[new]),
                self._ts(log.ends[new]),
                [s.value for s in log.states[new]],
                log.reasons[new],
                log.orders[new],
                log.products[new],
            ],
        )

    def _counts(self, m: Machine) -> pa.Table | None:
        log = m.counts
        new = self._unsent(m, "counts", len(log.ts))
        if new is None:
            return None
        return _table(
            EventType.counts,
            [
                self._ts(log.ts[new]),
                [m.id] * (new.stop - new.start),
                log.orders[new],
                log.products[new],
                log.good[new],
                log.scrap[new],
                log.rework[new],
                log.parts[new],
            ],
        )

    def _cycle_signals(self, m: Machine) -> pa.Table | None:
        log = m.cycle_signals
        new = self._unsent(m, "cycle", len(log.ts))
        if new is None:
            return None
        columns = [self._ts(log.ts[new]), [m.id] * (new.stop - new.start), log.signals[new], log.values[new]]
        return _table(EventType.measurements, columns)

    def _periodic(
        self, m: Machine, now: float, final: bool
    ) -> tuple[list[pa.Table], list[tuple[float, str, str, str]]]:
        lo = self.sampled_until
        history = History.of(m.log, now)
        if not len(history.starts):
            return [], []
        out: list[pa.Table] = []
        alarms: list[tuple[float, str, str, str]] = []
        rng = self.rngs[m.id]
        periodic = [s for s in m.equipment.signals if s.sampling_s is not None]
        for signal in periodic:
            assert signal.sampling_s is not None
            times = sample_times(signal.sampling_s, self.phase[m.id] * signal.sampling_s, lo, now)
            if not len(times):
                continue
            values = signal_values(signal, history, times, rng)
            out.append(self._measure(m.id, signal.name, times, values))
            key = (m.id, signal.name)
            transitions, self.alarm_state[key] = threshold_alarms(
                signal, times, values, self.alarm_state.get(key, 0)
            )
            alarms.extend(
                (t, f"{signal.name}.{side}", action, signal.name) for t, side, action in transitions
            )
        energy = m.equipment.energy
        if energy is not None:
            # the meter's first reading is at the start so consumption is the difference
            # the last flush also reads the meter at the horizon itself
            times = sample_times(energy.sampling_s, 0.0, lo, now + 1e-6 if final else now)
            if len(times):
                out.append(
                    self._measure(m.id, energy.signal, times, energy_readings(m.equipment, history, times))
                )
        return out, alarms

    def _measure(self, equipment: str, signal: str, times: np.ndarray, values: np.ndarray) -> pa.Table:
        n = len(times)
        return _table(EventType.measurements, [self._ts(times), [equipment] * n, [signal] * n, values])

    def _alarms(
        self, m: Machine, now: float, signal_alarms: list[tuple[float, str, str, str]]
    ) -> pa.Table | None:
        log = m.alarms
        new = self._unsent(m, "alarms", len(log.ts)) or slice(0, 0)
        rows = [
            (log.ts[k], log.codes[k], log.severities[k], log.actions[k], log.messages[k])
            for k in range(new.start, new.stop)
        ]
        for t, code, action, signal in signal_alarms:
            severity = Severity.warning
            message = f"{m.id}: {signal} outside its normal range" if action == AlarmAction.raised else ""
            rows.append((t, code, severity.value, action, message))
        if not rows:
            return None
        rows.sort(key=lambda r: r[0])
        return _table(
            EventType.alarms,
            [
                self._ts([r[0] for r in rows]),
                [m.id] * len(rows),
                [r[1] for r in rows],
                [str(r[2]) for r in rows],
                [str(r[3]) for r in rows],
                [r[4] for r in rows],
            ],
        )


def _table(event_type: EventType, columns: list[Any]) -> pa.Table:
    """A table of the event type; columns not yet Arrow arrays take the schema's types."""
    schema = SCHEMAS[event_type]
    arrays = [
        c if isinstance(c, pa.Array) else pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)
    ]
    return pa.table(arrays, schema=schema)
