"""Scheduling: the JSSP parser and models, the plant's flexible job shop, infeasible orders and
rescheduling after a breakdown. Every schedule is checked here against the problem, by code
that does not share the solver's working-time clock."""

from __future__ import annotations

import hashlib
import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobshop_cases import FT06
from smartfactory.cli.simulate import run_into_store
from smartfactory.model.errors import UserError
from smartfactory.model.plant_file import load_plant
from smartfactory.scenarios.scheduling import (
    Job,
    SchedulingProblem,
    SchedulingScenario,
    Step,
    breakdown,
    check_schedule,
    load_bounds,
    parse_instance,
    plant_problem,
    reschedule,
    solve_jobshop,
    solve_textbook,
)
from smartfactory.scenarios.scheduling.orders import RecordedOrder, order_book, recorded_orders
from smartfactory.scenarios.scheduling.plant import to_utc
from smartfactory.scenarios.scheduling.problem import Operation, Schedule
from smartfactory.scenarios.scheduling.workclock import WorkClock
from smartfactory.simulate import simulate
from smartfactory.store import Registry, TelemetryStore

ROOT = Path(__file__).resolve().parents[2]
PLANT_FILE = ROOT / "examples" / "plants" / "discrete_machining.toml"


def _data_dir() -> Path | None:
    path = Path(os.environ.get("SMARTFACTORY_DATA", ROOT.parent / "shared" / "data"))
    return path if (path / "jsplib" / "bounds.csv").exists() else None


# --- the public side: parser, bounds, models ---------------------------------------------------


def test_parser_reads_ft06() -> None:
    instance = parse_instance(FT06, "ft06")
    assert (instance.n_jobs, instance.n_machines) == (6, 6)
    assert instance.jobs[0][:2] == ((2, 1), (0, 3))
    assert instance.jobs[5][-1] == (2, 1)
    # the longest job is job 1: 8 + 5 + 10 + 10 + 10 + 4 = 47; no machine carries more
    assert instance.trivial_lower_bound() == 47


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no 'jobs machines' header"),
        ("2 2\n0 1 1 2\n", "announces 2 jobs but 1"),
        ("1 2\n0 1 1\n", "needs 2 'machine time' pairs"),
        ("1 2\n0 1 5 2\n", "machine 5 is not in 0..1"),
        ("1 1\n0 x\n", "expected integers"),
        ("1 2 3\n", "two positive integers"),
        ("1 1\n0 -4\n", "negative processing time"),
    ],
)
def test_malformed_instance_is_a_user_error(text: str, fragment: str) -> None:
    with pytest.raises(UserError, match=fragment):
        parse_instance(text, "bad")


def test_bounds_file(tmp_path: Path) -> None:
    good = tmp_path / "bounds.csv"
    good.write_text("instance,jobs,machines,optimum,lower_bound,upper_bound\nx,2,2,,10,12\ny,1,1,5,5,5\n")
    bounds = load_bounds(good)
    assert bounds["x"].optimum is None and bounds["x"].upper == 12
    assert bounds["x"].gap(15) == pytest.approx(0.25)
    bad = tmp_path / "bad.csv"
    bad.write_text("instance,lower_bound,upper_bound\nx,ten,12\n")
    with pytest.raises(UserError, match="line 2"):
        load_bounds(bad)


@pytest.mark.parametrize("solve", [solve_jobshop, solve_textbook])
def test_ft06_is_solved_to_its_optimum(solve) -> None:  # type: ignore[no-untyped-def]
    instance = parse_instance(FT06, "ft06")
    result = solve(instance, 10.0, 2)
    assert result.makespan == 55
    assert result.optimal
    assert check_schedule(instance, result.starts) == 55


def test_check_schedule_catches_a_clash() -> None:
    instance = parse_instance("2 1\n0 3\n0 2\n", "two")
    assert check_schedule(instance, ((0,), (3,))) == 5
    with pytest.raises(ValueError, match="two operations at once"):
        check_schedule(instance, ((0,), (2,)))


@pytest.mark.skipif(_data_dir() is None, reason="JSPLIB data (SMARTFACTORY_DATA or ../shared/data) absent")
def test_quick_benchmark_reports_both_models() -> None:
    rows = SchedulingScenario().benchmark(_data_dir() or Path(), quick=True)
    assert rows and rows[0].metric == "mean gap %"
    instances = rows[0].detail["instances"]
    assert set(instances) == {"ft06", "la01", "la06"}
    for row in instances.values():
        assert row["tuned"] >= row["best_known"] and row["textbook"] >= row["best_known"]


