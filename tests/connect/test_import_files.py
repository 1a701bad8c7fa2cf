"""File import: CSV and Parquet by a mapping, into the store, with bad rows quarantined."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clitools import cli, ok, one_line_error
from file_imports import COUNTS_MAP, PLANT, run_import, write
from kpi_cases import MON, TUE, plant_toml
from smartfactory.connect.files import parse_mapping
from smartfactory.kpi import compute_result
from smartfactory.model.errors import UserError
from smartfactory.model.events import EventType
from smartfactory.store import TelemetryStore
from smartfactory.store.quarantine import Quarantine

# Monday 2 March 2026 of the UTC kpi plant (shift 08:00-16:00 UTC, break 12:00-12:30), written
# in Shanghai local time (UTC+8) with the source's own machine names and state codes.
STATES_CSV = """\
time,machine,status,code
2026-03-02 16:00:00,CNC-01,RUN,
2026-03-02 20:00:00,CNC-01,BRK,PAUSE
2026-03-02 20:30:00,CNC-01,RUN,
2026-03-02 22:00:00,CNC-01,STOP,E01
2026-03-02 23:00:00,CNC-01,RUN,
2026-03-03 00:00:00,CNC-01,OFF,NOSHIFT
"""

STATES_MAP = """\
kind = "states"

[time]
column = "time"
format = "%Y-%m-%d %H:%M:%S"
timezone = "Asia/Shanghai"

[equipment]
column = "machine"
map = { "CNC-01" = "M1" }

[state]
column = "status"
map = { RUN = "running", BRK = "planned_stop", STOP = "unplanned_down", OFF = "planned_stop" }
reason_column = "code"
reason_map = { PAUSE = "P.BREAK", E01 = "U.FAIL", NOSHIFT = "P.NOSHIFT" }
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TelemetryStore]:
    with TelemetryStore.open(tmp_path / "store") as telemetry:
        yield telemetry


def test_local_time_states_give_the_hand_computed_kpis(tmp_path: Path, store: TelemetryStore) -> None:
    summary = run_import(store, write(tmp_path, "s.csv", STATES_CSV), write(tmp_path, "m.toml", STATES_MAP))
    # six rows; the last state (16:00 UTC no shift) has no end yet and stays open
    assert (summary.rows_read, summary.stored, summary.open_states, summary.quarantined_total) == (6, 5, 1, 0)
    states = store.table(EventType.states).to_pylist()
    assert [
        (s["start"].strftime("%H:%M"), s["end"].strftime("%H:%M"), s["state"], s["reason"]) for s in states
    ] == [
        ("08:00", "12:00", "running", None),
        ("12:00", "12:30", "planned_stop", "P.BREAK"),
        ("12:30", "14:00", "running", None),
        ("14:00", "15:00", "unplanned_down", "U.FAIL"),
        ("15:00", "16:00", "running", None),
    ]
    row = compute_result(store, MON, TUE, by="equipment", per="day", plant=PLANT).rows()[0]
    # PBT = 8 h - 0.5 h break = 27 000 s; APT = 4 h + 1.5 h + 1 h = 23 400 s; ADET = 3 600 s
    assert (row["pbt"], row["apt"], row["adet"]) == (27_000, 23_400, 3_600)
    assert row["availability"] == pytest.approx(23_400 / 27_000, rel=1e-12)


def test_importing_the_same_file_twice_stores_nothing_new(tmp_path: Path, store: TelemetryStore) -> None:
    data, mapping = write(tmp_path, "s.csv", STATES_CSV), write(tmp_path, "m.toml", STATES_MAP)
    first = run_import(store, data, mapping)
    second = run_import(store, data, mapping)
    assert (first.stored, second.stored, second.duplicates) == (5, 0, 5)
    assert store.count(EventType.states) == 5


