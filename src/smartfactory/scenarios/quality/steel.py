"""Steel Plates Faults (UCI 198): 7 surface-fault classes from 27 geometry and luminosity columns.

Protocol (fixed once, documented in docs/scenarios/quality.md): stratified 10-fold CV, shuffled
with seed 0; accuracy and macro-F1 over the pooled out-of-fold predictions. The model and its
settings were chosen once on that protocol and are not tuned per fold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from smartfactory.scenarios.tabular import require_columns, require_file

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


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The original columns plus shape and brightness ratios of the fault's bounding box."""
    require_columns(frame, [*GEOMETRY, *LUMINOSITY], "steel plate features")
    out = frame.copy()
    width = frame["X_Maximum"] - frame["X_Minimum"]
    height = frame["Y_Maximum"] - frame["Y_Minimum"]
    area = frame["Pixels_Areas"].clip(lower=1)
    out["width"] = width
    out["height"] = height
    out["bbox_area"] = (width + 1) * (height + 1)
    out["fill"] = area / out["bbox_area"]
    out["log_aspect"] = np.log1p(width.clip(lower=0)) - np.log1p(height.clip(lower=0))
    out["mean_luminosity"] = frame["Sum_of_Luminosity"] / area
    out["luminosity_range"] = frame["Maximum_of_Luminosity"] - frame["Minimum_of_Luminosity"]
    out["perimeter_ratio"] = (frame["X_Perimeter"] + frame["Y_Perimeter"]) / np.sqrt(area)
    out["x_position"] = frame["X_Minimum"] / frame["Length_of_Conveyer"]
    out["x_position_end"] = frame["X_Maximum"] / frame["Length_of_Conveyer"]
    out["log_luminosity"] = np.log1p(frame["Sum_of_Luminosity"].clip(lower=0))
    return out


def lightgbm_default(seed: int = 0, n_jobs: int = 1) -> Any:
    """The published baseline: LightGBM with its default settings."""
    from lightgbm import LGBMClassifier

    return LGBMClassifier(random_state=seed, n_jobs=n_jobs, verbose=-1)
