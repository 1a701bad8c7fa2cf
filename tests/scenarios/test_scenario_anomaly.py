"""The anomaly scenario: the streaming detector, SKAB's metrics, the SKAB protocol and the plant run."""

from __future__ import annotations

import math
import os
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from smartfactory.model.errors import UserError
from smartfactory.model.plant_file import load_plant, parse_plant
from smartfactory.scenarios.anomaly import AnomalyScenario, DetectorConfig, StreamingDetector
from smartfactory.scenarios.anomaly.metrics import Confusion, NabScore, predicted_changepoints
from smartfactory.scenarios.anomaly.skab import read_skab
from smartfactory.simulate import simulate
from smartfactory.store import TelemetryStore

ROOT = Path(__file__).resolve().parents[2]
PLANT_FILE = ROOT / "examples" / "plants" / "discrete_machining.toml"
START = datetime(2026, 3, 2)
SMALL = DetectorConfig(warmup=100, window=5)


def _data_dir() -> Path | None:
    env = os.environ.get("SMARTFACTORY_DATA")
    folder = Path(env) if env else ROOT.parent / "shared" / "data"
    return folder if (folder / "skab" / "data").is_dir() else None


def _points(rows: np.ndarray) -> list[dict[str, float]]:
    return [{"a": float(r[0]), "b": float(r[1]), "c": float(r[2])} for r in rows]


# --- the detector ---------------------------------------------------------------------


def test_scores_are_nan_until_warm_up_ends_then_finite() -> None:
    rng = np.random.default_rng(0)
    detector = StreamingDetector(SMALL)
    scores = [detector.update(p) for p in _points(rng.normal(size=(150, 3)))]
    assert all(math.isnan(s) for s in scores[:100])
    assert all(math.isfinite(s) for s in scores[100:])
    assert detector.fitted and math.isfinite(detector.threshold)


def test_a_mean_shift_alarms_and_stationary_noise_rarely_does() -> None:
    rng = np.random.default_rng(1)
    normal = rng.normal(size=(1100, 3))
    shifted = rng.normal(size=(300, 3)) + np.array([0.0, 3.0, 0.0])
    detector = StreamingDetector(DetectorConfig(warmup=100, window=5, adapt=0.0))
    scores = detector.score_batch(np.vstack([normal, shifted]))
    alarm = scores > detector.threshold
    assert alarm[100:1100].mean() < 0.05
    assert alarm[1110:].mean() > 0.9


def _mean(detector: StreamingDetector) -> np.ndarray:
    """The detector's reference mean (set once it has seen data)."""
    assert detector.mean is not None
    return detector.mean


