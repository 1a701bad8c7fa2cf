"""SKAB's evaluation metrics, as the TSAD package (waico/tsad, ``evaluating``) computes them.

* Outlier detection, ``metric="binary"``: TP/TN/FP/FN summed over all files, then
  F1 = TP / (TP + (FN + FP) / 2), FAR = FP / (FP + TN) in %, MAR = FN / (FN + TP) in %.
* Changepoint detection, ``metric="nab"``: a detection window of ``window_s`` seconds to the
  right of each true changepoint; the first predicted changepoint in a window earns the
  "improved" tanh-shaped NAB reward (A_tp at the window's start down to A_fp at its end),
  every prediction outside the windows costs A_fp, every window without one costs A_fn. The
  score is 100 × (S − S_null) / (S_perfect − S_null) per profile, summed over files first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# TSAD's default profiles: A_tp, A_fp, A_fn
NAB_PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}
_DETAIL = 1000


@dataclass
class Confusion:
    """Point-wise counts, summed over files."""

    tp: int = 0
    tn: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        """Add one file's labels and predictions (0/1 arrays of the same length)."""
        t = np.asarray(truth) == 1
        p = np.asarray(predicted) == 1
        self.tp += int((t & p).sum())
        self.tn += int((~t & ~p).sum())
        self.fp += int((~t & p).sum())
        self.fn += int((t & ~p).sum())

    def f1(self) -> float:
        """TSAD's F1: TP / (TP + (FN + FP) / 2)."""
        denominator = self.tp + (self.fn + self.fp) / 2
        return self.tp / denominator if denominator else 0.0

    def far(self) -> float:
        """False alarm rate, %."""
        return 100.0 * self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    def mar(self) -> float:
        """Missed alarm rate, %."""
        return 100.0 * self.fn / (self.fn + self.tp) if self.fn + self.tp else 0.0


def predicted_changepoints(alarm: np.ndarray) -> np.ndarray:
    """SKAB notebooks' changepoints from a 0/1 alarm series: |diff|, the first point as itself."""
    a = np.asarray(alarm, dtype=np.int64)
    if not len(a):
        return a
    out = np.abs(np.diff(a, prepend=a[0]))
    out[0] = a[0]
    return out


@dataclass
class NabScore:
    """NAB sums over files per profile: the detector's, the null detector's and the perfect one's."""

    score: dict[str, float]
    null: dict[str, float]
    perfect: dict[str, float]
    missed: int = 0
    false_positives: int = 0

    @classmethod
    def empty(cls) -> NabScore:
        """Nothing added yet."""
        zero = dict.fromkeys(NAB_PROFILES, 0.0)
        return cls(dict(zero), dict(zero), dict(zero))

    def add(
        self, seconds: np.ndarray, true_cp: np.ndarray, predicted_cp: np.ndarray, window_s: float
    ) -> None:
        """Add one file: timestamps in seconds, true and predicted changepoint 0/1 series."""
        t = np.asarray(seconds, dtype=np.float64)
        windows = _windows(t[np.asarray(true_cp) == 1], window_s)
        times = t[np.asarray(predicted_cp) == 1]
        tps: list[tuple[float, float, float]] = []
        inside = np.zeros(len(times), dtype=bool)
        for left, right in windows:
            hit = (times >= left) & (times <= right)
            inside |= hit
            if hit.any():
                tps.append((left, float(times[hit][0]), right))
            else:
                self.missed += 1
        # predictions between windows (or everywhere when there are none) are false positives
        fps = int((~inside).sum())
        self.false_positives += fps
        for name, (a_tp, a_fp, a_fn) in NAB_PROFILES.items():
            score = a_fp * fps + a_fn * (len(windows) - len(tps))
            score += sum(_reward(tp, a_tp, a_fp) for tp in tps)
            self.score[name] += score
            self.null[name] += len(windows) * a_fn
            self.perfect[name] += len(windows) * a_tp

    def result(self) -> dict[str, float]:
        """NAB per profile, 0 (null detector) to 100 (perfect)."""
        out = {}
        for name in NAB_PROFILES:
            span = self.perfect[name] - self.null[name]
            out[name] = 100.0 * (self.score[name] - self.null[name]) / span if span else 0.0
        return out


def _windows(changepoints: np.ndarray, window_s: float) -> list[tuple[float, float]]:
    windows = [[float(c), float(c) + window_s] for c in np.sort(changepoints)]
    # TSAD's "cut right window": an overlapping window starts where the previous one ends
    for i in range(len(windows) - 1):
        if windows[i][1] >= windows[i + 1][0]:
            windows[i + 1][0] = windows[i][1]
    return [(a, b) for a, b in windows]


def _reward(tp: tuple[float, float, float], a_tp: float, a_fp: float) -> float:
    left, first, right = tp
    x = np.linspace(-np.pi / 2, np.pi / 2, _DETAIL)
    y = (a_tp - a_fp) / 2 * -np.tanh(x) / np.tanh(np.pi / 2) + (a_tp - a_fp) / 2 + a_fp
    event = int((first - left) / (right - left) * _DETAIL) if right > left else 0
    return float(y[min(event, _DETAIL - 1)])
