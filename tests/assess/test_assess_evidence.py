"""Live evidence: every metric on hand-built stores with the arithmetic written out, and on the twin."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from smartfactory.assess.evidence import Evidence, least_squares_slope, live_evidence
from smartfactory.kpi import compute_result
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant, parse_plant
from smartfactory.simulate import simulate
from smartfactory.store import Registry, TelemetryStore, finish_scenario_run, record_scenario_run

EXAMPLE_PLANT = Path(__file__).resolve().parents[2] / "examples" / "plants" / "discrete_machining.toml"

METRIC_IDS = [
    "key_equipment_networking_rate",
    "signal_collection_coverage",
    "key_process_automation_rate",
    "energy_metering_coverage",
    "oee",
    "first_pass_yield",
    "mtbf_h",
    "scenarios_in_use",
    "ai_scenario_share",
]
STORE_METRICS = [
    "key_equipment_networking_rate",
    "signal_collection_coverage",
    "energy_metering_coverage",
    "oee",
    "first_pass_yield",
    "mtbf_h",
]

# The plant runs in UTC with one shift 08:00-16:00 every day and no breaks: 8 h = 28 800 s of
# planned busy time per equipment and day. Five machines in four work cells:
#   C1: M1  key, networked, automated; signal temp; energy meter EM1 (energy_kwh)
#   C2: M2  key, NOT networked, NOT automated; signal pressure; no meter
#       M3  not key, automated; no signals; energy meter EM3 (signal kwh)
#   C3: M4  key, networked, automated; signal vib; energy meter EM4 (energy_kwh)
#   C4: M5  not key, NOT automated; signal flow; no meter
# Key equipment: M1, M2, M4 (3). Key steps (cells holding key equipment): C1, C2, C3 (3);
# C2 is manual because M2 is. Declared signals: M1/temp, M1/energy_kwh, M2/pressure, M3/kwh,
# M4/vib, M4/energy_kwh, M5/flow (7). Equipment: 5, three of them with a meter.
PLANT_TOML = """
schema = "smartfactory.plant/1"

[plant]
id = "evidence-plant"
name = { en = "Evidence plant", zh = "证据工厂" }
industry = "discrete"
timezone = "UTC"

[enterprise]
id = "ent"
name = { en = "Enterprise", zh = "企业" }

[[site]]
id = "site"
parent = "ent"
name = { en = "Site", zh = "工厂" }

[[area]]
id = "area"
parent = "site"
name = { en = "Area", zh = "车间" }

[[line]]
id = "L"
parent = "area"
name = { en = "Line", zh = "产线" }
calendar = "cal"

[[work_cell]]
id = "C1"
parent = "L"
name = { en = "Cell 1", zh = "工位 1" }

[[work_cell]]
id = "C2"
parent = "L"
name = { en = "Cell 2", zh = "工位 2" }

[[work_cell]]
id = "C3"
parent = "L"
name = { en = "Cell 3", zh = "工位 3" }

[[work_cell]]
id = "C4"
parent = "L"
name = { en = "Cell 4", zh = "工位 4" }

[[equipment]]
id = "M1"
parent = "C1"
name = { en = "Machine 1", zh = "设备 1" }
kind = "cnc_machining_centre"
key = true

[equipment.energy]
meter = "EM1"
power_kw = { running = 10.0, idle = 2.0 }

[[equipment.signal]]
name = "temp"
unit = "°C"
normal = [10.0, 60.0]
sampling_s = 300

[[equipment]]
id = "M2"
parent = "C2"
name = { en = "Machine 2", zh = "设备 2" }
kind = "press"
key = true
networked = false
automated = false

[[equipment.signal]]
name = "pressure"
unit = "bar"
normal = [0.0, 200.0]
sampling_s = 60

[[equipment]]
id = "M3"
parent = "C2"
name = { en = "Machine 3", zh = "设备 3" }
kind = "robot"

[equipment.energy]
meter = "EM3"
signal = "kwh"
power_kw = { running = 3.0, idle = 1.0 }

[[equipment]]
id = "M4"
parent = "C3"
name = { en = "Machine 4", zh = "设备 4" }
kind = "grinder"
key = true

[equipment.energy]
meter = "EM4"
power_kw = { running = 5.0, idle = 1.0 }

[[equipment.signal]]
name = "vib"
unit = "mm/s"
normal = [0.0, 10.0]
sampling_s = 60