# --- the plant side -------------------------------------------------------------------------------


def _available_s(windows: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    return sum(max(0.0, (min(e, end) - max(s, start)).total_seconds()) for s, e in windows)


def _machine_windows(problem: SchedulingProblem, machine: str) -> list[tuple[datetime, datetime]]:
    holes = sorted((d.start, d.end) for d in problem.downtimes if d.machine == machine)
    out = []
    for s, e in problem.working[machine]:
        cursor = s
        for hs, he in holes:
            if he <= cursor or hs >= e:
                continue
            if hs > cursor:
                out.append((cursor, hs))
            cursor = max(cursor, he)
        if cursor < e:
            out.append((cursor, e))
    return out


def assert_valid(schedule: Schedule, pinned_ok: set[tuple[str, int]] = frozenset()) -> None:  # type: ignore[assignment]
    """Every constraint of the problem, checked in absolute time."""
    problem = schedule.problem
    common = sorted(w for ws in problem.working.values() for w in ws)
    by_order = schedule.by_order()
    assert set(by_order) == {job.order for job in problem.jobs}
    for job in problem.jobs:
        ops = by_order[job.order]
        assert [op.step for op in ops] == list(range(len(job.steps)))
        for op, step in zip(ops, job.steps, strict=True):
            assert op.machine in step.machines, f"{op} is not on a machine of {step.name}"
            units = step.units if step.units is not None else job.quantity
            need = step.unit_s * units
            windows = _machine_windows(problem, op.machine)
            if (op.order, op.step) not in pinned_ok:
                # work happens only in the machine's own working time, and takes its duration
                assert _available_s(windows, op.start, op.end) == pytest.approx(need, abs=60), op
                assert _available_s(windows, op.start, op.start + timedelta(minutes=1)) == 60, op
                assert op.start >= problem.now
                if job.release:
                    assert op.start >= job.release
        for prev, nxt in itertools.pairwise(ops):
            prev_step = job.steps[prev.step]
            nxt_step = job.steps[nxt.step]
            assert _available_s(common, prev.start, nxt.start) >= prev_step.unit_s - 60 * 0.999 or (
                nxt.start >= prev.start + timedelta(seconds=prev_step.unit_s)
            )
            assert nxt.start >= prev.start
            assert nxt.end >= prev.end
            assert _available_s(common, prev.end, nxt.end) >= nxt_step.unit_s - 60
    per_machine: dict[str, list[Operation]] = {}
    for op in schedule.operations:
        per_machine.setdefault(op.machine, []).append(op)
    for machine, ops in per_machine.items():
        ops.sort(key=lambda o: o.start)
        for a, b in itertools.pairwise(ops):
            b_begin = b.setup_start or b.start
            assert b_begin >= a.end, f"{machine}: {a.order}/{a.step} overlaps {b.order}/{b.step}"
            if a.product != b.product and not b.fixed:
                assert b.setup_start is not None, f"{machine}: no changeover before {b.order}"


@pytest.fixture(scope="module")
def plant():  # type: ignore[no-untyped-def]
    return load_plant(PLANT_FILE)


@pytest.fixture(scope="module")
def planned(plant):  # type: ignore[no-untyped-def]
    now = to_utc(datetime(2026, 3, 2, 8, 0), plant)  # Monday, start of the day shift
    problem = plant_problem(plant, now)
    return SchedulingScenario(time_limit_s=10).solve(problem)


def test_plant_problem_from_the_order_book(plant) -> None:  # type: ignore[no-untyped-def]
    problem = plant_problem(plant, to_utc(datetime(2026, 3, 2, 8, 0), plant))
    assert {job.order for job in problem.jobs} == {o.id for o in plant.orders}
    op10 = problem.jobs[0].steps[0]
    assert op10.machines == ("OP10-M1", "OP10-M2", "OP10-M3") and op10.setup_s == 1800
    # Saturday's planned maintenance is not working time for OP10 but is for OP30
    saturday = to_utc(datetime(2026, 3, 7, 9, 0), plant)
    assert _available_s(list(problem.working["OP10-M1"]), saturday, saturday + timedelta(hours=1)) == 0
    assert _available_s(list(problem.working["OP30-M1"]), saturday, saturday + timedelta(hours=1)) == 3600
    # Sunday is off everywhere
    sunday = to_utc(datetime(2026, 3, 8, 10, 0), plant)
    assert _available_s(list(problem.working["OP30-M1"]), sunday, sunday + timedelta(hours=4)) == 0


def test_plant_schedule_holds_every_constraint(planned) -> None:  # type: ignore[no-untyped-def]
    assert_valid(planned)
    completion = planned.completion()
    due = {job.order: job.due for job in planned.problem.jobs}
    late_h = sum(max(0.0, (completion[o] - d).total_seconds() / 3600) for o, d in due.items() if d)
    assert planned.tardiness_h == pytest.approx(late_h)
    assert planned.on_time_rate == sum(completion[o] <= d for o, d in due.items() if d) / len(due)
    # a flexible cell is used as one: the three OP10 orders do not queue on one machine
    assert len({op.machine for op in planned.operations if op.step_name == "OP10"}) > 1


def test_order_without_capable_machine_is_refused(plant) -> None:  # type: ignore[no-untyped-def]
    now = to_utc(datetime(2026, 3, 2, 8, 0), plant)
    problem = plant_problem(plant, now)
    orphan = Job("MO-ORPHAN", "HSG-A", 10, (Step("OP99", ("LASER-1",), 60.0),), due=now + timedelta(days=2))
    bad = SchedulingProblem((*problem.jobs, orphan), problem.working, now)
    scenario = SchedulingScenario(time_limit_s=5)
    with pytest.raises(UserError, match=r"MO-ORPHAN.*no capable machine"):
        scenario.solve(bad)
    assert scenario.evidence() == {}  # no partial result kept


def test_product_without_routing_is_refused(plant) -> None:  # type: ignore[no-untyped-def]
    document = plant.model_dump(by_alias=True)
    document["order"].append(
        {"id": "MO-NOROUTE", "product": "GHOST", "quantity": 5, "due": "2026-03-05T08:00:00"}
    )
    ghost = type(plant).model_validate(document)
    with pytest.raises(UserError, match="MO-NOROUTE"):
        plant_problem(ghost, to_utc(datetime(2026, 3, 2, 8, 0), plant))


def test_reschedule_keeps_started_work_and_avoids_the_broken_machine(planned) -> None:  # type: ignore[no-untyped-def]
    problem = planned.problem
    now = problem.now + timedelta(hours=6)
    # break the machine of an operation that has not started yet
    waiting = min((op for op in planned.operations if op.start > now), key=lambda op: op.start)
    down = breakdown(waiting.machine, now, now + timedelta(hours=12))
    again = reschedule(planned, down, now, time_limit_s=10)
    before = {(op.order, op.step): op for op in planned.operations}
    interrupted = set()
    for op in again.operations:
        old = before[(op.order, op.step)]
        if old.start < now:
            assert op.fixed and op.machine == old.machine and op.start == old.start
            if op.machine == down.machine and old.end > down.start:
                interrupted.add((op.order, op.step))
                assert op.end > old.end  # it pauses over the repair
            else:
                assert op.end == old.end
        else:
            assert not op.fixed and op.start >= now
            if op.machine == down.machine:
                assert op.end <= down.start or (op.setup_start or op.start) >= down.end
    assert_valid(again, pinned_ok={(o.order, o.step) for o in again.operations if o.fixed})
    assert again.problem.downtimes[-1] == down


def test_breakdown_needs_an_end_after_its_start() -> None:
    moment = datetime(2026, 3, 2)
    with pytest.raises(UserError, match="after its start"):
        breakdown("OP10-M1", moment, moment)


def test_work_clock_round_trip() -> None:
    day = datetime(2026, 3, 2)
    clock = WorkClock(
        [
            (day + timedelta(hours=8), day + timedelta(hours=12)),
            (day + timedelta(hours=13), day + timedelta(hours=17)),
        ]
    )
    assert clock.total == 8 * 60
    assert clock.ticks(day + timedelta(hours=12, minutes=30)) == 240
    assert clock.moment(240, ending=True) == day + timedelta(hours=12)
    assert clock.moment(240, ending=False) == day + timedelta(hours=13)
    assert clock.blocked([(day + timedelta(hours=8), day + timedelta(hours=10))]) == [(120, 240), (240, 480)]


def test_run_on_plant_writes_the_schedule(tmp_path: Path, plant) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "store"
    folder.mkdir()
    registry = Registry.open(folder / "registry.sqlite")
    registry.save_plant(plant, str(PLANT_FILE), hashlib.sha256(PLANT_FILE.read_bytes()).hexdigest())
    registry.close()
    with TelemetryStore.open(folder) as store:
        simulate(plant, store, start=datetime(2026, 3, 2), days=1.5, seed=3)
    run = SchedulingScenario(time_limit_s=10).run_on_plant(folder)
    assert run.official_scenario == "shop_floor_scheduling"
    assert {"makespan_h", "tardiness_h", "on_time_rate", "solve_s"} <= set(run.metrics)
    with TelemetryStore.open(folder, mode="read") as store:
        rows = store.query(
            "SELECT * FROM schedules WHERE run_id = $r", {"r": run.artefacts["run_id"]}
        ).to_pylist()
        end = store.time_range()[1]
        assert end is not None  # the plant run stored events
        done_at_cmm = store.query(
            "SELECT sum(good + scrap + rework)::INT AS n FROM counts WHERE order_id = 'MO-26-0301' "
            "AND equipment = 'OP60-CMM'"
        ).to_pylist()[0]["n"]
        # scrap and rework leave the line: those units never reach the CMM
        lost_before = store.query(
            "SELECT sum(scrap + rework)::INT AS n FROM counts WHERE order_id = 'MO-26-0301' "
            "AND equipment <> 'OP60-CMM'"
        ).to_pylist()[0]["n"]
    assert len(rows) == run.artefacts["rows"] > 0
    assert all(r["start"] >= end for r in rows)  # planned from the end of the data
    # the order book was started 36 h ago: what is left of an order is the tail of its routing,
    # and a step's planned work is what is left of it
    for order in {r["order_id"] for r in rows}:
        ops = sorted(r["op"] for r in rows if r["order_id"] == order)
        assert ops == list(range(ops[0], 7))
    last = next(r for r in rows if r["order_id"] == "MO-26-0301" and r["op"] == 6)
    windows = list(plant_problem(plant, end).working[last["machine"]])
    expected_s = (240 - min(240, done_at_cmm + lost_before)) * 135
    assert 0 < expected_s < 240 * 135
    assert _available_s(windows, last["start"], last["end"]) == pytest.approx(expected_s, abs=60)


def test_run_on_plant_without_a_plant_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="registry"):
        SchedulingScenario().run_on_plant(tmp_path)


