"""Web load: the overview page and the KPI endpoint under 20 concurrent clients on loopback.

The store: the demo plant (``examples/plants/discrete_machining.toml``: 12 machines on one line)
simulated for 30 days from 2026-03-02 (seed 1) into ``benchmarks/out/web-…``, kept between runs,
with a viewer and an API token. ``smartfactory serve`` (uvicorn, one process: DuckDB allows one
writer process) serves it in a subprocess; locust (headless, ``FastHttpUser``, in its own process
on the same machine) runs the clients.

Timed, each endpoint on its own, after one warm-up request per URL:

* overview: ``GET /`` — 20 clients, no think time (each sends its next request as soon as the
  last one is answered: the hardest reading of "20 concurrent clients"), DURATION seconds;
* kpi: ``GET /api/v1/kpis`` with three parameter sets in turn (7 days by machine and day with
  the four OEE KPIs; 7 days by line and shift, every KPI; the whole stored month by line and day,
  every KPI) — 20 clients the same way.

Baseline, same run: the same requests to a server started with ``SMARTFACTORY_RESULT_CACHE=off``
(every request computes its KPIs through Ibis and DuckDB as the first request after a write does),
by one client in sequence; 20 clients would only queue behind each other. The first request after
start (it computes everything) is reported too.

Targets: p95 ≤ 200 ms for the page and ≤ 100 ms for the KPI endpoint, with 20 clients.
``ratio`` = ours ÷ baseline (latency; for requests/s the time per request, baseline's ÷ ours).

Run alone: ``.venv/bin/python benchmarks/bench_web.py [--quick]``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from common import ROOT, Row, environment, markdown, verdict
from smartfactory.cli.simulate import run_into_store
from smartfactory.model.plant_file import load_plant

PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"
OUT = ROOT / "benchmarks" / "out"
START = datetime(2026, 3, 2)
SEED = 1
PAGE_TARGET_MS = 200.0
KPI_TARGET_MS = 100.0
BIN = Path(sys.executable).parent


@dataclass
class Sizes:
    days: int
    clients: int
    duration_s: int  # of each loaded run
    baseline_s: int  # of each baseline run (one client)


FULL = Sizes(days=30, clients=20, duration_s=30, baseline_s=20)
QUICK = Sizes(days=3, clients=5, duration_s=5, baseline_s=5)

LOCUSTFILE = """
import itertools, json, os
from locust import FastHttpUser, constant, task

PATHS = json.loads(os.environ["BENCH_PATHS"])
HEADERS = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"], "Accept-Language": "en"}


class Client(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.paths = itertools.cycle(PATHS)

    @task
    def get(self):
        with self.client.get(next(self.paths), name=os.environ["BENCH_NAME"], headers=HEADERS,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
"""


# --- the store -------------------------------------------------------------------------------


def prepare(sizes: Sizes) -> tuple[Path, str]:
    """The simulated store (reused when a finished one is under benchmarks/out) and a viewer token."""
    from smartfactory.app.accounts import add_user, get_user
    from smartfactory.app.roles import Role
    from smartfactory.app.sessions import issue_token
    from smartfactory.store import REGISTRY_FILE, Registry

    key = hashlib.sha256(PLANT.read_bytes() + f"|{START}|{sizes.days}|{SEED}".encode()).hexdigest()[:12]
    folder = OUT / f"web-12eq-{sizes.days}d-{key}"
    if not (folder / "done.json").exists():
        shutil.rmtree(folder, ignore_errors=True)  # a run that died half-way
        folder.mkdir(parents=True)
        clock = time.perf_counter()
        run_into_store(load_plant(PLANT), PLANT, folder, START, float(sizes.days), SEED, [], quiet=True)
        (folder / "done.json").write_text(json.dumps({"simulate_s": time.perf_counter() - clock}))
    with Registry.open(folder / REGISTRY_FILE) as registry:
        if get_user(registry, "bench") is None:
            add_user(registry, "bench", "bench-password-1", Role.viewer, "Benchmark viewer")
        token = issue_token(registry, "bench", "bench_web", days=1)
    return folder, token


def kpi_paths(days: int) -> list[str]:
    """The three KPI requests: the last week by machine and by shift, and the whole period by day."""
    last = START.date() + timedelta(days=days - 1)
    week = {"from": (last - timedelta(days=6)).isoformat(), "to": (last + timedelta(days=1)).isoformat()}
    oee = [("kpi", k) for k in ("oee", "availability", "effectiveness", "quality_ratio")]
    return [
        "/api/v1/kpis?" + urlencode([*week.items(), ("by", "equipment"), ("per", "day"), *oee]),
        "/api/v1/kpis?" + urlencode([*week.items(), ("by", "line"), ("per", "shift")]),
        "/api/v1/kpis?" + urlencode([("by", "line"), ("per", "day")]),
    ]


# --- the server and the load ----------------------------------------------------------------


class Served:
    """``smartfactory serve`` over the store in a subprocess, stopped on exit."""

    def __init__(self, folder: Path, cache: bool) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "SMARTFACTORY_RESULT_CACHE": "on" if cache else "off"}
        command = [str(BIN / "smartfactory"), "serve", "--store", str(folder), "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Served:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer within 90 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def get(url: str, token: str) -> float:
    """One request's wall time in ms (a failure raises)."""
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    )
    clock = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status}")
    return (time.perf_counter() - clock) * 1000