[[equipment]]
id = "M5"
parent = "C4"
name = { en = "Machine 5", zh = "设备 5" }
kind = "washer"
automated = false

[[equipment.signal]]
name = "flow"
unit = "l/min"
normal = [0.0, 50.0]
sampling_s = 60

[[calendar]]
id = "cal"
name = { en = "Calendar", zh = "日历" }
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
shifts = [{ id = "A", name = { en = "Shift A", zh = "班次 A" }, start = "08:00", end = "16:00" }]

[[reason]]
code = "P"
name = { en = "Planned", zh = "计划停机" }
kind = "planned"

[[reason]]
code = "P.NOSHIFT"
parent = "P"
name = { en = "No shift", zh = "非排班" }
role = "no_shift"

[[reason]]
code = "U"
name = { en = "Unplanned", zh = "非计划停机" }
kind = "unplanned"

[[reason]]
code = "U.FAIL"
parent = "U"
name = { en = "Failure", zh = "故障" }

[[reason]]
code = "U.MINOR"
parent = "U"
name = { en = "Minor stop", zh = "短停" }
role = "micro_stop"

[[product]]
id = "P1"
name = { en = "Product 1", zh = "产品 1" }

[[routing]]
product = "P1"
line = "L"
steps = [
  { work_cell = "C1", cycle_s = 72 },
  { work_cell = "C2", cycle_s = 60 },
  { work_cell = "C3", cycle_s = 60 },
  { work_cell = "C4", cycle_s = 60 },
]

