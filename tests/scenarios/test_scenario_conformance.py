"""One suite, every scenario (scikit-learn's estimator checks in spirit).

Each registered scenario: a card in both languages naming official typical scenarios that exist in
the catalogue, the methods of its kind, a model card in English and Chinese, a run on a small twin
store that returns finite metrics for one of its official scenarios, a clear UserError on a store
with no data, and — through the CLI — a run recorded as evidence, a failed one recorded as failed.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from smartfactory.assess.framework import shipped
from smartfactory.model.errors import UserError
from smartfactory.model.plant_file import load_plant
from smartfactory.scenarios import SCENARIOS, PlantRun, Scenario, scenario_class
from smartfactory.simulate import simulate
from smartfactory.store import REGISTRY_FILE, Registry, TelemetryStore, list_scenario_runs

ROOT = Path(__file__).resolve().parents[2]
PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"
NAMES = list(SCENARIOS)
METHODS = {
    "learning": ("fit", "predict"),
    "streaming": ("learn_one", "score_one"),
    "optimisation": ("solve",),
}
RUN = [sys.executable, "-c", "from smartfactory.cli.main import run; run()"]


@pytest.fixture(scope="module", name="twin_store")
def fixture_twin_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven simulated days of the sample machining plant, with the plant in the registry."""
    folder = tmp_path_factory.mktemp("twin")
    plant = load_plant(PLANT)
    with TelemetryStore.open(folder) as store:
        simulate(plant, store, start=datetime(2026, 3, 2), days=7, seed=11)
    with Registry.open(folder / REGISTRY_FILE) as registry:
        registry.save_plant(plant, str(PLANT), hashlib.sha256(PLANT.read_bytes()).hexdigest())
    return folder


@pytest.fixture(name="empty_store")
def fixture_empty_store(tmp_path: Path) -> Path:
    """A store with the plant but no events."""
    TelemetryStore.open(tmp_path).close()
    with Registry.open(tmp_path / REGISTRY_FILE) as registry:
        registry.save_plant(load_plant(PLANT), str(PLANT), hashlib.sha256(PLANT.read_bytes()).hexdigest())
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_the_card_names_official_scenarios_in_both_languages(name: str) -> None:
    cls = scenario_class(name)
    assert issubclass(cls, Scenario)
    card = cls.card
    assert card.name == name
    catalogue = {s.id for s in shipped().scenarios("scenarios/2024/national").scenarios}
    assert card.official_scenarios and set(card.official_scenarios) <= catalogue
    assert card.title.en and card.title.zh and card.summary.en and card.summary.zh
    assert card.kind in METHODS
    for method in METHODS[card.kind]:
        assert callable(getattr(cls, method, None)), f"{name} is {card.kind} but has no {method}"
    model_card = ROOT / card.model_card
    assert model_card.is_file(), card.model_card
    text = model_card.read_text(encoding="utf-8")
    chinese = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    assert chinese >= 200, f"{card.model_card} has no Chinese section"


@pytest.mark.parametrize("name", NAMES)
def test_a_run_on_the_plant_gives_finite_metrics_for_an_official_scenario(
    name: str, twin_store: Path
) -> None:
    scenario = scenario_class(name)()
    result = scenario.run_on_plant(twin_store)
    assert isinstance(result, PlantRun)
    assert result.official_scenario in scenario.card.official_scenarios
    assert result.metrics
    assert all(isinstance(v, float | int) and math.isfinite(v) for v in result.metrics.values()), (
        result.metrics
    )
    json.dumps(result.artefacts, default=str)  # the registry keeps them as JSON
    assert all(math.isfinite(v) for v in scenario.evidence().values())


@pytest.mark.parametrize("name", [n for n in NAMES if scenario_class(n).card.kind != "optimisation"])
def test_a_store_without_data_is_a_clear_user_error(name: str, empty_store: Path) -> None:
    # (an optimisation scenario schedules the plant's orders: an empty store is a valid start)
    with pytest.raises(UserError) as caught:
        scenario_class(name)().run_on_plant(empty_store)
    assert str(caught.value).strip()


def test_the_cli_records_a_run_as_evidence_and_a_failed_run_as_failed(
    twin_store: Path, empty_store: Path
) -> None:
    ran = subprocess.run([*RUN, "scenario", "run", "anomaly", "--store", str(twin_store), "--json"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    report = json.loads(ran.stdout)
    failed = subprocess.run([*RUN, "scenario", "run", "anomaly", "--store", str(empty_store)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)  # fmt: skip
    assert failed.returncode == 1 and "error:" in failed.stderr
    with Registry.open(twin_store / REGISTRY_FILE) as registry:
        runs = [r for r in list_scenario_runs(registry) if r["id"] == report["run_id"]]
    assert runs and runs[0]["status"] == "finished" and runs[0]["uses_ai"]
    assert runs[0]["official_scenario"] == "equipment_operation_monitoring"
    with Registry.open(empty_store / REGISTRY_FILE) as registry:
        statuses = [r["status"] for r in list_scenario_runs(registry)]
    assert statuses == ["failed"]
    listed = subprocess.run([*RUN, "scenario", "list", "--store", str(twin_store), "--json"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert set(rows) == set(NAMES)
    assert rows["anomaly"]["last_run"]["status"] == "finished"


def test_an_unknown_scenario_is_refused() -> None:
    with pytest.raises(UserError, match="unknown scenario 'nope'"):
        scenario_class("nope")
