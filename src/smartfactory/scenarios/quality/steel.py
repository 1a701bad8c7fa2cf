"""Steel Plates Faults (UCI 198): 7 surface-fault classes from 27 geometry and luminosity columns.

Protocol (documented in docs/scenarios/quality.md): stratified 10-fold CV, shuffled with seed 0;
accuracy and macro-F1 over the pooled out-of-fold predictions. The model, features and settings
were chosen on other folds (seeds 1..3), never on these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartfactory.scenarios.tabular import lightgbm_model, require_columns, require_file

FILE = Path("steel_plates_faults") / "steel_plates_faults.csv"
CLASSES = ("Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness", "Bumps", "Other_Faults")
GEOMETRY = ("X_Minimum", "X_Maximum", "Y_Minimum", "Y_Maximum", "Pixels_Areas", "X_Perimeter", "Y_Perimeter")
LUMINOSITY = ("Sum_of_Luminosity", "Minimum_of_Luminosity", "Maximum_of_Luminosity", "Length_of_Conveyer")


def load(data_dir: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The 27 feature columns and the class index (0..6, in ``CLASSES`` order)."""
    path = require_file(data_dir / FILE, "Steel Plates Faults data set")
    frame = pd.read_csv(path)
    require_columns(frame, [*GEOMETRY, *LUMINOSITY, *CLASSES], str(path))
    y = frame[list(CLASSES)].to_numpy().argmax(axis=1)
    return frame.drop(columns=list(CLASSES)), y


PLATE = ("Length_of_Conveyer", "TypeOfSteel_A300", "Steel_Plate_Thickness")


def plate_key(frame: pd.DataFrame) -> pd.Series:
    """The production batch of each fault: conveyer length, steel type and thickness, as one string."""
    require_columns(frame, list(PLATE), "steel plate features")
    parts = [frame[column].round().astype(int).astype(str) for column in PLATE]
    return parts[0].str.cat(parts[1:], sep="-").rename("plate")


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The 27 original columns plus the batch key ``plate`` (for ``PlateFaultClassifier``).

    Ratio features (box width/height, fill, log aspect, mean luminosity, ...) were tried and made
    validation accuracy worse (docs/scenarios/quality.md), so they are not added.
    """
    return frame.assign(plate=plate_key(frame))


def lightgbm_default(seed: int = 0, n_jobs: int = 1) -> Any:
    """The published baseline: LightGBM with its default settings."""
    return lightgbm_model(seed, n_jobs=n_jobs)
