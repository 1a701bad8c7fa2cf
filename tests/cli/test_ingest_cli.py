"""`smartfactory ingest`, `simulate --publish / --serve-opcua`, `browse-opcua` and `plant check` of sources.

The twin is a real source here: published over the shared Mosquitto, or served over OPC UA, and
ingested by `smartfactory ingest` in another process, into a store that `kpi` then reads.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from opcua_servers import free_port
from smartfactory.model.events import EventType
from smartfactory.store.telemetry import TelemetryStore

ROOT = Path(__file__).resolve().parents[2]
PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"
RUN = [sys.executable, "-c", "from smartfactory.cli.main import run; run()"]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def with_source(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "plant.toml"
    path.write_text(PLANT.read_text(encoding="utf-8") + "\n" + textwrap.dedent(source), encoding="utf-8")
    return path


def test_plant_check_reports_bad_source_settings_with_their_line(tmp_path: Path) -> None:
    plant = with_source(
        tmp_path,
        """
        [[source]]
        id = "broker"
        kind = "mqtt"
        url = "http://127.0.0.1:1883"

        [[source]]
        id = "plc"
        kind = "modbus"
        host = "127.0.0.1"
        registers = [{ equipment = "NO-SUCH", signal = "temp", table = "holding", address = 0, data_type = "float32" }]

        [[source]]
        id = "plc"
        kind = "profinet"
        """,
    )
    result = cli("plant", "check", str(plant))
    assert result.returncode == 1, result.stdout + result.stderr
    url_line = plant.read_text(encoding="utf-8").splitlines().index('url = "http://127.0.0.1:1883"') + 1
    err = result.stderr
    assert "[source[0].url]" in err and "mqtt://" in err
    assert "[source[2].kind]" in err and "'profinet' is not allowed" in err
    assert "[source[2].id]" in err and "duplicate source id 'plc'" in err
    assert f"{plant}:{url_line} [source[0].url]" in err


def test_plant_check_names_equipment_a_source_reads_that_the_plant_lacks(tmp_path: Path) -> None:
    plant = with_source(
        tmp_path,
        """
        [[source]]
        id = "plc"
        kind = "modbus"
        host = "127.0.0.1"
        registers = [{ equipment = "NO-SUCH", signal = "temp", table = "holding", address = 0, data_type = "float32" }]
        """,
    )
    result = cli("plant", "check", str(plant))
    assert result.returncode == 1
    assert "[source[0].registers[0].equipment]" in result.stderr and "NO-SUCH" in result.stderr


def test_ingest_needs_a_source(tmp_path: Path) -> None:
    result = cli("ingest", "--plant", str(PLANT), "--store", str(tmp_path / "store"))
    assert result.returncode == 1
    assert "declares no [[source]]" in result.stderr
    assert not (tmp_path / "store" / "telemetry.duckdb").exists()


def test_share_store_is_refused_with_what_to_do_instead(tmp_path: Path) -> None:
    plant = with_source(
        tmp_path,
        """
        [[source]]
        id = "broker"
        kind = "mqtt"
        url = "mqtt://127.0.0.1:1"
        """,
    )
    result = cli("ingest", "--plant", str(plant), "--store", str(tmp_path / "store"), "--share-store")
    assert result.returncode == 1
    assert "--share-store is no longer needed" in result.stderr and "serve --ingest" in result.stderr
    assert not (tmp_path / "store").exists()


def test_serve_takes_plant_and_source_only_with_ingest(tmp_path: Path) -> None:
    result = cli("serve", "--store", str(tmp_path / "store"), "--plant", str(PLANT))
    assert result.returncode == 1 and "--plant and --source go with --ingest" in result.stderr
    result = cli("serve", "--store", str(tmp_path / "store"), "--ingest", "--plant", str(PLANT))
    assert result.returncode == 1 and "declares no [[source]]" in result.stderr


def test_the_twin_published_over_mqtt_is_ingested_and_measured(mqtt_url: str, tmp_path: Path) -> None:
    prefix = f"t{secrets.token_hex(3)}"
    plant = with_source(
        tmp_path,
        f"""
        [[source]]
        id = "uns"
        kind = "mqtt"
        url = "{mqtt_url}"
        client_id = "cli-{prefix}"
        session_expiry_s = 60
        """,
    )
    store = tmp_path / "store"
    ingest = subprocess.Popen(
        [*RUN, "ingest", "--plant", str(plant), "--store", str(store), "--json", "--status-every", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert ingest.stderr is not None
        line = ""
        deadline = time.monotonic() + 30
        while "1/1 sources connected" not in line and time.monotonic() < deadline:
            line = ingest.stderr.readline()
        published = cli(
            "simulate", "--plant", str(plant), "--publish", mqtt_url, "--batch-points", "50",
            "--days", "0.25", "--speed", "max", "--seed", "3", "--json",
        )  # fmt: skip
        assert published.returncode == 0, published.stderr
        sent = json.loads(published.stdout)
        assert sent["finished"] and sent["events"]["measurements"] > 0
        time.sleep(2.0)
    finally:
        ingest.terminate()  # SIGTERM: drain and exit cleanly
        out, err = ingest.communicate(timeout=60)
    assert ingest.returncode == 0, err[-2000:]
    final = json.loads(out)
    with TelemetryStore.open(store, "read") as telemetry:
        stored = {
            t.value: telemetry.count(t) for t in (EventType.measurements, EventType.states, EventType.counts)
        }
    assert stored["measurements"] == sent["events"]["measurements"]
    assert stored["states"] == sent["events"]["states"]
    assert stored["counts"] == sent["events"]["counts"]
    assert final["quarantined"] == 0
    kpi = cli("kpi", "--store", str(store), "--per", "window", "--format", "json")
    assert kpi.returncode == 0, kpi.stderr
    rows = json.loads(kpi.stdout)["rows"]
    assert rows and any(r["values"]["oee"] is not None for r in rows)


def test_the_twin_served_over_opcua_is_browsed_and_ingested(tmp_path: Path) -> None:
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin"
    server = subprocess.Popen(
        [*RUN, "simulate", "--plant", str(PLANT), "--serve-opcua", endpoint, "--speed", "600", "--days", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        mapping = ""
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            browsed = cli("browse-opcua", endpoint, "--plant", str(PLANT), "--source-id", "twin")
            if browsed.returncode == 0:
                mapping = browsed.stdout
                break
            time.sleep(0.5)
        assert "[[source]]" in mapping and 'kind = "opcua"' in mapping, mapping
        plant = tmp_path / "plant.toml"
        plant.write_text(PLANT.read_text(encoding="utf-8") + "\n" + mapping, encoding="utf-8")
        checked = cli("plant", "check", str(plant))
        assert checked.returncode == 0, checked.stderr
        store = tmp_path / "store"
        ingested = cli("ingest", "--plant", str(plant), "--store", str(store), "--duration", "8", "--json")
        assert ingested.returncode == 0, ingested.stderr[-2000:]
        final = json.loads(ingested.stdout)
        assert final["stored"] > 0
    finally:
        server.terminate()
        server.communicate(timeout=30)
    with TelemetryStore.open(store, "read") as telemetry:
        assert telemetry.count(EventType.measurements) > 0
        assert telemetry.count(EventType.states) > 0


@pytest.mark.parametrize(
    "flags",
    [["--publish", "mqtt://x", "--serve-opcua", "opc.tcp://x"], ["--publish", "mqtt://x", "--store", "s"]],
)
def test_live_twin_flags_that_do_not_go_together(flags: list[str]) -> None:
    result = cli("simulate", "--plant", str(PLANT), *flags)
    assert result.returncode == 1 and "error:" in result.stderr


def test_a_bad_speed_is_refused() -> None:
    result = cli("simulate", "--plant", str(PLANT), "--publish", "mqtt://127.0.0.1:1", "--speed", "fast")
    assert result.returncode == 1 and "--speed 'fast'" in result.stderr
