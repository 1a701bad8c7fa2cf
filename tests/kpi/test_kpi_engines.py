"""The same events give the same KPIs on DuckDB and PostgreSQL, and the twin's own truth.

One simulated store (3 days of the discrete machining plant, seed 3) serves every test here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import pytest
from sqlalchemy.engine import make_url

from kpi_results import assert_same_kpis
from smartfactory.kpi import catalogue, compute_on, compute_result
from smartfactory.model.events import EventType
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.simulate import SimulationResult, simulate
from smartfactory.store import REGISTRY_FILE, Registry, TelemetryStore

PLANT_FILE = Path(__file__).resolve().parents[2] / "examples" / "plants" / "discrete_machining.toml"
START = datetime(2026, 3, 2)  # Monday 00:00 in Asia/Shanghai
END = date(2026, 3, 5)
DAYS = 3
EVENT_TABLES = (EventType.states, EventType.counts, EventType.measurements)


@dataclass
class Simulated:
    plant: Plant
    store: TelemetryStore
    truth: SimulationResult


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    folder = tmp_path_factory.mktemp("discrete")
    plant = load_plant(PLANT_FILE)
    with Registry.open(folder / REGISTRY_FILE) as registry:
        registry.save_plant(plant, str(PLANT_FILE), hashlib.sha256(PLANT_FILE.read_bytes()).hexdigest())
    store = TelemetryStore.open(folder, mode="write")
    try:
        truth = simulate(plant, store, start=START, days=DAYS, seed=3)
        yield Simulated(plant, store, truth)
    finally:
        store.close()


# --- DuckDB and PostgreSQL agree ----------------------------------------------------------


@pytest.fixture
def postgres(postgres_url: str, simulated: Simulated) -> Iterator[Any]:
    """The simulated events copied into the fresh test database (dropped by postgres_url)."""
    url = make_url(postgres_url)
    con = ibis.postgres.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        for kind in EVENT_TABLES:
            con.create_table(f"sim_{kind.value}", simulated.store.table(kind))
        # planner statistics, as a live database has them: without, the query takes ~30× longer
        con.raw_sql("ANALYZE").close()
        yield con
    finally:
        con.disconnect()


@pytest.mark.postgres
def test_duckdb_and_postgres_give_the_same_kpis(simulated: Simulated, postgres: Any) -> None:
    duck = ibis.duckdb.from_connection(simulated.store.connection)
    names = ("sim_states", "sim_counts", "sim_measurements")
    for by, per in [("equipment", "day"), ("line", "shift")]:
        on_duck = compute_on(duck, simulated.plant, START, END, by=by, per=per)
        on_pg = compute_on(postgres, simulated.plant, START, END, by=by, per=per, tables=names)
        assert on_duck.table.num_rows == (12 * DAYS if by == "equipment" else 2 * DAYS)
        assert_same_kpis(on_duck, on_pg)


# --- the twin's truth -----------------------------------------------------------------------

# Planned busy time of the 3 days from Monday 00:00: the calendar runs 08:00-20:00 and 20:00-08:00
# Monday to Saturday with 2 h of breaks a day, so 3 × 22 h = 66 h; but Monday 00:00-08:00 belongs
# to Sunday's night shift, which does not exist: − 8 h, + the 1 h of night breaks inside it.
PBT_H = 3 * 22 - 8 + 1  # 59 h
PBT_S = PBT_H * 3600.0


def test_availability_and_quality_match_the_twin(simulated: Simulated) -> None:
    result = compute_result(simulated.store, START, END, by="equipment", per="window")
    rows = {r["node"]: r for r in result.rows()}
    assert set(rows) == {e.id for e in simulated.plant.equipment}
    networked = [e.id for e in simulated.plant.equipment if e.networked]
    assert len(networked) == 11
    for eq in networked:
        row, truth = rows[eq], simulated.truth.machines[eq]
        seconds = truth.state_seconds
        assert row["pbt"] == PBT_S and row["ndt"] == 0
        # running time: the twin's own clock and the stored states agree
        assert row["apt"] == pytest.approx(seconds["running"], rel=1e-3)
        assert row["availability"] == pytest.approx(seconds["running"] / PBT_S, rel=1e-3), eq
        # Truth availability = running / (all state time − planned stop). It differs from ISO
        # where the twin goes on repairing into a break: the twin books that as unplanned down,
        # ISO counts only planned busy time. Where no repair ran into a break the two are the same.
        twin_busy = sum(seconds.values()) - seconds["planned_stop"]
        if twin_busy == pytest.approx(PBT_S, abs=1e-3):
            assert row["availability"] == pytest.approx(seconds["running"] / twin_busy, rel=1e-3), eq
        else:
            assert twin_busy > PBT_S  # spilled repair time only ever adds to the twin's side
            assert row["availability"] >= seconds["running"] / twin_busy
        made = truth.good + truth.scrap + truth.rework
        assert row["pq"] == made and row["gq"] == truth.good
        assert row["quality_ratio"] == pytest.approx(truth.good / made, rel=1e-3), eq
    # OP10-M3 is not networked: no data, no values, and it says so
    silent = rows["OP10-M3"]
    assert silent["data_coverage"] == 0.0 and silent["availability"] is None
    assert result.why_null(silent, catalogue().kpis["availability"]) == "no data"
