"""How high F1 can go on AI4I 2020 without the failure-mode columns: an upper bound, not a model.

Three of the data set's five failure modes are documented rules on the process variables
(``ai4i.rules``: heat dissipation, power, overstrain); on the shared data they flag failures only.
The rest are not rules on a row: a tool-wear failure (TWF) comes at a tool wear drawn at random,
a random failure (RNF) and the failures with no mode flag come by chance. The ceiling here gives
the rules every row they flag and, on top of them, the best alarm on tool wear alone, chosen **with
the labels, in-sample** (the TWF mechanism depends on wear only): once as one wear window
[a, b], once as any set of wear values. The rules leave nothing to gain on the rows they flag
(no false alarm there on the shared data); on the failures they miss, the documented mechanism
leaves tool wear as the only informative variable, and an oracle that places its wear alarm with
the test labels is at least as good as any model fitted without them. So the figure bounds what
the process variables can give, under the documented generator (it is no proof for an arbitrary
data set). It reads the label and, for counting only, the mode columns; it is never a feature.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError
from smartfactory.scenarios.maintenance import ai4i
from smartfactory.scenarios.tabular import require_columns

MODES = ("TWF", "HDF", "PWF", "OSF", "RNF")
WEAR = "Tool wear [min]"


def rule_flags(frame: pd.DataFrame) -> pd.DataFrame:
    """HDF, PWF and OSF as the documented rules on the process variables (booleans per row)."""
    # the features' margins to the documented limits are negative exactly where a rule fires
    X = ai4i.features(frame)
    return pd.DataFrame(
        {"HDF": X["heat_margin"] < 0, "PWF": X["power_margin_kw"] < 0, "OSF": X["strain_margin"] < 0},
        index=frame.index,
    )


def _f1(tp: int, flagged: int, failures: int) -> float:
    return 2 * tp / (flagged + failures)


def _best_window(wear: np.ndarray, y: np.ndarray, tp: int, flagged: int, failures: int) -> dict[str, Any]:
    """The wear window [a, b] over the rows the rules miss whose alarm, OR-ed with the rules, maximises F1."""
    values = np.unique(wear)
    if len(values) == 0:  # the rules flag every row
        return {"f1": _f1(tp, flagged, failures), "window_min": None, "extra_tp": 0, "extra_fp": 0}
    pos = np.bincount(np.searchsorted(values, wear), weights=y, minlength=len(values))
    rows = np.bincount(np.searchsorted(values, wear), minlength=len(values)).astype(float)
    cpos, crows = np.r_[0.0, np.cumsum(pos)], np.r_[0.0, np.cumsum(rows)]
    # every window [values[i], values[j]], j >= i, at once: F1 = 2(tp + p) / (flagged + n + failures)
    upper = np.triu(np.ones((len(values), len(values)), dtype=bool))
    p = np.where(upper, cpos[None, 1:] - cpos[:-1, None], 0.0)
    n = np.where(upper, crows[None, 1:] - crows[:-1, None], 0.0)
    f1 = np.where(upper, 2 * (tp + p) / (flagged + n + failures), -1.0)
    i, j = np.unravel_index(int(np.argmax(f1)), f1.shape)
    if f1[i, j] <= _f1(tp, flagged, failures):
        return {"f1": _f1(tp, flagged, failures), "window_min": None, "extra_tp": 0, "extra_fp": 0}
    return {
        "f1": float(f1[i, j]),
        "window_min": [float(values[i]), float(values[j])],
        "extra_tp": int(p[i, j]),
        "extra_fp": int(n[i, j] - p[i, j]),
    }


def _best_wear_set(wear: np.ndarray, y: np.ndarray, tp: int, flagged: int, failures: int) -> dict[str, Any]:
    """The set of wear values whose alarm, OR-ed with the rules, maximises F1 (any function of wear)."""
    table = pd.DataFrame({"wear": wear, "y": y}).groupby("wear")["y"].agg(["sum", "count"])
    table = table[table["sum"] > 0]
    # maximising (tp + Σp) / (flagged + failures + Σn) over subsets: the best set is a prefix of the
    # values sorted by their share of failures (the classic fractional-programming argument)
    table = table.assign(share=table["sum"] / table["count"]).sort_values(["share", "sum"], ascending=False)
    best: dict[str, Any] = {"f1": _f1(tp, flagged, failures), "values_min": [], "extra_tp": 0, "extra_fp": 0}
    p = n = 0
    for k, (s, c) in enumerate(zip(table["sum"].astype(int), table["count"].astype(int), strict=True)):
        p, n = p + s, n + c
        f1 = 2 * (tp + p) / (flagged + n + failures)
        if f1 > best["f1"]:
            values = sorted(float(v) for v in table.index[: k + 1])
            best = {"f1": f1, "values_min": values, "extra_tp": p, "extra_fp": n - p}
    return best


def tp_needed(failures: int, f1: float) -> int:
    """The fewest true positives that reach ``f1`` with no false alarm: 2·TP / (TP + failures) >= f1."""
    return math.ceil(f1 * failures / (2 - f1) - 1e-9)


def ceiling(frame: pd.DataFrame, target_f1: float | None = None) -> dict[str, Any]:
    """Rule F1 / precision / recall, the in-sample tool-wear ceilings and the failure counts per mode."""
    require_columns(frame, [*ai4i.PROCESS, ai4i.LABEL], "AI4I ceiling")
    y = ai4i.target(frame)
    failures = int(y.sum())
    if failures == 0:
        raise UserError("AI4I ceiling: the table holds no failure; F1 is undefined")
    flags = rule_flags(frame)
    rule = flags.any(axis=1).to_numpy()
    tp, flagged = int((rule & (y == 1)).sum()), int(rule.sum())
    missed = ~rule
    wear = frame[WEAR].to_numpy(dtype=float)
    window = _best_window(wear[missed], y[missed], tp, flagged, failures)
    wear_set = _best_wear_set(wear[missed], y[missed], tp, flagged, failures)
    unexplained = (y == 1) & missed
    out: dict[str, Any] = {
        "rows": len(y),
        "failures": failures,
        "rule_flags": {mode: int(flags[mode].sum()) for mode in flags.columns},
        "rule_tp": tp,
        "rule_fp": flagged - tp,
        "rule_f1": _f1(tp, flagged, failures),
        "rule_precision": tp / flagged if flagged else 0.0,
        "rule_recall": tp / failures,
        "unexplained": int(unexplained.sum()),
        "window": window,
        "wear_set": wear_set,
        # the larger of the two oracles: the bound to report
        "ceiling_f1": max(window["f1"], wear_set["f1"]),
        "confidence": ai4i.rules().confidence,
    }
    present = [m for m in MODES if m in frame.columns]
    if present:
        modes = frame[present].to_numpy(dtype=int) == 1
        no_mode = ~modes.any(axis=1)
        out["modes"] = {m: int(modes[:, k].sum()) for k, m in enumerate(present)}
        out["unexplained_by_mode"] = {
            m: int((unexplained & modes[:, k]).sum()) for k, m in enumerate(present)
        }
        out["unexplained_no_mode"] = int((unexplained & no_mode).sum())
        out["failures_no_mode"] = int(((y == 1) & no_mode).sum())
        if "RNF" in present:
            out["rnf_without_failure"] = int(((frame["RNF"].to_numpy() == 1) & (y == 0)).sum())
    if target_f1 is not None:
        out["target_f1"] = target_f1
        out["tp_needed_without_false_alarm"] = tp_needed(failures, target_f1)
    return out
