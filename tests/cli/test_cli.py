"""The ``smartfactory`` command, run as a user runs it: in a subprocess, from its exit code and output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from clitools import PLANT, cli, ok, one_line_error
from smartfactory.model.events import EventType
from smartfactory.model.plant_file import load_plant
from smartfactory.store import TelemetryStore

RUN = ["simulate", "--plant", str(PLANT), "--days", "0.5", "--seed", "3"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Half a day of the example plant simulated into a store, and the run's JSON."""
    work = tmp_path_factory.mktemp("stored")
    result = ok(cli(*RUN, "--store", str(work / "store"), "--json", cwd=work))
    return work / "store", json.loads(result.stdout)


# --- help ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["plant"],
        ["plant", "check"],
        ["simulate"],
        ["demo"],
        ["summary"],
        ["export"],
        ["kpi"],
        ["kpi", "losses"],
        ["kpi", "list"],
    ],
    ids=lambda c: " ".join(c) or "smartfactory",
)
def test_help_works_for_every_command(command: list[str], tmp_path: Path) -> None:
    result = ok(cli(*command, "--help", cwd=tmp_path))
    assert "Usage:" in result.stdout
    assert not list(tmp_path.iterdir()), "--help must not write anything"


# --- plant check ---------------------------------------------------------------------------------


def test_plant_check_prints_the_tree(tmp_path: Path) -> None:
    result = ok(cli("plant", "check", str(PLANT), cwd=tmp_path))
    assert "line L1" in result.stdout
    assert "enterprise acme" in result.stdout
    for equipment in load_plant(PLANT).equipment:
        assert f"equipment {equipment.id}" in result.stdout
    assert "ok" in result.stdout and "12 equipment" in result.stdout


def test_plant_check_json_has_the_enterprise_at_the_root(tmp_path: Path) -> None:
    result = ok(cli("plant", "check", "--json", str(PLANT), cwd=tmp_path))
    root = json.loads(result.stdout)
    assert (root["id"], root["level"]) == ("acme", "enterprise")

    def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(n for child in node["children"] for n in walk(child))]

    nodes = walk(root)
    assert {"id": "L1", "level": "line"}.items() <= next(n for n in nodes if n["id"] == "L1").items()
    equipment = {n["id"] for n in nodes if n["level"] == "equipment"}
    assert equipment == {e.id for e in load_plant(PLANT).equipment}


