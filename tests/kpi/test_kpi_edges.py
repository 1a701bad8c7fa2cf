"""KPI edge cases: nothing made, failures across shifts, orders across days, missing data,
counters that reset, and every way a request can be wrong (see kpi_cases for the plant)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from kpi_cases import MON, TUE, WED, at, build_store, count, plant_toml, state
from smartfactory.kpi import KpiResult, catalogue, compute_result
from smartfactory.model.counters import increments
from smartfactory.model.errors import UserError
from smartfactory.store import TelemetryStore

DAY_PBT = 27_000  # 08:00-16:00 less the 30-minute break


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Any]:
    opened: list[TelemetryStore] = []

    def make(plant_text: str | None = None, **events: Any) -> TelemetryStore:
        folder = tmp_path / f"store{len(opened)}"
        store = build_store(folder, plant_text or plant_toml(), **events)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def _rows(result: KpiResult, node: str) -> list[dict[str, Any]]:
    return [r for r in result.rows() if r["node"] == node]


def _day(result: KpiResult, node: str, day: date) -> dict[str, Any]:
    (row,) = [r for r in _rows(result, node) if r["period_start"].date() == day]
    return row


# --- nothing produced --------------------------------------------------------------------


def test_zero_production(make_store: Any) -> None:
    # M1 is idle with no order for the whole shift; nothing is counted
    store = make_store(
        states=[
            state("M1", at("08:00"), at("12:00"), "idle"),
            state("M1", at("12:00"), at("12:30"), "planned_stop", reason="P.BREAK"),
            state("M1", at("12:30"), at("16:00"), "idle"),
        ]
    )
    result = compute_result(store, MON, TUE, by="equipment", per="day")
    m1 = _day(result, "M1", MON)
    cat = catalogue()
    # PBT = 27 000, all of it ADOT; APT = 0 → availability = 0 / 27 000 = 0 (a value)
    assert (m1["pbt"], m1["adot"], m1["apt"], m1["pq"]) == (DAY_PBT, DAY_PBT, 0, 0)
    assert m1["availability"] == 0.0
    assert m1["allocation_efficiency"] == 0.0  # AUBT / PBT = 0 / 27 000
    # quality = GQ / PQ = 0 / 0: no value, and the reason says so
    for kpi_id in ("quality_ratio", "scrap_ratio", "effectiveness", "oee", "throughput_rate"):
        assert m1[kpi_id] is None, kpi_id
    assert result.why_null(m1, cat.kpis["quality_ratio"]) == "undefined: a denominator is zero"
    assert result.why_null(m1, cat.kpis["oee"]) == "effectiveness: undefined: a denominator is zero"
    assert result.why_null(m1, cat.kpis["mtbf"]) == "no failure in the period"


# --- a breakdown across the shift change ---------------------------------------------------


TWO_SHIFTS = (("A", "08:00", "16:00"), ("B", "16:00", "00:00"))


def test_breakdown_across_a_shift_change(make_store: Any) -> None:
    """Shift A 08:00-16:00 (break 12:00-12:30), shift B 16:00-24:00 (no break).

    M1 fails at 15:00 and is repaired at 17:00: 1 h of the repair lies in each shift.
      shift A: APT = 08:00-12:00 + 12:30-15:00 = 4 h + 2.5 h = 23 400; ADET = 3 600
               FE = 1 (the run starts in A), TTR = the whole 7 200 → MTTR = 2 h
               MTBF = AUPT / FE = 23 400 s = 6.5 h
      shift B: APT = 17:00-24:00 = 25 200; ADET = 3 600; FE = 0 → no MTTR
      day:     ADET = 7 200, FE = 1, TTR = 7 200, CMT = 7 200
    """
    plant = plant_toml(shifts=TWO_SHIFTS, pm=False)
    store = make_store(
        plant,
        states=[
            state("M1", at("08:00"), at("12:00"), "running", order="O1"),
            state("M1", at("12:00"), at("12:30"), "planned_stop", reason="P.BREAK", order="O1"),
            state("M1", at("12:30"), at("15:00"), "running", order="O1"),
            state("M1", at("15:00"), at("17:00"), "unplanned_down", reason="U.FAIL", order="O1"),
            state("M1", at("17:00"), at("24:00"), "running", order="O1"),
        ],
    )
    shifts = compute_result(store, MON, TUE, by="equipment", per="shift")
    a, b = _rows(shifts, "M1")
    assert (a["shift"], b["shift"]) == ("A", "B")
    assert (a["period_start"].hour, a["period_end"].hour, b["period_end"].day) == (8, 16, 3)
    assert (a["pbt"], a["apt"], a["adet"], a["cmt"]) == (DAY_PBT, 23_400, 3_600, 3_600)
    assert (a["fe"], a["ttr"]) == (1, 7_200)
    assert a["mttr"] == pytest.approx(2.0)
    assert a["mtbf"] == pytest.approx(6.5)
    assert a["availability"] == pytest.approx(23_400 / 27_000)
    assert (b["pbt"], b["apt"], b["adet"], b["cmt"]) == (28_800, 25_200, 3_600, 3_600)
    assert (b["fe"], b["ttr"]) == (0, 0)
    assert b["mttr"] is None
    assert shifts.why_null(b, catalogue().kpis["mttr"]) == "no failure in the period"
    assert b["availability"] == pytest.approx(25_200 / 28_800)

    day = _day(compute_result(store, MON, TUE, by="equipment", per="day"), "M1", MON)
    assert (day["pbt"], day["adet"], day["fe"], day["ttr"], day["cmt"]) == (55_800, 7_200, 1, 7_200, 7_200)
    assert day["mttr"] == pytest.approx(2.0)


# --- an order across days -------------------------------------------------------------------


def test_order_spanning_days_splits_its_execution_time(make_store: Any) -> None:
    """O1 runs Monday 08:00-14:00; O2 from Monday 14:00 to Tuesday 10:00, overnight outside the shift.

    AOET per day is each order's first-to-last span clipped to planned busy time:
      Monday:  O1 08:00-14:00 less the break = 5.5 h = 19 800; O2 14:00-16:00 = 7 200 → 27 000
      Tuesday: O2 08:00-10:00 = 7 200 (16:00 Monday to 08:00 Tuesday is no planned busy time)
      window:  19 800 + 7 200 + 7 200 = 34 200
    """
    store = make_store(
        states=[
            state("M1", at("08:00"), at("12:00"), "running", order="O1"),
            state("M1", at("12:00"), at("12:30"), "planned_stop", reason="P.BREAK", order="O1"),
            state("M1", at("12:30"), at("14:00"), "running", order="O1"),
            state("M1", at("14:00"), at("16:00"), "running", order="O2", product="P2"),
            state("M1", at("16:00"), at("08:00", TUE), "planned_stop", reason="P.NOSHIFT"),
            state("M1", at("08:00", TUE), at("10:00", TUE), "running", order="O2", product="P2"),
            state("M1", at("10:00", TUE), at("12:00", TUE), "idle"),
        ],
        counts=[
            count("M1", at("13:00"), good=80),  # P1, 80 × 72 s = 5 760 s
            count("M1", at("15:00"), good=40, product="P2", order="O2"),  # 40 × 90 s = 3 600 s
            count("M1", at("09:00", TUE), good=60, product="P2", order="O2"),  # 60 × 90 s = 5 400 s
        ],
    )
    days = compute_result(store, MON, WED, by="equipment", per="day")
    mon, tue = _day(days, "M1", MON), _day(days, "M1", TUE)
    assert (mon["aoet"], tue["aoet"]) == (27_000, 7_200)
    # throughput = PQ / AOET h: Monday 120 / 7.5 h = 16 /h; Tuesday 60 / 2 h = 30 /h
    assert mon["throughput_rate"] == pytest.approx(16.0)
    assert tue["throughput_rate"] == pytest.approx(30.0)
    # effectiveness: Monday (5 760 + 3 600) / 27 000; Tuesday 5 400 / 7 200 = 0.75
    assert mon["effectiveness"] == pytest.approx(9_360 / 27_000)
    assert tue["effectiveness"] == pytest.approx(0.75)
    # Tuesday's data ends at 12:00: 12:30-16:00 (and M1's 14:00-15:00 PM aside) is no data
    #   PBT (calendar) = 27 000 − 3 600 PM = 23 400; covered = 08:00-12:00 = 14 400; NDT = 9 000
    assert (tue["pbt_calendar"], tue["pbt"], tue["ndt"]) == (23_400, 14_400, 9_000)
    assert tue["data_coverage"] == pytest.approx(14_400 / 23_400)
    assert tue["availability"] == pytest.approx(7_200 / 14_400)  # gaps are no data, not down time
    (window,) = _rows(compute_result(store, MON, WED, by="equipment", per="window"), "M1")
    assert window["aoet"] == 34_200
    assert window["throughput_rate"] == pytest.approx(180 / (34_200 / 3_600))


# --- machines without data ------------------------------------------------------------------


@pytest.fixture
def one_machine_silent(make_store: Any) -> TelemetryStore:
    """M1 runs all Monday and makes 300 P1 (297 good, 3 scrap: 21 600 s of planned cycles); M2 is silent."""
    store: TelemetryStore = make_store(
        states=[
            state("M1", at("08:00"), at("12:00"), "running", order="O1"),
            state("M1", at("12:00"), at("12:30"), "planned_stop", reason="P.BREAK"),
            state("M1", at("12:30"), at("16:00"), "running", order="O1"),
        ],
        counts=[count("M1", at("15:00"), good=297, scrap=3)],
    )
    return store


SUPPORTED = [k.id for k in catalogue().kpis.values() if k.supported]


def test_machine_without_data_has_no_values(one_machine_silent: TelemetryStore) -> None:
    result = compute_result(one_machine_silent, MON, TUE, by="equipment", per="day")
    m2 = _day(result, "M2", MON)
    cat = catalogue()
    assert (m2["pbt_calendar"], m2["pbt"], m2["ndt"]) == (DAY_PBT, 0, DAY_PBT)
    assert m2["data_coverage"] == 0.0
    for kpi in cat.kpis.values():
        assert m2[kpi.id] is None, kpi.id
    for kpi_id in SUPPORTED:
        assert result.why_null(m2, cat.kpis[kpi_id]) == "no data", kpi_id
    assert result.why_null(m2, cat.kpis["availability"], "zh") == "无数据"


@pytest.fixture(scope="module")
def silent_m1(tmp_path_factory: pytest.TempPathFactory) -> KpiResult:
    """The one-machine plant, no events at all, Monday and Tuesday (M1's PM day)."""
    folder = tmp_path_factory.mktemp("silent")
    with build_store(folder, plant_toml(two_machines=False)) as store:
        return compute_result(store, MON, WED, by="equipment", per="day")


def test_silent_machine_has_no_kpi_values(silent_m1: KpiResult) -> None:
    # M1 has a rated capacity (40/h) and a PM window on Tuesday, but sent nothing: PQ / EPC and
    # CMT / (CMT + PMT) must not turn into 0 just because their denominators come from the calendar
    values = {
        (r["period_start"].date().isoformat(), k.id): r[k.id]
        for r in silent_m1.rows()
        for k in catalogue().kpis.values()
    }
    assert all(r["pbt"] == 0 and r["data_coverage"] == 0.0 for r in silent_m1.rows())
    assert {key: v for key, v in values.items() if v is not None} == {}


def test_silent_machine_says_no_data_for_every_kpi(silent_m1: KpiResult) -> None:
    # 'no data' comes before what a KPI needs: M1 has a meter, a characteristic and a capacity
    cat = catalogue()
    for row in silent_m1.rows():
        reasons = {k: silent_m1.why_null(row, cat.kpis[k]) for k in SUPPORTED}
        assert {k: why for k, why in reasons.items() if why != "no data"} == {}
        assert silent_m1.why_null(row, cat.kpis["cm"], "zh") == "无数据"


def test_line_rollup_is_not_dragged_down_by_a_silent_machine(one_machine_silent: TelemetryStore) -> None:
    machines = compute_result(one_machine_silent, MON, TUE, by="equipment", per="day")
    line = compute_result(one_machine_silent, MON, TUE, by="line", per="day")
    m1 = _day(machines, "M1", MON)
    (row,) = _rows(line, "L")
    # the line's PBT is M1's 27 000 + M2's 0 (its 27 000 s are no data, never down time)
    assert (row["pbt_calendar"], row["pbt"], row["ndt"]) == (2 * DAY_PBT, DAY_PBT, DAY_PBT)
    assert row["data_coverage"] == pytest.approx(0.5)
    # availability = 27 000 / 27 000 = 1, effectiveness = 300 × 72 / 27 000 = 0.8, quality 0.99
    assert row["availability"] == pytest.approx(1.0)
    assert row["effectiveness"] == pytest.approx(0.8)
    assert row["quality_ratio"] == pytest.approx(0.99)
    for kpi_id in ("availability", "effectiveness", "quality_ratio", "oee", "nee", "allocation_efficiency",
                   "technical_efficiency", "throughput_rate", "scrap_ratio", "setup_rate"):  # fmt: skip
        assert row[kpi_id] == pytest.approx(m1[kpi_id], rel=1e-12), kpi_id


# --- counters that reset ------------------------------------------------------------------


def test_increments_of_a_cumulative_counter() -> None:
    assert increments([]) == []
    assert increments([7.0]) == [0.0]
    assert increments([100, 130, 175, 175]) == [0, 30, 45, 0]
    # 175 → 12 is a reset: 12 units since the counter restarted from zero
    assert increments([100, 130, 175, 12, 40]) == [0, 30, 45, 12, 28]
    assert increments([5.5, 6.0, 0.25]) == [0.0, 0.5, 0.25]
    assert all(isinstance(x, float) for x in increments([1, 2, 0]))


def test_counter_readings_as_count_rows(make_store: Any) -> None:
    # a PLC piece counter read every hour from 09:00, reset after the 11:00 reading
    readings = [100, 130, 175, 12, 40, 40, 55]
    steps = increments(readings)  # 0, 30, 45, 12, 28, 0, 15
    clocks = ["09:00", "10:00", "11:00", "12:40", "13:00", "14:00", "15:00"]
    store = make_store(
        states=[
            state("M1", at("08:00"), at("12:00"), "running", order="O1"),
            state("M1", at("12:30"), at("16:00"), "running", order="O1"),
        ],
        counts=[count("M1", at(c), good=int(n)) for c, n in zip(clocks, steps, strict=True)],
    )
    m1 = _day(compute_result(store, MON, TUE, by="equipment", per="day"), "M1", MON)
    # PQ = 30 + 45 + 12 + 28 + 15 = 130 (the first reading has nothing before it)
    assert (m1["pq"], m1["gq"]) == (130, 130)
    assert m1["pru_pq"] == 130 * 72


# --- requests that cannot be answered -------------------------------------------------------


@pytest.fixture
def plain_store(make_store: Any) -> TelemetryStore:
    store: TelemetryStore = make_store(states=[state("M1", at("08:00"), at("16:00"), "running", order="O1")])
    return store


def _one_line_error(excinfo: pytest.ExceptionInfo[UserError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_unknown_kpi(plain_store: TelemetryStore) -> None:
    with pytest.raises(UserError) as excinfo:
        compute_result(plain_store, MON, TUE, kpis=["availability", "oeee"])
    message = _one_line_error(excinfo)
    assert message.startswith("unknown KPI 'oeee'; known: ")
    assert "availability" in message and "comprehensive_energy_consumption" in message


@pytest.mark.parametrize(
    ("start", "end"),
    [(MON, MON), (TUE, MON), (datetime(2026, 3, 2, 12), datetime(2026, 3, 2, 8))],
)
def test_empty_or_inverted_period(plain_store: TelemetryStore, start: date, end: date) -> None:
    with pytest.raises(UserError) as excinfo:
        compute_result(plain_store, start, end)
    message = _one_line_error(excinfo)
    assert "empty or inverted" in message and "'to' must be after 'from'" in message


def test_unknown_hierarchy_node(plain_store: TelemetryStore) -> None:
    with pytest.raises(UserError) as excinfo:
        compute_result(plain_store, MON, TUE, node="L9")
    message = _one_line_error(excinfo)
    assert "'L9'" in message and "nodes: ent, site, area, L, C1, C2 or an equipment id" in message


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("by", "machine", "enterprise, site, area, line, work_cell, equipment"),
        ("per", "hour", "shift, day, week, month, window"),
    ],
)
def test_unknown_by_or_per(plain_store: TelemetryStore, option: str, value: str, allowed: str) -> None:
    with pytest.raises(UserError) as excinfo:
        if option == "by":
            compute_result(plain_store, MON, TUE, by=value)
        else:
            compute_result(plain_store, MON, TUE, per=value)
    message = _one_line_error(excinfo)
    assert repr(value) in message and message.endswith(f"use one of {allowed}")


def test_events_of_equipment_missing_from_the_plant(make_store: Any) -> None:
    store = make_store(
        states=[
            state("M1", at("08:00"), at("16:00"), "running", order="O1"),
            state("M9", at("08:00"), at("16:00"), "running", order="O1"),
        ]
    )
    with pytest.raises(UserError) as excinfo:
        compute_result(store, MON, TUE)
    message = _one_line_error(excinfo)
    assert message.startswith("no calendar for equipment M9")
    assert "(known: M1, M2)" in message
    # outside the period asked for, M9's events are no concern
    assert compute_result(store, TUE, WED).table.num_rows == 2


def test_counts_of_equipment_missing_from_the_plant(make_store: Any) -> None:
    store = make_store(
        states=[state("M1", at("08:00"), at("16:00"), "running", order="O1")],
        counts=[count("M9", at("10:00"), good=50)],
    )
    # counted production must not vanish because the plant file lacks the machine
    with pytest.raises(UserError) as excinfo:
        compute_result(store, MON, TUE)
    assert _one_line_error(excinfo).startswith("no calendar for equipment M9")
