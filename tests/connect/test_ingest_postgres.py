"""Live ingest into a PostgreSQL store (issue 17): no owner, several writers, open states kept there.

* `ingest --store postgresql://…` stores what a publisher sent over MQTT while `kpi` reads the
  same database;
* two `ingest` processes (two sources, two topic prefixes) write into one database at once;
* `serve --ingest --store postgresql://…` runs the sources in the server;
* the writer keeps the open states in the database: a restart continues where it stopped;
* a server that cannot be reached: batches wait in the local spool.

Real PostgreSQL, the shared Mosquitto (topics and client ids of the test's own), real processes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import timedelta
from pathlib import Path

from live_store import ROOT, RUN, Api, LivePlant, Process, good_count, measurement, now
from mqtt_broker import free_port
from smartfactory.app.accounts import add_user
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token
from smartfactory.connect.twin import Counting
from smartfactory.connect.writer import IngestWriter
from smartfactory.model.events import EventType
from smartfactory.simulate.pace import simulate_paced
from smartfactory.store import StoreFolder
from smartfactory.store.postgres import PgTelemetryStore

T0 = 1_772_409_600_000_000  # 2026-03-02T00:00:00Z in µs
S = 1_000_000


def _counts(url: str) -> dict[str, int]:
    with PgTelemetryStore.open(url, "read") as store:
        return {t.value: store.count(t) for t in (EventType.measurements, EventType.states, EventType.counts)}


def _ingest(live: LivePlant, url: str, spool: Path, client: str) -> Process:
    return Process(
        "ingest", "--plant", str(live.write(client)), "--store", url, "--spool", str(spool),
        "--status-every", "0.2", "--json",
    )  # fmt: skip


def _connected(process: Process) -> None:
    process.wait_for("connected", lambda: any(" 1/1 sources connected" in line for line in process.lines))


def test_ingest_into_postgres_stores_what_was_sent_while_kpi_reads(
    postgres_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    ingester = _ingest(live, postgres_url, tmp_path / "spool", "ingest")
    try:
        _connected(ingester)
        publisher = live.publisher()
        sink = Counting(publisher)
        try:
            begin = now() - timedelta(hours=2, minutes=1)
            simulate_paced(live.plant(), sink, start=begin, days=2 / 24, seed=5, speed=None)
            for k in range(3):
                sink.write(EventType.counts, good_count("M2A", now() + timedelta(milliseconds=k), 7))
        finally:
            sink.close()  # the broker has every message
        ingester.wait_for(
            "every event stored", lambda: sum(_counts(postgres_url).values()) >= sum(sink.events.values())
        )
        # another command reads the database meanwhile: no owner to go through
        kpi = subprocess.run(
            [*RUN, "kpi", "--store", postgres_url, "--per", "window", "--format", "json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert kpi.returncode == 0, kpi.stderr[-2000:]
        assert json.loads(kpi.stdout), kpi.stdout[:500]
        final = json.loads(ingester.stop())
    finally:
        ingester.kill()
    assert final["spooled_points"] == 0 and final["quarantined"] == 0, final
    stored = _counts(postgres_url)
    assert stored["measurements"] == sink.events["measurements"] > 0
    assert stored["states"] == sink.events["states"] > 0
    assert stored["counts"] == sink.events["counts"] > 0
    assert not list((tmp_path / "spool").glob("seg-*"))


def test_two_ingests_on_two_sources_write_into_one_database_at_once(
    postgres_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    lines = [LivePlant(tmp_path / "a", mqtt_url), LivePlant(tmp_path / "b", mqtt_url)]
    for live in lines:
        live.folder.mkdir()
    ingesters = [
        _ingest(live, postgres_url, live.folder / "spool", f"ingest-{i}") for i, live in enumerate(lines)
    ]
    points = 300
    try:
        for process in ingesters:
            _connected(process)
        start = now()
        publishers = [live.publisher() for live in lines]
        try:
            # each line's own machine: line a publishes M1A's points, line b M2A's, interleaved
            for k in range(points):
                for equipment, publisher in zip(("M1A", "M2A"), publishers, strict=True):
                    publisher.write(
                        EventType.measurements,
                        measurement(equipment, start + timedelta(milliseconds=k), float(k)),
                    )
        finally:
            for publisher in publishers:
                publisher.close()
        for process in ingesters:
            process.wait_for("its points stored", lambda p=process: p.stored() >= points)  # type: ignore[misc]
        finals = [json.loads(process.stop()) for process in ingesters]
    finally:
        for process in ingesters:
            process.kill()
    assert [f["stored"] for f in finals] == [points, points]
    with PgTelemetryStore.open(postgres_url, "read") as store:
        rows = store.query(
            "SELECT equipment, count(*) AS n FROM measurements GROUP BY equipment ORDER BY equipment"
        ).to_pylist()
    assert rows == [{"equipment": "M1A", "n": points}, {"equipment": "M2A", "n": points}]


def test_open_states_survive_a_restart_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    spool = tmp_path / "spool"

    async def first() -> None:
        async with IngestWriter(postgres_url, spool_folder=spool) as writer:
            writer.batch.state_change("M1", T0, "running")
            writer.batch.state_change("M1", T0 + 60 * S, "unplanned_down", reason="BRK")
            await writer.flush()
            writer.batch.state_change("M1", T0 + 30 * S, "idle")  # late: before the open state
            writer.batch.reject("line/M1/temp", "bad json: Expecting value", b"{nope")
            await writer.flush()
            assert writer.stats.quarantined == 2

    async def second() -> None:
        # a new process: the open state comes back from the database
        async with IngestWriter(postgres_url, spool_folder=spool) as writer:
            assert writer.open_states.current["M1"].state == "unplanned_down"
            writer.batch.state_change("M1", T0 + 90 * S, "running")
            await writer.flush()

    asyncio.run(first())
    asyncio.run(second())
    with PgTelemetryStore.open(postgres_url, "read") as store:
        rows = store.table(EventType.states).to_pylist()
        quarantined = sorted(e.source for e in store.quarantine().list())
        open_rows = store.load_open_states().to_pylist()
    assert [(r["state"], r["reason"], (r["end"] - r["start"]).total_seconds()) for r in rows] == [
        ("running", None, 60.0),
        ("unplanned_down", "BRK", 30.0),
    ]
    assert quarantined == ["line/M1/temp", "state change:M1"]
    assert [(r["equipment"], r["state"]) for r in open_rows] == [("M1", "running")]
    assert not list(spool.glob("seg-*"))


def test_a_server_that_cannot_be_reached_spools(tmp_path: Path) -> None:
    spool = tmp_path / "spool"

    async def main() -> None:
        # nothing listens on port 1: the batch is kept on disk, not lost and not an error
        async with IngestWriter("postgresql://nobody@127.0.0.1:1/none", spool_folder=spool) as writer:
            assert not writer.stats.store_available
            writer.batch.measurement("M1", "temp", T0, 1.0)
            await writer.flush()
            assert writer.stats.spooled_points == 1 and writer.stats.spool_pending == 1

    asyncio.run(main())
    assert len(list(spool.glob("seg-*"))) == 1


def test_serve_ingest_on_postgres_runs_the_sources_in_the_server(
    postgres_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    with StoreFolder.at(postgres_url).open_registry() as registry:
        add_user(registry, "viewer", "viewer-password-123", Role.viewer, "Viewer")
        token = issue_token(registry, "viewer", "live test")
    api = Api(port := free_port(), token)
    server = Process(
        "serve", "--store", postgres_url, "--port", str(port), "--ingest", "--plant", str(live.write("serve"))
    )  # fmt: skip
    points = 100
    try:
        server.wait_for("the API", api.answers)
        server.wait_for(
            "the source connected",
            lambda: any(
                s["connected"] for r in api.get("/api/v1/ingest/status")["runs"] for s in r["sources"]
            ),
        )
        publisher = live.publisher()
        start = now()
        try:
            for k in range(points):
                publisher.write(
                    EventType.measurements, measurement("M1A", start + timedelta(milliseconds=k), float(k))
                )
        finally:
            publisher.close()
        server.wait_for(
            "every point stored",
            lambda: api.get("/api/v1/ingest/status")["runs"][0]["stored"] >= points,
        )
        run = api.get("/api/v1/ingest/status")["runs"][0]
        assert run["origin"] == "serve --ingest" and run["spooled_points"] == 0, run
    finally:
        try:
            server.stop(signalled=True)
        finally:
            server.kill()
    assert _counts(postgres_url)["measurements"] == points
