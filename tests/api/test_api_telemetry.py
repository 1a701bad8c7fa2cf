"""The telemetry API: signals, downsampled series, states, counts, and every bad parameter."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from smartfactory.app import telemetry as service
from smartfactory.app.roles import Role
from smartfactory.app.workspace import Workspace
from smartfactory.model.errors import InvalidInput
from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.model.plant import Plant
from smartfactory.store import TelemetryStore
from web import app_for, signed_in

PROBLEM = "application/problem+json"
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def client(web_server: Workspace) -> Iterator[TestClient]:
    with signed_in(app_for(web_server), Role.viewer) as viewer:
        yield viewer


@pytest.fixture(scope="module")
def plant(web_server: Workspace) -> Plant:
    return web_server.plant()


def _field_problem(response: object, field: str, status: int = 422) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM)  # type: ignore[attr-defined]
    errors = response.json()["errors"]  # type: ignore[attr-defined]
    fields = [e["field"] for e in errors]
    assert field in fields, errors
    return str(next(e["message"] for e in errors if e["field"] == field))


# --- signals --------------------------------------------------------------------------------


def test_signals_come_from_the_plant_model_with_units(client: TestClient, plant: Plant) -> None:
    response = client.get("/api/v1/equipment/OP10-M1/signals")
    assert response.status_code == 200
    signals = response.json()["signals"]
    model = plant.equipment_by_id()["OP10-M1"]
    assert [s["name"] for s in signals[:-1]] == [s.name for s in model.signals]
    assert {s["name"]: s["unit"] for s in signals[:-1]} == {s.name: s.unit for s in model.signals}
    assert signals[-1] == {**signals[-1], "name": "energy_kwh", "unit": "kWh", "kind": "energy"}


def test_signals_of_unknown_equipment_is_404_naming_the_path(client: TestClient) -> None:
    message = _field_problem(client.get("/api/v1/equipment/NOPE/signals"), "path.equipment_id", 404)
    assert "NOPE" in message and "OP10-M1" in message


# --- downsampling on a synthetic store (exact) ------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TelemetryStore, np.ndarray, np.ndarray]]:
    """10,000 readings a second apart of OP10-M1's spindle_temp, with spikes where sin would not put them."""
    store = TelemetryStore.open(tmp_path_factory.mktemp("synthetic"), mode="write")
    n = 10_000
    first = datetime(2026, 3, 2, 0, 0, 0, 250_000)
    stamps = np.array([first + timedelta(seconds=k) for k in range(n)], dtype="datetime64[us]")
    values = 40 + 5 * np.sin(np.arange(n) / 300.0)
    values[1234] = 95.0  # a peak
    values[7777] = -10.0  # a dip
    store.write(
        EventType.measurements,
        pa.table(
            {
                "ts": pa.array(stamps, pa.timestamp("us")),
                "equipment": ["OP10-M1"] * n,
                "signal": ["spindle_temp"] * n,
                "value": values,
            },
            schema=SCHEMAS[EventType.measurements],
        ),
    )
    yield store, stamps, values
    store.close()


