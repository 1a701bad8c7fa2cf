"""``--store postgresql://…`` end to end: the same answers as an embedded store, the server, concurrent writers.

One short simulation (a day of the sample plant) goes into a DuckDB folder and into a PostgreSQL
database by the CLI; the use cases the CLI, the API and the pages call must answer the same on both.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pyarrow.dataset as ds
import pytest

from clitools import PLANT, cli, ok, one_line_error
from file_imports import COUNTS_MAP
from owners import free_port
from services import fresh_postgres_database
from smartfactory.app import kpis as kpi_use
from smartfactory.app import telemetry as telemetry_use
from smartfactory.app.accounts import add_user
from smartfactory.app.alarms import list_alarms, raise_alarm
from smartfactory.app.cache import read_version
from smartfactory.app.equipment import overview as equipment_overview
from smartfactory.app.freshness import freshness
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token
from smartfactory.app.store_ops import store_summary
from smartfactory.app.workspace import Workspace
from smartfactory.model.events import EventType, Severity
from smartfactory.model.plant_file import load_plant
from smartfactory.store import PgTelemetryStore
from smartfactory.store.owner import read_owner

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The same day simulated into a DuckDB folder and into a fresh PostgreSQL database (by the CLI)."""
    work = tmp_path_factory.mktemp("pg-workspace")
    folder = work / "store"
    with fresh_postgres_database() as url:
        with ThreadPoolExecutor(2) as pool:
            runs = [
                pool.submit(
                    cli, "simulate", "--plant", str(PLANT), "--days", "1", "--store", str(where), cwd=work
                )
                for where in (folder, url)
            ]
            for run in runs:
                ok(run.result())
        yield folder, url


def same(a: Any, b: Any, *, where: str = "") -> None:
    """Equal, numbers to 1e-9 (relative or absolute)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b)), (
            where,
            a,
            b,
        )
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), (where, sorted(a.keys() ^ b.keys()))
        for key in a:
            same(a[key], b[key], where=f"{where}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b), (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, where=f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def test_use_cases_answer_as_on_duckdb(stores: tuple[Path, str]) -> None:
    """KPIs, losses, summary, telemetry, states, counts, alarms, equipment: the DuckDB store's answers."""
    folder, url = stores
    with Workspace.open(folder) as duck, Workspace.open(url) as pg:
        assert pg.on_server and pg.owner is None
        for by in ("equipment", "line"):
            reports = [kpi_use.kpis_report(w, by=by, per="day", lang="en").model_dump() for w in (duck, pg)]
            assert reports[0]["rows"], "the day has KPI rows"
            same(*reports, where=f"kpis by {by}")
        same(*(kpi_use.losses_report(w, lang="en").model_dump() for w in (duck, pg)), where="losses")
        summaries = [store_summary(w).model_dump() for w in (duck, pg)]
        assert sum(m["good"] for m in summaries[0]["machines"]) > 0
        same(*summaries, where="summary")
        same(*(equipment_overview(w).model_dump() for w in (duck, pg)), where="equipment")
        plant = duck.plant()
        machine = plant.equipment[0].id
        assert pg.plant().plant.id == plant.plant.id
        answers: list[list[dict[str, Any]]] = [[], []]
        for i, w in enumerate((duck, pg)):
            with w.telemetry() as store:
                answers[i].append(telemetry_use.states(store, plant, machine).model_dump())
                for per in ("hour", "shift", "day"):
                    answers[i].append(telemetry_use.counts(store, plant, machine, per=per).model_dump())
                # raw points, and downsampled ones (per-bucket minima and maxima), in both clocks
                clocks: tuple[tuple[int, telemetry_use.Clock], ...] = (
                    (5000, "utc"),
                    (100, "utc"),
                    (100, "plant"),
                )
                for points, clock in clocks:
                    answer = telemetry_use.telemetry(store, plant, machine, [], points=points, clock=clock)
                    answers[i].append(answer.model_dump())
                answers[i].append(list_alarms(store, plant).model_dump())
                answers[i].append(list_alarms(store, plant, state="active", equipment=machine).model_dump())
        telemetry_answers = answers[0][4:7]
        assert any(s["downsampled"] for s in telemetry_answers[1]["series"]), "100 points downsample a day"
        assert not any(s["downsampled"] for s in telemetry_answers[0]["series"])
        assert answers[0][-2]["total"] > 0, "the day raised alarms"
        same(*answers, where="telemetry")
        marks = [freshness(w).model_dump() for w in (duck, pg)]
        same(marks[0]["tables"], marks[1]["tables"], where="freshness tables")
        same(marks[0]["equipment"], marks[1]["equipment"], where="freshness equipment")


def test_cli_reads_and_exports_a_url(stores: tuple[Path, str], tmp_path: Path) -> None:
    """``kpi --format json``, ``summary`` and ``export`` on a URL: as on the folder; no owner file anywhere."""
    folder, url = stores
    outputs = [
        json.loads(
            ok(cli("kpi", "--store", str(s), "--format", "json", "--by", "equipment", cwd=tmp_path)).stdout
        )
        for s in (folder, url)
    ]
    same(*outputs, where="kpi json")
    summary = ok(cli("summary", "--plant", str(PLANT), "--store", url, cwd=tmp_path)).stdout
    assert "OP10-M1" in summary and "postgresql://" in summary
    ok(cli("export", "--store", url, "--to", str(tmp_path / "lake"), "--table", "counts", cwd=tmp_path))
    exported = sum(1 for _ in (tmp_path / "lake" / "counts").rglob("*.parquet"))
    assert exported >= 1
    rows = ds.dataset(tmp_path / "lake" / "counts", format="parquet", partitioning="hive").count_rows()
    with PgTelemetryStore.open(url, "read") as pg:
        assert rows == pg.count(EventType.counts) > 0
    # nothing was looked for or written as a folder: no owner file, no default store
    assert not (tmp_path / ".smartfactory").exists()
    assert not any(p.name.startswith("postgres") for p in tmp_path.iterdir())
    # ingest takes a URL too (tests/connect/test_ingest_postgres.py): here it stops at the plant
    error = one_line_error(cli("ingest", "--plant", str(PLANT), "--store", url, cwd=tmp_path))
    assert "declares no [[source]]" in error


