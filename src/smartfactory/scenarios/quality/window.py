"""Defect risk from process parameters and the process window that keeps it lowest.

The defect model is a response surface: logistic regression on the standardised parameters and
tool wear with their squares and pairwise products (the classic design-of-experiments model,
which can find an optimum inside the data). The recommendation searches setpoints only inside
the range the plant has actually run (the 2.5–97.5 % quantiles of each parameter), because a
model says nothing reliable where it has no data; each cycle's parameter still scatters around
its setpoint as it does now (the observed spread), and wear runs through its observed values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError
from smartfactory.model.plant import Plant
from smartfactory.scenarios.quality.cycles import WEAR, Cycles

MIN_CYCLES = 200
MIN_DEFECTS = 10
GRID = 21
PASSES = 3


def response_surface() -> object:
    """An unfitted quadratic logistic model; its L2 strength is chosen by inner 5-fold log-loss."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    return make_pipeline(
        StandardScaler(),
        PolynomialFeatures(degree=2, include_bias=False),
        StandardScaler(),
        LogisticRegressionCV(
            Cs=np.logspace(-3, 1, 9),
            cv=5,
            scoring="neg_log_loss",
            max_iter=2000,
            l1_ratios=(0.0,),
            use_legacy_attributes=False,
        ),
    )


@dataclass(frozen=True)
class ParameterWindow:
    """One parameter's current and recommended setpoint and the window around it."""

    signal: str
    current: float
    recommended: float
    spread: float  # the observed standard deviation of the parameter around its setpoint
    low: float
    high: float


@dataclass(frozen=True)
class Recommendation:
    """The recommended window of one machine and the defect rates the model expects."""

    equipment: str
    parameters: list[ParameterWindow]
    predicted_now: float
    predicted_recommended: float
    observed_now: float


def check_trainable(cycles: Cycles) -> None:
    """A UserError when a machine has too few cycles or defects to learn from."""
    n, defects = len(cycles.frame), int(cycles.frame["defect"].sum())
    if n < MIN_CYCLES or defects < MIN_DEFECTS or defects == n:
        raise UserError(
            f"{cycles.equipment}: too few samples to train: {n} cycles with {defects} defects "
            f"(need ≥ {MIN_CYCLES} cycles and ≥ {MIN_DEFECTS} defects and some good ones)"
        )


def fit_defect_model(cycles: Cycles) -> object:
    """The response-surface defect model fitted on all of a machine's cycles."""
    check_trainable(cycles)
    model = response_surface()
    model.fit(cycles.frame[cycles.features], cycles.frame["defect"])  # type: ignore[attr-defined]
    return model


def expected_rate(
    model: object, setpoints: np.ndarray, scatter: np.ndarray, wear: np.ndarray, columns: list[str]
) -> np.ndarray:
    """Mean predicted defect probability for each row of ``setpoints`` (candidates × parameters)."""
    n, k = setpoints.shape
    m = len(wear)
    values = setpoints[:, None, :] + scatter[None, :, :]
    grid = np.concatenate([values.reshape(n * m, k), np.tile(wear, n)[:, None]], axis=1)
    proba = model.predict_proba(pd.DataFrame(grid, columns=columns))[:, 1]  # type: ignore[attr-defined]
    return np.asarray(proba.reshape(n, m).mean(axis=1))


def recommend(model: object, cycles: Cycles, samples: int = 256, seed: int = 0) -> Recommendation:
    """The setpoints inside the observed range that minimise the expected defect rate."""
    frame = cycles.frame
    params = cycles.parameters
    rng = np.random.default_rng(seed)
    values = frame[params].to_numpy(dtype=np.float64)
    current = values.mean(axis=0)
    spread = values.std(axis=0)
    low, high = np.quantile(values, [0.025, 0.975], axis=0)
    pick = rng.integers(0, len(frame), size=samples)
    # each sampled cycle keeps its own deviation from the mean and its own wear
    scatter = values[pick] - current
    wear = frame[WEAR].to_numpy(dtype=np.float64)[pick]
    columns = cycles.features
    best = current.copy()
    best_rate = float(expected_rate(model, best[None, :], scatter, wear, columns)[0])
    now_rate = best_rate
    # coordinate search: each parameter over its observed range, the others held, a few passes
    for _ in range(PASSES):
        improved = False
        for j in range(len(params)):
            candidates = np.repeat(best[None, :], GRID, axis=0)
            candidates[:, j] = np.linspace(low[j], high[j], GRID)
            rates = expected_rate(model, candidates, scatter, wear, columns)
            i = int(np.argmin(rates))
            if rates[i] < best_rate - 1e-9:
                best, best_rate, improved = candidates[i].copy(), float(rates[i]), True
        if not improved:
            break
    windows = [
        ParameterWindow(
            signal=p,
            current=float(current[j]),
            recommended=float(best[j]),
            spread=float(spread[j]),
            low=float(best[j] - 2 * spread[j]),
            high=float(best[j] + 2 * spread[j]),
        )
        for j, p in enumerate(params)
    ]
    return Recommendation(
        equipment=cycles.equipment,
        parameters=windows,
        predicted_now=now_rate,
        predicted_recommended=best_rate,
        observed_now=float(frame["defect"].mean()),
    )


def apply_recommendations(plant: Plant, recommendations: list[Recommendation]) -> Plant:
    """A copy of ``plant`` whose machines run at the recommended setpoints (for a what-if run)."""
    by_equipment = {r.equipment: {w.signal: w.recommended for w in r.parameters} for r in recommendations}
    document = plant.model_dump(by_alias=True)
    for equipment in document["equipment"]:
        new = by_equipment.get(equipment["id"])
        if not new or equipment.get("quality") is None:
            continue
        for parameter in equipment["quality"]["parameters"]:
            if parameter["signal"] in new:
                parameter["setpoint"] = new[parameter["signal"]]
    return Plant.model_validate(document)
