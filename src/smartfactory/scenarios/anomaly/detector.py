"""A streaming multivariate anomaly detector with bounded memory.

The detector is a multivariate control chart on smoothed, standardised signals:

1. warm-up: the first ``warmup`` points are kept (the only time it holds more than ``window``
   points) and define normal operation: per-signal mean and standard deviation of the
   ``window``-point moving average, and the alarm limit ``quantile(train scores) × factor``
   (the upper-control-limit rule of the SKAB reference notebooks, 0.99 × 3/2);
2. after warm-up, each point's score is the mean over signals of the squared z-score of the
   moving average; a score above the limit is an alarm;
3. it keeps learning on the stream: while there is no alarm the reference mean follows the
   moving average with rate ``adapt`` (an EWMA), so slow drifts that are part of normal
   operation (a pump warming up) do not alarm for ever, while during an alarm it holds still,
   so an anomaly is never learnt as normal.

Memory is ``O(window × signals)`` after warm-up, whatever the length of the stream.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from smartfactory.model.errors import UserError


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's settings; the defaults are the ones the SKAB benchmark reports."""

    warmup: int = 400  # points that define normal operation (SKAB protocol: first 400 s of a file)
    window: int = 20  # moving-average length, in points
    quantile: float = 0.99  # of the warm-up scores ...
    factor: float = 1.5  # ... times this factor is the alarm limit (SKAB notebooks' UCL rule)
    adapt: float = 0.01  # EWMA rate of the reference mean while there is no alarm

    def check(self) -> None:
        """Refuse settings the detector cannot work with."""
        if self.window < 1:
            raise UserError(f"anomaly detector window must be at least 1 point, got {self.window}")
        if self.warmup < 2 * self.window + 10:
            raise UserError(
                f"anomaly detector warm-up of {self.warmup} points is too short for a {self.window}-point "
                f"window; it needs at least {2 * self.window + 10}"
            )
        if not 0.5 <= self.quantile < 1.0:
            raise UserError(f"anomaly detector quantile must be in [0.5, 1), got {self.quantile}")
        if self.factor <= 0:
            raise UserError(f"anomaly detector factor must be positive, got {self.factor}")
        if not 0.0 <= self.adapt < 1.0:
            raise UserError(f"anomaly detector adapt rate must be in [0, 1), got {self.adapt}")


