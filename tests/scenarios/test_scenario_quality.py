"""The quality scenario: defect classifier, per-cycle data, process window tested by re-simulation."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from plants import PlantFile, calendar, cell, machine, order, product, routing, shift, signal, text
from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import load_plant
from smartfactory.scenarios import PlantRun, scenario_class
from smartfactory.scenarios.quality import (
    QualityScenario,
    apply_recommendations,
    recommendations_of,
    steel,
    what_if,
)
from smartfactory.scenarios.quality.classifier import PlateFaultClassifier
from smartfactory.scenarios.quality.cycles import WEAR, read_cycles
from smartfactory.simulate import SimulationResult, simulate
from smartfactory.store import TelemetryStore

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2)

# one machine, setpoints off the optimum, a tool that wears over 300 cycles, a measured characteristic
MACHINE = machine(
    "M1",
    "C1",
    text("Machine", "设备"),
    cycle_cv=0.02,
    quality={
        "base_logit": -4.0,
        "wear_coef": 1.0,
        "tool_life_cycles": 300,
        "tool_change_s": 120,
        "rework_share": 0.4,
        "parameters": [
            {
                "signal": "speed",
                "setpoint": 1050,
                "sd": 40,
                "optimum": 1100,
                "scale": 60,
                "coef": 1.0,
                "effect": 0.02,
            },
            {"signal": "temp", "setpoint": 29.0, "sd": 2.0, "optimum": 27.0, "scale": 3.0, "coef": 0.8},
        ],
        "characteristic": {
            "signal": "width",
            "target_key": "width_mm",
            "tolerance": 0.05,
            "noise_sd": 0.015,
            "wear_effect": 0.02,
            "out_of_tolerance": "rework",
        },
    },
    signal=[
        signal("speed", "rpm", (500.0, 1500.0), per_cycle=True),
        signal("temp", "°C", (10.0, 50.0), per_cycle=True),
        signal("width", "mm", (0.0, 100.0), per_cycle=True),
    ],
)


def quality_plant() -> Plant:
    """The one-machine test plant."""
    return PlantFile(
        plant_id="q-plant",
        work_cells=[cell("C1", text("Cell", "工位"), buffer_capacity=5)],
        equipment=[MACHINE],
        calendar=calendar(
            [
                shift("A", "00:00", "08:00", text("A", "甲")),
                shift("B", "08:00", "16:00", text("B", "乙")),
                shift("C", "16:00", "00:00", text("C", "丙")),
            ],
            name=text("Continuous", "连续"),
        ),
        products=[product("P", text("Part", "零件"), targets={"width_mm": 40.0})],
        routings=[routing("P", [{"work_cell": "C1", "cycle_s": 60}])],
        orders=[order("O1", "P", 100_000, datetime(2026, 4, 30))],
    ).plant()


def simulate_into(folder: Path, plant: Plant, days: float, seed: int = 3) -> SimulationResult:
    """Simulate ``plant`` into a new store folder; the twin's result."""
    store = TelemetryStore.open(folder)
    try:
        return simulate(plant, store, start=START, days=days, seed=seed)
    finally:
        store.close()


def defect_rate(result: SimulationResult, equipment: str = "M1") -> float:
    """Scrap and rework share of the machine's judged units, from the twin's own truth."""
    m = result.machines[equipment]
    return float((m.scrap + m.rework) / (m.good + m.scrap + m.rework))


@pytest.fixture(scope="module")
def plant_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plant, Path, SimulationResult, PlantRun]:
    """Two days of the test plant, the scenario run on it, and the twin's truth."""
    folder = tmp_path_factory.mktemp("quality")
    plant = quality_plant()
    result = simulate_into(folder, plant, days=2.0)
    run = QualityScenario(plant=plant).run_on_plant(folder)
    return plant, folder, result, run


def test_card_names_official_scenarios() -> None:
    national = tomllib.loads(
        (ROOT / "src/smartfactory/assess/frameworks/scenarios/2024/national.toml").read_text("utf-8")
    )
    ids = {s["id"] for s in national["scenario"]}
    assert scenario_class("quality") is QualityScenario
    for official in QualityScenario.card.official_scenarios:
        assert official in ids