# --- the plant's own order book: after a run of the twin, the orders still open ---------------


def test_open_jobs_leave_out_what_passed_or_left_the_line(plant) -> None:  # type: ignore[no-untyped-def]
    cells = ["OP10", "OP20", "OP30", "OP35", "OP40", "OP50", "OP60"]
    done = {("MO-26-0301", "OP10"): 240, ("MO-26-0301", "OP20"): 230, ("MO-26-0301", "OP30"): 100}
    lost = {("MO-26-0301", "OP10"): 10}  # scrapped at OP10: never reach OP20
    # MO-26-0302 (160): OP10 reports nothing (not networked), 150 through the CMM, 10 scrapped at OP30
    done |= {("MO-26-0302", c): 150 for c in cells[1:]} | {("MO-26-0302", "OP30"): 160}
    lost |= {("MO-26-0302", "OP30"): 10}
    jobs = {j.order: j for j in plant_problem(plant, to_utc(datetime(2026, 3, 2, 8), plant), done=done,
                                              lost=lost).jobs}  # fmt: skip
    # 230 of 240 reach OP20 and pass it; 100 of them passed OP30, none yet OP35
    assert [(s.name, s.units) for s in jobs["MO-26-0301"].steps] == [("OP30", 130)] + [
        (c, 230) for c in cells[3:]
    ]
    assert "MO-26-0302" not in jobs  # every unit passed the CMM or left the line
    assert [s.units for s in jobs["MO-26-0303"].steps] == [200] * 7


