"""`smartfactory ingest` alone owns the store (issue 17): it publishes its owner file and serves the
owner endpoint, so `kpi --store` works while it runs, and a second `ingest` hands its sources to it.

Real processes, the shared Mosquitto (topics and client ids of the test's own).
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

from live_store import ROOT, RUN, LivePlant, Process, now
from smartfactory.connect.twin import Counting
from smartfactory.model.events import EventType
from smartfactory.simulate.pace import simulate_paced
from smartfactory.store.owner import read_owner
from smartfactory.store.telemetry import TelemetryStore


def _connected(process: Process) -> bool:
    return any(" 1/1 sources connected" in line for line in process.lines)


def test_kpi_works_while_ingest_owns_the_store(mqtt_url: str, tmp_path: Path) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    plant_file = live.write()
    store = tmp_path / "store"
    ingester = Process(
        "ingest", "--plant", str(plant_file), "--store", str(store), "--status-every", "0.2", "--json"
    )
    second: Process | None = None
    try:
        ingester.wait_for("connected", lambda: _connected(ingester))
        owner = read_owner(store)
        assert (
            owner is not None
            and owner.pid == ingester.process.pid
            and owner.url.startswith("http://127.0.0.1:")
        )
        sink = Counting(live.publisher())
        try:
            # yesterday from 08:30 Shanghai time, in the plant's shift: the KPIs have planned time
            begin = now().replace(hour=0, minute=30, second=0, microsecond=0) - timedelta(days=1)
            simulate_paced(live.plant(), sink, start=begin, days=3 / 24, seed=9, speed=None)
        finally:
            sink.close()
        sent = sink.events["measurements"] + sink.events["counts"]
        ingester.wait_for("the twin's points stored", lambda: ingester.stored() >= sent)
        # a command that reads the store while the ingester holds it: it goes through the owner
        kpi = subprocess.run(
            [*RUN, "kpi", "--store", str(store), "--per", "window", "--format", "json"],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert kpi.returncode == 0, kpi.stderr
        rows = json.loads(kpi.stdout)["rows"]
        assert rows and any(r["values"]["oee"] is not None for r in rows)
        # a second ingest of the same store (its source a client of its own) runs inside the first
        second = Process(
            "ingest", "--plant", str(live.write("second")), "--store", str(store), "--status-every", "0.2", "--duration", "1",
            "--json",
        )  # fmt: skip
        second.wait_for("connected through the owner", lambda: "the sources run there" in second.log())
        handed = json.loads(second.stop(timeout_s=30))
        assert handed["origin"] == f"smartfactory ingest (pid {second.process.pid})"
        assert handed["spooled_points"] == 0 and not handed["running"]
        final = json.loads(ingester.stop())
    finally:
        for process in (second, ingester):
            if process is not None:
                process.kill()
    assert final["spooled_points"] == 0 and final["stored"] > 0
    assert read_owner(store) is None  # withdrawn on the way out
    with TelemetryStore.open(store, "read") as telemetry:
        assert telemetry.count(EventType.measurements) == sink.events["measurements"]
        assert telemetry.count(EventType.counts) == sink.events["counts"]
