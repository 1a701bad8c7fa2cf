"""The discrete-event plant: machines pulling parts through buffers under a shift calendar."""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from smartfactory.model.calendar import Timeline
from smartfactory.model.events import AlarmAction, Severity, State
from smartfactory.model.plant import Equipment, Plant, ReasonRole, Routing
from smartfactory.simulate.randomness import RandomStream
from smartfactory.simulate.recorder import AlarmLog, CountLog, CycleSignalLog, StateLog

_EPS = 1e-9
Process = Generator[simpy.Event, Any, Any]


@dataclass(frozen=True)
class Fault:
    """An injected failure: ``equipment`` fails with ``reason`` at ``at_s`` seconds."""

    equipment: str
    at_s: float
    reason: str
    repair_min: float | None = None


@dataclass
class Part:
    """A unit in the line; ``escaped`` marks a defect no upstream machine caught."""

    id: str
    order: str
    product: str
    escaped: bool = False


@dataclass
class ReleasedOrder:
    """An order as the line releases it."""

    id: str
    product: str
    quantity: int
    release_s: float
    due_s: float
    left: int = 0  # units out of the line: finished or removed
    closed_s: float | None = None  # when its last unit left the line (an MES closes it then)


@dataclass
class LineFlow:
    """Parts in and out of a line's buffers: the twin's own account, checked by tests."""

    released: int = 0
    finished: int = 0
    buffer_in: list[int] = field(default_factory=list)
    buffer_out: list[int] = field(default_factory=list)
    removed_at: list[int] = field(default_factory=list)

    def still_to_arrive(self, step: int) -> int:
        """Units released that have not yet reached step ``step``'s input and may still."""
        return self.released - sum(self.removed_at[:step]) - self.buffer_in[step]