def test_fit_predict_on_a_table() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    y = np.where(X["a"] + 0.5 * X["b"] > 0, "scratch", "bump")
    model = QualityScenario(quick=True).fit(X.iloc[:200], y[:200])
    accuracy = (model.predict(X.iloc[200:]) == y[200:]).mean()
    assert accuracy > 0.8
    assert model.predict_proba(X.iloc[200:]).shape == (100, 2)
    assert model.evidence()["samples"] == 200


def test_plate_classifier_learns_the_batch_and_survives_an_unseen_one() -> None:
    rng = np.random.default_rng(1)
    n = 240
    frame = pd.DataFrame(
        {
            "Length_of_Conveyer": rng.choice([1300.0, 1400.0, 1500.0], n),
            "TypeOfSteel_A300": rng.integers(0, 2, n),
            "Steel_Plate_Thickness": 80.0,
            "Y_Minimum": rng.uniform(0, 1e7, n),
            "noise": rng.normal(size=n),
        }
    )
    X = steel.features(frame)
    assert X["plate"].iloc[0] == f"{int(frame.Length_of_Conveyer[0])}-{frame.TypeOfSteel_A300[0]}-80"
    # the class is the batch: only the key (or its parts) can tell it
    y = (X["plate"].astype("category").cat.codes % 2).to_numpy()
    model = PlateFaultClassifier(quick=True).fit(X.iloc[:200], y[:200])
    assert (model.predict(X.iloc[200:]) == y[200:]).mean() > 0.9
    unseen = X.iloc[:5].assign(plate="9999-0-5")
    proba = model.predict_proba(unseen)
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert not model.neighbour_proba(unseen)[1].any()


def test_plate_neighbours_vote_by_distance_along_the_strip() -> None:
    frame = pd.DataFrame(
        {
            "Length_of_Conveyer": 1300.0,
            "TypeOfSteel_A300": 1,
            "Steel_Plate_Thickness": 80.0,
            "Y_Minimum": [0.0, 1e4, 2e4, 5e6, 5.01e6, 5.02e6] * 4,
            "noise": np.arange(24.0),
        }
    )
    X = steel.features(frame)
    # one batch: a stretch of class 3 near the head of the strip, class 7 far down it
    y = np.array([3, 3, 3, 7, 7, 7] * 4)
    model = PlateFaultClassifier(quick=True).fit(X, y)
    query = X.iloc[:2].assign(Y_Minimum=[5e3, 5.005e6])
    neighbours, has = model.neighbour_proba(query)
    assert has.all()
    assert neighbours[0, 0] > 0.99 and neighbours[1, 1] > 0.99  # columns follow classes_ = [3, 7]
    assert np.allclose(neighbours.sum(axis=1), 1.0)


def test_bad_tables_are_user_errors() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "kind": ["x", "y", "x", "y"]})
    with pytest.raises(UserError, match=r"kind.*not numeric"):
        QualityScenario(quick=True).fit(X, [0, 1, 0, 1])
    with pytest.raises(UserError, match="one class"):
        QualityScenario(quick=True).fit(X[["a"]], [1, 1, 1, 1])
    with pytest.raises(UserError, match="too few samples"):
        QualityScenario(quick=True).fit(X[["a"]], [0, 0, 0, 1])
    with pytest.raises(UserError, match="not fitted"):
        QualityScenario().predict(X[["a"]])
    fitted = QualityScenario(quick=True).fit(X[["a"]].assign(b=1.0), [0, 1, 0, 1])
    with pytest.raises(UserError, match="missing column"):
        fitted.predict(X[["a"]])


