"""Golden KPI values: two machines, two days of hand-built events, every number worked out here.

The plant is the UTC one of kpi_cases: shift A 08:00-16:00 with a 12:00-12:30 break, so every
day POT = 8 h = 28 800 s, PDOT = 0.5 h = 1 800 s, PBT (calendar) = 7.5 h = 27 000 s; on Tuesday
M1 also has planned maintenance 14:00-15:00 (PDOT 1.5 h = 5 400 s, PBT 6.5 h = 23 400 s).
Routing cycles at C1 (M1): P1 72 s; at C2 (M2): P1 45 s. M1 is rated 40 units/h, has an energy
meter and measures ``diameter`` (P1 target 10.0 mm, tolerance 0.1 mm); M2 has none of those.

Monday, M1 (order O1 of P1):
    00:00-08:00 planned_stop P.NOSHIFT   outside POT: adds nothing
    08:00-08:30 setup        O1           ASUT  1 800
    08:30-12:00 running      O1           APT  12 600
    12:00-12:30 planned_stop P.BREAK O1   break, outside PBT: adds nothing
    12:30-12:40 unplanned_down U.FAIL O1  ADET    600 ┐ one failure run (same reason, contiguous)
    12:40-12:50 unplanned_down U.FAIL O1  ADET    600 ┘ TTR 1 200
    12:50-13:00 unplanned_down U.MINOR O1 ADET    600   minor stoppage: no failure
    13:00-13:10 starved (no order)        ADOT    600
    13:10-14:40 running      O1           APT   5 400
    14:40-14:50 unplanned_down U.JAM O1   ADET    600   second failure run, TTR 600
    14:50-15:50 running      O1           APT   3 600
    15:50-16:00 idle (no order)           ADOT    600
    16:00-24:00 planned_stop P.NOSHIFT
  APT = 12 600 + 5 400 + 3 600 = 21 600; ASUT = 1 800; ADET = 4 × 600 = 2 400; ADOT = 1 200
  covered = 27 000 = PBT (calendar), so NDT = 0 and PBT = 27 000
  AUPT = APT + ASUT = 23 400; AUBT = AUPT + ADET = 25 800
  AOET: O1 from 08:00 to 15:50 less the break = 7 h 50 min − 30 min = 26 400
  FE = 2; TTR = 1 200 + 600 = 1 800; CMT = 1 800; PMT = 0
  counts: 239 good, 18 scrap, 8 rework without part id; serial parts S1 good, S2 rework,
  S3 good, S4 good, then S2 again good
    PQ = 239 + 18 + 8 + 5 = 270; GQ = 239 + 4 = 243; SQ = 18; RQ = 8 + 1 = 9
    IP = 4 (S1..S4), GP = 3 (S1, S3, S4: first count good)
    PRU_PQ = 270 × 72 = 19 440; M1 is C1, the first step: PQ_FIRST = 270, SQ_FIRST = 18
  diameter at S1..S4: 10.02, 9.98, 10.04, 10.00 → z = 0.2, −0.2, 0.4, 0.0 (one more at 14:30
    has no count at that instant and is ignored): CN = 4, CZ = 0.4, CZZ = 0.24
  energy meter: 1 000 (08:00), 1 030 (12:00), 4 (14:00, a reset), 24 (16:00)
    → 0 + 30 + 4 + 20 = 54 kWh
  EPC = 40 units/h × 7.5 h = 300

Monday, M2: running 08:00-12:00 and 12:30-16:00 (O1), 600 good at 15:00
  APT = 27 000 = PBT; PQ = GQ = 600; PRU_PQ = 600 × 45 = 27 000

Tuesday, M1 (order O2): running 08:00-12:00, break, U.FAIL 12:30-13:00, running 13:00-14:00,
  planned_stop P.PM 14:00-15:00, running 15:00-16:00; 250 good P1 and 10 good of product X9,
  which has no routing.
  APT = 14 400 + 3 600 + 3 600 = 21 600; ADET = 1 800; PBT = 23 400; CMT = 1 800; PMT = 3 600
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kpi_cases import MON, TUE, WED, at, build_store, count, measurement, plant_toml, state
from smartfactory.kpi import KpiResult, catalogue, compute_result

O1 = "O1"
O2 = "O2"  # Tuesday's order: an order's span runs from its first to its last state


def _events() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    states = [
        # Monday, M1
        state("M1", at("00:00"), at("08:00"), "planned_stop", reason="P.NOSHIFT"),
        state("M1", at("08:00"), at("08:30"), "setup", order=O1),
        state("M1", at("08:30"), at("12:00"), "running", order=O1),
        state("M1", at("12:00"), at("12:30"), "planned_stop", reason="P.BREAK", order=O1),
        state("M1", at("12:30"), at("12:40"), "unplanned_down", reason="U.FAIL", order=O1),
        state("M1", at("12:40"), at("12:50"), "unplanned_down", reason="U.FAIL", order=O1),
        state("M1", at("12:50"), at("13:00"), "unplanned_down", reason="U.MINOR", order=O1),
        state("M1", at("13:00"), at("13:10"), "starved"),
        state("M1", at("13:10"), at("14:40"), "running", order=O1),
        state("M1", at("14:40"), at("14:50"), "unplanned_down", reason="U.JAM", order=O1),
        state("M1", at("14:50"), at("15:50"), "running", order=O1),
        state("M1", at("15:50"), at("16:00"), "idle"),
        state("M1", at("16:00"), at("24:00"), "planned_stop", reason="P.NOSHIFT"),
        # Monday, M2
        state("M2", at("08:00"), at("12:00"), "running", order=O1),
        state("M2", at("12:00"), at("12:30"), "planned_stop", reason="P.BREAK"),
        state("M2", at("12:30"), at("16:00"), "running", order=O1),
        # Tuesday, M1
        state("M1", at("08:00", TUE), at("12:00", TUE), "running", order=O2),
        state("M1", at("12:00", TUE), at("12:30", TUE), "planned_stop", reason="P.BREAK"),
        state("M1", at("12:30", TUE), at("13:00", TUE), "unplanned_down", reason="U.FAIL", order=O2),
        state("M1", at("13:00", TUE), at("14:00", TUE), "running", order=O2),
        state("M1", at("14:00", TUE), at("15:00", TUE), "planned_stop", reason="P.PM"),
        state("M1", at("15:00", TUE), at("16:00", TUE), "running", order=O2),
    ]
    counts = [
        count("M1", at("10:00"), good=239),
        count("M1", at("11:00"), scrap=18),
        count("M1", at("11:30"), rework=8),
        count("M1", at("13:40"), good=1, part="S1"),
        count("M1", at("13:50"), rework=1, part="S2"),
        count("M1", at("14:00"), good=1, part="S3"),
        count("M1", at("14:10"), good=1, part="S4"),
        count("M1", at("15:00"), good=1, part="S2"),
        count("M2", at("15:00"), good=600),
        count("M1", at("10:00", TUE), good=250, order=O2),
        count("M1", at("15:30", TUE), good=10, product="X9", order=O2),
    ]
    measurements = [
        measurement("M1", at("13:40"), "diameter", 10.02),
        measurement("M1", at("13:50"), "diameter", 9.98),
        measurement("M1", at("14:00"), "diameter", 10.04),
        measurement("M1", at("14:10"), "diameter", 10.00),
        measurement("M1", at("14:30"), "diameter", 11.00),  # no count at 14:30: not a sample
        measurement("M1", at("08:00"), "energy_kwh", 1000.0),
        measurement("M1", at("12:00"), "energy_kwh", 1030.0),
        measurement("M1", at("14:00"), "energy_kwh", 4.0),
        measurement("M1", at("16:00"), "energy_kwh", 24.0),
    ]
    return states, counts, measurements


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, KpiResult]]:
    folder: Path = tmp_path_factory.mktemp("golden")
    states, counts, measurements = _events()
    store = build_store(folder, plant_toml(), states=states, counts=counts, measurements=measurements)
    try:
        yield {
            "equipment": compute_result(store, MON, WED, by="equipment", per="day"),
            "line": compute_result(store, MON, WED, by="line", per="day"),
        }
    finally:
        store.close()


def _row(result: KpiResult, node: str, day: datetime | Any = MON) -> dict[str, Any]:
    found = [r for r in result.rows() if r["node"] == node and r["period_start"].date() == day]
    assert len(found) == 1, f"{node} {day}: {len(found)} rows"
    return found[0]


@pytest.fixture
def m1(results: dict[str, KpiResult]) -> dict[str, Any]:
    return _row(results["equipment"], "M1")


def test_rows_keys_and_periods(results: dict[str, KpiResult]) -> None:
    eq = results["equipment"]
    keys = [(r["node"], r["level"], r["period_start"].isoformat(), r["shift"]) for r in eq.rows()]
    assert keys == [
        ("M1", "equipment", "2026-03-02T00:00:00+00:00", None),
        ("M1", "equipment", "2026-03-03T00:00:00+00:00", None),
        ("M2", "equipment", "2026-03-02T00:00:00+00:00", None),
        ("M2", "equipment", "2026-03-03T00:00:00+00:00", None),
    ]
    assert _row(eq, "M1")["period_end"].isoformat() == "2026-03-03T00:00:00+00:00"
    assert [r["node"] for r in results["line"].rows()] == ["L", "L"]


def test_time_elements(m1: dict[str, Any]) -> None:
    assert (m1["pot"], m1["pdot"], m1["pbt_calendar"]) == (28_800, 1_800, 27_000)
    assert (m1["ndt"], m1["pbt"], m1["data_coverage"]) == (0, 27_000, 1.0)
    assert (m1["apt"], m1["asut"], m1["adet"], m1["adot"]) == (21_600, 1_800, 2_400, 1_200)
    assert (m1["aupt"], m1["aubt"], m1["aoet"]) == (23_400, 25_800, 26_400)
    assert (m1["fe"], m1["ttr"], m1["cmt"], m1["pmt"]) == (2, 1_800, 1_800, 0)


def test_time_kpis(m1: dict[str, Any]) -> None:
    # availability = APT / PBT = 21 600 / 27 000 = 0.8
    assert m1["availability"] == pytest.approx(0.8, rel=1e-12)
    # allocation ratio = AUBT / AOET = 25 800 / 26 400 = 43/44
    assert m1["allocation_ratio"] == pytest.approx(25_800 / 26_400, rel=1e-12)
    # allocation efficiency = AUBT / PBT = 25 800 / 27 000 = 43/45
    assert m1["allocation_efficiency"] == pytest.approx(25_800 / 27_000, rel=1e-12)
    # utilization efficiency = APT / AUBT = 21 600 / 25 800 = 36/43
    assert m1["utilization_efficiency"] == pytest.approx(21_600 / 25_800, rel=1e-12)
    # setup rate = ASUT / AUPT = 1 800 / 23 400 = 1/13
    assert m1["setup_rate"] == pytest.approx(1 / 13, rel=1e-12)
    # technical efficiency = APT / (APT + ADET) = 21 600 / 24 000 = 0.9
    assert m1["technical_efficiency"] == pytest.approx(0.9, rel=1e-12)
    # production process ratio = APT / AOET = 21 600 / 26 400 = 9/11
    assert m1["production_process_ratio"] == pytest.approx(9 / 11, rel=1e-12)


def test_quantity_elements(m1: dict[str, Any]) -> None:
    assert (m1["pq"], m1["gq"], m1["sq"], m1["rq"]) == (270, 243, 18, 9)
    assert (m1["ip"], m1["gp"], m1["pq_first"], m1["sq_first"], m1["pq_no_pru"]) == (4, 3, 270, 18, 0)
    assert m1["pru_pq"] == 19_440


def test_production_and_quality_kpis(m1: dict[str, Any]) -> None:
    # effectiveness = PRU × PQ / APT = 270 × 72 / 21 600 = 19 440 / 21 600 = 0.9
    assert m1["effectiveness"] == pytest.approx(0.9, rel=1e-12)
    # quality ratio = GQ / PQ = 243 / 270 = 0.9
    assert m1["quality_ratio"] == pytest.approx(0.9, rel=1e-12)
    # OEE = availability × effectiveness × quality = 0.8 × 0.9 × 0.9 = 0.648
    assert m1["oee"] == pytest.approx(0.648, rel=1e-12)
    # NEE = AUPT / PBT × effectiveness × quality = 23 400 / 27 000 × 0.81 = 0.702
    assert m1["nee"] == pytest.approx(0.702, rel=1e-12)
    # throughput rate = PQ / (AOET in h) = 270 / (26 400 / 3 600) = 36.818… units/h
    assert m1["throughput_rate"] == pytest.approx(270 / (26_400 / 3_600), rel=1e-12)
    # first pass yield = GP / IP = 3 / 4
    assert m1["first_pass_yield"] == pytest.approx(0.75, rel=1e-12)
    # scrap ratio = SQ / PQ = 18 / 270 = 1/15; rework ratio = RQ / PQ = 9 / 270 = 1/30
    assert m1["scrap_ratio"] == pytest.approx(1 / 15, rel=1e-12)
    assert m1["rework_ratio"] == pytest.approx(1 / 30, rel=1e-12)
    # fall-off ratio = SQ_FIRST / PQ_FIRST = 18 / 270 (M1's cell C1 is the first step)
    assert m1["fall_off_ratio"] == pytest.approx(1 / 15, rel=1e-12)
    # equipment load ratio = PQ / EPC = 270 / (40 × 7.5) = 0.9
    assert m1["epc"] == pytest.approx(300)
    assert m1["equipment_load_ratio"] == pytest.approx(0.9, rel=1e-12)
    # comprehensive energy consumption = EC / PQ = 54 kWh / 270 = 0.2 kWh/unit
    assert m1["energy_kwh"] == pytest.approx(54.0, rel=1e-12)
    assert m1["comprehensive_energy_consumption"] == pytest.approx(0.2, rel=1e-12)


def test_capability_kpis(m1: dict[str, Any]) -> None:
    # z = 0.2, −0.2, 0.4, 0.0: CN = 4, CZ = 0.4, CZZ = 0.04 + 0.04 + 0.16 = 0.24
    assert m1["cn"] == 4
    assert m1["cz"] == pytest.approx(0.4, rel=1e-9)
    assert m1["czz"] == pytest.approx(0.24, rel=1e-9)
    # mean z = 0.1; Σ(z − mean)² = 0.24 − 0.4² / 4 = 0.2; s = √(0.2 / 3)
    s = math.sqrt(0.2 / 3)
    # Cm = (USL − LSL) / 6s = 2 / 6s = 1 / 3s = 1.2910
    assert m1["cm"] == pytest.approx(1 / (3 * s), rel=1e-9)
    # Cmk = min(USL − mean, mean − LSL) / 3s = (1 − 0.1) / 3s = 1.1619
    assert m1["cmk"] == pytest.approx(0.9 / (3 * s), rel=1e-9)
    # Cp, Cpk use σ̂ = s / c4 with c4(4) ≈ 4·3 / (4·4 − 3) = 12/13
    sigma = s / (12 / 13)
    assert m1["cp"] == pytest.approx(1 / (3 * sigma), rel=1e-9)
    assert m1["cpk"] == pytest.approx(0.9 / (3 * sigma), rel=1e-9)


def test_maintenance_kpis(m1: dict[str, Any], results: dict[str, KpiResult]) -> None:
    # MTBF = MTTF = AUPT / FE = 23 400 s / 2 = 11 700 s = 3.25 h
    assert m1["mtbf"] == pytest.approx(3.25, rel=1e-12)
    assert m1["mttf"] == pytest.approx(3.25, rel=1e-12)
    # MTTR = TTR / FE = 1 800 s / 2 = 900 s = 0.25 h (the minor stoppage is no failure)
    assert m1["mttr"] == pytest.approx(0.25, rel=1e-12)
    # corrective maintenance ratio = CMT / (CMT + PMT) = 1 800 / (1 800 + 0) = 1
    assert m1["corrective_maintenance_ratio"] == pytest.approx(1.0, rel=1e-12)
    # Tuesday: the PM window 14:00-15:00 is planned down time and preventive maintenance
    tue = _row(results["equipment"], "M1", TUE)
    assert (tue["pot"], tue["pdot"], tue["pbt_calendar"], tue["pmt"]) == (28_800, 5_400, 23_400, 3_600)
    # availability = 21 600 / 23 400 = 12/13; CMT / (CMT + PMT) = 1 800 / 5 400 = 1/3
    assert tue["availability"] == pytest.approx(12 / 13, rel=1e-12)
    assert (tue["fe"], tue["cmt"]) == (1, 1_800)
    assert tue["corrective_maintenance_ratio"] == pytest.approx(1 / 3, rel=1e-12)
    assert tue["mttr"] == pytest.approx(0.5, rel=1e-12)
    # the PM window is M1's only: M2 keeps the plain calendar
    m2 = _row(results["equipment"], "M2", TUE)
    assert (m2["pdot"], m2["pmt"]) == (1_800, 0)


def test_product_without_routing_leaves_effectiveness_undefined(results: dict[str, KpiResult]) -> None:
    result = results["equipment"]
    tue = _row(result, "M1", TUE)
    # 10 units of X9 have no routing cycle at C1: effectiveness (and so OEE, NEE) has no value
    assert (tue["pq"], tue["pq_no_pru"], tue["pru_pq"]) == (260, 10, 250 * 72)
    cat = catalogue()
    assert tue["effectiveness"] is None
    assert result.why_null(tue, cat.kpis["effectiveness"]) == (
        "needs: a routing cycle time for every product made here"
    )
    assert tue["oee"] is None and tue["nee"] is None
    assert result.why_null(tue, cat.kpis["oee"]) == (
        "effectiveness: needs: a routing cycle time for every product made here"
    )
    assert tue["quality_ratio"] == pytest.approx(1.0)


def test_kpis_that_need_what_the_equipment_lacks(results: dict[str, KpiResult]) -> None:
    result = results["equipment"]
    m2 = _row(result, "M2")
    cat = catalogue()
    # M2 has no rated capacity, no energy meter, no serial parts, no characteristic, no failure
    # and is not the first step of the routing
    expected = {
        "equipment_load_ratio": "needs: rated_capacity_per_h of the equipment in the plant file",
        "comprehensive_energy_consumption": "needs: an energy meter on the equipment",
        "first_pass_yield": "needs: serialised parts (part ids on counts)",
        "cm": "needs: at least 2 measurements of a characteristic with a tolerance",
        "cpk": "needs: at least 2 measurements of a characteristic with a tolerance",
        "mtbf": "no failure in the period",
        "mttr": "no failure in the period",
        "fall_off_ratio": "applies to the first operation of a routing only",
    }
    for kpi_id, why in expected.items():
        assert m2[kpi_id] is None, kpi_id
        assert result.why_null(m2, cat.kpis[kpi_id]) == why
    # what M2 does have: availability = 27 000 / 27 000, effectiveness = 600 × 45 / 27 000 = 1
    assert m2["availability"] == pytest.approx(1.0)
    assert m2["effectiveness"] == pytest.approx(1.0)
    assert m2["oee"] == pytest.approx(1.0)
    # setup rate is 0 / 27 000 = 0 (a value, not null); allocation efficiency 27 000 / 27 000
    assert m2["setup_rate"] == 0.0
    assert m2["allocation_efficiency"] == pytest.approx(1.0)


def test_unsupported_kpis_are_null_and_say_what_they_need(results: dict[str, KpiResult]) -> None:
    cat = catalogue()
    unsupported = [k for k in cat.kpis.values() if not k.supported]
    assert {k.id for k in unsupported} == {
        "worker_efficiency",
        "actual_to_planned_scrap_ratio",
        "inventory_turns",
        "finished_goods_ratio",
        "integrated_goods_ratio",
        "production_loss_ratio",
        "storage_and_transportation_loss_ratio",
        "other_loss_ratio",
    }
    result = results["equipment"]
    for row in result.rows():
        for kpi in unsupported:
            assert row[kpi.id] is None
            assert kpi.needs is not None
            why = result.why_null(row, kpi)
            assert why == f"needs: {kpi.needs.en}"
            assert result.why_null(row, kpi, "zh") == f"需要：{kpi.needs.zh}"


def test_every_supported_kpi_has_a_golden_value(m1: dict[str, Any]) -> None:
    """Guards the suite: a KPI added to kpis.toml must get a golden value above."""
    supported = {k.id for k in catalogue().kpis.values() if k.supported}
    assert len(supported) == 26
    assert all(m1[k] is not None for k in supported), [k for k in supported if m1[k] is None]


def test_line_rolls_up_elements_then_divides(results: dict[str, KpiResult]) -> None:
    line = _row(results["line"], "L")
    # sums of M1 and M2: APT = 21 600 + 27 000 = 48 600, PBT = 27 000 + 27 000 = 54 000
    assert (line["apt"], line["pbt"], line["pq"], line["gq"]) == (48_600, 54_000, 870, 843)
    # availability = 48 600 / 54 000 = 0.9 (not the mean of 0.8 and 1.0 by accident: same PBT)
    assert line["availability"] == pytest.approx(0.9, rel=1e-12)
    # effectiveness = (19 440 + 27 000) / 48 600 = 43/45; quality = 843 / 870
    assert line["effectiveness"] == pytest.approx(46_440 / 48_600, rel=1e-12)
    assert line["quality_ratio"] == pytest.approx(843 / 870, rel=1e-12)
    assert line["oee"] == pytest.approx(0.9 * 46_440 / 48_600 * 843 / 870, rel=1e-12)
    # one of the two machines has no rated capacity / meter: the line's value is not comparable
    assert line["epc_missing"] == 1 and line["equipment_load_ratio"] is None
    assert line["ec_missing"] == 1 and line["comprehensive_energy_consumption"] is None
