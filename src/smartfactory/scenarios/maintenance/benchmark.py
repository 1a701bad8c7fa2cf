"""The maintenance benchmarks: AI4I 2020 failure (beside a random forest baseline) and C-MAPSS FD001 RUL."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from smartfactory.scenarios.base import BenchmarkRow
from smartfactory.scenarios.maintenance import ai4i, ai4i_ceiling, cmapss
from smartfactory.scenarios.maintenance.classifier import FailureClassifier, forest
from smartfactory.scenarios.tabular import binary_metrics

AI4I = "AI4I 2020, stratified 5-fold CV, process variables only"
AI4I_QUICK = "AI4I 2020, quick subset (3,000 rows, 3-fold)"
CMAPSS = "C-MAPSS FD001, last cycle of each test engine"
CMAPSS_QUICK = "C-MAPSS FD001, quick (30 training engines)"
TARGET_F1 = 0.93  # the AI4I target of issue 6
CEILING = "F1 ceiling without the failure-mode columns"


def run(data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
    """Both public benchmarks of the maintenance scenario."""
    return run_ai4i(data_dir, quick) + run_cmapss(data_dir, quick)


def run_ai4i(data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
    """F1, precision, recall, PR-AUC with the threshold learnt inside each training fold."""
    from sklearn.model_selection import StratifiedKFold, train_test_split

    frame = ai4i.load(data_dir)
    y = ai4i.target(frame)
    folds, name, trees = 5, AI4I, 300
    if quick:
        keep, _ = train_test_split(np.arange(len(y)), train_size=3000, stratify=y, random_state=0)
        frame = frame.iloc[np.sort(keep)].reset_index(drop=True)
        folds, name, trees = 3, AI4I_QUICK, 60
    X, y = ai4i.features(frame), ai4i.target(frame)
    plain = X.loc[:, list(ai4i.PUBLISHED_FEATURES)]  # what the published baseline read
    score = np.zeros(len(y))
    predicted = np.zeros(len(y), dtype=int)
    base_score = np.zeros(len(y))
    fit_s = predict_s = base_fit_s = 0.0
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(X, y):
        clock = time.perf_counter()
        model = FailureClassifier(seed=0, trees=trees).fit(X.iloc[train], y[train])
        fit_s += time.perf_counter() - clock
        clock = time.perf_counter()
        score[test] = model.predict_proba(X.iloc[test])
        predicted[test] = model.predict(X.iloc[test])
        predict_s += time.perf_counter() - clock
        clock = time.perf_counter()
        # the published baseline: a random forest on the published features at the default 0.5 threshold
        base = forest(0, trees).fit(plain.iloc[train], y[train])
        base_fit_s += time.perf_counter() - clock
        base_score[test] = base.predict_proba(plain.iloc[test])[:, 1]
    ours = binary_metrics(y, score, predicted)
    baseline = binary_metrics(y, base_score, (base_score >= 0.5).astype(int))
    published = {"f1": "RF 0.891 (issue 6)", "pr_auc": "RF 0.904 (issue 6)"}
    rows = [
        BenchmarkRow(
            name,
            metric,
            value,
            published.get(metric, "—"),
            f"≥ {TARGET_F1}" if metric == "f1" else "—",
            (None if quick else value >= TARGET_F1) if metric == "f1" else None,
            fit_s,
            predict_s,
            {"baseline_same_run": baseline[metric], "rows": len(y), "folds": folds},
        )
        for metric, value in ours.items()
    ]
    rows.append(
        BenchmarkRow(
            name, "F1, RF at 0.5 (baseline, this run)", baseline["f1"], "0.891", "—", None, base_fit_s, None
        )
    )
    rows.append(ceiling_row(name, frame, ours["f1"]))
    return rows


def ceiling_row(name: str, frame: pd.DataFrame, f1: float) -> BenchmarkRow:
    """An upper bound of F1 on the process variables (an in-sample oracle, not a model), beside our F1."""
    c = ai4i_ceiling.ceiling(frame, TARGET_F1)
    note = (
        f"bound, not a model: documented HDF/PWF/OSF rules F1 {c['rule_f1']:.4f} "
        f"(P {c['rule_precision']:.3f}, R {c['rule_recall']:.3f}) + best tool-wear alarm placed "
        f"with the labels; our F1 = {f1 / c['ceiling_f1']:.1%} of it"
    )
    detail = {**c, "ours_f1": f1, "ours_share_of_ceiling": f1 / c["ceiling_f1"]}
    return BenchmarkRow(name, CEILING, c["ceiling_f1"], note, f"≥ {TARGET_F1}", None, None, None, detail)


def run_cmapss(data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
    """RMSE and PHM08 score at the last cycle of the 100 test engines."""
    train, test, truth = cmapss.load(data_dir)
    name = CMAPSS
    if quick:
        train = train[train["unit"] <= 30]
        name = CMAPSS_QUICK
    clock = time.perf_counter()
    model = cmapss.RulEstimator(seed=0, quick=quick).fit(train)
    fit_s = time.perf_counter() - clock
    clock = time.perf_counter()
    predicted = model.predict_last(test)
    predict_s = time.perf_counter() - clock
    rmse = cmapss.rmse(predicted, truth)
    score = cmapss.phm08_score(predicted, truth)
    return [
        BenchmarkRow(
            name,
            "RMSE",
            rmse,
            "LightGBM rolling 16.7 (issue 6); deep 11–13 (SOURCE.md)",
            "≤ 13",
            None if quick else rmse <= 13.0,
            fit_s,
            predict_s,
            {"engines": len(truth), "seeds": model.seeds, "cap": model.cap},
        ),
        BenchmarkRow(
            name, "PHM08 score", score, "DCNN 273.7 (Li et al. 2018, SOURCE.md)", "—", None, fit_s, predict_s
        ),
    ]
