"""A scenario that holds its run in flight until the test lets it end (the scenarios API and page tests).

The ``gate`` fixture of ``tests/conftest.py`` puts it in the library for one test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from smartfactory.app import scenarios as service
from smartfactory.scenarios import (
    SCENARIOS,
    BenchmarkRow,
    PlantRun,
    Scenario,
    ScenarioCard,
    Text,
    scenario_class,
)


class Gate(Scenario):
    """A scenario that runs until the test opens its gate (to hold a run in flight)."""

    card: ClassVar[ScenarioCard] = ScenarioCard(
        name="gate",
        title=Text(en="Gate", zh="闸门"),
        summary=Text(en="Waits for the test.", zh="等待测试。"),
        official_scenarios=("shop_floor_scheduling",),
        uses_ai=False,
        kind="optimisation",
        public_data="",
        model_card="",
    )
    opened = threading.Event()

    def evidence(self) -> dict[str, float]:
        return {}

    def run_on_plant(self, store_folder: Path) -> PlantRun:
        assert Gate.opened.wait(30), "the test never opened the gate"
        return PlantRun(metrics={"waited": 1.0}, artefacts={}, official_scenario="shop_floor_scheduling")

    def benchmark(self, data_dir: Path, quick: bool = False) -> list[BenchmarkRow]:
        return []


def install_gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Put the ``gate`` scenario in the library until the generator ends; set the event to let
    its run end."""
    real = scenario_class
    monkeypatch.setitem(SCENARIOS, "gate", "scenario_gate:Gate")
    monkeypatch.setattr(service, "scenario_class", lambda name: Gate if name == "gate" else real(name))
    Gate.opened.clear()
    yield Gate.opened
    Gate.opened.set()
