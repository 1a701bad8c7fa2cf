"""NASA C-MAPSS FD001: remaining useful life of turbofan engines from their sensor histories.

Protocol: train on the 100 run-to-failure engines of ``train_FD001``; predict the RUL at the last
cycle of each of the 100 truncated engines of ``test_FD001`` and compare with ``RUL_FD001``
(RMSE and the asymmetric PHM08 score). The training target is capped at ``CAP`` cycles (the usual
piecewise-linear RUL). Sensors are standardised with the *training* means and deviations only;
each cycle's features use that engine's past cycles only, so nothing of the test set reaches
training, and a truncated history gives the same features as the full one at that cycle (tested).

Every modelling choice (features, cap, number of seeds) was made with :func:`validate`, which reads
the training engines alone: grouped K-fold by engine, each validation engine cut at random cycles
the way the test engines are, scored at the cut. The test files are read only by :func:`load` for
the final evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError
from smartfactory.scenarios.tabular import lightgbm_model, require_file

FOLDER = Path("cmapss_fd001")
COLUMNS = ["unit", "cycle", "setting_1", "setting_2", "setting_3"] + [f"sensor_{i}" for i in range(1, 22)]
# the sensors that change over an engine's life in FD001 (the others are constant)
SENSORS = [f"sensor_{i}" for i in (2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21)]
CAP = 130.0
WINDOW = 30
EWM_ALPHA = 0.1
MEAN_WINDOWS = (10, 30)
# least-squares slopes over the last 30, 60, 120 and 240 cycles (the longest is, for most
# engines, the slope over the whole history so far): the degradation trend with less noise
SLOPE_WINDOWS = (30, 60, 120, 240)
# each engine's own level over its first cycles (initial wear and manufacturing variation,
# which the data set's readme says differ from engine to engine); features subtract it
BASELINE_CYCLES = 30
SEEDS = 5


def load(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Training histories (with ``rul``), test histories and the true RUL of each test engine."""
    folder = data_dir / FOLDER
    train = load_training(data_dir)
    test = _read(require_file(folder / "test_FD001.txt", "C-MAPSS FD001 test file"))
    truth = np.loadtxt(require_file(folder / "RUL_FD001.txt", "C-MAPSS FD001 RUL file"))
    if len(truth) != test["unit"].nunique():
        raise UserError(f"RUL_FD001 has {len(truth)} values for {test['unit'].nunique()} test engines")
    return train, test, truth


def load_training(data_dir: Path) -> pd.DataFrame:
    """The training histories with ``rul`` (cycles left); the test files are not read."""
    train = _read(require_file(data_dir / FOLDER / "train_FD001.txt", "C-MAPSS FD001 training file"))
    train["rul"] = train.groupby("unit")["cycle"].transform("max") - train["cycle"]
    return train


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=r"\s+", header=None)
    if frame.shape[1] != len(COLUMNS):
        raise UserError(
            f"{path}: {frame.shape[1]} columns, expected {len(COLUMNS)} (unit, cycle, 3 settings, 21 sensors)"
        )
    frame.columns = COLUMNS
    return frame


def feature_names() -> list[str]:
    """The feature columns, in order."""
    names = []
    for s in SENSORS:
        names += [f"{s}_ewm", *(f"{s}_mean{w}" for w in MEAN_WINDOWS)]
        names += [f"{s}_slope{w}" for w in SLOPE_WINDOWS]
        names.append(f"{s}_delta")
    return [*names, "cycle"]


def features(history: pd.DataFrame, mean: pd.Series, std: pd.Series) -> pd.DataFrame:
    """Per cycle, from the engine's past only: for each sensor the exponentially smoothed level,
    rolling means, rolling slopes, and the smoothed level minus the engine's early-life level."""
    z = ((history[SENSORS] - mean) / std.replace(0, 1)).to_numpy(dtype=float)
    cycle = history["cycle"].to_numpy(dtype=float)
    names = feature_names()
    out = np.empty((len(history), len(names)))
    per_sensor = 2 + len(MEAN_WINDOWS) + len(SLOPE_WINDOWS)
    for rows in history.groupby("unit", sort=False).indices.values():
        rows = rows[np.argsort(cycle[rows], kind="stable")]
        block = np.empty((len(rows), len(names)))
        for j in range(len(SENSORS)):
            values = z[rows, j]
            series = pd.Series(values)
            smooth = series.ewm(alpha=EWM_ALPHA).mean().to_numpy()
            columns = [smooth, *(series.rolling(w, min_periods=1).mean().to_numpy() for w in MEAN_WINDOWS)]
            columns += [_slope_values(values, w) for w in SLOPE_WINDOWS]
            columns.append(smooth - _baseline(values))
            block[:, j * per_sensor : (j + 1) * per_sensor] = np.column_stack(columns)
        block[:, -1] = cycle[rows]
        out[rows] = block
    return pd.DataFrame(out, columns=names, index=history.index)


def _baseline(values: np.ndarray) -> np.ndarray:
    """The mean of the first ``BASELINE_CYCLES`` values, from the past only (a running mean before)."""
    running = np.cumsum(values) / np.arange(1, len(values) + 1)
    if len(values) > BASELINE_CYCLES:
        running[BASELINE_CYCLES:] = running[BASELINE_CYCLES - 1]
    return running


def _slope(series: pd.Series, window: int = WINDOW) -> pd.Series:
    """Least-squares slope over the last ``window`` values (0 with fewer than 3)."""
    return pd.Series(_slope_values(series.to_numpy(dtype=float), window), index=series.index)


