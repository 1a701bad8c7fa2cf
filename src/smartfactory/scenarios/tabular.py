"""Shared helpers of the tabular learning scenarios: input checks, out-of-fold scores, metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError

ModelFactory = Callable[[], Any]


def lightgbm_model(seed: int, *, regressor: bool = False, n_jobs: int = 1, **settings: Any) -> Any:
    """An unfitted, quiet LightGBM classifier (or regressor) with ``settings``; imported when asked for.

    One thread unless told otherwise: LightGBM's OpenMP threads spin on a small, busy machine (one
    300-tree fit on Steel Plates took 75 s with 2 threads and 3 s with 1 on a shared 2-core machine).
    """
    import lightgbm

    model = lightgbm.LGBMRegressor if regressor else lightgbm.LGBMClassifier
    return model(**settings, random_state=seed, n_jobs=n_jobs, verbose=-1)


def require_file(path: Path, what: str) -> Path:
    """``path`` if it exists, else a UserError naming the data set."""
    if not path.exists():
        raise UserError(f"{what} not found at {path}; pass the shared data folder (e.g. ../shared/data)")
    return path


def require_columns(frame: pd.DataFrame, columns: Sequence[str], source: str) -> None:
    """A UserError listing the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(str(c) for c in frame.columns)
        raise UserError(f"{source}: missing column(s) {', '.join(missing)}; it has {have}")


def numeric_frame(X: Any, source: str) -> pd.DataFrame:
    """``X`` as a float DataFrame; a UserError naming the columns that are not numbers."""
    frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
    frame.columns = [str(c) for c in frame.columns]
    bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise UserError(f"{source}: column(s) {', '.join(bad)} are not numeric")
    return frame.astype(np.float64)


def labels(y: Any, n_rows: int, source: str, min_per_class: int) -> np.ndarray:
    """``y`` as an array of class labels, checked for length and for enough samples per class."""
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n_rows:
        raise UserError(f"{source}: {len(arr)} labels for {n_rows} rows")
    values, counts = np.unique(arr, return_counts=True)
    if len(values) < 2:
        raise UserError(f"{source}: the labels hold one class only ({values.tolist()}); need at least two")
    if counts.min() < min_per_class:
        rare = values[counts.argmin()]
        raise UserError(
            f"{source}: too few samples to train: class {rare!r} has {counts.min()}, "
            f"need at least {min_per_class}"
        )
    return arr


def out_of_fold(make: ModelFactory, X: pd.DataFrame, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold class probabilities of fresh models from ``make`` (stratified ``folds``-fold)."""
    from sklearn.model_selection import StratifiedKFold

    n_classes = len(np.unique(y))
    out = np.zeros((len(y), n_classes))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
        model = make()
        model.fit(X.iloc[train], y[train])
        out[test] = model.predict_proba(X.iloc[test])
    return out


def best_f1_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The decision threshold on ``score`` that maximises F1 of the positive class on (y, score).

    Of all thresholds with that F1 (everything between the lowest alarmed score and the highest
    score below it), the one halfway between them: the threshold at the lowest alarmed score
    itself misses every new row that scores a hair below it, which is where the rows just across
    a sharp failure limit land. Halfway in log-odds for probabilities, where boosted models crowd
    their scores near 0 and 1; halfway on the scale itself for any other score.
    """
    from sklearn.metrics import precision_recall_curve

    score = np.asarray(score, dtype=float)
    precision, recall, thresholds = precision_recall_curve(y, score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    # the curve has one more point than thresholds (recall 0 at the end)
    lowest_alarmed = float(thresholds[int(np.argmax(f1[:-1]))])
    below = score[score < lowest_alarmed]
    if len(below) == 0:
        return lowest_alarmed
    highest_quiet = float(below.max())
    if score.min() < 0.0 or score.max() > 1.0:
        return (lowest_alarmed + highest_quiet) / 2
    tiny = 1e-15  # keeps the log-odds finite at scores of exactly 0 or 1
    a, b = (min(max(v, tiny), 1 - tiny) for v in (lowest_alarmed, highest_quiet))
    middle = (math.log(a / (1 - a)) + math.log(b / (1 - b))) / 2
    threshold = 1 / (1 + math.exp(-middle))
    # rounding at the extremes must not move it out of (highest_quiet, lowest_alarmed]
    return min(max(threshold, float(np.nextafter(highest_quiet, 1.0))), lowest_alarmed)


def binary_metrics(y: np.ndarray, score: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """F1, precision, recall of ``predicted`` and PR-AUC (average precision) of ``score``."""
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    return {
        "f1": float(f1_score(y, predicted, zero_division=0)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted, zero_division=0)),
        "pr_auc": float(average_precision_score(y, score)),
    }