class StreamingDetector:
    """Learns normal operation from the stream and scores each new point (River-style API)."""

    def __init__(self, config: DetectorConfig | None = None, features: Sequence[str] | None = None) -> None:
        self.config = config or DetectorConfig()
        self.config.check()
        self.features: list[str] | None = list(features) if features is not None else None
        self._warm: list[np.ndarray] = []
        self._recent: deque[np.ndarray] = deque(maxlen=self.config.window)
        self._sum: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.threshold: float = math.inf
        self.seen = 0
        self.alarms = 0

    # --- state --------------------------------------------------------------------------

    @property
    def fitted(self) -> bool:
        """Whether warm-up is over and points get scores."""
        return self.mean is not None

    def memory_floats(self) -> int:
        """Numbers held in memory now (bounded by ``window × signals`` plus constants after warm-up)."""
        d = len(self.features or [])
        return (len(self._warm) + len(self._recent) + 4) * d

    # --- the River-style interface ------------------------------------------------------

    def learn_one(self, x: Mapping[str, float]) -> None:
        """Learn from one point (a signal → value mapping)."""
        self.update(x)

    def score_one(self, x: Mapping[str, float]) -> float:
        """The anomaly score of ``x`` given what was learnt so far (NaN during warm-up); learns nothing."""
        if not self.fitted:
            return math.nan
        row = self._vector(x, remember=False)
        smoothed = self._smoothed_with(row)
        return self._score(smoothed)

    def predict_one(self, x: Mapping[str, float]) -> bool:
        """Whether ``x`` is an anomaly (its score is above the alarm limit); learns nothing."""
        score = self.score_one(x)
        return not math.isnan(score) and score > self.threshold

    def update(self, x: Mapping[str, float]) -> float:
        """Score ``x`` and learn from it in one pass; returns the score (NaN during warm-up)."""
        row = self._vector(x, remember=True)
        return self._push(row)

    # --- batches ------------------------------------------------------------------------

    def score_batch(self, rows: np.ndarray) -> np.ndarray:
        """Scores of the rows of a (points × signals) array, learning from them in order.

        The same result as calling ``update`` on each row, with the moving averages computed
        in one vectorised pass; only the alarm-gated reference update stays sequential.
        """
        data = np.asarray(rows, dtype=np.float64)
        if data.ndim != 2 or (self.features is not None and data.shape[1] != len(self.features)):
            want = len(self.features) if self.features is not None else "n"
            raise UserError(f"score_batch needs a (points × {want}) array, got shape {data.shape}")
        if self.features is None:
            self.features = [f"x{j}" for j in range(data.shape[1])]
        data = self._fill_gaps(data)
        scores = np.full(len(data), np.nan)
        start = 0
        while not self.fitted and start < len(data):
            scores[start] = self._push(data[start])
            start += 1
        if start >= len(data):
            return scores
        assert self.mean is not None and self.scale is not None and self._sum is not None
        window = self.config.window
        tail = np.asarray(self._recent) if self._recent else np.empty((0, data.shape[1]))
        joined = np.vstack([tail, data[start:]])
        csum = np.cumsum(joined, axis=0)
        csum = np.vstack([np.zeros((1, joined.shape[1])), csum])
        ends = np.arange(len(tail) + 1, len(joined) + 1)
        begins = np.maximum(ends - window, 0)
        smoothed = (csum[ends] - csum[begins]) / (ends - begins)[:, None]
        mean, inv_scale, adapt, threshold = (
            self.mean.copy(),
            1.0 / self.scale,
            self.config.adapt,
            self.threshold,
        )
        out = scores[start:]
        alarms = 0
        for i, s in enumerate(smoothed):
            z = (s - mean) * inv_scale
            score = float(z @ z) / len(z)
            out[i] = score
            if score > threshold:
                alarms += 1
            elif adapt:
                mean += adapt * (s - mean)
        self.mean = mean
        self.alarms += alarms
        self.seen += len(data) - start
        self._recent.extend(joined[-window:])
        self._sum = np.sum(np.asarray(self._recent), axis=0)
        self._last = data[-1].copy()
        return scores

    # --- internals ----------------------------------------------------------------------

    def _vector(self, x: Mapping[str, float], remember: bool) -> np.ndarray:
        if not isinstance(x, Mapping):
            raise UserError(f"a point must be a mapping of signal name to number, got {type(x).__name__}")
        if self.features is None:
            if not x:
                raise UserError("the first point has no signals; the detector needs at least one")
            self.features = sorted(x)
        row = np.empty(len(self.features))
        for j, name in enumerate(self.features):
            value = x.get(name)
            if value is None:
                row[j] = np.nan
                continue
            try:
                row[j] = float(value)
            except (TypeError, ValueError):
                raise UserError(f"signal {name!r} has a non-numeric value {value!r}") from None
        return np.asarray(self._fill_gaps(row[None, :], remember=remember)[0], dtype=np.float64)

    def _fill_gaps(self, data: np.ndarray, remember: bool = True) -> np.ndarray:
        # a signal missing from a point keeps its last value: sensors report at their own pace
        missing = ~np.isfinite(data)
        if not missing.any():
            if remember:
                self._last = data[-1].copy()
            return data
        data = data.copy()
        last = self._last
        for i in range(len(data)):
            if last is not None:
                gaps = missing[i]
                data[i, gaps] = last[gaps]
            last = data[i]
        if not np.isfinite(data).all():
            raise UserError("a signal has no value yet (missing or not finite since the stream began)")
        if remember:
            self._last = data[-1].copy()
        return data

    def _push(self, row: np.ndarray) -> float:
        self.seen += 1
        if not self.fitted:
            self._warm.append(row)
            self._recent.append(row)
            if len(self._warm) >= self.config.warmup:
                self._fit(np.asarray(self._warm))
            return math.nan
        assert self._sum is not None and self.mean is not None
        smoothed = self._smoothed_with(row)
        if len(self._recent) == self._recent.maxlen:
            self._sum -= self._recent[0]
        self._recent.append(row)
        self._sum += row
        score = self._score(smoothed)
        if score > self.threshold:
            self.alarms += 1
        elif self.config.adapt:
            self.mean += self.config.adapt * (smoothed - self.mean)
        return score

    def _smoothed_with(self, row: np.ndarray) -> np.ndarray:
        assert self._sum is not None
        if len(self._recent) == self._recent.maxlen:
            return np.asarray((self._sum - self._recent[0] + row) / len(self._recent), dtype=np.float64)
        return np.asarray((self._sum + row) / (len(self._recent) + 1), dtype=np.float64)

    def _score(self, smoothed: np.ndarray) -> float:
        assert self.mean is not None and self.scale is not None
        z = (smoothed - self.mean) / self.scale
        return float(z @ z) / len(z)

    def _fit(self, train: np.ndarray) -> None:
        window = self.config.window
        csum = np.vstack([np.zeros((1, train.shape[1])), np.cumsum(train, axis=0)])
        ends = np.arange(1, len(train) + 1)
        begins = np.maximum(ends - window, 0)
        smoothed = ((csum[ends] - csum[begins]) / (ends - begins)[:, None])[window - 1 :]
        mean = smoothed.mean(axis=0)
        spread = smoothed.std(axis=0)
        # a signal that never moved in warm-up gets a scale from its own magnitude, so that it
        # can still alarm when it moves, but its rounding noise cannot
        floor = np.maximum(1e-6 * np.maximum(np.abs(mean), 1.0), 1e-12)
        scale = np.where(spread > floor, spread, floor * 1e3)
        z = (smoothed - mean) / scale
        scores = (z * z).mean(axis=1)
        self.mean, self.scale = mean, scale
        self.threshold = float(np.quantile(scores, self.config.quantile)) * self.config.factor
        self._sum = np.sum(np.asarray(self._recent), axis=0)
        self._warm = []  # warm-up points are no longer needed: memory is bounded from here on