@dataclass
class Load:
    """What locust measured for one endpoint."""

    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    rps: float


def load(url: str, token: str, name: str, paths: list[str], clients: int, seconds: int, work: Path) -> Load:
    """Run locust headless against ``paths`` (in turn per client) and read its summary."""
    locustfile = work / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    prefix = work / name
    env = {**os.environ, "BENCH_PATHS": json.dumps(paths), "BENCH_TOKEN": token, "BENCH_NAME": name}
    command = [
        str(BIN / "locust"),
        "-f",
        str(locustfile),
        "--headless",
        "--users",
        str(clients),
        "--spawn-rate",
        str(clients),
        "--run-time",
        f"{seconds}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
        "--stop-timeout",
        "60",
    ]
    subprocess.run(
        command,
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=seconds + 180,
    )
    with open(f"{prefix}_stats.csv", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == name)
    return Load(
        requests=int(row["Request Count"]),
        failures=int(row["Failure Count"]),
        p50_ms=float(row["50%"]),
        p95_ms=float(row["95%"]),
        rps=float(row["Requests/s"]),
    )


def _ratio(x: float) -> str:
    """A ratio with two significant digits (0.0018×: throughput ratios can be tiny)."""
    return f"{x:.2g}×"


# --- the run ---------------------------------------------------------------------------------


def run(quick: bool) -> str:
    """The markdown table."""
    return _run(QUICK if quick else FULL)


def _run(sizes: Sizes) -> str:
    folder, token = prepare(sizes)
    load_before = os.getloadavg()[0]
    endpoints = {"overview": ["/"], "kpi": kpi_paths(sizes.days)}
    targets = {"overview": PAGE_TARGET_MS, "kpi": KPI_TARGET_MS}
    ours: dict[str, Load] = {}
    base: dict[str, Load] = {}
    first: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with Served(folder, cache=False) as server:
            for name, paths in endpoints.items():
                for path in paths:
                    get(server.url + path, token)  # warm the process (imports, plant, Ibis)
                base[name] = load(server.url, token, name, paths, 1, sizes.baseline_s, work)
        with Served(folder, cache=True) as server:
            for name, paths in endpoints.items():
                first[name] = max(get(server.url + path, token) for path in paths)
                ours[name] = load(server.url, token, name, paths, sizes.clients, sizes.duration_s, work)
    rows: list[Row] = []
    label = {"overview": "overview page GET /", "kpi": "KPI endpoint GET /api/v1/kpis"}
    for name in endpoints:
        o, b, target = ours[name], base[name], targets[name]
        rows += [
            Row(
                "web",
                f"{label[name]}: p50, {sizes.clients} clients",
                f"{o.p50_ms:.0f} ms",
                f"{b.p50_ms:.0f} ms",
                _ratio(o.p50_ms / b.p50_ms),
            ),
            Row(
                "web",
                f"{label[name]}: p95, {sizes.clients} clients",
                f"{o.p95_ms:.0f} ms",
                f"{b.p95_ms:.0f} ms",
                _ratio(o.p95_ms / b.p95_ms),
                f"≤ {target:.0f} ms",
                verdict(o.p95_ms <= target and o.failures == 0),
            ),
            Row(
                "web",
                f"{label[name]}: requests/s",
                f"{o.rps:,.1f}/s",
                f"{b.rps:,.1f}/s",
                _ratio(b.rps / o.rps if o.rps else float("inf")),
            ),
            Row(
                "web",
                f"{label[name]}: requests (failed)",
                f"{o.requests:,} ({o.failures})",
                f"{b.requests:,} ({b.failures})",
                "—",
            ),
            Row("web", f"{label[name]}: first request after start", f"{first[name]:.0f} ms", "—", "—"),
        ]
    notes = [
        f"{sizes.days} simulated days × 12 machines; locust {sizes.clients} clients × {sizes.duration_s} s,",
        "no think time, FastHttpUser on loopback beside the server;",
        f"baseline = cache off, 1 client × {sizes.baseline_s} s.",
        "Locust rounds percentiles above 100 ms to 2 significant digits.",
        f"Load average of the machine (other work included): {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after.",
    ]
    return "### web (`bench_web.py`)\n\n" + markdown(rows) + "\n\n" + "\n".join(notes) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3 days, 5 clients, 5 s runs (smoke test)")
    args = parser.parse_args(argv)
    print(environment() + "\n")
    print(run(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
