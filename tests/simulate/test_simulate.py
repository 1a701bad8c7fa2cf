"""The digital twin: a golden run reasoned out by hand, and conservation laws on random plants."""

from __future__ import annotations

import bisect
import itertools
from datetime import datetime

import numpy as np
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plants import MachineSpec, PlantSpec
from smartfactory.model.events import EventType, State
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.simulate import Fault, MemorySink, SimulationResult, simulate

START = datetime(2026, 3, 2)  # a Monday, local time of the plant (Asia/Shanghai)
HOUR = 3600.0


def _run(
    spec: PlantSpec, days: float = 1.0, seed: int = 0, faults: list[Fault] | None = None
) -> tuple[Plant, MemorySink, SimulationResult]:
    plant = parse_plant(spec.toml(), "test.toml")
    sink = MemorySink()
    result = simulate(plant, sink, start=START, days=days, seed=seed, faults=faults)
    return plant, sink, result


def test_golden_two_machines_state_hours_and_counts() -> None:
    """Two deterministic machines, one 08:00-16:00 shift, one order of 100 units.

    A: setup 600 s, cycle 60 s.  B: setup 300 s, cycle 90 s.  Buffer A→B holds 5.
    - 00:00-08:00 and 16:00-24:00 are outside the shift: 16 h planned stop each.
    - A holds unit 1 from midnight, sets up 08:00-08:10, then runs; unit k is done at
      08:10 + 60k s. Its runs take 100 × 60 = 6000 s.
    - B waits from 08:00 for unit 1 (done by A at 08:11): starved 660 s. It sets up 300 s,
      then runs unit after unit (A is faster): 100 × 90 = 9000 s, last one done at
      08:11 + 300 s + 9000 s = 10:46, i.e. t = 38760 s. Then idle until 16:00: 57600 - 38760 = 18840 s.
    - A is blocked when the buffer is full. Unit k (k >= 6) goes in only when B has taken
      unit k-5, which happens at T(j) = 29760 + 90 (j-1) s for j >= 2. A finishes unit k at
      T(k-6) + 60 = T(k-5) - 30 for k >= 7, so units 7..100 each wait 30 s: 94 × 30 = 2820 s.
      Unit 6 is finished at 29760 = T(1)+300 after B took unit 1, so it waits 0 s.
    - A's last put is at T(95) = 29760 + 90 × 94 = 38220 s, then it is idle (no orders)
      until 16:00: 57600 - 38220 = 19380 s.
    """
    spec = PlantSpec(
        cells=[[MachineSpec(cycle_s=60, setup_s=600)], [MachineSpec(cycle_s=90, setup_s=300)]],
        buffers=[5, 1],
        quantity=100,
    )
    _, sink, result = _run(spec)
    a = result.machines["M1A"].state_seconds
    b = result.machines["M2A"].state_seconds
    assert a["planned_stop"] == pytest.approx(16 * HOUR)
    assert a["setup"] == pytest.approx(600)
    assert a["running"] == pytest.approx(6000)
    assert a["blocked"] == pytest.approx(2820)
    assert a["idle"] == pytest.approx(19380)
    assert a["starved"] == 0 and a["unplanned_down"] == 0
    assert b["planned_stop"] == pytest.approx(16 * HOUR)
    assert b["starved"] == pytest.approx(660)
    assert b["setup"] == pytest.approx(300)
    assert b["running"] == pytest.approx(9000)
    assert b["idle"] == pytest.approx(18840)
    assert b["blocked"] == 0
    for truth in (result.machines["M1A"], result.machines["M2A"]):
        assert (truth.good, truth.scrap, truth.rework) == (100, 0, 0)
    # what went to the sink says the same as the twin's own truth
    states = sink.table(EventType.states)
    duration = pc.subtract(states["end"], states["start"])
    seconds = pc.divide(pc.cast(duration, "int64"), 1_000_000).to_numpy()
    mask = (np.asarray(states["equipment"].to_pylist()) == "M2A") & (
        np.asarray(states["state"].to_pylist()) == "running"
    )
    assert seconds[mask].sum() == pytest.approx(9000)
    counts = sink.table(EventType.counts)
    assert pc.sum(counts["good"]).as_py() == 200
    # the last unit leaves B at 10:46 local = 02:46 UTC
    last = max(counts.filter(pc.equal(counts["equipment"], "M2A"))["ts"].to_pylist())
    assert last == datetime(2026, 3, 2, 2, 46)


def test_same_seed_same_events_other_seed_other_events() -> None:
    spec = PlantSpec(
        cells=[[MachineSpec(cycle_s=50, cycle_cv=0.1, weibull_scale_h=3, base_logit=-2.0)]],
        buffers=[3],
        quantity=500,
    )
    _, first, _ = _run(spec, seed=11)
    _, second, _ = _run(spec, seed=11)
    _, other, _ = _run(spec, seed=12)
    for kind in EventType:
        assert first.table(kind).equals(second.table(kind))
    assert not first.table(EventType.counts).equals(other.table(EventType.counts))


def test_injected_fault_stops_the_machine_at_that_time() -> None:
    spec = PlantSpec(cells=[[MachineSpec(cycle_s=60)]], buffers=[3], quantity=400)
    fault = Fault("M1A", 9 * HOUR, "U.FAIL", repair_min=30)
    _, sink, result = _run(spec, faults=[fault])
    assert result.machines["M1A"].failures == 1
    assert result.machines["M1A"].state_seconds["unplanned_down"] == pytest.approx(1800)
    states = sink.table(EventType.states).to_pylist()
    down = [s for s in states if s["state"] == "unplanned_down"]
    # 09:00 local on 2 March is 01:00 UTC
    assert down[0]["start"] == datetime(2026, 3, 2, 1, 0) and down[0]["reason"] == "U.FAIL"
    alarms = sink.table(EventType.alarms).to_pylist()
    assert [a["action"] for a in alarms if a["code"] == "U.FAIL"] == ["raised", "acknowledged", "cleared"]