def test_bad_rows_are_quarantined_with_their_reason_and_good_rows_stored(
    tmp_path: Path, store: TelemetryStore
) -> None:
    data = write(
        tmp_path,
        "c.csv",
        "ts,eq,good,scrap\n"
        "2026-03-02T16:10:00,M1,10,1\n"  # line 2: good
        "yesterday,M1,10,0\n"  # line 3: bad time
        "2026-03-02T16:20:00,M9,10,0\n"  # line 4: unknown equipment
        "2026-03-02T16:30:00,M1,NaN,0\n"  # line 5: NaN count
        "2026-03-02T16:40:00,M1,-3,0\n"  # line 6: negative count
        "2026-03-02T16:50:00,M1,7,0\n"  # line 7: good
        "2030-01-01T00:00:00,M1,7,0\n"  # line 8: too far in the future
        "2026-03-02T17:00:00Z,M1,5,2\n",  # line 9: good, explicit UTC
    )
    summary = run_import(store, data, write(tmp_path, "m.toml", COUNTS_MAP), chunk_rows=3)
    assert (summary.rows_read, summary.stored) == (8, 3)
    assert dict(summary.quarantined) == {
        "bad time": 1,
        "unknown equipment": 1,
        "bad count": 2,
        "future time": 1,
    }
    counts = store.table(EventType.counts).to_pylist()
    assert [(c["ts"].strftime("%H:%M"), c["good"], c["scrap"]) for c in counts] == [
        ("08:10", 10, 1),
        ("08:50", 7, 0),
        ("17:00", 5, 2),
    ]
    entries = Quarantine(store.connection).list()
    assert [(e.source.rsplit(":", 1)[1], e.reason.split(":")[0]) for e in entries] == [
        ("3", "bad time"),
        ("4", "unknown equipment"),
        ("5", "bad count"),
        ("6", "bad count"),
        ("8", "future time"),
    ]
    assert "'M9' is not in the plant" in entries[1].reason
    assert '"eq": "M9"' in entries[1].raw_text()
    # importing again quarantines nothing new either
    again = run_import(store, data, write(tmp_path, "m.toml", COUNTS_MAP))
    assert (again.stored, again.newly_quarantined, Quarantine(store.connection).count()["bad count"]) == (
        0,
        0,
        2,
    )


def test_unknown_state_code_is_quarantined(tmp_path: Path, store: TelemetryStore) -> None:
    text = STATES_CSV.replace("22:00:00,CNC-01,STOP", "22:00:00,CNC-01,WHAT")
    summary = run_import(store, write(tmp_path, "s.csv", text), write(tmp_path, "m.toml", STATES_MAP))
    assert dict(summary.quarantined) == {"unknown state": 1}
    # the running state from 20:30 local now lasts until the next good row at 23:00
    assert summary.stored == 4


WIDE_MAP = """\
kind = "measurements"
[time]
column = "ts"
[equipment]
column = "eq"
[signals]
columns = { temp = "temperature_c", spd = "spindle_rpm" }
"""

LONG_MAP = """\
kind = "measurements"
[time]
column = "ts"
format = "epoch_ms"
[equipment]
column = "eq"
[signals]
signal_column = "tag"
value_column = "v"
map = { T = "temperature_c" }
"""


def test_wide_and_long_measurements(tmp_path: Path, store: TelemetryStore) -> None:
    wide = write(
        tmp_path,
        "w.csv",
        "ts,eq,temp,spd\n2026-03-02T08:00:00,M1,20.5,1200\n2026-03-02T08:01:00,M1,,1210\n"
        "2026-03-02T08:02:00,M1,oops,1220\n",
    )
    summary = run_import(store, wide, write(tmp_path, "w.toml", WIDE_MAP))
    assert (summary.stored, dict(summary.quarantined)) == (3, {"bad value": 1})
    ms = 1_772_438_400_000  # 2026-03-02T08:00:00Z
    long = write(
        tmp_path, "l.csv", f"ts,eq,tag,v\n{ms},M1,T,21.0\n{ms + 60_000},M1,pressure,3.5\n{ms},M1,T,nan\n"
    )
    summary = run_import(store, long, write(tmp_path, "l.toml", LONG_MAP))
    # 21.0 °C at 08:00 meets the 20.5 stored by the wide file: a conflict, quarantined; 20.5 stays
    assert (summary.stored, summary.duplicates, summary.conflicts, dict(summary.quarantined)) == (
        1,
        0,
        1,
        {"bad value": 1},
    )
    rows = store.table(EventType.measurements).to_pylist()
    assert sorted((r["ts"].strftime("%H:%M"), r["signal"], r["value"]) for r in rows) == [
        ("08:00", "spindle_rpm", 1200.0),
        ("08:00", "temperature_c", 20.5),
        ("08:01", "pressure", 3.5),
        ("08:01", "spindle_rpm", 1210.0),
    ]