class Machine:
    """One piece of equipment: its process, its wear and what it records."""

    def __init__(
        self,
        env: simpy.Environment,
        plant: Plant,
        equipment: Equipment,
        line: Line,
        step: int,
        timeline: Timeline,
        rng: RandomStream,
        faults: list[Fault],
    ) -> None:
        self.env = env
        self.equipment = equipment
        self.id = equipment.id
        self.line = line
        self.step = step
        self.timeline = timeline
        self.rng = rng
        self.faults = sorted(faults, key=lambda f: f.at_s)
        self.log = StateLog()
        self.counts = CountLog()
        self.cycle_signals = CycleSignalLog()
        self.alarms = AlarmLog()
        self.failures = 0
        self.product: str | None = None
        self.holding: Part | None = None
        self.reason_names = {r.code: r.name.en for r in plant.reasons}
        rel = equipment.reliability
        self.life = (rel and rng.weibull(rel.weibull_shape, rel.weibull_scale_h * 3600.0)) or math.inf
        # a plant is not new when the twin starts: each machine is somewhere in its life
        self.age = self.life * rng.uniform() if math.isfinite(self.life) else 0.0
        self.micro_left = self._next_micro()
        self.micro_reason = plant.reason_for_role(ReasonRole.micro_stop)
        self.tool_reason = plant.reason_for_role(ReasonRole.tool_change)
        self.tool_cycles = 0
        self.last_pm_segment = -1
        self.cycles_started = 0
        self.failed_at = 0.0

    # --- bookkeeping ------------------------------------------------------------------

    def _set(self, state: State, reason: str | None = None) -> None:
        part = self.holding
        self.log.switch(
            self.env.now,
            state,
            reason,
            part.order if part else None,
            part.product if part else None,
            self.age,
            self.life,
        )

    def _next_micro(self) -> float:
        rel = self.equipment.reliability
        if rel is None or rel.micro_stops_per_h <= 0:
            return math.inf
        return self.rng.exponential(3600.0 / rel.micro_stops_per_h)

    def _horizon(self, t: float) -> tuple[int, float]:
        """The calendar segment at ``t`` and when the machine must next look again."""
        i = self.timeline.at(t)
        until = self.timeline.ends[i]
        if self.faults and self.faults[0].at_s > t:
            until = min(until, self.faults[0].at_s)
        return i, until

    def _enter_segment(self, i: int) -> None:
        # planned maintenance restores part of the machine's life, once per window
        roles = self.timeline.roles
        if roles[i] is ReasonRole.planned_maintenance and i != self.last_pm_segment:
            # a window split by a shift boundary is still one maintenance job
            continued = self.last_pm_segment == i - 1 and roles[i - 1] is ReasonRole.planned_maintenance
            self.last_pm_segment = i
            if continued:
                return
            rel = self.equipment.reliability
            if rel is not None:
                self.age *= 1.0 - rel.pm_restoration

    def _fault_due(self) -> Fault | None:
        if self.faults and self.faults[0].at_s <= self.env.now + _EPS:
            return self.faults.pop(0)
        return None

    # --- waiting and working ----------------------------------------------------------

    def _wait(self, request: simpy.Event, waiting: State) -> Process:
        """Wait for a buffer request, recording starved/blocked/idle or planned stops."""
        while not request.triggered:
            t = self.env.now
            i, until = self._horizon(t)
            if self.timeline.reasons[i] is not None:
                self._enter_segment(i)
                self._set(State.planned_stop, self.timeline.reasons[i])
            else:
                self._set(waiting if waiting is State.blocked else self.line.waiting_state(self.step))
            yield request | self.env.timeout(max(until - t, _EPS))
            fault = self._fault_due()
            if fault is not None:
                yield from self._breakdown(fault.reason, fault.repair_min)
        return request.value

    def _work(self, duration: float, state: State, reason: str | None = None) -> Process:
        """Spend ``duration`` seconds of available time in ``state``; False if a failure hit."""
        remaining = duration
        while remaining > _EPS:
            t = self.env.now
            i, until = self._horizon(t)
            if self.timeline.reasons[i] is not None:
                self._enter_segment(i)
                self._set(State.planned_stop, self.timeline.reasons[i])
                yield self.env.timeout(max(until - t, _EPS))
                fault = self._fault_due()
                if fault is not None:
                    yield from self._breakdown(fault.reason, fault.repair_min)
                    return False
                continue
            step = min(remaining, until - t)
            if state is State.running:
                step = min(step, self.life - self.age, self.micro_left)
            step = max(step, 0.0)
            self._set(state, reason)
            if step > 0:
                yield self.env.timeout(step)
            remaining -= step
            if state is State.running:
                self.age += step
                self.micro_left -= step
            fault = self._fault_due()
            if fault is not None:
                yield from self._breakdown(fault.reason, fault.repair_min)
                return False
            if state is State.running and self.age >= self.life - _EPS:
                rel = self.equipment.reliability
                assert rel is not None
                mode = rel.modes[self.rng.choice([m.weight for m in rel.modes])]
                yield from self._breakdown(mode.reason, None)
                return False
            if state is State.running and self.micro_left <= _EPS:
                rel = self.equipment.reliability
                assert rel is not None
                self._set(State.unplanned_down, self.micro_reason)
                yield self.env.timeout(self.rng.exponential(rel.micro_stop_mean_s))
                self.micro_left = self._next_micro()
        return True

    def _breakdown(self, reason: str, repair_min: float | None) -> Process:
        """Fail now: alarm, repair (continuous, across shifts) and a new life."""
        rel = self.equipment.reliability
        if repair_min is not None:
            repair = repair_min * 60.0
        elif rel is not None:
            repair = self.rng.lognormal_median(rel.repair_median_min * 60.0, rel.repair_sigma)
        else:
            repair = 1800.0
        now = self.env.now
        self.failed_at = now
        self.failures += 1
        name = self.reason_names.get(reason, reason)
        self.alarms.add(now, reason, Severity.critical, AlarmAction.raised, f"{self.id}: {name}")
        ack = min(self.rng.exponential(rel.ack_mean_s if rel else 180.0), repair * 0.9)
        self.env.process(self._acknowledge(ack, reason))
        self._set(State.unplanned_down, reason)
        yield self.env.timeout(repair)
        self.alarms.add(self.env.now, reason, Severity.critical, AlarmAction.cleared, "")
        self.age = 0.0
        self.life = (rel and self.rng.weibull(rel.weibull_shape, rel.weibull_scale_h * 3600.0)) or math.inf

    def _acknowledge(self, delay: float, reason: str) -> Process:
        # the operator acknowledges while the repair goes on; logged when it happens so the
        # log stays in time order
        yield self.env.timeout(delay)
        self.alarms.add(self.env.now, reason, Severity.critical, AlarmAction.acknowledged, "")

    # --- the machine's life -----------------------------------------------------------

    def run(self) -> Process:
        """Take a part, set up if the product changed, process it, pass it on; forever."""
        line = self.line
        routing_steps = line.steps
        quality = self.equipment.quality
        while True:
            part: Part = yield from self._wait(line.inputs[self.step].get(), State.starved)
            self.holding = part
            line.flow.buffer_out[self.step] += 1
            step = routing_steps[part.product].steps[self.step]
            if part.product != self.product:
                if step.setup_s > 0:
                    yield from self._work(step.setup_s, State.setup)
                self.product = part.product
            if quality and quality.tool_life_cycles and self.tool_cycles >= quality.tool_life_cycles:
                yield from self._work(quality.tool_change_s, State.setup, self.tool_reason)
                self.tool_cycles = 0
            cv = self.equipment.cycle_cv
            duration = step.cycle_s * math.exp(cv * self.rng.normal() - cv * cv / 2) if cv else step.cycle_s
            params = self._draw_parameters()
            self.cycles_started += 1
            done = yield from self._work(duration, State.running)
            if not done:
                # the unit in the machine when it broke down is scrap, counted when it broke
                self._count(part, 0, 1, 0, at=self.failed_at)
                line.flow.removed_at[self.step] += 1
                line.part_left(part)
                self.holding = None
                continue
            good, scrap, rework = self._judge(part, params)
            self.tool_cycles += 1
            self._count(part, good, scrap, rework)
            if not good:
                line.flow.removed_at[self.step] += 1
                line.part_left(part)
                self.holding = None
                continue
            if self.step == len(line.cells) - 1:
                line.flow.finished += 1
                line.part_left(part)
            else:
                yield from self._wait(line.inputs[self.step + 1].put(part), State.blocked)
                line.flow.buffer_in[self.step + 1] += 1
            self.holding = None

    def _draw_parameters(self) -> dict[str, float]:
        quality = self.equipment.quality
        if quality is None:
            return {}
        return {p.signal: p.setpoint + p.sd * self.rng.normal() for p in quality.parameters}

    def _judge(self, part: Part, params: dict[str, float]) -> tuple[int, int, int]:
        quality = self.equipment.quality
        now = self.env.now
        cycle_signals = self.cycle_signals
        for name, value in params.items():
            cycle_signals.ts.append(now)
            cycle_signals.signals.append(name)
            cycle_signals.values.append(value)
        if quality is None:
            return 1, 0, 0
        wear = self.tool_cycles / quality.tool_life_cycles if quality.tool_life_cycles else 0.0
        logit = quality.base_logit + quality.wear_coef * wear
        deviation = 0.0
        for p in quality.parameters:
            z = (params[p.signal] - p.optimum) / p.scale
            logit += p.coef * z * z
            deviation += p.effect * z
        outcome = "good"
        if self.rng.uniform() < 1.0 / (1.0 + math.exp(-logit)):
            if self.rng.uniform() < quality.escape_share:
                part.escaped = True
            else:
                outcome = "rework" if self.rng.uniform() < quality.rework_share else "scrap"
        ch = quality.characteristic
        if ch is not None:
            target = self.line.targets[part.product][ch.target_key]
            value = target + deviation + ch.wear_effect * wear + ch.noise_sd * self.rng.normal()
            cycle_signals.ts.append(now)
            cycle_signals.signals.append(ch.signal)
            cycle_signals.values.append(value)
            if abs(value - target) > ch.tolerance and outcome == "good":
                outcome = ch.out_of_tolerance
        if quality.detects_escaped and part.escaped and outcome == "good":
            part.escaped = False
            outcome = "rework" if self.rng.uniform() < quality.rework_share else "scrap"
        return int(outcome == "good"), int(outcome == "scrap"), int(outcome == "rework")

    def _count(self, part: Part, good: int, scrap: int, rework: int, at: float | None = None) -> None:
        c = self.counts
        c.ts.append(self.env.now if at is None else at)
        c.orders.append(part.order)
        c.products.append(part.product)
        c.good.append(good)
        c.scrap.append(scrap)
        c.rework.append(rework)
        c.parts.append(part.id)