def test_signals_drift_before_failures() -> None:
    """Vibration in the last tenth of a machine's life is higher than in its first half."""
    from smartfactory.model.plant_file import load_plant

    plant = load_plant("examples/plants/discrete_machining.toml")
    sink = MemorySink()
    result = simulate(plant, sink, start=START, days=14, seed=5)
    assert sum(m.failures for m in result.machines.values()) > 0
    m = sink.table(EventType.measurements)
    alarms = sink.table(EventType.alarms).to_pylist()
    failures = [
        (a["equipment"], a["ts"]) for a in alarms if a["severity"] == "critical" and a["action"] == "raised"
    ]
    rows = m.filter(pc.equal(m["signal"], "spindle_vibration")).to_pylist()
    late, early = [], []
    for equipment, at in failures:
        series = [(r["ts"], r["value"]) for r in rows if r["equipment"] == equipment and r["ts"] < at]
        running = [v for _, v in series if v > 1.0]  # samples while cutting
        if len(running) > 50:
            late.extend(running[-10:])
            early.extend(running[: len(running) // 2])
    assert late and early
    assert np.mean(late) > np.mean(early) + 0.5


@st.composite
def plants(draw: st.DrawFn) -> tuple[PlantSpec, int, float]:
    n_cells = draw(st.integers(1, 4))
    cells = []
    for _ in range(n_cells):
        machines = draw(st.integers(1, 3))
        cycle = draw(st.sampled_from([20.0, 45.0, 60.0, 90.0, 150.0, 400.0]))
        cells.append(
            [
                MachineSpec(
                    cycle_s=cycle,
                    setup_s=draw(st.sampled_from([0.0, 120.0, 900.0])),
                    cycle_cv=draw(st.sampled_from([0.0, 0.05, 0.2])),
                    weibull_scale_h=draw(st.sampled_from([None, 2.0, 20.0])),
                    micro_stops_per_h=draw(st.sampled_from([0.0, 2.0])),
                    base_logit=draw(st.sampled_from([None, -3.0, -1.0])),
                    tool_life_cycles=draw(st.sampled_from([None, 50])),
                )
                for _ in range(machines)
            ]
        )
    shifts = draw(
        st.sampled_from(
            [
                [("08:00", "16:00")],
                [("06:00", "14:00"), ("14:00", "22:00")],
                [("08:00", "20:00"), ("20:00", "08:00")],
                [("00:00", "00:00")],
            ]
        )
    )
    breaks = draw(st.sampled_from([[], [("12:00", 30)], [("10:00", 15), ("02:00", 45)]]))
    spec = PlantSpec(
        cells=cells,
        buffers=[draw(st.integers(1, 10)) for _ in range(n_cells)],
        shifts=shifts,
        breaks=breaks,
        quantity=draw(st.integers(1, 600)),
        products=draw(st.integers(1, 3)),
    )
    return spec, draw(st.integers(0, 2**16)), draw(st.sampled_from([0.5, 1.0, 2.5]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plants())
def test_conservation_on_random_plants(case: tuple[PlantSpec, int, float]) -> None:
    spec, seed, days = case
    plant, sink, result = _run(spec, days=days, seed=seed)
    horizon = days * 86400.0
    states = sink.table(EventType.states)
    counts = sink.table(EventType.counts)
    flow = result.lines["L"]
    for equipment in plant.equipment:
        truth = result.machines[equipment.id]
        # state durations sum to the simulated time
        assert sum(truth.state_seconds.values()) == pytest.approx(horizon, abs=1e-3)
        rows = sorted(
            (r for r in states.to_pylist() if r["equipment"] == equipment.id), key=lambda r: r["start"]
        )
        # the stored intervals tile the horizon: no gap, no overlap
        for before, after in itertools.pairwise(rows):
            assert before["end"] == after["start"]
        assert (rows[-1]["end"] - rows[0]["start"]).total_seconds() == pytest.approx(horizon, abs=1e-3)
        # every count ends a stretch of running: nothing is produced while down or stopped
        mine = [r for r in counts.to_pylist() if r["equipment"] == equipment.id]
        ends = [r["end"] for r in rows]
        for c in mine:
            holding = rows[bisect.bisect_left(ends, c["ts"])]
            assert holding["start"] < c["ts"] <= holding["end"]
            assert holding["state"] == State.running.value
            # completed cycles = good + scrap + rework: each cycle is exactly one of them
            assert c["good"] + c["scrap"] + c["rework"] == 1
        assert truth.good + truth.scrap + truth.rework == len(mine)
    # flow balances across buffers
    cells = plant.cells_of("L")
    assert flow["buffer_in"][0] == flow["released"]
    for k, cell in enumerate(cells):
        machines = [e.id for e in plant.equipment_of(cell.id)]
        taken = flow["buffer_out"][k]
        counted = sum(
            result.machines[m].good + result.machines[m].scrap + result.machines[m].rework for m in machines
        )
        assert 0 <= taken - counted <= len(machines)  # at most one unit in work per machine
        assert flow["buffer_in"][k] - flow["buffer_out"][k] == flow["buffer_level"][k]
        good = sum(result.machines[m].good for m in machines)
        passed_on = flow["finished"] if k == len(cells) - 1 else flow["buffer_in"][k + 1]
        assert 0 <= good - passed_on <= len(machines)  # a good unit may wait, blocked, in the machine
        assert flow["removed_at"][k] == counted - good
    assert flow["released"] <= spec.products * max(1, spec.quantity // spec.products)