[[order]]
id = "O1"
product = "P1"
quantity = 300
due = 2026-03-10T00:00:00
"""

MON = datetime(2026, 3, 2)  # a Monday; the store keeps naive UTC
FRI_BEFORE = datetime(2026, 2, 27)


def at(day: datetime, clock: str) -> datetime:
    """``at(MON, "08:30")``: naive UTC."""
    hours, minutes = (int(x) for x in clock.split(":"))
    return day + timedelta(hours=hours, minutes=minutes)


def utc(moment: datetime) -> datetime:
    """The aware UTC version of a naive store time."""
    return moment.replace(tzinfo=UTC)


def state(
    equipment: str, start: datetime, end: datetime, name: str, reason: str | None = None
) -> dict[str, Any]:
    """One states row (order O1, product P1)."""
    return {"equipment": equipment, "start": start, "end": end, "state": name, "reason": reason,
            "order_id": "O1", "product": "P1"}  # fmt: skip


def count(
    ts: datetime, good: int = 0, scrap: int = 0, rework: int = 0, part: str | None = None
) -> dict[str, Any]:
    """One counts row of M1 (product P1)."""
    return {"ts": ts, "equipment": "M1", "order_id": "O1", "product": "P1", "good": good, "scrap": scrap,
            "rework": rework, "part_id": part}  # fmt: skip


def measurement(equipment: str, ts: datetime, signal: str, value: float = 1.0) -> dict[str, Any]:
    """One measurements row."""
    return {"ts": ts, "equipment": equipment, "signal": signal, "value": value}


def write(store: TelemetryStore, kind: EventType, rows: Iterable[dict[str, Any]]) -> None:
    """Rows into the store through the event schema."""
    store.write(kind, pa.Table.from_pylist(list(rows), schema=SCHEMAS[kind]))


# Monday, M1 (the only machine with states that day):
#   08:00-12:00 running, 12:00-13:00 unplanned_down U.FAIL, 13:00-15:00 running, 15:00-16:00 setup
#   APT = 6 h = 21 600 s, ASUT = 3 600 s, ADET = 3 600 s, PBT = 28 800 s
#   availability = 21 600 / 28 800 = 0.75
# counts: a counter reading good 237 scrap 19 rework 9 (265) plus five serialised rows:
#   A good, B scrap, C rework then C good, D good -> PQ 270, GQ 240, SQ 20, RQ 10
#   effectiveness = PRU_PQ / APT = 270 * 72 / 21 600 = 0.9; quality = 240 / 270
#   OEE = 0.75 * 0.9 * 240 / 270 = 0.6
#   first pass: IP = 4 parts (A, B, C, D), GP = 2 (A and D were good at their first count) -> 0.5
#   MTBF = AUPT / FE = (21 600 + 3 600) s / 1 failure = 7 h
MONDAY_STATES = [
    state("M1", at(MON, "08:00"), at(MON, "12:00"), "running"),
    state("M1", at(MON, "12:00"), at(MON, "13:00"), "unplanned_down", "U.FAIL"),
    state("M1", at(MON, "13:00"), at(MON, "15:00"), "running"),
    state("M1", at(MON, "15:00"), at(MON, "16:00"), "setup"),
]
MONDAY_COUNTS = [
    count(at(MON, "09:00"), good=237, scrap=19, rework=9),
    count(at(MON, "09:10"), good=1, part="A"),
    count(at(MON, "09:20"), scrap=1, part="B"),
    count(at(MON, "09:30"), rework=1, part="C"),
    count(at(MON, "10:30"), good=1, part="C"),
    count(at(MON, "10:40"), good=1, part="D"),
]
# Monday measurements: M1 temp x2, M1 energy_kwh x2, M1 spindle_load (undeclared) x1,
# M3 kwh x1, X9 temp x1 (equipment the plant does not know)
MONDAY_MEASUREMENTS = [
    measurement("M1", at(MON, "08:00"), "temp"),
    measurement("M1", at(MON, "12:00"), "temp"),
    measurement("M1", at(MON, "08:00"), "energy_kwh", 100.0),
    measurement("M1", at(MON, "16:00"), "energy_kwh", 160.0),
    measurement("M1", at(MON, "11:00"), "spindle_load"),
    measurement("M3", at(MON, "10:00"), "kwh", 5.0),
    measurement("X9", at(MON, "09:00"), "temp"),
]
# Friday before: M4 runs its shift and sends vib and energy_kwh (1 row each)
FRIDAY_STATES = [state("M4", at(FRI_BEFORE, "08:00"), at(FRI_BEFORE, "16:00"), "running")]
FRIDAY_MEASUREMENTS = [
    measurement("M4", at(FRI_BEFORE, "09:00"), "vib"),
    measurement("M4", at(FRI_BEFORE, "09:00"), "energy_kwh", 10.0),
]


@pytest.fixture(scope="module")
def plant() -> Plant:
    """The hand-checked plant."""
    return parse_plant(PLANT_TOML, "evidence.toml")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelemetryStore]:
    """Friday's and Monday's events in one store (data from Fri 08:00 to Mon 16:00 UTC)."""
    opened = TelemetryStore.open(tmp_path_factory.mktemp("evidence"), mode="write")
    write(opened, EventType.states, FRIDAY_STATES + MONDAY_STATES)
    write(opened, EventType.counts, MONDAY_COUNTS)
    write(opened, EventType.measurements, FRIDAY_MEASUREMENTS + MONDAY_MEASUREMENTS)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def one_day(plant: Plant, store: TelemetryStore) -> dict[str, Evidence]:
    """Evidence over one day up to the end of the data: Sun 16:00 to Mon 16:00, Monday only."""
    return live_evidence(plant, store, days=1)


def test_every_metric_is_there_in_order(one_day: dict[str, Evidence]) -> None:
    assert list(one_day) == METRIC_IDS
    assert all(e.metric == k for k, e in one_day.items())


def test_networking_counts_key_equipment_with_events_in_the_window(
    one_day: dict[str, Evidence], store: TelemetryStore
) -> None:
    # key: M1, M2, M4; in the window only M1 has events (M4's are on Friday) -> 1 / 3
    e = one_day["key_equipment_networking_rate"]
    assert (e.value, e.numerator, e.denominator, e.unit) == (pytest.approx(1 / 3), 1, 3, "ratio")
    assert e.period == (utc(at(MON - timedelta(days=1), "16:00")), utc(at(MON, "16:00")))
    p = e.provenance
    assert p["plant_id"] == "evidence-plant" and p["store"] == str(store.path)
    assert p["window"]["end_from"] == "the end of the stored data"
    # M1: 4 states, 6 counts, 5 measurements (temp 2, energy 2, spindle_load 1)
    assert p["connected"] == {"M1": {"states": 4, "counts": 6, "measurements": 5}}
    assert p["not_connected"] == ["M2", "M4"]
    assert p["declared_networked_but_silent"] == ["M4"]
    assert p["declared_not_networked_but_sending"] == []
    assert p["not_key_with_events"] == ["M3"]
    assert p["unknown_equipment_with_events"] == ["X9"]
    # 15 rows of M1 + 1 of M3 + 1 of X9
    assert p["events_counted"] == 17
    # a reviewer can rerun the SQL with the recorded parameters
    params = {k: datetime.fromisoformat(v) for k, v in p["query"]["params"].items()}
    rerun = store.query(p["query"]["sql"], params).to_pylist()
    assert sum(r["n"] for r in rerun) == 17


def test_signal_coverage_counts_declared_signals_measured_in_the_window(one_day: dict[str, Evidence]) -> None:
    # declared 7; measured Monday: M1/temp, M1/energy_kwh, M3/kwh -> 3 / 7
    e = one_day["signal_collection_coverage"]
    assert (e.value, e.numerator, e.denominator) == (pytest.approx(3 / 7), 3, 7)
    p = e.provenance
    assert p["measured"] == ["M1/temp: 2", "M1/energy_kwh: 2", "M3/kwh: 1"]
    assert p["not_measured"] == ["M2/pressure", "M4/vib", "M4/energy_kwh", "M5/flow"]
    assert p["undeclared_seen"] == ["M1/spindle_load", "X9/temp"]
    assert p["rows_read"] == 7


def test_energy_metering_counts_equipment_whose_meter_reads(one_day: dict[str, Evidence]) -> None:
    # 5 machines; meters on M1, M3, M4; readings on Monday from M1 and M3 -> 2 / 5
    e = one_day["energy_metering_coverage"]
    assert (e.value, e.numerator, e.denominator) == (pytest.approx(2 / 5), 2, 5)
    p = e.provenance
    assert p["metered"] == {
        "M1": {"meter": "EM1", "signal": "energy_kwh", "readings": 2},
        "M3": {"meter": "EM3", "signal": "kwh", "readings": 1},
    }
    assert p["meter_without_readings"] == ["M4"]
    assert p["no_meter"] == ["M2", "M5"]


def test_automation_rate_comes_from_the_plant_model(one_day: dict[str, Evidence]) -> None:
    # key steps C1 (M1 automated), C2 (M2 manual -> manual), C3 (M4 automated) -> 2 / 3
    e = one_day["key_process_automation_rate"]
    assert (e.value, e.numerator, e.denominator, e.period) == (pytest.approx(2 / 3), 2, 3, None)
    p = e.provenance
    assert p["automated_steps"] == ["C1", "C3"]
    assert p["manual_steps"] == ["C2"]
    assert p["cells_without_key_equipment"] == ["C4"]
    c2 = p["key_steps"][1]
    assert c2 == {
        "work_cell": "C2",
        "automated": False,
        "equipment_automated": {"M2": False, "M3": True},
        "key_equipment": ["M2"],
        "routings": ["P1"],
    }


def test_kpis_over_the_window_with_their_elements(one_day: dict[str, Evidence]) -> None:
    oee = one_day["oee"]
    # 0.75 * 0.9 * 240 / 270 = 0.6
    assert oee.value == pytest.approx(0.6)
    assert (oee.numerator, oee.denominator, oee.unit) == (None, None, "ratio")
    assert oee.provenance["components"] == {
        "availability": pytest.approx(0.75),
        "effectiveness": pytest.approx(0.9),
        "quality_ratio": pytest.approx(240 / 270),
    }
    assert oee.provenance["elements"]["APT"] == pytest.approx(21_600)
    assert oee.provenance["elements"]["PBT"] == pytest.approx(28_800)
    assert oee.provenance["node"] == "ent"
    assert (
        "compute_result(store, '2026-03-01T16:00:00+00:00', '2026-03-02T16:00:00+00:00'"
        in (oee.provenance["kpi_call"])
    )

    fpy = one_day["first_pass_yield"]
    # GP 2 / IP 4
    assert (fpy.value, fpy.numerator, fpy.denominator) == (pytest.approx(0.5), 2, 4)

    mtbf = one_day["mtbf_h"]
    # (21 600 + 3 600) s = 7 h over 1 failure
    assert (mtbf.value, mtbf.numerator, mtbf.denominator, mtbf.unit) == (
        pytest.approx(7.0),
        pytest.approx(7.0),
        1,
        "h",
    )
    trend = mtbf.provenance["trend"]
    # Sun 16:00 to Mon 00:00 is one week (no shift: no value), Monday is the next
    assert [w["value"] for w in trend["weeks"]] == [None, pytest.approx(7.0)]
    assert trend["slope_per_week"] is None


def test_a_longer_window_reaches_fridays_events(plant: Plant, store: TelemetryStore) -> None:
    evidence = live_evidence(plant, store, days=30)
    # key M1 (Monday) and M4 (Friday) -> 2 / 3; signals + M4/vib, M4/energy_kwh -> 5 / 7;
    # meters M1, M3, M4 -> 3 / 5
    assert evidence["key_equipment_networking_rate"].value == pytest.approx(2 / 3)
    assert evidence["signal_collection_coverage"].value == pytest.approx(5 / 7)
    assert evidence["energy_metering_coverage"].value == pytest.approx(3 / 5)
    # the window is clipped to the data: it starts at Friday's first event
    assert evidence["oee"].period == (utc(at(FRI_BEFORE, "08:00")), utc(at(MON, "16:00")))


def test_as_of_moves_the_window(plant: Plant, store: TelemetryStore) -> None:
    # Thu 00:00 to Sat 00:00: only M4's Friday -> networking 1 / 3, signals 2 / 7, meters 1 / 5
    evidence = live_evidence(plant, store, as_of=utc(datetime(2026, 2, 28)), days=2)
    assert evidence["key_equipment_networking_rate"].provenance["connected"] == {
        "M4": {"measurements": 2, "states": 1}
    }
    assert evidence["key_equipment_networking_rate"].value == pytest.approx(1 / 3)
    assert evidence["signal_collection_coverage"].value == pytest.approx(2 / 7)
    assert evidence["energy_metering_coverage"].value == pytest.approx(1 / 5)
    assert evidence["oee"].period == (utc(at(FRI_BEFORE, "08:00")), utc(datetime(2026, 2, 28)))
    # M4 ran its whole shift with no counts: availability 1, no quantities -> no OEE, and why
    assert evidence["oee"].value is None and evidence["oee"].why
    assert evidence["mtbf_h"].why == "no failure in the period"


def test_a_window_without_events_measures_zero_and_no_kpi(plant: Plant, store: TelemetryStore) -> None:
    evidence = live_evidence(plant, store, as_of=utc(datetime(2026, 1, 10)), days=7)
    assert evidence["key_equipment_networking_rate"].value == 0.0
    assert evidence["key_equipment_networking_rate"].period is None
    assert evidence["oee"].value is None
    assert evidence["oee"].why == "no events in the window"


def test_without_a_store_or_registry_only_the_plant_model_metric_has_a_value(plant: Plant) -> None:
    evidence = live_evidence(plant, None)
    for metric in STORE_METRICS:
        assert (evidence[metric].value, evidence[metric].why) == (None, "no store")
    for metric in ("scenarios_in_use", "ai_scenario_share"):
        assert (evidence[metric].value, evidence[metric].why) == (None, "no registry")
    assert evidence["key_process_automation_rate"].value == pytest.approx(2 / 3)


def test_an_empty_store_says_so(plant: Plant, tmp_path: Path) -> None:
    with TelemetryStore.open(tmp_path, mode="write") as empty:
        evidence = live_evidence(plant, empty)
    for metric in STORE_METRICS:
        assert evidence[metric].value is None
        assert "holds no events" in str(evidence[metric].why)


def test_bad_arguments_are_refused(plant: Plant) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        live_evidence(plant, None, as_of=datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="at least one day"):
        live_evidence(plant, None, days=0)


def test_provenance_is_plain_json(one_day: dict[str, Evidence]) -> None:
    for e in one_day.values():
        json.dumps(e.provenance)


# --- trend ----------------------------------------------------------------------------------


def test_least_squares_slope() -> None:
    # y = 2x + 1 through three points; one point or one x has no slope
    assert least_squares_slope([(0, 1), (1, 3), (2, 5)]) == pytest.approx(2.0)
    assert least_squares_slope([(0, 1)]) is None
    assert least_squares_slope([(1, 1), (1, 2)]) is None


def test_weekly_trend_of_mtbf(plant: Plant, tmp_path: Path) -> None:
    feb23 = MON - timedelta(days=7)
    with TelemetryStore.open(tmp_path, mode="write") as two_weeks:
        write(
            two_weeks,
            EventType.states,
            [
                # week 1 (Mon 23 Feb): 7 h of running, one failure -> MTBF 7 h
                state("M1", at(feb23, "08:00"), at(feb23, "12:00"), "running"),
                state("M1", at(feb23, "12:00"), at(feb23, "13:00"), "unplanned_down", "U.FAIL"),
                state("M1", at(feb23, "13:00"), at(feb23, "16:00"), "running"),
                # week 2 (Mon 2 Mar): 6 h of running, two failures -> MTBF 3 h
                state("M1", at(MON, "08:00"), at(MON, "10:00"), "running"),
                state("M1", at(MON, "10:00"), at(MON, "11:00"), "unplanned_down", "U.FAIL"),
                state("M1", at(MON, "11:00"), at(MON, "13:00"), "running"),
                state("M1", at(MON, "13:00"), at(MON, "14:00"), "unplanned_down", "U.FAIL"),
                state("M1", at(MON, "14:00"), at(MON, "16:00"), "running"),
            ],
        )
        mtbf = live_evidence(plant, two_weeks, days=14)["mtbf_h"]
    # the window: Mon 23 Feb 08:00 (first event) to Mon 2 Mar 16:00; 13 h over 3 failures
    assert (mtbf.value, mtbf.numerator, mtbf.denominator) == (pytest.approx(13 / 3), pytest.approx(13.0), 3)
    trend = mtbf.provenance["trend"]
    assert [w["value"] for w in trend["weeks"]] == [pytest.approx(7.0), pytest.approx(3.0)]
    # weeks: [23 Feb 08:00, 2 Mar 00:00) (160 h) and [2 Mar 00:00, 2 Mar 16:00); their midpoints
    # 26 Feb 16:00 and 2 Mar 08:00 are 88 h = 11/21 week apart (February 2026 has 28 days)
    # slope = (3 - 7) / (11/21) = -84/11 per week
    assert trend["slope_per_week"] == pytest.approx(-84 / 11)


# --- scenarios ------------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path, plant: Plant) -> Iterator[Registry]:
    """A SQLite registry holding the plant and another one."""
    with Registry.open(tmp_path / "registry.db") as opened:
        opened.save_plant(plant, "evidence.toml", "0" * 64)
        other = plant.model_copy(update={"plant": plant.plant.model_copy(update={"id": "other"})})
        opened.save_plant(other, "other.toml", "0" * 64)
        yield opened


AS_OF = datetime(2026, 3, 31, tzinfo=UTC)


def finished(
    registry: Registry, official: str, uses_ai: bool, days_before: float, plant_id: str = "evidence-plant"
) -> str:
    """A finished run that ended ``days_before`` AS_OF."""
    end = AS_OF - timedelta(days=days_before)
    return record_scenario_run(
        registry, plant_id, "x", official, uses_ai=uses_ai, started_at=end - timedelta(hours=1),
        status="finished", finished_at=end,
    )  # fmt: skip


def test_scenarios_in_use_and_their_ai_share(plant: Plant, registry: Registry) -> None:
    counted = [
        finished(registry, "S24", True, 1),  # quality with AI
        finished(registry, "S28", False, 2),  # maintenance without AI ...
        finished(registry, "S28", True, 3),  # ... and with AI: S28 counts as AI
        finished(registry, "S09", False, 29.5),  # scheduling, no AI, near the window's start
    ]
    finished(registry, "S30", True, 31)  # before the 30-day window
    finished(registry, "S31", True, -1)  # after as_of
    finished(registry, "S40", True, 1, plant_id="other")  # another plant
    failed = record_scenario_run(
        registry, "evidence-plant", "anomaly", "S27", uses_ai=True, started_at=AS_OF - timedelta(days=2)
    )
    finish_scenario_run(registry, failed, status="failed", finished_at=AS_OF - timedelta(days=1))
    record_scenario_run(
        registry, "evidence-plant", "energy", "S16", uses_ai=True, started_at=AS_OF - timedelta(days=1)
    )

    evidence = live_evidence(plant, None, registry, as_of=AS_OF)
    # in use: S09, S24, S28 -> 3; with AI: S24, S28 -> 2 / 3
    in_use = evidence["scenarios_in_use"]
    assert (in_use.value, in_use.unit, in_use.period) == (3.0, "count", (AS_OF - timedelta(days=30), AS_OF))
    assert list(in_use.provenance["in_use"]) == ["S09", "S24", "S28"]
    assert sorted(r["id"] for runs in in_use.provenance["in_use"].values() for r in runs) == sorted(counted)
    assert in_use.provenance["rows_read"] == 4
    share = evidence["ai_scenario_share"]
    assert (share.value, share.numerator, share.denominator) == (pytest.approx(2 / 3), 2, 3)
    assert (share.provenance["with_ai"], share.provenance["without_ai"]) == (["S24", "S28"], ["S09"])
    # the store metrics say there is no store; the registry alone is enough for these two
    assert evidence["oee"].why == "no store"


def test_no_scenario_in_use_gives_zero_and_no_share(plant: Plant, registry: Registry) -> None:
    evidence = live_evidence(plant, None, registry, as_of=AS_OF)
    assert evidence["scenarios_in_use"].value == 0.0
    assert evidence["ai_scenario_share"].value is None
    assert evidence["ai_scenario_share"].why == "no scenario is in use in the window"


def test_the_scenario_window_ends_now_when_the_telemetry_is_older(
    plant: Plant, registry: Registry, store: TelemetryStore
) -> None:
    # the store's data ends on 2 March 2026; a run that finished just now still counts
    record_scenario_run(registry, "evidence-plant", "quality", "S24", uses_ai=True, status="finished")
    evidence = live_evidence(plant, store, registry, days=1)
    assert evidence["scenarios_in_use"].value == 1.0
    assert evidence["scenarios_in_use"].provenance["window"]["end_from"] == "now"
    assert (
        evidence["key_equipment_networking_rate"].provenance["window"]["end_from"]
        == "the end of the stored data"
    )


# --- the digital twin -----------------------------------------------------------------------


@pytest.mark.skipif(not EXAMPLE_PLANT.exists(), reason="examples/plants/discrete_machining.toml absent")
def test_a_short_simulation_of_the_example_plant(tmp_path: Path) -> None:
    example = load_plant(EXAMPLE_PLANT)
    with TelemetryStore.open(tmp_path, mode="write") as twin:
        simulate(example, twin, start=datetime(2026, 3, 2), days=2, seed=4)
        evidence = live_evidence(example, twin, days=30)
        period = evidence["oee"].period
        assert period is not None
        direct = compute_result(twin, period[0], period[1], by="enterprise", per="window", plant=example)

    # the twin sends nothing from equipment that is not networked; OP10-M3 is one, and not key
    key = [e for e in example.equipment if e.key]
    silent = {e.id for e in example.equipment if not e.networked}
    assert "OP10-M3" in silent and "OP10-M3" not in {e.id for e in key}
    net = evidence["key_equipment_networking_rate"]
    assert (net.numerator, net.denominator) == (sum(e.networked for e in key), len(key))
    assert net.value == pytest.approx(sum(e.networked for e in key) / len(key))
    assert net.provenance["not_key_with_events"] == [
        e.id for e in example.equipment if not e.key and e.networked
    ]

    # every declared signal of a networked machine is sampled or measured per cycle within 2 days
    declared = [(e.id, s.name) for e in example.equipment for s in e.signals]
    declared += [(e.id, e.energy.signal) for e in example.equipment if e.energy]
    measured = [d for d in declared if d[0] not in silent]
    signals = evidence["signal_collection_coverage"]
    assert (signals.numerator, signals.denominator) == (len(measured), len(declared))

    energy = evidence["energy_metering_coverage"]
    metered = [e for e in example.equipment if e.energy and e.networked]
    assert (energy.numerator, energy.denominator) == (len(metered), len(example.equipment))

    key_cells = [c.id for c in example.work_cells if any(e.key for e in example.equipment_of(c.id))]
    auto_cells = [c for c in key_cells if all(e.automated for e in example.equipment_of(c))]
    automation = evidence["key_process_automation_rate"]
    assert (automation.numerator, automation.denominator) == (len(auto_cells), len(key_cells))

    [row] = direct.rows()
    assert evidence["oee"].value == pytest.approx(row["oee"])
    assert evidence["first_pass_yield"].value == pytest.approx(row["first_pass_yield"])
    assert (evidence["first_pass_yield"].numerator, evidence["first_pass_yield"].denominator) == (
        row["gp"],
        row["ip"],
    )
    if row["mtbf"] is None:
        assert evidence["mtbf_h"].value is None and evidence["mtbf_h"].why
    else:
        assert evidence["mtbf_h"].value == pytest.approx(row["mtbf"])
    assert 0 < (evidence["oee"].value or 0) <= 1