class Line:
    """A line: the release of orders, the cells in flow order and the buffers between them."""

    def __init__(
        self, env: simpy.Environment, plant: Plant, line_id: str, orders: list[ReleasedOrder]
    ) -> None:
        self.env = env
        self.id = line_id
        self.cells = plant.cells_of(line_id)
        self.steps: dict[str, Routing] = {r.product: r for r in plant.routings if r.line == line_id}
        self.targets = {p.id: p.targets for p in plant.products}
        self.orders = sorted(
            (o for o in orders if o.product in self.steps), key=lambda o: (o.release_s, o.due_s, o.id)
        )
        self._by_id = {o.id: o for o in self.orders}
        first = plant.equipment_of(self.cells[0].id)
        # the release store holds one unit per first-cell machine: a pull system, no pile-up
        self.inputs: list[simpy.Store] = [simpy.Store(env, capacity=len(first))]
        for cell in self.cells[:-1]:
            self.inputs.append(simpy.Store(env, capacity=cell.buffer_capacity))
        n = len(self.cells)
        self.flow = LineFlow(buffer_in=[0] * n, buffer_out=[0] * n, removed_at=[0] * n)

    def part_left(self, part: Part) -> None:
        """A unit left the line (finished or removed); the order closes with its last one."""
        order = self._by_id[part.order]
        order.left += 1
        if order.left == order.quantity:
            order.closed_s = self.env.now

    def waiting_state(self, step: int) -> State:
        """Starved while released units are still on their way to this step, else idle."""
        if step > 0 and self.flow.still_to_arrive(step) > 0:
            return State.starved
        return State.idle

    def release(self) -> Process:
        """Release orders unit by unit into the first cell when they are due for release."""
        for order in self.orders:
            if order.release_s > self.env.now:
                yield self.env.timeout(order.release_s - self.env.now)
            for n in range(order.quantity):
                part = Part(f"{order.id}-{n + 1:05d}", order.id, order.product)
                yield self.inputs[0].put(part)
                self.flow.released += 1
                self.flow.buffer_in[0] += 1
