"""Per-machine random streams, drawn in blocks because numpy's scalar calls are slow."""

from __future__ import annotations

import math

import numpy as np

_BLOCK = 4096


class RandomStream:
    """Uniform, normal and exponential draws from one seeded numpy Generator."""

    def __init__(self, seed: np.random.SeedSequence) -> None:
        self.generator = np.random.default_rng(seed)
        self._uniform: list[float] = []
        self._normal: list[float] = []

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        if not self._uniform:
            self._uniform = self.generator.random(_BLOCK).tolist()
        return self._uniform.pop()

    def normal(self) -> float:
        """A draw from N(0, 1)."""
        if not self._normal:
            self._normal = self.generator.standard_normal(_BLOCK).tolist()
        return self._normal.pop()

    def exponential(self, mean: float) -> float:
        """A draw from an exponential distribution with the given mean."""
        return -mean * math.log(1.0 - self.uniform())

    def weibull(self, shape: float, scale: float) -> float:
        """A draw from Weibull(shape, scale)."""
        return float(scale * (-math.log(1.0 - self.uniform())) ** (1.0 / shape))

    def lognormal_median(self, median: float, sigma: float) -> float:
        """A lognormal draw given its median and log-scale sigma."""
        return median * math.exp(sigma * self.normal())

    def choice(self, weights: list[float]) -> int:
        """An index drawn with the given (unnormalised) weights."""
        target = self.uniform() * sum(weights)
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            if target < acc:
                return i
        return len(weights) - 1