def test_version_moves_with_each_write_and_no_count(postgres_url: str) -> None:
    """The cache's store version on PostgreSQL: the write counters, moved by a write that stores rows only."""
    with Workspace.open(postgres_url, mode="write", plant=load_plant(PLANT)) as workspace:
        _, before = read_version(workspace)
        with workspace.telemetry() as store:
            assert isinstance(store, PgTelemetryStore)
            assert store.version() == (0, 0, 0, 0)
        raise_alarm(workspace, "OP20-M2", "T.PG.VERSION", Severity.minor, "version test")
        _, after = read_version(workspace)
        assert after != before
        with workspace.telemetry() as store:
            assert isinstance(store, PgTelemetryStore)
            assert store.version()[list(EventType).index(EventType.alarms)] == 1
        # the same row again stores nothing: the version stays
        with workspace.writing() as store:
            table = store.table(EventType.alarms)
            assert table.num_rows == 1
            assert store.write(EventType.alarms, table) == 0
        _, again = read_version(workspace)
        assert again == after


def _get(url: str, token: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def test_serve_a_url(stores: tuple[Path, str], tmp_path: Path) -> None:
    """``serve --store URL`` in its own process: the overview and the API answer; it publishes no owner file."""
    folder, url = stores
    with Workspace.open(url, mode="write") as workspace:
        add_user(workspace.registry, "pgviewer", "a-long-enough-password", Role.viewer)
        token = issue_token(workspace.registry, "pgviewer", "test")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "smartfactory.cli.main", "serve", "--store", url, "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/api/v1/kpis/catalogue", token)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise AssertionError(process.communicate()[0]) from None
                time.sleep(0.1)
        status, body = _get(base + "/api/v1/kpis?by=equipment&per=day", token)
        served = json.loads(body)
        with Workspace.open(folder) as duck:
            expected = json.loads(kpi_use.kpis_json(duck, lang="en", by="equipment", per="day"))
        same(served["rows"], expected["rows"], where="served kpis")
        for path in (
            "/api/v1/telemetry?equipment=OP10-M1",
            "/api/v1/states?equipment=OP10-M1",
            "/api/v1/counts?equipment=OP10-M1",
            "/api/v1/alarms",
            "/api/v1/freshness",
        ):
            status, body = _get(base + path, token)
            assert status == 200 and json.loads(body), path
        status, page = _get(base + "/", token)
        assert status == 200 and b"OP10-M1" in page
        # no owner file: neither in the working folder nor in a folder made of the URL
        assert read_owner(tmp_path) is None and not (tmp_path / ".smartfactory").exists()
        assert [p.name for p in tmp_path.iterdir()] == []
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
    assert "postgresql://" in output and "Traceback" not in output, output


def test_two_imports_at_once_both_land(postgres_url: str, tmp_path: Path) -> None:
    """Two ``import`` processes writing different equipment into one database at the same time lose nothing."""
    (tmp_path / "counts.toml").write_text(COUNTS_MAP, encoding="utf-8")
    rows = 3000
    files = {}
    for machine in ("OP10-M1", "OP20-M1"):
        lines = ["ts,eq,good,scrap"]
        lines += [
            f"2026-03-0{2 + i // 1440} {i // 60 % 24:02d}:{i % 60:02d}:00,{machine},1,0" for i in range(rows)
        ]
        lines.append("2026-03-02 00:00:30,NO-SUCH-MACHINE,1,0")  # refused by the plant: quarantined
        files[machine] = tmp_path / f"{machine}.csv"
        files[machine].write_text("\n".join(lines) + "\n", encoding="utf-8")
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(
                cli,
                "import",
                str(path),
                "--map",
                str(tmp_path / "counts.toml"),
                "--store",
                postgres_url,
                "--plant",
                str(PLANT),
                "--quiet",
                cwd=tmp_path,
            )
            for path in files.values()
        ]
        results = [ok(r.result()) for r in runs]
    assert all(f"{rows:,}" in r.stdout for r in results)
    with PgTelemetryStore.open(postgres_url, "read") as store:
        stored = store.table(EventType.counts)
        assert stored.num_rows == 2 * rows
        assert sorted(set(stored["equipment"].to_pylist())) == sorted(files)
        quarantined = store.quarantine().list()
    assert len(quarantined) == 2 and all("NO-SUCH-MACHINE" in e.raw_text() for e in quarantined)
    listed = ok(cli("quarantine", "list", "--store", postgres_url, cwd=tmp_path)).stdout
    assert str(quarantined[0].id) in listed
    shown = ok(
        cli("quarantine", "show", str(quarantined[0].id), "--store", postgres_url, cwd=tmp_path)
    ).stdout
    assert "NO-SUCH-MACHINE" in shown
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        writes = connection.execute(
            "SELECT sum(writes) FROM telemetry_writes WHERE event_type = 'counts'"
        ).fetchone()
    assert writes is not None and writes[0] >= 2
