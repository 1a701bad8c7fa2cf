"""Scenario runs in the registry: migration 0003, round trips, filters and refusals; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from plants import MachineSpec, PlantSpec
from services import head_revision
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant
from smartfactory.store import (
    Registry,
    finish_scenario_run,
    get_scenario_run,
    list_scenario_runs,
    record_scenario_run,
)
from smartfactory.store.registry import MIGRATIONS

PLANT_ID = "test-plant"  # the id plants.PlantSpec writes
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))


@pytest.fixture(scope="module")
def plant() -> Plant:
    """A one-machine plant."""
    return parse_plant(PlantSpec(cells=[[MachineSpec(cycle_s=60.0)]], buffers=[5]).toml(), "t.toml")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh registry database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def registry(database_url: str, plant: Plant) -> Iterator[Registry]:
    """An open registry on a fresh database holding the plant, closed after the test."""
    opened = Registry.open(database_url)
    opened.save_plant(plant, "t.toml", "0" * 64)
    yield opened
    opened.close()


def alembic_config(connection: Any) -> Config:
    """The Alembic configuration ``Registry.open`` uses, on an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


# --- migration ------------------------------------------------------------------------------


def test_a_fresh_database_is_at_head_with_the_table(database_url: str) -> None:
    with Registry.open(database_url) as registry, registry.engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        columns = {c["name"] for c in inspect(connection).get_columns("scenario_runs")}
    assert version == [(head_revision(),)]
    assert columns == {
        "id", "plant_id", "scenario", "official_scenario", "uses_ai", "started_at",
        "finished_at", "status", "metrics", "artefacts", "notes",
    }  # fmt: skip


def test_a_0002_database_is_upgraded_keeping_its_plants_and_can_go_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
            connection.execute(
                text(
                    "INSERT INTO plants (id, name_en, name_zh, industry, timezone, source_path, "
                    "source_sha256, loaded_at) VALUES ('old', 'Old', '旧', 'discrete', 'UTC', 'old.toml', "
                    ":sha, :at)"
                ),
                {"sha": "1" * 64, "at": datetime(2025, 1, 1)},
            )
            assert "scenario_runs" not in inspect(connection).get_table_names()
        with Registry.open(database_url) as registry:
            assert [p["id"] for p in registry.list_plants()] == ["old"]
            run_id = record_scenario_run(registry, "old", "quality", "S24", uses_ai=True, started_at=T0)
            assert get_scenario_run(registry, run_id) is not None
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0002")
            assert "scenario_runs" not in inspect(connection).get_table_names()
            assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [("0002",)]
    finally:
        engine.dispose()


# --- round trips ------------------------------------------------------------------------------


def test_a_run_is_recorded_running_then_finished(registry: Registry) -> None:
    started = datetime(2026, 3, 2, 16, 0, tzinfo=CST)  # 08:00 UTC
    run_id = record_scenario_run(
        registry,
        PLANT_ID,
        "quality",
        "S24",
        uses_ai=True,
        started_at=started,
        metrics={"train_rows": 1200},
        artefacts={"model": "models/quality.lgbm"},
        notes="first training",
    )
    running = get_scenario_run(registry, run_id)
    assert running is not None
    assert running["status"] == "running"
    assert running["started_at"] == T0 and running["started_at"].tzinfo == UTC
    assert running["finished_at"] is None
    assert (running["scenario"], running["official_scenario"], running["uses_ai"]) == ("quality", "S24", True)
    assert running["metrics"] == {"train_rows": 1200}

    finish_scenario_run(
        registry,
        run_id,
        metrics={"auc": 0.91, "recall": np.float64(0.8)},
        artefacts={"predictions": "store/predictions.parquet"},
        finished_at=T0 + timedelta(minutes=5),
    )
    done = get_scenario_run(registry, run_id)
    assert done is not None
    assert done["status"] == "finished"
    assert done["finished_at"] == T0 + timedelta(minutes=5)
    # metrics and artefacts are merged into what the run held; notes stay when not given
    assert done["metrics"] == {"train_rows": 1200, "auc": 0.91, "recall": 0.8}
    assert done["artefacts"] == {"model": "models/quality.lgbm", "predictions": "store/predictions.parquet"}
    assert done["notes"] == "first training"
    assert (done["id"], done["plant_id"]) == (run_id, PLANT_ID)


def test_a_run_that_is_already_over_is_recorded_in_one_call(registry: Registry) -> None:
    run_id = record_scenario_run(
        registry,
        PLANT_ID,
        "scheduling",
        "S09",
        uses_ai=False,
        started_at=T0,
        status="failed",
        finished_at=T0 + timedelta(seconds=30),
        notes="solver timed out",
    )
    record = get_scenario_run(registry, run_id)
    assert record is not None
    assert (record["status"], record["finished_at"], record["uses_ai"]) == (
        "failed",
        T0 + timedelta(seconds=30),
        False,
    )
    assert (record["metrics"], record["artefacts"], record["notes"]) == ({}, {}, "solver timed out")
    # finished_at defaults to now for a run recorded finished
    before = datetime.now(UTC)
    now_id = record_scenario_run(registry, PLANT_ID, "anomaly", "S28", uses_ai=True, status="finished")
    now_run = get_scenario_run(registry, now_id)
    assert now_run is not None and now_run["finished_at"] is not None
    assert before - timedelta(seconds=5) <= now_run["finished_at"] <= datetime.now(UTC) + timedelta(seconds=5)


