"""KPI invariants on random event sets for the one-machine plant of kpi_cases (Monday and Tuesday).

The events follow the conventions of the twin: state rows never overlap (gaps are allowed:
they are no data), running / setup / unplanned-down / blocked rows carry an order id, and
meters, parts and characteristics are sampled at random. A query costs about half a second of
Ibis compilation whatever the data, so each example runs two and the examples are few.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kpi_cases import MON, WED, at, count, measurement, memory_backend, small_plant, state
from smartfactory.kpi import KpiResult, catalogue, compute_on
from smartfactory.kpi.elements import COUNT_COLUMNS, FLOAT_COLUMNS, TIME_COLUMNS
from smartfactory.model.plant import Plant

ORDERS = ["O1", "O2", "O3"]
WITH_ORDER = {"running", "setup", "unplanned_down", "blocked"}
REASONS = {
    "unplanned_down": ["U.FAIL", "U.JAM", "U.MINOR"],
    "planned_stop": ["P.BREAK", "P.PM", "P.NOSHIFT"],
}
STATES = ["running", "running", "running", "idle", "starved", "blocked", "setup", "planned_stop",
          "unplanned_down", "unplanned_down", "no_data"]  # fmt: skip
HORIZON_S = 2 * 86_400
TARGET = {"P1": 10.0, "P2": 20.0}
# equipment·period flags are counts of periods, so they do not add up across periods
FLAGS = {"epc_missing", "ec_missing"}
ADDITIVE = [c for c in TIME_COLUMNS + COUNT_COLUMNS + FLOAT_COLUMNS if c not in FLAGS]


@cache
def _plant() -> Plant:
    return small_plant(two_machines=False)


@st.composite
def event_sets(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    origin = at("00:00")
    states = []
    t = draw(st.integers(6 * 3600, 10 * 3600)) * 1_000_000  # microseconds since Monday 00:00
    for _ in range(draw(st.integers(0, 30))):
        t += draw(st.sampled_from([0, 0, 0, 0, 1])) * draw(st.integers(1, 4 * 3600)) * 1_000_000
        length = draw(st.integers(1, 3 * 3600)) * 1_000_000 + draw(st.integers(0, 999_999))
        name = draw(st.sampled_from(STATES))
        if name in WITH_ORDER:
            order: str | None = draw(st.sampled_from(ORDERS))
        else:
            order = draw(st.sampled_from([None, None, *ORDERS]))
        reason = draw(st.sampled_from(REASONS[name])) if name in REASONS else None
        start = origin + timedelta(microseconds=t)
        states.append(
            state("M1", start, start + timedelta(microseconds=length), name, reason=reason, order=order,
                  product=draw(st.sampled_from(["P1", "P2"])) if order else None)
        )  # fmt: skip
        t += length
    made = draw(
        st.lists(
            st.tuples(
                st.integers(0, HORIZON_S - 1),
                st.integers(0, 5),
                st.integers(0, 2),
                st.integers(0, 2),
                st.sampled_from(["P1", "P2"]),
                st.sampled_from([None, None, "S1", "S2", "S3"]),
                st.one_of(st.none(), st.floats(-0.2, 0.2)),
            ),
            max_size=30,
            unique_by=lambda c: c[0],
        )
    )
    counts, measurements = [], []
    for second, good, scrap, rework, product, part, deviation in made:
        ts = origin + timedelta(seconds=second)
        counts.append(count("M1", ts, good=good, scrap=scrap, rework=rework, product=product, part=part))
        if deviation is not None:
            measurements.append(measurement("M1", ts, "diameter", TARGET[product] + deviation))
    readings = draw(
        st.lists(
            st.tuples(st.integers(0, HORIZON_S - 1), st.floats(0, 1_000)),
            max_size=12,
            unique_by=lambda r: r[0],
        )
    )
    for second, value in readings:
        measurements.append(measurement("M1", origin + timedelta(seconds=second), "energy_kwh", value))
    return {"states": states, "counts": counts, "measurements": measurements}


def _by_period(result: KpiResult) -> dict[Any, dict[str, Any]]:
    return {r["period_start"]: r for r in result.rows()}


def _close(a: Any, b: Any, rel: float = 1e-9) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    return bool(a == b)


def _check_identities(row: dict[str, Any]) -> None:
    # OEE = availability × effectiveness × quality; NEE = AUPT / PBT × effectiveness × quality
    parts = [row["availability"], row["effectiveness"], row["quality_ratio"]]
    if any(p is None for p in parts):
        assert row["oee"] is None
    else:
        assert row["oee"] == pytest.approx(parts[0] * parts[1] * parts[2], rel=1e-9, abs=1e-12)
        assert row["nee"] == pytest.approx(
            row["aupt"] / row["pbt"] * parts[1] * parts[2], rel=1e-9, abs=1e-12
        )
    # every KPI inside its ISO range
    for kpi in catalogue().kpis.values():
        value = row[kpi.id]
        if value is not None:
            assert kpi.low - 1e-12 <= value <= kpi.high + 1e-12, (kpi.id, value)
    # calendar time is conserved
    assert row["pot"] == pytest.approx(row["pdot"] + row["pbt_calendar"], abs=1e-6)
    covered = row["apt"] + row["asut"] + row["adet"] + row["adot"]
    assert row["pbt_calendar"] == pytest.approx(row["ndt"] + covered, abs=1e-6)
    assert row["pbt"] == pytest.approx(row["pbt_calendar"] - row["ndt"], abs=1e-6)
    assert row["aupt"] == pytest.approx(row["apt"] + row["asut"], abs=1e-6)
    assert row["aubt"] == pytest.approx(row["aupt"] + row["adet"], abs=1e-6)
    # failure repair time counts inside planned operation time, breaks included (ADET does not)
    assert 0 <= row["cmt"] <= row["adet"] + row["pdot"] + 1e-6


def _settings(examples: int) -> settings:
    # no explain phase: it traces every line of the engine, minutes per failing example
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )


@_settings(15)
@given(event_sets())
def test_identities_ranges_and_rollup_of_one_child(events: dict[str, list[dict[str, Any]]]) -> None:
    plant = _plant()
    backend = memory_backend(**events)
    days = compute_on(backend, plant, MON, WED, by="equipment", per="day")
    line = compute_on(backend, plant, MON, WED, by="line", per="day")
    for result in (days, line):
        for row in result.rows():
            _check_identities(row)
    # a roll-up of one child is the child: line L holds only M1
    by_day, line_by_day = _by_period(days), _by_period(line)
    assert list(by_day) == list(line_by_day) and len(by_day) == 2
    for start, child in by_day.items():
        parent = line_by_day[start]
        assert (parent["node"], parent["level"], child["node"]) == ("L", "line", "M1")
        for column, value in child.items():
            if column not in ("node", "level"):
                assert _close(parent[column], value, rel=1e-12), column


@_settings(10)
@given(event_sets())
def test_per_day_adds_up_to_the_window(events: dict[str, list[dict[str, Any]]]) -> None:
    plant = _plant()
    backend = memory_backend(**events)
    days = compute_on(backend, plant, MON, WED, by="equipment", per="day")
    (whole,) = compute_on(backend, plant, MON, WED, by="equipment", per="window").rows()
    _check_identities(whole)
    by_day = days.rows()
    assert [r["period_start"] for r in by_day] == [whole["period_start"], by_day[1]["period_start"]]
    assert by_day[1]["period_end"] == whole["period_end"]
    for column in ADDITIVE:
        total = sum(r[column] for r in by_day)
        assert whole[column] == pytest.approx(total, rel=1e-9, abs=1e-6), column
    assert (whole["epc_missing"], whole["ec_missing"]) == (0, 0)
