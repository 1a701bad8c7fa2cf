"""The maintenance scenario: failure prediction, remaining useful life and predictive alarms."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa

from smartfactory.model.errors import UserError
from smartfactory.model.events import EventType
from smartfactory.model.plant import Plant
from smartfactory.scenarios.base import BenchmarkRow, KeptEvidenceScenario, PlantRun, ScenarioCard
from smartfactory.scenarios.maintenance import benchmark as public_benchmark
from smartfactory.scenarios.maintenance.classifier import FailureClassifier
from smartfactory.scenarios.maintenance.risk import ALARM_CODE, RiskSettings, alarm_events, assess_risk
from smartfactory.scenarios.plant_store import plant_of, replace_table
from smartfactory.store import TelemetryStore

RISK_TABLE = "maintenance_risk"


class MaintenanceScenario(KeptEvidenceScenario):
    """Failure classification (``fit``/``predict``) and predictive alarms on the plant's signals."""

    card: ClassVar[ScenarioCard] = ScenarioCard.named("maintenance")

    def __init__(
        self, plant: Plant | None = None, settings: RiskSettings | None = None, seed: int = 0
    ) -> None:
        self.plant = plant
        self.settings = settings or RiskSettings(seed=seed)
        self.seed = seed
        self.classifier: FailureClassifier | None = None
        self._evidence: dict[str, float] = {}

    # --- on tables ----------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any) -> MaintenanceScenario:
        """Fit the failure classifier; failure-mode columns in ``X`` are refused as leaks."""
        clock = time.perf_counter()
        self.classifier = FailureClassifier(self.seed).fit(X, y)
        self._evidence = {
            "samples": float(len(X)),
            "failures": float(np.sum(np.asarray(y) == 1)),
            "threshold": self.classifier.threshold,
            "train_s": time.perf_counter() - clock,
        }
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where a failure is predicted."""
        return self._fitted().predict(X)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Failure probability per row."""
        return self._fitted().predict_proba(X)

    def _fitted(self) -> FailureClassifier:
        if self.classifier is None:
            raise UserError("the maintenance model is not fitted; call fit first")
        return self.classifier

    # --- on the plant -------------------------------------------------------------------

    def run_on_plant(self, store_folder: Path) -> PlantRun:
        """Learn failure risk, raise PDM_RISK alarms out of sample, score them against breakdowns."""
        store_folder = Path(store_folder)
        plant = plant_of(store_folder, self.plant)
        store = TelemetryStore.open(store_folder, mode="write")
        try:
            result = assess_risk(store, plant, self.settings)
            hourly = result.hourly
            first = hourly["hour"].min().to_pydatetime() if len(hourly) else datetime(1970, 1, 1)
            # a rerun replaces the alarms and risks an earlier run wrote over the same period
            store.connection.execute(
                "DELETE FROM alarms WHERE code = $code AND ts >= $t", {"code": ALARM_CODE, "t": first}
            )
            written = store.write(EventType.alarms, alarm_events(result.alarms)) if len(result.alarms) else 0
            risk = pa.table(
                {
                    "hour": pa.array(hourly["hour"].to_numpy(dtype="datetime64[us]"), pa.timestamp("us")),
                    "equipment": pa.array(hourly["equipment"].astype(str).tolist(), pa.string()),
                    "risk": pa.array(hourly["risk"].to_numpy(dtype=np.float64), pa.float64()),
                    "breakdown_within_horizon": pa.array(
                        hourly["label"].to_numpy(dtype=np.int32), pa.int32()
                    ),
                }
            )
            replace_table(store, RISK_TABLE, risk, {}, from_time=("hour", first))
        finally:
            store.close()
        self._evidence = dict(result.metrics)
        return PlantRun(
            metrics=dict(result.metrics),
            artefacts={"alarm_code": ALARM_CODE, "alarms_written": written, "tables": [RISK_TABLE, "alarms"]},
            official_scenario="equipment_fault_prediction",
            notes=(
                f"alarms on the last {1 - self.settings.train_share:.0%} of the period; "
                f"horizon {self.settings.horizon_h:g} h"
            ),
        )

    # --- on the public benchmarks -------------------------------------------------------------

    def benchmark(self, data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
        """AI4I 2020 (5-fold CV, process variables only) and C-MAPSS FD001 RUL (standard test set)."""
        return public_benchmark.run(Path(data_dir), quick)