def test_cycles_hold_parameters_and_wear_but_never_the_characteristic(
    plant_run: tuple[Plant, Path, SimulationResult, PlantRun],
) -> None:
    plant, folder, result, _ = plant_run
    store = TelemetryStore.open(folder, mode="read")
    try:
        cycles = read_cycles(store, plant, plant.equipment[0])
    finally:
        store.close()
    assert cycles.features == ["speed", "temp", WEAR]
    assert "width" not in cycles.features
    truth = result.machines["M1"]
    # every judged unit is one row (a unit scrapped by a breakdown has no parameters)
    assert len(cycles.frame) == truth.good + truth.scrap + truth.rework
    assert cycles.frame["defect"].sum() == truth.scrap + truth.rework
    wear = cycles.frame[WEAR].to_numpy()
    assert wear.max() == 299  # the tool is changed after 300 cycles
    assert (np.diff(wear) < 0).sum() >= len(wear) // 300 - 1


def test_run_on_plant_stores_a_window_that_lowers_defects_when_resimulated(
    plant_run: tuple[Plant, Path, SimulationResult, PlantRun], tmp_path: Path
) -> None:
    plant, folder, result, run = plant_run
    assert run.official_scenario == "quality_analysis_improvement"
    assert run.metrics["defect_rate_observed"] == pytest.approx(defect_rate(result), abs=1e-9)
    assert run.metrics["defect_rate_predicted_recommended"] < run.metrics["defect_rate_observed"]
    assert 0.0 < run.metrics["width_precision"] <= 1.0
    store = TelemetryStore.open(folder, mode="read")
    try:
        stored = store.query("SELECT * FROM quality_recommendations").to_pandas()
        predictions = store.query("SELECT count(*) n FROM quality_predictions").to_pandas()
    finally:
        store.close()
    assert sorted(stored["signal"]) == ["speed", "temp"]
    assert int(predictions["n"][0]) == run.metrics["cycles"]
    # the what-if: the same twin, same seed, run at the recommended setpoints
    better = apply_recommendations(plant, recommendations_of(run))
    again = simulate_into(tmp_path / "again", better, days=2.0)
    assert defect_rate(again) < 0.85 * defect_rate(result)


def test_steel_plant_window_raises_thickness_precision_when_resimulated(tmp_path: Path) -> None:
    plant = load_plant(ROOT / "examples/plants/steel_plate_rolling.toml")
    check = what_if(plant, tmp_path, START, days=3.0, seed=1)
    before = check.before.metrics["thickness_precision"]
    after = check.after.metrics["thickness_precision"]
    assert after > before
    # the finishing stand, whose setpoints sit off the optimum, makes fewer defects
    assert check.defect_rate("FM-1", after=True) < check.defect_rate("FM-1", after=False)


def test_too_little_plant_data_is_a_user_error(tmp_path: Path) -> None:
    plant = quality_plant()
    simulate_into(tmp_path, plant, days=0.05)
    with pytest.raises(UserError, match="too few samples"):
        QualityScenario(plant=plant).run_on_plant(tmp_path)


def test_a_store_without_a_plant_is_a_user_error(tmp_path: Path) -> None:
    TelemetryStore.open(tmp_path).close()
    with pytest.raises(UserError, match="no plant"):
        QualityScenario().run_on_plant(tmp_path)


def _data_dir() -> Path | None:
    path = Path(os.environ.get("SMARTFACTORY_DATA", ROOT.parent / "shared" / "data"))
    return path if (path / "steel_plates_faults").exists() else None


@pytest.mark.skipif(_data_dir() is None, reason="shared data (SMARTFACTORY_DATA or ../shared/data) absent")
def test_benchmark_quick_runs_the_protocol_beside_the_baseline() -> None:
    rows = QualityScenario().benchmark(_data_dir(), quick=True)  # type: ignore[arg-type]
    by_metric = {r.metric: r for r in rows}
    accuracy = by_metric["accuracy"]
    assert accuracy.passed is None  # the target holds on the full protocol only
    # far above always answering the largest class (Other_Faults, 35 %)
    assert accuracy.value > 0.6
    assert by_metric["accuracy, LightGBM defaults (baseline, this run)"].value > 0.6
    assert accuracy.train_s is not None and accuracy.train_s > 0
