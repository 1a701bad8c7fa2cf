"""The quarantine's CLI and replaying rows through a fixed mapping (the table itself: the store
conformance suite, on every engine)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from clitools import cli, ok, one_line_error
from file_imports import COUNTS_MAP, PLANT, run_import, write
from kpi_cases import plant_toml
from smartfactory.connect.files import parse_mapping, replay
from smartfactory.model.events import EventType
from smartfactory.store import TelemetryStore
from smartfactory.store.quarantine import Quarantine


def test_replay_through_a_fixed_mapping(tmp_path: Path) -> None:
    data = write(
        tmp_path,
        "c.csv",
        "ts,eq,good,scrap\n2026-03-02T16:10:00,M1,10,1\n2026-03-02T16:20:00,CNC-9,4,0\n"
        "2026-03-02T16:30:00,CNC-9,NaN,0\n",
    )
    with TelemetryStore.open(tmp_path / "store") as store:
        summary = run_import(store, data, write(tmp_path, "m.toml", COUNTS_MAP))
        assert (summary.stored, dict(summary.quarantined)) == (1, {"unknown equipment": 2})
        fixed = parse_mapping(COUNTS_MAP.replace('column = "eq"', 'column = "eq"\nmap = { CNC-9 = "M1" }'))
        equipment = {e.id for e in PLANT.equipment}
        result = replay(store, fixed, str(data), equipment=equipment, now=datetime(2026, 3, 10))
        assert (result.tried, result.stored, result.removed) == (2, 1, 1)
        assert dict(result.still_failing) == {"bad count": 1}
        assert store.count(EventType.counts) == 2
        assert [e.source for e in Quarantine(store.connection).list()] == [f"{data}:4"]


def test_cli_list_show_and_replay(tmp_path: Path) -> None:
    plant = write(tmp_path, "plant.toml", plant_toml(two_machines=False, pm=False))
    data = write(
        tmp_path, "c.csv", "ts,eq,good,scrap\n2026-03-02T16:10:00,M1,10,1\n2026-03-02T16:20:00,X,3,0\n"
    )
    mapping = write(tmp_path, "m.toml", COUNTS_MAP)
    store = str(tmp_path / "store")
    result = ok(
        cli("import", str(data), "--map", str(mapping), "--plant", str(plant), "--store", store, cwd=tmp_path)
    )
    assert "unknown equipment" in result.stdout
    listed = ok(cli("quarantine", "list", "--store", store, cwd=tmp_path))
    assert "c.csv:3" in listed.stdout and "unknown equipment: 1" in listed.stdout
    shown = ok(cli("quarantine", "show", "1", "--store", store, cwd=tmp_path))
    assert "'X' is not in the plant" in shown.stdout and '"eq": "X"' in shown.stdout
    assert "no quarantined row with id 7" in one_line_error(
        cli("quarantine", "show", "7", "--store", store, cwd=tmp_path)
    )
    fixed = write(
        tmp_path, "fixed.toml", COUNTS_MAP.replace('column = "eq"', 'column = "eq"\nmap = { X = "M1" }')
    )
    replayed = ok(cli("quarantine", "replay", str(data), "--map", str(fixed), "--store", store, cwd=tmp_path))
    assert "1 stored" in replayed.stdout and "1 removed from quarantine" in replayed.stdout
    assert "the quarantine is empty" in ok(cli("quarantine", "list", "--store", store, cwd=tmp_path)).stdout