def test_order_book_adds_recorded_orders_and_drops_the_closed(plant) -> None:  # type: ignore[no-untyped-def]
    closed_at = datetime(2026, 3, 3, 12)
    recorded = recorded_from(
        [
            {"id": "MO-26-0301", "product": "HSG-A", "quantity": 240, "release": "2026-03-01T16:00:00+00:00",
             "due": "2026-03-03T12:00:00+00:00", "closed": "2026-03-03T12:00:00+00:00"},
            {"id": "MO-260302-G0001", "product": "PMP-C", "quantity": 90, "release": "2026-03-02T01:00:00+00:00",
             "due": "2026-03-05T01:00:00+00:00", "closed": None},
            {"id": "broken", "product": "HSG-A"},  # no quantity: skipped, not fatal
        ]
    )  # fmt: skip
    ids = [o.id for o in order_book(plant, recorded)]
    assert ids == [o.id for o in plant.orders] + ["MO-260302-G0001"]
    assert "MO-26-0301" in [o.id for o in order_book(plant, recorded, closed_at - timedelta(seconds=1))]
    assert "MO-26-0301" not in [o.id for o in order_book(plant, recorded, closed_at)]
    generated = next(o for o in order_book(plant, recorded) if o.id == "MO-260302-G0001")
    assert to_utc(generated.due, plant) == datetime(2026, 3, 5, 1)