def test_plant_check_of_a_bad_file_lists_problems_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        PLANT.read_text(encoding="utf-8").replace(
            'timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', 1
        )
    )
    result = cli("plant", "check", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: plant file {bad} is invalid (1 problem(s)):")
    assert f"{bad}:13 [plant.timezone]: unknown time zone 'Mars/Olympus'" in result.stderr


# --- simulate into a store -------------------------------------------------------------------------


def test_simulate_json_reports_events_and_truth(stored: tuple[Path, dict[str, Any]]) -> None:
    store, report = stored
    assert report["plant"] == "suzhou-housing" and report["seed"] == 3
    assert report["simulated_s"] == pytest.approx(0.5 * 86400)
    assert set(report["events_written"]) == {t.value for t in EventType}
    assert report["events_written"]["states"] > 0 and report["events_written"]["measurements"] > 0
    assert set(report["truth"]["machines"]) == {e.id for e in load_plant(PLANT).equipment}
    assert report["where"] == {"store": str(store)}
    with TelemetryStore.open(store, mode="read") as telemetry:
        for event_type in EventType:
            assert telemetry.count(event_type) == report["events_written"][event_type.value]


def test_simulating_the_same_run_again_stores_nothing_new(
    stored: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store, first = stored
    with TelemetryStore.open(store, mode="read") as telemetry:
        before = {t: telemetry.count(t) for t in EventType}
    again = json.loads(ok(cli(*RUN, "--store", str(store), "--json", cwd=tmp_path)).stdout)
    assert again["events_written"] == {t.value: 0 for t in EventType}
    assert again["truth"] == first["truth"]  # same seed, same run
    with TelemetryStore.open(store, mode="read") as telemetry:
        assert {t: telemetry.count(t) for t in EventType} == before


def test_export_writes_day_partitioned_parquet_with_every_stored_row(
    stored: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store, _ = stored
    target = tmp_path / "export"
    result = ok(cli("export", "--store", str(store), "--to", str(target), cwd=tmp_path))
    assert f"states: {target / 'states'}" in result.stdout
    # the run starts 2026-03-02 00:00 in Shanghai, i.e. 2026-03-01 16:00 UTC; days are UTC
    assert list((target / "states" / "day=2026-03-02").glob("*.parquet"))
    assert list((target / "states" / "day=2026-03-01").glob("*.parquet"))
    with TelemetryStore.open(store, mode="read") as telemetry:
        for event_type in EventType:
            dataset = ds.dataset(target / event_type.value, format="parquet", partitioning="hive")
            assert dataset.count_rows() == telemetry.count(event_type), event_type


def test_export_from_a_missing_store_is_a_one_line_error(tmp_path: Path) -> None:
    line = one_line_error(
        cli("export", "--store", str(tmp_path / "nothing"), "--to", str(tmp_path / "x"), cwd=tmp_path)
    )
    assert "no telemetry store" in line


# --- simulate to Parquet ------------------------------------------------------------------------------


def test_simulate_out_writes_one_parquet_file_per_event_type(
    stored: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    report = json.loads(ok(cli(*RUN, "--out", str(tmp_path / "x.parquet"), "--json", cwd=tmp_path)).stdout)
    written = report["events_written"]
    assert written["states"] > 0
    for name, count in written.items():
        path = tmp_path / f"x.{name}.parquet"
        if count:
            assert report["where"][name] == str(path)
            assert pq.read_table(path).num_rows == count
    # the same seed gives the same states and counts as the stored run
    _, stored_report = stored
    for name in ("states", "counts"):
        assert written[name] == stored_report["events_written"][name]
    assert not (tmp_path / ".smartfactory").exists(), "--out must not touch the default store"


def test_simulate_out_has_no_duplicate_measurements(tmp_path: Path) -> None:
    # the store drops rows whose key it holds; Parquet keeps them, so duplicates show here
    # (energy meters once read twice at the boundary of the twin's 6-hour chunks)
    ok(cli(*RUN, "--out", str(tmp_path / "x.parquet"), "--json", cwd=tmp_path))
    table = pq.read_table(tmp_path / "x.measurements.parquet")
    keys = set(zip(*(table[c].to_pylist() for c in ("equipment", "signal", "ts")), strict=True))
    assert len(keys) == table.num_rows


# --- user errors: exit 1, one line, nothing written -------------------------------------------------------


def test_store_and_out_together_is_a_one_line_error(tmp_path: Path) -> None:
    line = one_line_error(
        cli(*RUN, "--store", str(tmp_path / "s"), "--out", str(tmp_path / "x.parquet"), cwd=tmp_path)
    )
    assert "--store or --out, not both" in line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "fault",
    ["garbage", "OP10-M1@not-a-time@U.MECH.SPINDLE", "OP10-M1@2026-03-02T10:00@U.MECH.SPINDLE@soon"],
)
def test_bad_fault_string_is_a_one_line_error(fault: str, tmp_path: Path) -> None:
    line = one_line_error(cli(*RUN, "--store", str(tmp_path / "s"), "--fault", fault, cwd=tmp_path))
    assert repr(fault) in line or "not a date or time" in line
    assert not (tmp_path / "s").exists()


def test_fault_on_unknown_equipment_is_a_one_line_error(tmp_path: Path) -> None:
    result = cli(
        *RUN,
        "--store",
        str(tmp_path / "s"),
        "--json",
        "--fault",
        "NOPE@2026-03-02T10:00@U.MECH.SPINDLE",
        cwd=tmp_path,
    )
    line = one_line_error(result)
    assert "unknown equipment 'NOPE'" in line
    assert "'OP10-M1'" in line  # what is allowed


@pytest.mark.parametrize("target", ["--store", "--out"])
def test_fault_on_unknown_equipment_writes_nothing(target: str, tmp_path: Path) -> None:
    # faults are checked before the store (or the Parquet folder) is opened
    where = tmp_path / ("s" if target == "--store" else "p/x.parquet")
    fault = "NOPE@2026-03-02T10:00@U.MECH.SPINDLE"
    one_line_error(cli(*RUN, target, str(where), "--json", "--fault", fault, cwd=tmp_path))
    assert not list(tmp_path.iterdir()), "a rejected run must write nothing"