def test_parquet_with_a_cumulative_counter_and_a_reset(tmp_path: Path, store: TelemetryStore) -> None:
    table = pa.table(
        {
            "ts": pa.array([datetime(2026, 3, 2, 8, m) for m in (0, 10, 20, 30, 40)], pa.timestamp("ms")),
            "eq": ["M1"] * 5,
            "total": [1000, 1010, 1025, 5, 12],  # the counter resets between 08:20 and 08:30
        }
    )
    data = tmp_path / "c.parquet"
    pq.write_table(table, data, row_group_size=2)
    mapping = write(
        tmp_path,
        "m.toml",
        'kind = "counts"\n[time]\ncolumn = "ts"\ntimezone = "Asia/Shanghai"\n'
        '[equipment]\ncolumn = "eq"\n[counts]\ncounter = "total"\n',
    )
    summary = run_import(store, data, mapping, chunk_rows=2)
    assert (summary.rows_read, summary.stored) == (5, 5)
    counts = store.table(EventType.counts).to_pylist()
    # Parquet timestamps without a zone are read in the mapping's zone: 08:00 Shanghai = 00:00 UTC
    assert [(c["ts"].strftime("%H:%M"), c["good"]) for c in counts] == [
        ("00:00", 0),
        ("00:10", 10),
        ("00:20", 15),
        ("00:30", 5),
        ("00:40", 7),
    ]


def test_a_malformed_mapping_lists_every_problem_with_its_line() -> None:
    text = """\
kind = "alarms"

[time]
column = "t"
timezone = "Mars/Olympus"

[equipment]
colum = "eq"

[signals]
columns = ["a"]
signal_column = "s"
"""
    with pytest.raises(UserError) as caught:
        parse_mapping(text, "bad.toml")
    problems = {(p.location, p.line) for p in caught.value.problems}
    assert ("kind", 1) in problems
    assert ("time", 3) in problems  # the unknown zone
    assert ("equipment.colum", 8) in problems
    assert ("equipment.column", 7) in problems
    assert ("signals", 10) in problems
    message = str(caught.value)
    assert "5 problem(s)" in message and "Mars/Olympus" in message


def test_cli_import_and_a_missing_column_fails_before_writing(tmp_path: Path) -> None:
    plant = write(tmp_path, "plant.toml", plant_toml(two_machines=False, pm=False))
    data, mapping = write(tmp_path, "s.csv", STATES_CSV), write(tmp_path, "m.toml", STATES_MAP)
    store = tmp_path / "store"
    result = ok(
        cli(
            "import",
            str(data),
            "--map",
            str(mapping),
            "--plant",
            str(plant),
            "--store",
            str(store),
            cwd=tmp_path,
        )
    )
    assert "stored" in result.stdout and "5" in result.stdout
    kpi = ok(
        cli(
            "kpi",
            "--store",
            str(store),
            "--by",
            "equipment",
            "--kpi",
            "availability",
            "--format",
            "json",
            cwd=tmp_path,
        )
    )
    assert '"availability": 0.866' in kpi.stdout
    broken = write(tmp_path, "b.csv", STATES_CSV.replace("status", "phase"))
    error = one_line_error(
        cli("import", str(broken), "--map", str(mapping), "--store", str(tmp_path / "s2"), cwd=tmp_path)
    )
    assert "no column 'status'" in error and "b.csv" in error
    assert not (tmp_path / "s2" / "telemetry.duckdb").exists()