def _slope_values(values: np.ndarray, window: int) -> np.ndarray:
    n = len(values)
    out = np.zeros(n)
    # running sums give every window's slope without a Python loop per cycle
    t = np.arange(n, dtype=float)
    cs = np.concatenate([[0.0], np.cumsum(values)])
    cts = np.concatenate([[0.0], np.cumsum(t * values)])
    ct = np.concatenate([[0.0], np.cumsum(t)])
    ct2 = np.concatenate([[0.0], np.cumsum(t * t)])
    hi = np.arange(1, n + 1)
    lo = np.maximum(0, hi - window)
    k = (hi - lo).astype(float)
    sy, sty, st, st2 = cs[hi] - cs[lo], cts[hi] - cts[lo], ct[hi] - ct[lo], ct2[hi] - ct2[lo]
    denominator = k * st2 - st * st
    ok = k >= 3
    out[ok] = (k[ok] * sty[ok] - st[ok] * sy[ok]) / denominator[ok]
    return out


def rul_model(seed: int = 0, quick: bool = False) -> Any:
    """The unfitted RUL regressor: LightGBM, shallow trees, row and column subsampling."""
    return lightgbm_model(
        seed,
        regressor=True,
        n_estimators=150 if quick else 600,
        learning_rate=0.05 if quick else 0.02,
        num_leaves=15,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.5,
    )


def phm08_score(predicted: np.ndarray, truth: np.ndarray) -> float:
    """The PHM08 score: late predictions (d > 0) cost exp(d/10) - 1, early ones exp(-d/13) - 1."""
    d = predicted - truth
    return float(np.where(d < 0, np.exp(-d / 13.0) - 1, np.exp(d / 10.0) - 1).sum())


def rmse(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


class RulEstimator:
    """Fit on run-to-failure histories, predict the RUL at each engine's last observed cycle.

    The prediction is the mean of ``seeds`` LightGBM models that differ only in their random seed
    (row and column subsampling), which steadies it."""

    def __init__(
        self, seed: int = 0, quick: bool = False, seeds: int | None = None, cap: float = CAP
    ) -> None:
        self.seed = seed
        self.quick = quick
        self.seeds = seeds if seeds is not None else (1 if quick else SEEDS)
        self.cap = cap
        self.models: list[Any] = []
        self.mean: pd.Series | None = None
        self.std: pd.Series | None = None

    def fit(self, train: pd.DataFrame) -> RulEstimator:
        """Learn from histories with a ``rul`` column (capped at ``cap``)."""
        if "rul" not in train.columns:
            raise UserError("RUL training data needs a rul column (cycles left until failure)")
        self.mean, self.std = train[SENSORS].mean(), train[SENSORS].std()
        X = features(train, self.mean, self.std)
        y = np.minimum(train["rul"].to_numpy(float), self.cap)
        self.models = [rul_model(self.seed + k, self.quick).fit(X, y) for k in range(self.seeds)]
        return self

    def predict_last(self, histories: pd.DataFrame) -> np.ndarray:
        """The predicted RUL at the last cycle of each unit, in unit order."""
        if not self.models or self.mean is None or self.std is None:
            raise UserError("the RUL model is not fitted; call fit first")
        X = features(histories, self.mean, self.std)
        X["unit"] = histories["unit"].to_numpy()
        X["_cycle"] = histories["cycle"].to_numpy()
        last = X.sort_values(["unit", "_cycle"], kind="stable").groupby("unit").tail(1)
        last = last.drop(columns=["unit", "_cycle"])
        predicted = np.mean([m.predict(last) for m in self.models], axis=0)
        return np.asarray(np.clip(predicted, 0.0, self.cap))


def truncate(
    train: pd.DataFrame, units: np.ndarray, cuts: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray]:
    """``cuts`` truncated copies of each engine in ``units``, as the test engines are: each keeps its
    first cycles and loses the last 5 to 150 (at least 10 kept). Returns the histories (one new
    unit number per copy) and the true RUL at each copy's last cycle."""
    parts, truth = [], []
    new_unit = 0
    for u in units:
        engine = train[train["unit"] == u].sort_values("cycle")
        life = len(engine)
        kept = rng.integers(max(10, life - 150), life - 5 + 1, size=cuts)
        for k in kept:
            new_unit += 1
            parts.append(engine.iloc[:k].assign(unit=new_unit))
            truth.append(float(engine["rul"].iloc[k - 1]))
    return pd.concat(parts, ignore_index=True), np.asarray(truth)


def validate(
    train: pd.DataFrame,
    make: Callable[[], RulEstimator],
    folds: int = 5,
    cuts: int = 10,
    repeats: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    """The training-only validation every choice was made with.

    ``repeats`` times: the engines are shuffled into ``folds`` groups; a model from ``make`` is
    fitted on the other groups' full histories and predicts each validation engine cut at ``cuts``
    random cycles (:func:`truncate`). Returns the pooled RMSE, the PHM08 score per 100 engines
    and the RMSE of each fold."""
    errors: list[np.ndarray] = []
    engines = np.unique(train["unit"].to_numpy())
    if len(engines) < folds:
        raise UserError(f"validation needs at least {folds} engines, got {len(engines)}")
    for repeat in range(repeats):
        order = np.random.default_rng(seed + 100 + repeat).permutation(engines)
        cut_rng = np.random.default_rng(seed + repeat)
        for k in range(folds):
            held = order[k::folds]
            model = make().fit(train[~train["unit"].isin(held)])
            histories, truth = truncate(train, np.sort(held), cuts, cut_rng)
            errors.append(model.predict_last(histories) - truth)
    d = np.concatenate(errors)
    return {
        "rmse": float(np.sqrt(np.mean(d**2))),
        "phm08_per_100": 100.0 * phm08_score(d, np.zeros_like(d)) / len(d),
        "fold_rmse": [float(np.sqrt(np.mean(e**2))) for e in errors],
        "predictions": len(d),
    }
