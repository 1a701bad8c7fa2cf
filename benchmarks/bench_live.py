"""Live plant: the dashboard and the KPI API while the twin publishes over MQTT into ``serve --ingest``.

The store: the web benchmark's simulated month of the demo plant (12 machines, ``bench_web.prepare``),
copied into a temporary folder. ``smartfactory serve --ingest`` runs on it with an MQTT source on a
private Mosquitto (``bench_ingest.private_broker``: unlimited queues); the twin continues the plant
from the end of the stored month, publishing batched JSON (100 points a message) at a pace chosen
for at least 10,000 points/s. While it publishes, locust runs 20 clients (no think time) on the
overview page and then on the KPI endpoint, and a probe publishes one marked measurement every
second and polls ``/api/v1/telemetry`` until it is visible (freshness). Afterwards the twin's sent
counts are compared with what the store holds more than before, and the server's log is searched
for errors.

Baseline, same run: the same locust load on the same store with ``serve`` and no ingest (a quiet
store, the cache on): ``ratio`` = live ÷ quiet.

Targets (issue 17): overview p95 ≤ 200 ms, KPI p95 ≤ 100 ms, freshness p95 ≤ 2 s, ≥ 10,000
points/s published, 0 errors, stored = sent.

Run alone: ``.venv/bin/python benchmarks/bench_live.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bench_ingest
import bench_web
from common import Row, environment, markdown, verdict
from smartfactory.connect import twin
from smartfactory.connect.mqtt import MqttPublisher
from smartfactory.model.events import EventType
from smartfactory.model.plant_file import load_plant
from smartfactory.store import TelemetryStore
from smartfactory.store.quarantine import Quarantine

POINTS_TARGET = 10_000.0
FRESH_TARGET_S = 2.0
PROBE_EQUIPMENT = "OP10-M1"
PROBE_SIGNAL = "spindle_temp"
PROBE_TOPIC = f"acme/suzhou/machining/L1/{PROBE_EQUIPMENT}/{PROBE_SIGNAL}"


@dataclass
class Sizes:
    web: bench_web.Sizes
    load_s: int  # locust per endpoint while the twin publishes
    clients: int


FULL = Sizes(web=bench_web.FULL, load_s=30, clients=20)
QUICK = Sizes(web=bench_web.QUICK, load_s=6, clients=5)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _plant_file(folder: Path, port: int) -> Path:
    """The demo plant with an MQTT source on the private broker."""
    text = bench_web.PLANT.read_text(encoding="utf-8")
    # the twin continues a simulated March: its points are months old, so the source accepts old points
    text += (
        f'\n[[source]]\nid = "uns"\nkind = "mqtt"\nurl = "mqtt://127.0.0.1:{port}"\n'
        f'client_id = "bench-live-{os.getpid()}"\nmax_age_s = 31622400\n'
    )
    path = folder / "plant.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _counts(folder: Path) -> dict[str, int]:
    with TelemetryStore.open(folder, mode="read") as store:
        return {t.value: store.count(t) for t in EventType}


def _served(folder: Path, plant: Path | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    command = [str(bench_web.BIN / "smartfactory"), "serve", "--store", str(folder), "--port", str(port)]
    if plant is not None:
        command += ["--ingest", "--plant", str(plant)]
    handle = log.open("wb")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/login", timeout=5) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer within 120 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Probe:
    """Publishes a marked point every second and measures when the API first shows it."""

    def __init__(self, url: str, token: str, port: int, plant_path: Path, origin: datetime) -> None:
        # marked points lie inside the stored history (odd milliseconds, so no reading shares their
        # key): the KPI windows and "the latest stored event" stay the twin's
        self.url, self.token, self.origin = url, token, origin
        self.publisher = MqttPublisher(
            load_plant(plant_path), f"mqtt://127.0.0.1:{port}", client_id=f"bench-live-probe-{os.getpid()}"
        )
        self.delays: list[float] = []
        self.missed = 0
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        self.publisher.close()

    def _run(self) -> None:
        k = 0
        while not self._stop.is_set():
            k += 1
            at = self.origin + timedelta(seconds=k, milliseconds=777)
            value = 9000.0 + k
            payload = json.dumps({"ts": int(at.timestamp() * 1000), "value": value}).encode()
            sent = time.monotonic()
            self.publisher.publish_raw(PROBE_TOPIC, payload, qos=1)
            self.sent += 1
            if self._seen(at, value, sent + 10.0):
                self.delays.append(time.monotonic() - sent)
            else:
                self.missed += 1
            self._stop.wait(max(0.0, 1.0 - (time.monotonic() - sent)))

    def _seen(self, at: datetime, value: float, deadline: float) -> bool:
        query = urllib.parse.urlencode(
            {
                "equipment": PROBE_EQUIPMENT,
                "signal": PROBE_SIGNAL,
                "start": (at - timedelta(seconds=1)).isoformat(),
                "end": (at + timedelta(seconds=1)).isoformat(),
            }
        )
        request = urllib.request.Request(
            f"{self.url}/api/v1/telemetry?{query}", headers={"Authorization": f"Bearer {self.token}"}
        )
        while time.monotonic() < deadline:
            with urllib.request.urlopen(request, timeout=30) as response:
                doc = json.loads(response.read())
            if any(value in point for s in doc["series"] for point in s["data"]):
                return True
            time.sleep(0.05)
        return False


def _status(url: str, token: str) -> dict[str, object]:
    """The ingest status's counters of the whole run (the server's only run)."""
    request = urllib.request.Request(
        f"{url}/api/v1/ingest/status", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        doc = json.loads(response.read())
    run = doc["runs"][0] if doc.get("runs") else doc
    keys = ("points", "stored", "duplicates", "conflicts", "overlaps", "quarantined", "spooled_points")
    return {k: run.get(k) for k in keys}


def _twin_pace(folder: Path, days: int) -> float:
    """The speed (× real time) at which the twin publishes about 1.5 × the points target."""
    counts = _counts(folder)
    per_sim_s = sum(counts.values()) / (days * 86_400)
    return 1.5 * POINTS_TARGET / per_sim_s


def run(quick: bool) -> str:
    """The markdown table."""
    return _run(QUICK if quick else FULL)


def _run(sizes: Sizes) -> str:
    source, token = bench_web.prepare(sizes.web)
    paths = {"overview": ["/"], "kpi": bench_web.kpi_paths(sizes.web.days)}
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp, bench_ingest.private_broker() as port:
        work = Path(tmp)
        folder = work / "store"
        shutil.copytree(source, folder)
        (folder / "done.json").unlink(missing_ok=True)
        plant_path = _plant_file(work, port)
        speed = _twin_pace(folder, sizes.web.days)
        quiet: dict[str, bench_web.Load] = {}
        server, url = _served(folder, None, work / "quiet.log")
        try:
            for name, endpoint in paths.items():
                for path in endpoint:
                    bench_web.get(url + path, token)
                quiet[name] = bench_web.load(url, token, name, endpoint, sizes.clients, sizes.load_s, work)
        finally:
            _stop(server)
        before = _counts(folder)
        live: dict[str, bench_web.Load] = {}
        server, url = _served(folder, plant_path, work / "live.log")
        stop = threading.Event()
        sent: dict[str, object] = {}
        # a minute after the stored month: a new twin run starts its energy meters at 0, and a reading
        # at the history's last instant would be a conflict (quarantined, not lost: see the notes)
        begin = bench_web.START + timedelta(days=sizes.web.days, minutes=1)
        publish_days = (2 * sizes.load_s + 30) * speed / 86_400

        def publish() -> None:
            clock = time.monotonic()
            result = twin.publish_mqtt(
                load_plant(plant_path),
                f"mqtt://127.0.0.1:{port}",
                start=begin,
                days=publish_days,
                seed=7,
                speed=speed,
                batch_points=100,
                stop=stop,
            )
            sent["run"], sent["seconds"] = result, time.monotonic() - clock

        publisher = threading.Thread(target=publish, daemon=True)
        tz = ZoneInfo(load_plant(plant_path).plant.timezone)
        origin = begin.replace(tzinfo=tz).astimezone(UTC) - timedelta(hours=12)
        probe = Probe(url, token, port, plant_path, origin)
        try:
            publisher.start()
            time.sleep(3)  # the twin and the ingest under way before anything is measured
            probe.start()
            for name, endpoint in paths.items():
                live[name] = bench_web.load(url, token, name, endpoint, sizes.clients, sizes.load_s, work)
            probe.stop()
            stop.set()
            publisher.join(300)
            # the broker may still hold a backlog the ingest has not read: wait until it has
            # stored everything sent (or says why not), so stored = sent measures loss, not lag
            run_ = sent.get("run")
            want = sum(run_.events.values()) + probe.sent if isinstance(run_, twin.TwinRun) else 0
            deadline = time.monotonic() + 300
            status = _status(url, token)
            while int(status.get("points") or 0) < want and time.monotonic() < deadline:
                time.sleep(1)
                status = _status(url, token)
            drained_s = 300 - (deadline - time.monotonic())
        finally:
            stop.set()
            _stop(server)
        after = _counts(folder)
        with TelemetryStore.open(folder, mode="read") as store:
            refused = [
                f"{e.source}: {e.reason}"[:240]
                for e in Quarantine(store.connection, create=False).list(limit=3)
            ]
        log = (work / "live.log").read_text(errors="replace")
    assert isinstance(run_, twin.TwinRun), "the twin did not finish"
    seconds = float(sent["seconds"])  # type: ignore[arg-type]
    probes = probe.delays
    points = sum(run_.events.values()) / seconds
    stored = {t: after[t] - before[t] for t in after}
    expected = dict(run_.events)
    expected[EventType.measurements.value] = expected.get(EventType.measurements.value, 0) + probe.sent
    errors = [line for line in log.splitlines() if "ERROR" in line or "Traceback" in line]
    p95_fresh = statistics.quantiles(probes, n=20)[-1] if len(probes) >= 2 else math.inf
    rows: list[Row] = [
        Row(
            "live",
            "twin → MQTT → serve --ingest: points/s published",
            f"{points:,.0f}/s",
            "—",
            "—",
            f"≥ {POINTS_TARGET:,.0f}/s",
            verdict(points >= POINTS_TARGET),
        ),
    ]
    label = {"overview": "overview page GET /", "kpi": "KPI endpoint GET /api/v1/kpis"}
    target = {"overview": bench_web.PAGE_TARGET_MS, "kpi": bench_web.KPI_TARGET_MS}
    for name in paths:
        o, q = live[name], quiet[name]
        rows.append(
            Row(
                "live",
                f"{label[name]}: p95, {sizes.clients} clients, while ingesting",
                f"{o.p95_ms:.0f} ms",
                f"quiet store: {q.p95_ms:.0f} ms",
                bench_web._ratio(o.p95_ms / q.p95_ms),
                f"≤ {target[name]:.0f} ms",
                verdict(o.p95_ms <= target[name] and o.failures == 0),
            )
        )
        rows.append(
            Row(
                "live",
                f"{label[name]}: requests (failed), p50",
                f"{o.requests:,} ({o.failures}), {o.p50_ms:.0f} ms",
                f"{q.requests:,} ({q.failures}), {q.p50_ms:.0f} ms",
                "—",
            )
        )
    rows += [
        Row(
            "live",
            f"freshness: published → visible in the API, p95 of {len(probes)} probes",
            f"{p95_fresh:.2f} s",
            f"median {statistics.median(probes) if probes else math.nan:.2f} s",
            "—",
            f"≤ {FRESH_TARGET_S:g} s",
            verdict(p95_fresh <= FRESH_TARGET_S and probe.missed == 0),
        ),
        Row(
            "live",
            "stored = sent (per event type, probes included)",
            str(stored == expected),
            json.dumps(expected),
            "—",
            "equal",
            verdict(stored == expected),
        ),
        Row("live", "errors in the server's log", str(len(errors)), "—", "—", "0", verdict(not errors)),
    ]
    notes = [
        f"history: {sizes.web.days} simulated days × 12 machines (bench_web's store, copied);"
        f" twin at {speed:,.0f}× real time, batched JSON (100 points a message), QoS 1, for {seconds:.0f} s;",
        f"locust {sizes.clients} clients × {sizes.load_s} s per endpoint, no think time; probes missed: "
        f"{probe.missed}; stored: {json.dumps(stored)}; ingest status: {json.dumps(status)}; the ingest "
        f"caught up with the broker {drained_s:.0f} s after the twin stopped",
        *(f"server log: {line[:200]}" for line in errors[:5]),
        *(f"quarantined: {line}" for line in refused),
    ]
    return (
        "### live (`bench_live.py`)\n\n" + markdown(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 days of history, 5 clients, 6 s runs")
    args = parser.parse_args(argv)
    print(environment() + "\n")
    print(run(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
