"""A live embedded store (issue 17): the process that holds the store runs the sources.

* `serve --ingest`: the server runs the plant's MQTT source in its own event loop, writing
  through its workspace; while the twin publishes, the API shows points published a moment ago,
  and afterwards what the store holds is what was sent;
* `ingest` started next to a running `serve`: it hands its sources to the server, the points
  arrive in the store through it, and nothing waits in a spool.

Real processes, the shared Mosquitto (topics and client ids of the test's own), real HTTP.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path

from live_store import Api, LivePlant, Process, api_token, good_count, measurement, now
from mqtt_broker import free_port
from smartfactory.connect.twin import Counting
from smartfactory.model.events import EventType
from smartfactory.simulate.pace import simulate_paced
from smartfactory.store.owner import read_owner
from smartfactory.store.telemetry import TelemetryStore

FRESH_S = 2.0  # a point is in the API this soon after it was published


def _stored(store: Path) -> dict[str, int]:
    with TelemetryStore.open(store, "read") as telemetry:
        return {
            t.value: telemetry.count(t) for t in (EventType.measurements, EventType.states, EventType.counts)
        }


def _twin(live: LivePlant, sink: Counting, hours: float) -> None:
    """The twin's last ``hours`` up to a minute ago, flat out."""
    begin = now() - timedelta(hours=hours, minutes=1)
    simulate_paced(live.plant(), sink, start=begin, days=hours / 24, seed=5, speed=None)


def _seen_within(api: Api, equipment: str, at_value: tuple[datetime, float], timeout_s: float) -> float:
    """Seconds until the API's telemetry of ``equipment`` holds the point; fails after ``timeout_s``."""
    at, value = at_value
    started = time.monotonic()
    window = {
        "start": (at - timedelta(seconds=1)).isoformat(),
        "end": (at + timedelta(seconds=1)).isoformat(),
    }
    while time.monotonic() - started < timeout_s:
        answer = api.get("/api/v1/telemetry", equipment=equipment, signal="temp", **window)
        if any(v == value for series in answer["series"] for _, v in series["data"]):
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the point {value} of {at} was not in the API after {timeout_s} s")


def _good_quantity(api: Api) -> float:
    rows = api.get("/api/v1/kpis", by="equipment", per="window")["rows"]
    return sum(r["elements"].get("GQ") or 0.0 for r in rows)


def _kpis_reach(api: Api, good: float, timeout_s: float) -> float:
    """Seconds until the KPI report's good quantity is ``good``; fails after ``timeout_s``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if _good_quantity(api) >= good:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the KPIs' good quantity did not reach {good} in {timeout_s} s")


def test_serve_ingest_shows_fresh_points_and_stores_what_was_sent(mqtt_url: str, tmp_path: Path) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    plant_file = live.write()
    store = tmp_path / "store"
    api = Api(port := free_port(), api_token(store))
    server = Process(
        "serve", "--store", str(store), "--port", str(port), "--ingest", "--plant", str(plant_file)
    )  # fmt: skip
    try:
        server.wait_for("the API", api.answers)
        server.wait_for(
            "the source connected",
            lambda: any(
                s["connected"] for r in api.get("/api/v1/ingest/status")["runs"] for s in r["sources"]
            ),
        )
        publisher = live.publisher()
        sink = Counting(publisher)
        latencies = []
        try:
            _twin(live, sink, hours=3)
            for k in range(5):
                point = (now(), 1000.0 + k)
                publisher.write(EventType.measurements, measurement("M1A", *point))
                latencies.append(_seen_within(api, "M1A", point, timeout_s=10))
            # the KPIs count parts made a moment ago (their cache does not hide a new commit)
            before = _good_quantity(api)
            for k in range(3):
                publisher.write(EventType.counts, good_count("M2A", now(), 7))
                latencies.append(_kpis_reach(api, before + 7 * (k + 1), timeout_s=10))
        finally:
            sink.close()  # the broker has every message
        assert max(latencies) < FRESH_S, latencies
        status = api.get("/api/v1/ingest/status")
        assert status["running"] and [r["origin"] for r in status["runs"]] == ["serve --ingest"]
        assert status["runs"][0]["stored"] > 0 and status["runs"][0]["spooled_points"] == 0
        kpis = api.get("/api/v1/kpis")
        assert kpis["rows"], kpis
    finally:
        try:
            server.stop(signalled=True)
        finally:
            server.kill()
    stored = _stored(store)
    assert stored["measurements"] == sink.events["measurements"] + 5
    assert stored["states"] == sink.events["states"]
    assert stored["counts"] == sink.events["counts"] + 3
    assert read_owner(store) is None  # withdrawn on the way out


def test_ingest_next_to_serve_hands_its_sources_to_the_server(mqtt_url: str, tmp_path: Path) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    plant_file = live.write()
    store = tmp_path / "store"
    api = Api(port := free_port(), api_token(store))
    server = Process("serve", "--store", str(store), "--port", str(port))
    ingester: Process | None = None
    try:
        server.wait_for("the API", api.answers)
        server.wait_for("the owner file", lambda: read_owner(store) is not None)
        ingester = Process(
            "ingest", "--plant", str(plant_file), "--store", str(store), "--status-every", "0.2", "--json"
        )
        ingester.wait_for(
            "connected", lambda: any(" 1/1 sources connected" in line for line in ingester.lines)
        )
        assert "the sources run there" in ingester.log()
        runs = api.get("/api/v1/ingest/status")["runs"]
        assert [r["origin"] for r in runs] == [f"smartfactory ingest (pid {ingester.process.pid})"]
        publisher = live.publisher()
        sink = Counting(publisher)
        try:
            _twin(live, sink, hours=2)
        finally:
            sink.close()
        sent = publisher.points

        ingester.wait_for(
            "every point through the server",
            lambda: api.get("/api/v1/ingest/status")["runs"][0]["points"] >= sent,
        )
        final = json.loads(ingester.stop())
        assert final["points"] >= sent and final["stored"] > 0 and ingester.stored() > 0
        assert final["spooled_points"] == 0 and final["spool_pending"] == 0
        assert not api.get("/api/v1/ingest/status")["runs"]  # stopped in the server too
        assert not list((store / "spool").glob("seg-*"))
    finally:
        if ingester is not None:
            ingester.kill()
        try:
            server.stop(signalled=True)
        finally:
            server.kill()
    stored = _stored(store)
    assert stored["measurements"] == sink.events["measurements"]
    assert stored["states"] == sink.events["states"]
    assert stored["counts"] == sink.events["counts"]


def test_sources_handed_over_stop_when_the_ingest_that_handed_them_is_killed(
    mqtt_url: str, tmp_path: Path
) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    store = tmp_path / "store"
    api = Api(port := free_port(), api_token(store))
    server = Process("serve", "--store", str(store), "--port", str(port))
    try:
        server.wait_for("the API", api.answers)
        server.wait_for("the owner file", lambda: read_owner(store) is not None)
        ingester = Process(
            "ingest", "--plant", str(live.write()), "--store", str(store), "--status-every", "0.2"
        )
        ingester.wait_for("handed over", lambda: bool(api.get("/api/v1/ingest/status")["runs"]))
        ingester.kill()  # SIGKILL: it cannot stop its sources in the server itself
        deadline = time.monotonic() + 10
        while api.get("/api/v1/ingest/status")["runs"]:
            assert time.monotonic() < deadline, "the sources of a killed ingest still run in the server"
            time.sleep(0.1)
    finally:
        try:
            server.stop(signalled=True)
        finally:
            server.kill()
