"""The one small interface every AI or optimisation scenario follows (scikit-learn / River in spirit).

A scenario is a class with a :class:`ScenarioCard` (what it is, which official typical scenarios
it implements, whether it uses AI) and three ways to use it:

* on tables: ``fit(X, y)`` / ``predict(X)`` for learning scenarios, ``learn_one`` / ``score_one``
  for streaming ones, ``solve(problem)`` for optimisation ones;
* on the plant: ``run_on_plant(store_folder)`` trains or solves on the plant's own stored data,
  stores its results and returns a :class:`PlantRun` (the CLI records it in the registry as
  evidence for the assessment);
* on the public benchmark: ``benchmark(data_dir, quick)`` reproduces the published protocol and
  returns :class:`BenchmarkRow` s, each beside its published figure and target.

``evidence()`` gives the metrics of the last fit/solve. One conformance suite
(``tests/test_scenario_conformance.py``) runs every registered scenario through all of it.
"""

from __future__ import annotations

import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from smartfactory.model.text import Text


@dataclass(frozen=True)
class ScenarioCard:
    """What a scenario is, for `scenario list`, the registry and the assessment."""

    name: str
    title: Text
    summary: Text
    # ids in assess/frameworks/scenarios/2024/national.toml, e.g. "equipment_fault_prediction"
    official_scenarios: tuple[str, ...]
    uses_ai: bool
    kind: str  # "learning" | "streaming" | "optimisation"
    public_data: str  # folder under shared/data (or "" if none)
    model_card: str  # docs/scenarios/<name>.md

    @classmethod
    def named(cls, name: str) -> ScenarioCard:
        """The card of a built-in scenario, as ``data/cards.toml`` writes it."""
        raw = _cards()[name]
        return cls(
            name=name,
            **{
                **raw,
                "title": Text(**raw["title"]),
                "summary": Text(**raw["summary"]),
                "official_scenarios": tuple(raw["official_scenarios"]),
            },
        )


@cache
def _cards() -> dict[str, Any]:
    # bilingual data like the KPI labels: the four cards read (and translate) side by side there
    return tomllib.loads(
        (resources.files("smartfactory.scenarios") / "data" / "cards.toml").read_text("utf-8")
    )


@dataclass(frozen=True)
class BenchmarkRow:
    """One metric of a public benchmark, beside the published figure and the target."""

    benchmark: str  # e.g. "AI4I 2020, stratified 5-fold CV"
    metric: str  # e.g. "F1"
    value: float
    published: str  # e.g. "RF on process variables 0.891 (SOURCE.md)"
    target: str  # e.g. "≥ 0.93"
    passed: bool | None  # None: no target (info)
    train_s: float | None = None
    infer_s: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "benchmark": self.benchmark,
            "metric": self.metric,
            "value": self.value,
            "published": self.published,
            "target": self.target,
            "passed": self.passed,
            "train_s": self.train_s,
            "infer_s": self.infer_s,
            "detail": self.detail,
        }


@dataclass
class PlantRun:
    """What a run on the plant's own data did: metrics and where its results went."""

    metrics: dict[str, float]
    artefacts: dict[str, Any]
    official_scenario: str
    notes: str | None = None


class Scenario(ABC):
    """Base class: a card, ``evidence``, ``run_on_plant`` and ``benchmark``; subclasses add fit/solve."""

    card: ClassVar[ScenarioCard]

    def describe(self) -> ScenarioCard:
        """The scenario's card."""
        return self.card

    @abstractmethod
    def evidence(self) -> dict[str, float]:
        """Metrics of the last fit or solve (empty before any)."""

    @abstractmethod
    def run_on_plant(self, store_folder: Path) -> PlantRun:
        """Train or solve on the plant's stored data and keep the results; raise UserError if it cannot."""

    @abstractmethod
    def benchmark(self, data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
        """Reproduce the public benchmark (``quick``: a small subset for tests and smoke runs)."""


class KeptEvidenceScenario(Scenario):
    """A scenario whose fit, stream or plant run keeps its metrics in ``_evidence``."""

    _evidence: dict[str, float]

    def evidence(self) -> dict[str, float]:
        """Metrics of the last fit, stream, plant run or benchmark (empty before any)."""
        return dict(self._evidence)