def test_score_batch_equals_scoring_point_by_point() -> None:
    rng = np.random.default_rng(2)
    rows = np.vstack([rng.normal(size=(300, 3)), rng.normal(size=(100, 3)) + 3.0, rng.normal(size=(100, 3))])
    one = StreamingDetector(SMALL, features=["a", "b", "c"])
    many = StreamingDetector(SMALL, features=["a", "b", "c"])
    single = np.array([one.update(p) for p in _points(rows)])
    batch = np.concatenate([many.score_batch(rows[:150]), many.score_batch(rows[150:])])
    np.testing.assert_allclose(batch, single, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(_mean(many), _mean(one), rtol=1e-9)


def test_score_one_and_predict_one_do_not_learn() -> None:
    rng = np.random.default_rng(3)
    detector = StreamingDetector(SMALL)
    for p in _points(rng.normal(size=(200, 3))):
        detector.learn_one(p)
    mean, seen = _mean(detector).copy(), detector.seen
    outlier = {"a": 0.0, "b": 50.0, "c": 0.0}
    first = detector.score_one(outlier)
    assert detector.predict_one(outlier)
    assert detector.score_one(outlier) == first
    assert detector.seen == seen and np.array_equal(_mean(detector), mean)


def test_the_reference_follows_slow_drift_but_not_an_alarm() -> None:
    rng = np.random.default_rng(4)
    config = DetectorConfig(warmup=100, window=5, adapt=0.05)
    detector = StreamingDetector(config)
    detector.score_batch(rng.normal(size=(100, 3)))
    before = _mean(detector).copy()
    detector.score_batch(rng.normal(size=(50, 3)) + 30.0)  # far beyond the limit: an anomaly
    np.testing.assert_allclose(_mean(detector), before)
    drift = rng.normal(size=(400, 3)) + np.linspace(0, 1.0, 400)[:, None] * 0.2
    detector2 = StreamingDetector(config)
    detector2.score_batch(rng.normal(size=(100, 3)))
    start = _mean(detector2).copy()
    detector2.score_batch(drift)
    assert (_mean(detector2) - start).mean() > 0.05


def test_memory_stays_bounded_on_a_long_stream() -> None:
    rng = np.random.default_rng(5)
    detector = StreamingDetector(SMALL)
    detector.score_batch(rng.normal(size=(20_000, 3)))
    assert detector.memory_floats() <= (SMALL.window + 4) * 3


def test_a_missing_signal_keeps_its_last_value() -> None:
    detector = StreamingDetector(SMALL)
    detector.learn_one({"a": 1.0, "b": 2.0})
    detector.learn_one({"a": 1.5})
    assert detector.seen == 2


@pytest.mark.parametrize(
    ("point", "message"),
    [({"a": "high"}, "non-numeric"), ({}, "no signals"), ([1.0, 2.0], "mapping")],
)
def test_bad_points_are_user_errors(point: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        StreamingDetector(SMALL).learn_one(point)  # type: ignore[arg-type]


def test_bad_settings_and_shapes_are_user_errors() -> None:
    with pytest.raises(UserError, match="too short"):
        DetectorConfig(warmup=20, window=20).check()
    with pytest.raises(UserError, match="quantile"):
        StreamingDetector(DetectorConfig(quantile=1.5))
    detector = StreamingDetector(SMALL, features=["a", "b"])
    with pytest.raises(UserError, match="array"):
        detector.score_batch(np.zeros((10, 3)))
    with pytest.raises(UserError, match="no value yet"):
        StreamingDetector(SMALL, features=["a", "b"]).score_batch(np.array([[1.0, np.nan]]))


def test_the_scenario_streams_through_its_detector() -> None:
    rng = np.random.default_rng(6)
    scenario = AnomalyScenario(SMALL)
    assert scenario.card.official_scenarios == ("equipment_operation_monitoring",)
    for p in _points(rng.normal(size=(120, 3))):
        scenario.learn_one(p)
    assert math.isfinite(scenario.score_one({"a": 0.0, "b": 0.0, "c": 0.0}))
    assert scenario.predict_one({"a": 0.0, "b": 40.0, "c": 0.0})
    assert scenario.evidence()["points_seen"] == 120.0


# --- SKAB's metrics (TSAD) -----------------------------------------------------------


def test_binary_metrics_by_hand() -> None:
    c = Confusion()
    c.add(np.array([1, 1, 1, 0, 0, 0, 0, 1]), np.array([1, 1, 0, 1, 0, 0, 0, 0]))
    # TP 2, FN 2, FP 1, TN 3: F1 = 2 / (2 + 3/2), FAR = 1/4, MAR = 2/4
    assert (c.tp, c.fn, c.fp, c.tn) == (2, 2, 1, 3)
    assert c.f1() == pytest.approx(2 / 3.5)
    assert c.far() == pytest.approx(25.0)
    assert c.mar() == pytest.approx(50.0)


def test_changepoints_are_the_switches_of_the_alarm() -> None:
    assert predicted_changepoints(np.array([1, 1, 0, 0, 1])).tolist() == [1, 0, 1, 0, 1]


def test_nab_perfect_null_and_late_detection() -> None:
    seconds = np.arange(600, dtype=float)
    truth = np.zeros(600, dtype=int)
    truth[[100, 400]] = 1
    perfect = NabScore.empty()
    perfect.add(seconds, truth, truth, 60.0)
    assert perfect.result()["standard"] == pytest.approx(100.0)
    null = NabScore.empty()
    null.add(seconds, truth, np.zeros(600, dtype=int), 60.0)
    assert null.result()["standard"] == pytest.approx(0.0) and null.missed == 2
    late = NabScore.empty()
    late_cp = np.zeros(600, dtype=int)
    late_cp[[130, 300]] = 1  # half-way into the first window; one false positive
    late.add(seconds, truth, late_cp, 60.0)
    # reward at the window's middle is (A_tp + A_fp) / 2 = 0.445; FP -0.11; one miss -1
    expected = 100 * ((0.445 - 0.11 - 1.0) - (-2.0)) / (2.0 - (-2.0))
    assert late.result()["standard"] == pytest.approx(expected, abs=0.1)
    assert (late.missed, late.false_positives) == (1, 1)


# --- the SKAB protocol ---------------------------------------------------------------


def test_skab_file_without_a_column_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("datetime;Current\n2020-01-01 00:00:00;1.0\n", encoding="utf-8")
    with pytest.raises(UserError, match="lacks columns"):
        read_skab(bad)


def test_skab_quick_benchmark_runs_the_protocol() -> None:
    data = _data_dir()
    if data is None:
        pytest.skip("SKAB not found: set SMARTFACTORY_DATA or put shared/data beside the repo")
    rows = AnomalyScenario().benchmark(data, quick=True)
    metrics = {r.metric: r for r in rows}
    assert set(metrics) >= {"outlier F1", "FAR %", "MAR %"}
    f1 = metrics["outlier F1"]
    assert 0.0 <= f1.value <= 1.0 and f1.passed is None
    assert f1.detail["tp"] + f1.detail["fn"] > 0 and f1.detail["points"] > 0
    assert 0.0 <= metrics["FAR %"].value <= 100.0


def test_missing_skab_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no SKAB files"):
        AnomalyScenario().benchmark(tmp_path, quick=True)


# --- the plant ------------------------------------------------------------------------


def _simulated(folder: Path, text: str, days: float, seed: int) -> None:
    plant = parse_plant(text, "plant.toml")
    with TelemetryStore.open(folder) as store:
        simulate(plant, store, start=START, days=days, seed=seed)


@pytest.fixture(scope="module")
def worn_plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("worn")
    _simulated(folder, PLANT_FILE.read_text(encoding="utf-8"), days=6, seed=3)
    return folder


def test_plant_alarms_come_before_wear_failures(worn_plant: Path) -> None:
    run = AnomalyScenario(plant=load_plant(PLANT_FILE)).run_on_plant(worn_plant)
    assert run.official_scenario == "equipment_operation_monitoring"
    assert run.metrics["failures_recorded"] >= 3
    assert run.metrics["failures_warned"] / run.metrics["failures_recorded"] >= 0.6
    with TelemetryStore.open(worn_plant, mode="read") as store:
        alarms = store.query("SELECT * FROM alarms WHERE code = 'ANOMALY'").to_pylist()
    assert alarms and {a["severity"] for a in alarms} == {"warning"}
    assert {a["action"] for a in alarms} <= {"raised", "cleared"}
    assert len(alarms) == run.metrics["alarm_rows_written"]


def test_a_second_run_replaces_the_first_runs_alarms(worn_plant: Path) -> None:
    scenario = AnomalyScenario(plant=load_plant(PLANT_FILE))
    first = scenario.run_on_plant(worn_plant)
    second = scenario.run_on_plant(worn_plant)
    with TelemetryStore.open(worn_plant, mode="read") as store:
        stored = store.query("SELECT count(*) n FROM alarms WHERE code = 'ANOMALY'").to_pylist()[0]["n"]
    assert stored == first.metrics["alarm_rows_written"] == second.metrics["alarm_rows_written"]


def test_a_plant_without_wear_gets_few_alarms(tmp_path: Path) -> None:
    # lives of a million hours: the signals do not drift over the week, so nothing is abnormal
    text = re.sub(
        r"weibull_scale_h = \d+", "weibull_scale_h = 1000000", PLANT_FILE.read_text(encoding="utf-8")
    )
    _simulated(tmp_path, text, days=6, seed=3)
    run = AnomalyScenario(plant=parse_plant(text, "plant.toml")).run_on_plant(tmp_path)
    assert run.metrics["failures_recorded"] == 0
    per_equipment_day = run.metrics["alarms_raised"] / (run.metrics["equipment_monitored"] * 6)
    assert per_equipment_day < 0.2


def test_plant_run_without_a_store_or_data_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no telemetry store"):
        AnomalyScenario().run_on_plant(tmp_path)
    TelemetryStore.open(tmp_path).close()
    with pytest.raises(UserError, match="no measurements"):
        AnomalyScenario().run_on_plant(tmp_path)
