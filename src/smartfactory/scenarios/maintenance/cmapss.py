"""NASA C-MAPSS FD001: remaining useful life of turbofan engines from their sensor histories.

Protocol: train on the 100 run-to-failure engines of ``train_FD001``; predict the RUL at the last
cycle of each of the 100 truncated engines of ``test_FD001`` and compare with ``RUL_FD001``
(RMSE and the asymmetric PHM08 score). The training target is capped at 125 cycles (the usual
piecewise-linear RUL). Sensors are standardised with the *training* means and deviations only;
each cycle's features use that engine's past cycles only (exponential smoothing, rolling means
over 10 and 30 cycles, the 30-cycle slope), so nothing of the test set reaches training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError
from smartfactory.scenarios.tabular import require_file

FOLDER = Path("cmapss_fd001")
COLUMNS = ["unit", "cycle", "setting_1", "setting_2", "setting_3"] + [f"sensor_{i}" for i in range(1, 22)]
# the sensors that change over an engine's life in FD001 (the others are constant)
SENSORS = [f"sensor_{i}" for i in (2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21)]
CAP = 125.0
WINDOW = 30


def load(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Training histories (with ``rul``), test histories and the true RUL of each test engine."""
    folder = data_dir / FOLDER
    train = _read(require_file(folder / "train_FD001.txt", "C-MAPSS FD001 training file"))
    test = _read(require_file(folder / "test_FD001.txt", "C-MAPSS FD001 test file"))
    truth = np.loadtxt(require_file(folder / "RUL_FD001.txt", "C-MAPSS FD001 RUL file"))
    if len(truth) != test["unit"].nunique():
        raise UserError(f"RUL_FD001 has {len(truth)} values for {test['unit'].nunique()} test engines")
    train["rul"] = train.groupby("unit")["cycle"].transform("max") - train["cycle"]
    return train, test, truth


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, sep=r"\s+", header=None)
    if frame.shape[1] != len(COLUMNS):
        raise UserError(
            f"{path}: {frame.shape[1]} columns, expected {len(COLUMNS)} (unit, cycle, 3 settings, 21 sensors)"
        )
    frame.columns = COLUMNS
    return frame


def features(history: pd.DataFrame, mean: pd.Series, std: pd.Series) -> pd.DataFrame:
    """Per cycle: smoothed, rolling and slope features of each sensor from the engine's past."""
    z = (history[SENSORS] - mean) / std.replace(0, 1)
    z["unit"] = history["unit"].to_numpy()
    groups = z.groupby("unit")[SENSORS]
    parts = [
        groups.transform(lambda s: s.ewm(alpha=0.1).mean()).add_suffix("_ewm"),
        groups.transform(lambda s: s.rolling(WINDOW, min_periods=1).mean()).add_suffix("_mean30"),
        groups.transform(lambda s: s.rolling(10, min_periods=1).mean()).add_suffix("_mean10"),
        groups.transform(_slope).add_suffix("_slope30"),
    ]
    out = pd.concat(parts, axis=1)
    out["cycle"] = history["cycle"].to_numpy(dtype=float)
    return out


def _slope(series: pd.Series) -> pd.Series:
    """Least-squares slope over the last ``WINDOW`` values (0 with fewer than 3)."""
    values = series.to_numpy(dtype=float)
    n = len(values)
    out = np.zeros(n)
    # running sums give every window's slope without a Python loop per cycle
    t = np.arange(n, dtype=float)
    cs = np.concatenate([[0.0], np.cumsum(values)])
    cts = np.concatenate([[0.0], np.cumsum(t * values)])
    ct = np.concatenate([[0.0], np.cumsum(t)])
    ct2 = np.concatenate([[0.0], np.cumsum(t * t)])
    hi = np.arange(1, n + 1)
    lo = np.maximum(0, hi - WINDOW)
    k = (hi - lo).astype(float)
    sy, sty, st, st2 = cs[hi] - cs[lo], cts[hi] - cts[lo], ct[hi] - ct[lo], ct2[hi] - ct2[lo]
    denominator = k * st2 - st * st
    ok = k >= 3
    out[ok] = (k[ok] * sty[ok] - st[ok] * sy[ok]) / denominator[ok]
    return pd.Series(out, index=series.index)


def rul_model(seed: int = 0, quick: bool = False) -> Any:
    """The unfitted RUL regressor: LightGBM, shallow trees, row and column subsampling."""
    from lightgbm import LGBMRegressor

    return LGBMRegressor(
        n_estimators=150 if quick else 600,
        learning_rate=0.05 if quick else 0.02,
        num_leaves=15,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.5,
        random_state=seed,
        n_jobs=1,
        verbose=-1,
    )


def phm08_score(predicted: np.ndarray, truth: np.ndarray) -> float:
    """The PHM08 score: late predictions (d > 0) cost exp(d/10) - 1, early ones exp(-d/13) - 1."""
    d = predicted - truth
    return float(np.where(d < 0, np.exp(-d / 13.0) - 1, np.exp(d / 10.0) - 1).sum())


def rmse(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


class RulEstimator:
    """Fit on run-to-failure histories, predict the RUL at each engine's last observed cycle."""

    def __init__(self, seed: int = 0, quick: bool = False) -> None:
        self.seed = seed
        self.quick = quick
        self.model: Any = None
        self.mean: pd.Series | None = None
        self.std: pd.Series | None = None

    def fit(self, train: pd.DataFrame) -> RulEstimator:
        """Learn from histories with a ``rul`` column (capped at ``CAP``)."""
        if "rul" not in train.columns:
            raise UserError("RUL training data needs a rul column (cycles left until failure)")
        self.mean, self.std = train[SENSORS].mean(), train[SENSORS].std()
        X = features(train, self.mean, self.std)
        self.model = rul_model(self.seed, self.quick).fit(X, np.minimum(train["rul"].to_numpy(float), CAP))
        return self

    def predict_last(self, histories: pd.DataFrame) -> np.ndarray:
        """The predicted RUL at the last cycle of each unit, in unit order."""
        if self.model is None or self.mean is None or self.std is None:
            raise UserError("the RUL model is not fitted; call fit first")
        X = features(histories, self.mean, self.std)
        X["unit"] = histories["unit"].to_numpy()
        last = X.groupby("unit").tail(1).drop(columns="unit")
        return np.asarray(np.clip(self.model.predict(last), 0.0, CAP))
