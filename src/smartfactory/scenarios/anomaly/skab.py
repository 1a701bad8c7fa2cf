"""The SKAB benchmark (Skoltech Anomaly Benchmark v0.9) under its published protocol.

Protocol (SKAB README, "Proposed Leaderboard", and its notebooks): every file with an anomaly
is one experiment. A fresh detector learns on the first 400 points (400 s) of the file, which
are anomaly-free, and then runs over the rest of the file; only the points after the first 400
are scored (the leaderboard is "on the test set"). The outlier metrics are F1, FAR and MAR over
all files together; changepoints are the alarm's switches, scored with NAB and a 60 s window to
the right of each true changepoint. The anomaly labels are read only to score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from smartfactory.model.errors import UserError
from smartfactory.scenarios.anomaly.detector import DetectorConfig, StreamingDetector
from smartfactory.scenarios.anomaly.metrics import Confusion, NabScore, predicted_changepoints

SIGNALS = (
    "Accelerometer1RMS",
    "Accelerometer2RMS",
    "Current",
    "Pressure",
    "Temperature",
    "Thermocouple",
    "Voltage",
    "Volume Flow RateRMS",
)
LABELS = ("anomaly", "changepoint")
TRAIN_POINTS = 400
NAB_WINDOW_S = 60.0


@dataclass
class SkabFile:
    """One SKAB experiment: its name, timestamps (s), signals and labels."""

    name: str
    seconds: np.ndarray
    signals: np.ndarray
    anomaly: np.ndarray
    changepoint: np.ndarray


@dataclass
class SkabResult:
    """What the protocol measured over all files."""

    confusion: Confusion
    nab: dict[str, float]
    missed_changepoints: int
    false_changepoints: int
    files: int
    points_scored: int
    train_s: float
    score_s: float
    per_file_f1: dict[str, float] = field(default_factory=dict)


def skab_files(data_dir: Path) -> list[Path]:
    """The SKAB files with anomalies under ``data_dir`` (the shared data root or the skab folder)."""
    root = Path(data_dir)
    for candidate in (root / "skab" / "data", root / "data", root):
        files = sorted(p for p in candidate.glob("*/*.csv") if p.parent.name != "anomaly-free")
        if files:
            return files
    raise UserError(f"no SKAB files under {root}: expected skab/data/<group>/<n>.csv (see skab/SOURCE.md)")


def read_skab(path: Path) -> SkabFile:
    """One SKAB file; a UserError naming the file if a column is missing or not numeric."""
    try:
        frame = pd.read_csv(path, sep=";")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read SKAB file {path}: {exc}") from None
    missing = [c for c in ("datetime", *SIGNALS, *LABELS) if c not in frame.columns]
    if missing:
        raise UserError(f"SKAB file {path} lacks columns {missing}; SKAB files have {['datetime', *SIGNALS]}")
    try:
        stamps = pd.to_datetime(frame["datetime"])
        values = frame[list(SIGNALS)].to_numpy(dtype=np.float64)
        labels = frame[list(LABELS)].to_numpy(dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise UserError(f"SKAB file {path} has a non-numeric value or bad timestamp: {exc}") from None
    if len(frame) <= TRAIN_POINTS + 10:
        raise UserError(
            f"SKAB file {path} has {len(frame)} points; the protocol needs more than {TRAIN_POINTS}"
        )
    seconds = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy()
    name = f"{path.parent.name}/{path.stem}"
    return SkabFile(name, seconds, values, labels[:, 0].astype(np.int64), labels[:, 1].astype(np.int64))


def run_skab(data_dir: Path, config: DetectorConfig | None = None, limit: int | None = None) -> SkabResult:
    """Run the protocol on every SKAB file (the first ``limit`` in name order when given)."""
    config = config or DetectorConfig(warmup=TRAIN_POINTS)
    if config.warmup != TRAIN_POINTS:
        raise UserError(
            f"the SKAB protocol learns on the first {TRAIN_POINTS} points; warmup is {config.warmup}"
        )
    paths = skab_files(data_dir)[:limit] if limit else skab_files(data_dir)
    confusion, nab = Confusion(), NabScore.empty()
    per_file: dict[str, float] = {}
    train_s = score_s = 0.0
    scored = 0
    for path in paths:
        experiment = read_skab(path)
        detector = StreamingDetector(config, features=list(SIGNALS))
        clock = time.perf_counter()
        detector.score_batch(experiment.signals[:TRAIN_POINTS])
        train_s += time.perf_counter() - clock
        clock = time.perf_counter()
        scores = detector.score_batch(experiment.signals[TRAIN_POINTS:])
        score_s += time.perf_counter() - clock
        alarm = (scores > detector.threshold).astype(np.int64)
        truth = experiment.anomaly[TRAIN_POINTS:]
        confusion.add(truth, alarm)
        one = Confusion()
        one.add(truth, alarm)
        per_file[experiment.name] = round(one.f1(), 3)
        nab.add(
            experiment.seconds[TRAIN_POINTS:],
            experiment.changepoint[TRAIN_POINTS:],
            predicted_changepoints(alarm),
            NAB_WINDOW_S,
        )
        scored += len(alarm)
    return SkabResult(
        confusion=confusion,
        nab=nab.result(),
        missed_changepoints=nab.missed,
        false_changepoints=nab.false_positives,
        files=len(paths),
        points_scored=scored,
        train_s=train_s,
        score_s=score_s,
        per_file_f1=per_file,
    )
