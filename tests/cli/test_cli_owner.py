"""The CLI while ``smartfactory serve`` owns the store: kpi, summary, export, scenario run and assess
go through the owner's loopback endpoint, and read exactly as they do when no one owns the store.

Real processes throughout: ``serve`` in a subprocess holds the DuckDB file for writing, each
command runs as a user runs it; ``plain`` is a copy of the same store that no process owns.
"""

from __future__ import annotations

import json
import shutil
import signal
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from clitools import PLANT, ROOT, cli, ok
from owners import Server, serving
from smartfactory.app import kpis
from smartfactory.app.accounts import add_user
from smartfactory.app.remote import call
from smartfactory.app.roles import Role
from smartfactory.app.sessions import issue_token
from smartfactory.app.workspace import Workspace
from smartfactory.model.errors import StoreLockedError
from smartfactory.model.events import EventType
from smartfactory.store import StoreFolder, TelemetryStore, list_scenario_runs
from smartfactory.store.owner import OWNER_FILE, owner_path, read_owner

RUN = ["simulate", "--plant", str(PLANT), "--days", "0.5", "--seed", "3"]
ANSWERS = ROOT / "examples" / "factories" / "a_sme_machining" / "answers.yaml"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a day simulated into ``work/store`` with a viewer, and ``work/plain``: a copy no one owns."""
    work = tmp_path_factory.mktemp("owned")
    ok(cli(*RUN, "--store", str(work / "store"), cwd=work))
    with StoreFolder(work / "store").open_registry() as registry:
        add_user(registry, "viewer", "viewer-password-1", Role.viewer)
        (work / "token").write_text(issue_token(registry, "viewer", "test"), encoding="utf-8")
    with TelemetryStore.open(work / "store") as store:  # one conflicting reading: a quarantined row
        first = store.table(EventType.measurements).slice(0, 1)
        changed = first.set_column(3, "value", pa.array([first["value"][0].as_py() + 1.0]))
        assert store.write_report(EventType.measurements, changed).conflicts == 1
    shutil.copytree(work / "store", work / "plain")
    return work


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Server]:
    """``smartfactory serve`` owning ``work/store`` for the module."""
    with serving(work / "store", work) as running:
        yield running


def _api(server: Server, work: Path, path: str) -> Any:
    request = urllib.request.Request(
        server.url + path, headers={"Authorization": f"Bearer {(work / 'token').read_text()}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _both(
    work: Path, *args: str
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """``smartfactory ARGS --store S`` on the owned store and on the plain copy (at the same time)."""
    with ThreadPoolExecutor(2) as pool:
        owned, plain = (
            pool.submit(cli, *args, "--store", str(work / s), cwd=work) for s in ("store", "plain")
        )
        return owned.result(), plain.result()


def test_serve_publishes_its_loopback_endpoint_to_its_user_only(server: Server, work: Path) -> None:
    owner = server.owner
    assert owner.pid == server.process.pid
    assert owner.url == server.url
    assert "serve" in owner.command
    assert stat.S_IMODE(owner_path(work / "store").stat().st_mode) == 0o600
    request = urllib.request.Request(
        owner.url + "/_owner/v1/status", headers={"Authorization": f"Bearer {owner.token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        status = json.loads(response.read())
    assert status["pid"] == server.process.pid
    assert Path(status["store"]) == (work / "store").resolve()
    # the user's API token is no owner token
    with pytest.raises(urllib.error.HTTPError) as refused:
        _api(server, work, "/_owner/v1/status")
    assert refused.value.code == 401


def test_kpi_through_the_owner_prints_the_api_document(server: Server, work: Path) -> None:
    store = str(work / "store")
    printed = json.loads(ok(cli("kpi", "--store", store, "--format", "json", cwd=work)).stdout)
    assert printed == _api(server, work, "/api/v1/kpis")
    assert printed["rows"], "no KPI rows: the comparison proves nothing"
    # --plant: the plant file travels with the call (the same plant here, so the same document)
    given = ok(cli("kpi", "--store", store, "--plant", str(PLANT), "--format", "json", cwd=work))
    assert json.loads(given.stdout) == printed
    losses = ok(cli("kpi", "losses", "--store", store, "--format", "json", cwd=work))
    assert json.loads(losses.stdout) == _api(server, work, "/api/v1/kpis/losses")


def test_a_workspace_reads_through_the_owner_without_opening_the_file(server: Server, work: Path) -> None:
    query: dict[str, Any] = {"by": "equipment", "per": "window", "kpis": ["oee", "mttr"]}
    with Workspace.open(work / "store") as workspace:
        assert workspace.owner is not None and workspace.owner.pid == server.process.pid
        through = call(workspace, kpis.kpis_report, **query)
        assert workspace.plant().plant.id == through.plant  # the registry is read directly
        with pytest.raises(StoreLockedError, match="owned by process"):
            workspace.telemetry().__enter__()
    with Workspace.open(work / "plain") as workspace:
        assert workspace.owner is None
        here = call(workspace, kpis.kpis_report, **query)
    assert through == here and len(here.rows) > 1


def test_summary_and_export_through_the_owner(server: Server, work: Path) -> None:
    owned, plain = _both(work, "summary", "--plant", str(PLANT))
    assert ok(owned).stdout.replace(str(work / "store"), str(work / "plain")) == ok(plain).stdout
    target = work / "exported"
    lines = ok(
        cli("export", "--store", str(work / "store"), "--to", "exported", cwd=work)
    ).stdout.splitlines()
    assert lines == [f"{t}: {target / t}" for t in ("states", "counts", "measurements", "alarms")]
    days = sorted(p.name for p in (target / "states").iterdir())
    assert days and all(d.startswith("day=2026-03-0") for d in days)


def test_assess_with_the_store_through_the_owner(server: Server, work: Path) -> None:
    owned, plain = _both(work, "assess", "--answers", str(ANSWERS), "--format", "json")
    through, here = json.loads(ok(owned).stdout), json.loads(ok(plain).stdout)
    assert through["plant"] == here["plant"] == {"id": "suzhou-housing"}
    # the live evidence measured from telemetry by the owner is the evidence measured here
    measured = {k: v["value"] for k, v in here["live"].items() if "scenario" not in k}
    assert measured and {k: through["live"][k]["value"] for k in measured} == measured


def test_scenario_run_through_the_owner_records_the_run(server: Server, work: Path) -> None:
    result = ok(cli("scenario", "run", "scheduling", "--store", str(work / "store"), "--json", cwd=work))
    run = json.loads(result.stdout)
    assert list(run) == [
        "run_id",
        "scenario",
        "official_scenario",
        "uses_ai",
        "metrics",
        "artefacts",
        "notes",
    ]
    assert run["scenario"] == "scheduling" and run["metrics"]["run_s"] > 0
    with StoreFolder(work / "store").open_registry() as registry:
        recorded = {r["id"]: r for r in list_scenario_runs(registry)}
    assert recorded[run["run_id"]]["status"] == "finished"


def test_the_quarantine_through_the_owner(server: Server, work: Path) -> None:
    owned, plain = _both(work, "quarantine", "list")
    assert ok(owned).stdout == ok(plain).stdout and "conflict: 1" in plain.stdout
    owned, plain = _both(work, "quarantine", "show", "1")
    assert ok(owned).stdout == ok(plain).stdout and "store:measurements" in plain.stdout
    owned, plain = _both(work, "quarantine", "show", "99")
    assert plain.returncode == 1 and "no quarantined row with id 99" in plain.stderr
    assert (owned.returncode, owned.stderr) == (plain.returncode, plain.stderr)


@pytest.mark.parametrize(
    "args",
    [
        ["kpi", "--from", "2026-03-05", "--to", "2026-03-01"],
        ["kpi", "losses", "--node", "NOPE", "--lang", "zh"],
        ["scenario", "run", "anomaly"],  # refused by the scenario itself: half a day is too little data
    ],
    ids=["empty period", "unknown node zh", "scenario refuses"],
)
def test_an_error_reads_the_same_through_the_owner(server: Server, work: Path, args: list[str]) -> None:
    owned, plain = _both(work, *args)
    assert plain.returncode != 0 and "Traceback" not in plain.stderr
    assert (owned.returncode, owned.stderr, owned.stdout) == (plain.returncode, plain.stderr, plain.stdout)


def test_the_owner_file_goes_with_the_owner_and_a_stale_one_is_ignored(work: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(work / "plain", store)
    with serving(store, tmp_path) as running:
        assert read_owner(store) == running.owner
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=30) == 0
    assert not (store / OWNER_FILE).exists()
    # an owner file left by a process that died (killed, power cut) is ignored, and removed
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = {"pid": gone.pid, "url": running.owner.url, "token": "t", "command": "x", "started_at": "x"}
    (store / OWNER_FILE).write_text(json.dumps(stale), encoding="utf-8")
    owned = ok(cli("kpi", "--store", str(store), "--format", "json", cwd=tmp_path))
    assert json.loads(owned.stdout)["rows"]
    assert not (store / OWNER_FILE).exists()