def test_runs_are_listed_newest_first_and_filtered(registry: Registry, plant: Plant) -> None:
    other = plant.model_copy(update={"plant": plant.plant.model_copy(update={"id": "other"})})
    registry.save_plant(other, "o.toml", "0" * 64)
    # a: started day 0, finished day 0; b: started day 1, still running; c: started day 3, other plant;
    # d: started day -5, finished day 2 (a long run)
    a = record_scenario_run(
        registry, PLANT_ID, "quality", "S24", uses_ai=True, started_at=T0,
        status="finished", finished_at=T0 + timedelta(hours=1),
    )  # fmt: skip
    b = record_scenario_run(
        registry, PLANT_ID, "maintenance", "S28", uses_ai=True, started_at=T0 + timedelta(days=1)
    )
    c = record_scenario_run(
        registry, "other", "quality", "S24", uses_ai=True, started_at=T0 + timedelta(days=3)
    )
    d = record_scenario_run(
        registry, PLANT_ID, "scheduling", "S09", uses_ai=False, started_at=T0 - timedelta(days=5),
        status="finished", finished_at=T0 + timedelta(days=2),
    )  # fmt: skip

    assert [r["id"] for r in list_scenario_runs(registry)] == [c, b, a, d]
    assert [r["id"] for r in list_scenario_runs(registry, PLANT_ID)] == [b, a, d]
    assert [r["id"] for r in list_scenario_runs(registry, "other")] == [c]
    assert list_scenario_runs(registry, "no-such-plant") == []
    # since day 1: b started then, d finished on day 2; a is over by then
    assert [r["id"] for r in list_scenario_runs(registry, PLANT_ID, since=T0 + timedelta(days=1))] == [b, d]
    # until day 1 (exclusive): runs that started before it
    assert [r["id"] for r in list_scenario_runs(registry, until=T0 + timedelta(days=1))] == [a, d]
    window = list_scenario_runs(registry, since=T0 + timedelta(hours=2), until=T0 + timedelta(days=3))
    assert [r["id"] for r in window] == [b, d]


# --- refusals ---------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_clear_message(registry: Registry) -> None:
    naive = datetime(2026, 3, 2, 8, 0)
    with pytest.raises(UserError, match="'no-such-plant' is not in the registry"):
        record_scenario_run(registry, "no-such-plant", "quality", "S24", uses_ai=True)
    with pytest.raises(ValueError, match="status 'done' is not one of running, finished, failed"):
        record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai=True, status="done")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="started_at 2026-03-02T08:00:00 has no time zone"):
        record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai=True, started_at=naive)
    with pytest.raises(ValueError, match=r"finished_at .* has no time zone"):
        record_scenario_run(
            registry, PLANT_ID, "quality", "S24", uses_ai=True, status="finished", finished_at=naive
        )
    with pytest.raises(ValueError, match="no finished_at"):
        record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai=True, finished_at=T0)
    with pytest.raises(ValueError, match="before started_at"):
        record_scenario_run(
            registry, PLANT_ID, "quality", "S24", uses_ai=True, started_at=T0,
            status="finished", finished_at=T0 - timedelta(seconds=1),
        )  # fmt: skip
    with pytest.raises(ValueError, match="scenario '' must be a non-empty name"):
        record_scenario_run(registry, PLANT_ID, "", "S24", uses_ai=True)
    with pytest.raises(ValueError, match=r"official_scenario 'x{65}' must be"):
        record_scenario_run(registry, PLANT_ID, "quality", "x" * 65, uses_ai=True)
    with pytest.raises(ValueError, match="uses_ai must be True or False"):
        record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai="yes")  # type: ignore[arg-type]
    for bad in ("0.9", float("nan"), float("inf"), True, None):
        with pytest.raises(ValueError, match="metrics are finite numbers"):
            record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai=True, metrics={"auc": bad})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="artefacts must be plain JSON"):
        record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai=True, artefacts={"at": T0})
    with pytest.raises(ValueError, match=r"since .* has no time zone"):
        list_scenario_runs(registry, since=naive)
    assert list_scenario_runs(registry) == []  # nothing refused was stored

    run_id = record_scenario_run(registry, PLANT_ID, "quality", "S24", uses_ai=True, started_at=T0)
    with pytest.raises(ValueError, match="needs status 'finished' or 'failed'"):
        finish_scenario_run(registry, run_id, status="running")
    with pytest.raises(ValueError, match="status 'ok' is not one of"):
        finish_scenario_run(registry, run_id, status="ok")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"finished_at .* has no time zone"):
        finish_scenario_run(registry, run_id, finished_at=naive)
    with pytest.raises(ValueError, match="before started_at"):
        finish_scenario_run(registry, run_id, finished_at=T0 - timedelta(hours=1))
    with pytest.raises(KeyError, match="no scenario run 'no-such-run'"):
        finish_scenario_run(registry, "no-such-run")
    finish_scenario_run(registry, run_id, finished_at=T0 + timedelta(minutes=1))
    with pytest.raises(ValueError, match="already finished"):
        finish_scenario_run(registry, run_id)
    assert get_scenario_run(registry, "no-such-run") is None


def test_the_database_refuses_an_unknown_status_written_around_the_functions(registry: Registry) -> None:
    with pytest.raises(IntegrityError), registry.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO scenario_runs (id, plant_id, scenario, official_scenario, uses_ai, "
                "started_at, status, metrics, artefacts) VALUES ('x', :plant, 'quality', 'S24', "
                "true, :at, 'done', '{}', '{}')"
            ),
            {"plant": PLANT_ID, "at": datetime(2026, 3, 2, 8, 0)},
        )
