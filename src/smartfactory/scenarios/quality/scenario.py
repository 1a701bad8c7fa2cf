"""The quality scenario: defects from process data, and the process window with the fewest."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.scenarios.base import BenchmarkRow, KeptEvidenceScenario, PlantRun, ScenarioCard
from smartfactory.scenarios.plant_store import plant_of, replace_table
from smartfactory.scenarios.quality import benchmark as steel_benchmark
from smartfactory.scenarios.quality.classifier import defect_classifier
from smartfactory.scenarios.quality.cycles import Cycles, quality_equipment, read_cycles
from smartfactory.scenarios.quality.window import (
    Recommendation,
    check_trainable,
    fit_defect_model,
    recommend,
    response_surface,
)
from smartfactory.scenarios.tabular import labels, numeric_frame
from smartfactory.store import TelemetryStore

RECOMMENDATIONS_TABLE = "quality_recommendations"
PREDICTIONS_TABLE = "quality_predictions"
HOLDOUT_SHARE = 0.3


class QualityScenario(KeptEvidenceScenario):
    """Defect classification (``fit``/``predict``) and, on the plant, a defect model per machine."""

    card: ClassVar[ScenarioCard] = ScenarioCard.named("quality")

    def __init__(self, plant: Plant | None = None, seed: int = 0, quick: bool = False) -> None:
        self.plant = plant
        self.seed = seed
        self.quick = quick
        self.model: Any = None
        self.feature_names: list[str] = []
        self._evidence: dict[str, float] = {}

    # --- on tables ----------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any) -> QualityScenario:
        """Fit the defect classifier on numeric features ``X`` and class labels ``y``."""
        frame = numeric_frame(X, "quality features")
        target = labels(y, len(frame), "quality labels", min_per_class=2)
        clock = time.perf_counter()
        self.model = defect_classifier(self.seed, self.quick).fit(frame, target)
        self.feature_names = list(frame.columns)
        self._evidence = {
            "samples": float(len(frame)),
            "classes": float(len(np.unique(target))),
            "train_s": time.perf_counter() - clock,
        }
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The predicted class of each row."""
        return np.asarray(self._fitted().predict(self._columns(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities of each row (columns in ``classes_`` order)."""
        return np.asarray(self._fitted().predict_proba(self._columns(X)))

    def _fitted(self) -> Any:
        if self.model is None:
            raise UserError("the quality model is not fitted; call fit first")
        return self.model

    def _columns(self, X: pd.DataFrame) -> pd.DataFrame:
        frame = numeric_frame(X, "quality features")
        missing = [c for c in self.feature_names if c not in frame.columns]
        if missing:
            raise UserError(f"quality features: missing column(s) {', '.join(missing)}")
        return frame[self.feature_names]

    # --- on the plant -------------------------------------------------------------------

    def run_on_plant(self, store_folder: Path) -> PlantRun:
        """Per machine: defect model, held-out AUC, recommended window; stored in two tables."""
        from smartfactory.scenarios.persist import save_model

        store_folder = Path(store_folder)
        plant = plant_of(store_folder, self.plant)
        candidates = quality_equipment(plant)
        if not candidates:
            raise UserError(f"plant {plant.plant.id!r} has no networked equipment with process parameters")
        store = TelemetryStore.open(store_folder, mode="write")
        try:
            machines: list[tuple[Cycles, Any, Recommendation, float]] = []
            skipped: dict[str, str] = {}
            precision: dict[str, list[float]] = {}
            for equipment in candidates:
                cycles = read_cycles(store, plant, equipment)
                characteristic = equipment.quality.characteristic if equipment.quality else None
                if characteristic is not None and len(cycles.frame):
                    precision.setdefault(characteristic.signal, []).extend(
                        _within_tolerance(
                            plant,
                            cycles,
                            characteristic.signal,
                            characteristic.target_key,
                            characteristic.tolerance,
                        )
                    )
                try:
                    check_trainable(cycles)
                except UserError as exc:
                    skipped[equipment.id] = str(exc)
                    continue
                auc = _holdout_auc(cycles)
                model = fit_defect_model(cycles)
                machines.append((cycles, model, recommend(model, cycles, seed=self.seed), auc))
            if not machines:
                raise UserError("no machine has enough cycles to learn from: " + "; ".join(skipped.values()))
            now = datetime.now(UTC).replace(tzinfo=None)
            replace_table(store, RECOMMENDATIONS_TABLE, _recommendation_rows(machines, now), {})
            for cycles, model, _rec, _auc in machines:
                replace_table(
                    store, PREDICTIONS_TABLE, _prediction_rows(cycles, model), {"equipment": cycles.equipment}
                )
        finally:
            store.close()
        models = store_folder / "models"
        for cycles, model, rec, auc in machines:
            save_model(
                model,
                models / f"quality_{cycles.equipment}",
                scenario="quality",
                feature_names=cycles.features,
                metrics={"holdout_auc": auc},
                extra={"recommendation": asdict(rec)},
            )
        metrics = _plant_metrics(machines, precision)
        self._evidence = metrics
        return PlantRun(
            metrics=metrics,
            artefacts={
                "tables": [RECOMMENDATIONS_TABLE, PREDICTIONS_TABLE],
                "models": str(models),
                "recommendations": [asdict(m[2]) for m in machines],
                "skipped": skipped,
            },
            official_scenario="quality_analysis_improvement",
            notes=f"{len(machines)} machine(s) modelled, {len(skipped)} skipped",
        )

    # --- on the public benchmark ------------------------------------------------------------

    def benchmark(self, data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
        """Steel Plates Faults, stratified 10-fold CV, beside LightGBM defaults in the same run."""
        return steel_benchmark.run(Path(data_dir), quick)


def _holdout_auc(cycles: Cycles) -> float:
    """ROC-AUC of a model fitted on the first 70 % of cycles, scored on the last 30 % (NaN if one class)."""
    from sklearn.metrics import roc_auc_score

    frame = cycles.frame
    cut = int(len(frame) * (1 - HOLDOUT_SHARE))
    train, test = frame.iloc[:cut], frame.iloc[cut:]
    if train["defect"].nunique() < 2 or test["defect"].nunique() < 2:
        return float("nan")
    model = response_surface()
    model.fit(train[cycles.features], train["defect"])  # type: ignore[attr-defined]
    score = model.predict_proba(test[cycles.features])[:, 1]  # type: ignore[attr-defined]
    return float(roc_auc_score(test["defect"], score))


def _within_tolerance(plant: Plant, cycles: Cycles, signal: str, key: str, tolerance: float) -> list[float]:
    targets = {p.id: p.targets.get(key) for p in plant.products}
    frame = cycles.frame.dropna(subset=[signal])
    target = frame["product"].map(targets).astype(float)
    inside = (frame[signal] - target).abs() <= tolerance
    return [float(v) for v in inside[target.notna()]]


def _recommendation_rows(
    machines: list[tuple[Cycles, Any, Recommendation, float]], now: datetime
) -> pa.Table:
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "created",
            "equipment",
            "signal",
            "current_setpoint",
            "recommended_setpoint",
            "window_low",
            "window_high",
            "defect_rate_observed",
            "defect_rate_predicted_now",
            "defect_rate_predicted",
            "holdout_auc",
        )
    }
    for _cycles, _model, rec, auc in machines:
        for w in rec.parameters:
            values = (
                now,
                rec.equipment,
                w.signal,
                w.current,
                w.recommended,
                w.low,
                w.high,
                rec.observed_now,
                rec.predicted_now,
                rec.predicted_recommended,
                auc,
            )
            for key, value in zip(rows, values, strict=True):
                rows[key].append(value)
    return pa.table({k: pa.array(v, pa.timestamp("us") if k == "created" else None) for k, v in rows.items()})


def _prediction_rows(cycles: Cycles, model: Any) -> pa.Table:
    frame = cycles.frame
    proba = model.predict_proba(frame[cycles.features])[:, 1]
    return pa.table(
        {
            "ts": pa.array(frame["ts"].to_numpy(dtype="datetime64[us]"), pa.timestamp("us")),
            "equipment": pa.array([cycles.equipment] * len(frame), pa.string()),
            "defect_probability": pa.array(proba.astype(np.float64), pa.float64()),
            "defect": pa.array(frame["defect"].to_numpy(dtype=np.int32), pa.int32()),
        }
    )


def _plant_metrics(
    machines: list[tuple[Cycles, Any, Recommendation, float]], precision: dict[str, list[float]]
) -> dict[str, float]:
    weights = np.array([len(m[0].frame) for m in machines], dtype=float)
    observed = np.array([m[2].observed_now for m in machines])
    predicted = np.array([m[2].predicted_recommended for m in machines])
    aucs = np.array([m[3] for m in machines])
    metrics = {
        "machines_modelled": float(len(machines)),
        "cycles": float(weights.sum()),
        "defect_rate_observed": float(np.average(observed, weights=weights)),
        "defect_rate_predicted_recommended": float(np.average(predicted, weights=weights)),
    }
    if np.isfinite(aucs).any():
        metrics["holdout_auc_mean"] = float(np.nanmean(aucs))
    for signal, inside in precision.items():
        if inside:
            metrics[f"{signal}_precision"] = float(np.mean(inside))
    return metrics