@pytest.mark.parametrize("points", [10, 11, 100, 999])
def test_downsampling_keeps_every_buckets_min_and_max_and_no_more_points(
    synthetic: tuple[TelemetryStore, np.ndarray, np.ndarray], plant: Plant, points: int
) -> None:
    store, stamps, values = synthetic
    answer = service.telemetry(
        store, plant, "OP10-M1", ["spindle_temp"], "2026-03-02T00:00Z", "2026-03-03T00:00Z", points
    )
    (series,) = answer.series
    assert series.downsampled and series.rows == len(values)
    assert len(series.data) <= points
    shown = [v for _t, v in series.data]
    assert 95.0 in shown and -10.0 in shown
    times = [t for t, _v in series.data]
    assert times == sorted(times)
    # the buckets as the service cuts them: points // 2 equal slices from the first row to the last
    us = (stamps - stamps[0]).astype("timedelta64[us]").astype(np.int64)
    buckets = points // 2
    width = -(-(int(us[-1]) + 1) // buckets)
    index = us // width
    for b in np.unique(index):
        inside = values[index == b]
        assert inside.min() in shown and inside.max() in shown
    assert series.bucket_s == pytest.approx(width / 1e6)


def test_few_rows_come_back_raw(
    synthetic: tuple[TelemetryStore, np.ndarray, np.ndarray], plant: Plant
) -> None:
    store, _stamps, values = synthetic
    answer = service.telemetry(
        store, plant, "OP10-M1", ["spindle_temp"], "2026-03-02T00:00Z", "2026-03-02T00:01Z", 100
    )
    (series,) = answer.series
    assert not series.downsampled and series.bucket_s is None
    assert [v for _t, v in series.data] == list(values[:60])  # 00:00:00.25 … 00:00:59.25
    assert series.data[0][0] == "2026-03-02T00:00:00.250+00:00"


def test_plant_clock_is_the_wall_clock_in_epoch_ms(
    synthetic: tuple[TelemetryStore, np.ndarray, np.ndarray], plant: Plant
) -> None:
    store, _stamps, _values = synthetic
    answer = service.telemetry(
        store, plant, "OP10-M1", ["spindle_temp"], "2026-03-02T08:00", "2026-03-02T08:01", 100, "plant"
    )
    first = answer.series[0].data[0][0]
    # 00:00:00.25 UTC is 08:00:00.25 in Shanghai, written as if it were UTC
    assert first == int(datetime(2026, 3, 2, 8, 0, 0, 250_000, tzinfo=UTC).timestamp() * 1000)
    assert answer.start == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def test_values_that_are_not_numbers_are_left_out(
    synthetic: tuple[TelemetryStore, np.ndarray, np.ndarray], plant: Plant
) -> None:
    store, _stamps, _values = synthetic
    stamps = [datetime(2026, 3, 2, 0, 0, k) for k in range(4)]
    store.write(
        EventType.measurements,
        pa.table(
            {
                "ts": pa.array(stamps, pa.timestamp("us")),
                "equipment": ["OP10-M1"] * 4,
                "signal": ["spindle_current"] * 4,
                "value": [1.0, float("nan"), float("inf"), 2.0],
            },
            schema=SCHEMAS[EventType.measurements],
        ),
    )
    for points in (10, 100):
        answer = service.telemetry(
            store, plant, "OP10-M1", ["spindle_current"], "2026-03-02T00:00Z", "2026-03-02T00:01Z", points
        )
        assert [v for _t, v in answer.series[0].data] == [1.0, 2.0]


# --- the API over the simulated store ------------------------------------------------------------


def test_every_signal_gets_at_most_points(client: TestClient, plant: Plant) -> None:
    response = client.get(
        "/api/v1/telemetry", params={"equipment": "OP20-M3", "points": 10, "start": "2026-03-02"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    names = [s.name for s in plant.equipment_by_id()["OP20-M3"].signals] + ["energy_kwh"]
    assert [s["signal"] for s in body["series"]] == names
    for series in body["series"]:
        assert series["type"] == "line" and series["showSymbol"] is False
        assert len(series["data"]) <= 10
        assert series["rows"] > 10 and series["downsampled"]
    assert body["start"] == "2026-03-01T16:00:00Z"


def test_a_short_period_returns_the_stored_rows(client: TestClient, web_server: Workspace) -> None:
    params = {
        "equipment": "OP10-M1",
        "signal": ["spindle_temp", "spindle_current"],
        "start": "2026-03-02T09:00",
    }
    params["end"] = "2026-03-02T09:30"
    response = client.get("/api/v1/telemetry", params=params)
    assert response.status_code == 200, response.text
    with web_server.telemetry() as store:
        stored = store.query(
            "SELECT signal, count(*) AS n FROM measurements WHERE equipment = 'OP10-M1' "
            "AND ts >= TIMESTAMP '2026-03-02 01:00' AND ts < TIMESTAMP '2026-03-02 01:30' GROUP BY signal"
        ).to_pylist()
    counts = {row["signal"]: row["n"] for row in stored}
    for series in response.json()["series"]:
        assert not series["downsampled"]
        assert len(series["data"]) == series["rows"] == counts[series["signal"]] == 30


def test_states_cover_the_period(client: TestClient) -> None:
    response = client.get(
        "/api/v1/states", params={"equipment": "OP10-M1", "start": "2026-03-03", "end": "2026-03-04"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert sum(body["seconds"].values()) == pytest.approx(86_400)
    spans = body["states"]
    assert spans[0]["start"] <= "2026-03-02T16:00:00Z" < spans[0]["end"]
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(spans))


def test_counts_per_day_and_shift_add_up(client: TestClient, web_server: Workspace) -> None:
    with web_server.telemetry() as store:
        good, scrap, rework = (
            store.query("SELECT sum(good), sum(scrap), sum(rework) FROM counts WHERE equipment = 'OP10-M1'")
            .to_pylist()[0]
            .values()
        )
    period = {"equipment": "OP10-M1", "start": "2026-03-02", "end": "2026-03-05"}
    days = client.get("/api/v1/counts", params={**period, "per": "day"}).json()
    assert [b["start"] for b in days["buckets"]] == [
        "2026-03-01T16:00:00Z",
        "2026-03-02T16:00:00Z",
        "2026-03-03T16:00:00Z",
    ]
    assert days["total"] == {"good": good, "scrap": scrap, "rework": rework}
    assert sum(b["good"] for b in days["buckets"]) == good
    shifts = client.get("/api/v1/counts", params={**period, "per": "shift"}).json()
    assert {b["shift"] for b in shifts["buckets"]} <= {"D", "N"}
    assert sum(b["good"] + b["scrap"] + b["rework"] for b in shifts["buckets"]) <= good + scrap + rework
    hours = client.get("/api/v1/counts", params={**period, "per": "hour"}).json()
    assert len(hours["buckets"]) == 72
    assert sum(b["scrap"] for b in hours["buckets"]) == scrap


def test_sign_in_is_required(web_server: Workspace) -> None:
    anonymous = TestClient(app_for(web_server))
    for url in (
        "/api/v1/telemetry?equipment=OP10-M1",
        "/api/v1/states?equipment=OP10-M1",
        "/api/v1/counts?equipment=OP10-M1",
    ):
        assert anonymous.get(url).status_code == 401


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/telemetry", {}, "query.equipment"),
        ("/api/v1/telemetry", {"equipment": "NOPE"}, "query.equipment"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "signal": "nope"}, "query.signal"),
        (
            "/api/v1/telemetry",
            {"equipment": "OP10-M1", "signal": ["spindle_temp", "spindle_temp"]},
            "query.signal",
        ),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "signal": "press_force"}, "query.signal"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "points": "abc"}, "query.points"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "points": "9"}, "query.points"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "points": "5001"}, "query.points"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "points": "1e9"}, "query.points"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "clock": "mars"}, "query.clock"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "start": "yesterday"}, "query.start"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "end": "2026-13-01"}, "query.end"),
        (
            "/api/v1/telemetry",
            {"equipment": "OP10-M1", "start": "2026-03-03", "end": "2026-03-02"},
            "query.end",
        ),
        (
            "/api/v1/telemetry",
            {"equipment": "OP10-M1", "start": "2026-03-03", "end": "2026-03-03"},
            "query.end",
        ),
        (
            "/api/v1/telemetry",
            {"equipment": "OP10-M1", "start": "2024-01-01", "end": "2026-03-03"},
            "query.start",
        ),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "start": "x" * 65}, "query.start"),
        (
            "/api/v1/states",
            {"equipment": "OP10-M1", "start": "2026-01-01", "end": "2026-03-03"},
            "query.start",
        ),
        ("/api/v1/states", {"equipment": "OP99"}, "query.equipment"),
        ("/api/v1/counts", {"equipment": "OP10-M1", "per": "year"}, "query.per"),
        ("/api/v1/counts", {"equipment": "OP10-M1", "per": "hour", "start": "2026-01-01"}, "query.start"),
        ("/api/v1/counts", {"equipment": "OP10-M1", "start": "03/02/2026"}, "query.start"),
        ("/api/v1/counts", {"equipment": "OP10-M1", "start": "0001-01-01"}, "query.start"),
        ("/api/v1/states", {"equipment": "OP10-M1", "end": "9999-12-31T23:59:59"}, "query.end"),
        ("/api/v1/telemetry", {"equipment": "OP10-M1", "start": "2026-03-02\x00"}, "query.start"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    client: TestClient, url: str, params: dict[str, object], field: str
) -> None:
    message = _field_problem(client.get(url, params=params), field)
    assert message


