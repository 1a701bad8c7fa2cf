"""Model persistence: skops (or joblib) plus a version sidecar; other versions are refused clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartfactory import __version__
from smartfactory.model.errors import UserError
from smartfactory.scenarios.persist import library_versions, load_model, read_info, save_model, sidecar_path


class NotSkopsable:
    """A type of the tests, which load_model would not trust in a skops file: it goes to joblib."""

    def __init__(self) -> None:
        self.weights = [1.0, 2.0]


def _model() -> tuple[Any, np.ndarray]:
    from lightgbm import LGBMClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    return LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y), X


def test_round_trip_with_skops_and_the_sidecar(tmp_path: Path) -> None:
    model, X = _model()
    info = save_model(
        model, tmp_path / "m", scenario="quality", feature_names=["a", "b", "c"], metrics={"auc": 0.9}
    )
    assert info.serializer == "skops" and (tmp_path / "m.skops").exists()
    side = json.loads(sidecar_path(tmp_path / "m").read_text("utf-8"))
    assert side["smartfactory_version"] == __version__
    assert side["libraries"]["scikit-learn"] == library_versions()["scikit-learn"]
    assert side["feature_names"] == ["a", "b", "c"] and side["scenario"] == "quality"
    assert side["trained_at"]
    loaded, loaded_info = load_model(tmp_path / "m", scenario="quality")
    assert loaded_info.metrics == {"auc": 0.9}
    assert (loaded.predict(X) == model.predict(X)).all()


def test_an_object_skops_cannot_hold_goes_to_joblib(tmp_path: Path) -> None:
    info = save_model(NotSkopsable(), tmp_path / "m", scenario="maintenance", feature_names=[])
    assert info.serializer == "joblib" and not (tmp_path / "m.skops").exists()
    loaded, _ = load_model(tmp_path / "m")
    assert loaded.weights == [1.0, 2.0]


def test_a_model_from_another_smartfactory_version_names_both_versions(tmp_path: Path) -> None:
    model, _ = _model()
    save_model(model, tmp_path / "m", scenario="quality", feature_names=["a", "b", "c"])
    side = sidecar_path(tmp_path / "m")
    raw = json.loads(side.read_text("utf-8"))
    raw["smartfactory_version"] = "0.0.1"
    side.write_text(json.dumps(raw), "utf-8")
    with pytest.raises(UserError, match=rf"smartfactory 0\.0\.1; this is smartfactory {__version__}"):
        load_model(tmp_path / "m")


def test_a_model_from_another_library_version_names_both_versions(tmp_path: Path) -> None:
    model, _ = _model()
    save_model(model, tmp_path / "m", scenario="quality", feature_names=["a", "b", "c"])
    side = sidecar_path(tmp_path / "m")
    raw = json.loads(side.read_text("utf-8"))
    raw["libraries"]["lightgbm"] = "1.0.0"
    side.write_text(json.dumps(raw), "utf-8")
    now = library_versions()["lightgbm"]
    with pytest.raises(UserError, match=rf"lightgbm 1\.0\.0 \(now {now}\)"):
        load_model(tmp_path / "m")


def test_missing_or_foreign_files_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"sidecar .* is missing"):
        load_model(tmp_path / "nothing")
    sidecar_path(tmp_path / "x").write_text('{"format": "other"}', "utf-8")
    with pytest.raises(UserError, match="not a smartfactory model sidecar"):
        read_info(tmp_path / "x")
    model, _ = _model()
    save_model(model, tmp_path / "m", scenario="quality", feature_names=["a", "b", "c"])
    with pytest.raises(UserError, match="belongs to scenario 'quality'"):
        load_model(tmp_path / "m", scenario="maintenance")
    (tmp_path / "m.skops").unlink()
    with pytest.raises(UserError, match="is missing"):
        load_model(tmp_path / "m")