def recorded_from(items: list[dict[str, object]]) -> list[RecordedOrder]:
    """Orders as a twin run records them in the registry."""
    registry = Registry.open("sqlite://")
    try:
        plant = load_plant(PLANT_FILE)
        registry.save_plant(plant, str(PLANT_FILE), "0" * 64)
        run = registry.record_run(plant.plant.id, 1, datetime(2026, 3, 1, 16, tzinfo=UTC), 1.0, "mem")
        registry.finish_run(run, event_counts={}, truth={"orders": items})
        return recorded_orders(registry, plant.plant.id)
    finally:
        registry.close()


def test_after_a_run_of_the_twin_the_open_orders_are_scheduled(tmp_path: Path, plant) -> None:  # type: ignore[no-untyped-def]
    # the week's demand is generated by the twin, not in the plant file: the run records it
    result = run_into_store(plant, PLANT_FILE, tmp_path, datetime(2026, 3, 2), 2.5, 5, [], quiet=True)
    book = result.truth_json()["orders"]
    end = result.start_utc + timedelta(seconds=result.horizon_s)
    closed = {o["id"] for o in book if o["closed"] is not None}
    still_open = {o["id"] for o in book} - closed
    assert {o.id for o in plant.orders} <= closed  # the plant file's book is done by then
    assert still_open and all("-G" in o for o in still_open)
    with TelemetryStore.open(tmp_path, mode="read") as store:
        last_count = {
            r["order_id"]: r["ts"]
            for r in store.query("SELECT order_id, max(ts) AS ts FROM counts GROUP BY ALL").to_pylist()
        }
    for o in book:  # an order closes with the count of its last unit
        if o["closed"] is not None:
            closed_utc = datetime.fromisoformat(o["closed"]).replace(tzinfo=None)
            assert closed_utc <= last_count[o["id"]] < closed_utc + timedelta(seconds=1) <= end
    run = SchedulingScenario(time_limit_s=5).run_on_plant(tmp_path)
    with TelemetryStore.open(tmp_path, mode="read") as store:
        rows = store.query(
            "SELECT * FROM schedules WHERE run_id = $r", {"r": run.artefacts["run_id"]}
        ).to_pylist()
    assert {r["order_id"] for r in rows} == still_open
    assert run.metrics["orders"] == len(still_open)


def test_the_dispatch_hint_is_a_whole_valid_schedule(planned, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """With every variable fixed to its hint the model stays feasible: the dispatching rule hands
    the solver a complete, valid first schedule, with operations pinned after a breakdown too."""
    from ortools.sat.python import cp_model

    real = cp_model.CpSolver
    hinted: list[tuple[int, int]] = []  # (variables hinted, variables) per solve

    class HintOnly(real):  # type: ignore[misc,valid-type]
        def solve(self, model, callback=None):  # type: ignore[no-untyped-def]
            hinted.append((len(set(model.proto.solution_hint.vars)), len(model.proto.variables)))
            self.parameters.fix_variables_to_their_hinted_value = True
            return super().solve(model, callback)

    monkeypatch.setattr(cp_model, "CpSolver", HintOnly)
    dispatched = SchedulingScenario(time_limit_s=30).solve(planned.problem)
    assert_valid(dispatched)
    now = planned.problem.now + timedelta(hours=6)
    waiting = min((op for op in dispatched.operations if op.start > now), key=lambda op: op.start)
    again = reschedule(dispatched, breakdown(waiting.machine, now, now + timedelta(hours=12)), now, 30)
    assert_valid(again, pinned_ok={(o.order, o.step) for o in again.operations if o.fixed})
    assert len(hinted) == 2 and all(n == total for n, total in hinted), hinted