def test_limits_say_what_is_allowed(client: TestClient) -> None:
    message = _field_problem(
        client.get(
            "/api/v1/telemetry", params={"equipment": "OP10-M1", "start": "2024-01-01", "end": "2026-03-03"}
        ),
        "query.start",
    )
    assert "366" in message
    assert "5000" in _field_problem(
        client.get("/api/v1/telemetry", params={"equipment": "OP10-M1", "points": 6000}), "query.points"
    )


def test_problems_are_in_the_users_language(web_server: Workspace) -> None:
    with signed_in(app_for(web_server), Role.viewer, lang="zh") as chinese:
        response = chinese.get(
            "/api/v1/telemetry", params={"equipment": "OP10-M1", "start": "2026-03-03", "end": "2026-03-02"}
        )
        assert _field_problem(response, "query.end") == "结束时间必须晚于开始时间。"
        response = chinese.get("/api/v1/telemetry", params={"equipment": "OP10-M1", "signal": "nope"})
        assert "没有信号" in _field_problem(response, "query.signal")


def test_the_service_rejects_without_http(plant: Plant, web_server: Workspace) -> None:
    with web_server.telemetry() as store, pytest.raises(InvalidInput) as caught:
        service.counts(store, plant, "OP10-M1", per="fortnight")  # type: ignore[arg-type]
    assert caught.value.problems[0].location == "query.per"


def test_times_without_offset_are_plant_time() -> None:
    assert service.parse_time("2026-03-02T08:00", "query.start", TZ) == datetime(2026, 3, 2, 0, 0)
    assert service.parse_time("2026-03-02T08:00Z", "query.start", TZ) == datetime(2026, 3, 2, 8, 0)
    assert service.parse_time("2026-03-02T08:00+01:00", "query.start", TZ) == datetime(2026, 3, 2, 7, 0)
    assert service.parse_time("2026-03-02", "query.start", TZ) == datetime(2026, 3, 1, 16, 0)
