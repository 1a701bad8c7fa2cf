"""Failure risk from the plant's drifting signals, and alarms raised ahead of failures.

Features, per machine and hour: the mean of each periodic signal over the samples taken while the
machine was *running* (levels differ by state, so only like is compared with like) in the last
1, 4 and 12 hours, standardised by that machine's own training-period level. The failure
reasons and the down states are ground truth only: they make the label ("a breakdown starts in
the next ``horizon_h`` hours") and never a feature. The model is trained on the first
``train_share`` of the period and alarms are raised only on the rest, so lead time and
precision are measured out of sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from smartfactory.model.errors import UserError
from smartfactory.model.events import AlarmAction, EventType, Severity
from smartfactory.model.plant import Equipment, Plant, ReasonRole
from smartfactory.scenarios.tabular import lightgbm_model
from smartfactory.store import TelemetryStore

ALARM_CODE = "PDM_RISK"
SPANS = (1, 4, 12)
MIN_FAILURES = 5
HOLD_H = 6


@dataclass
class RiskSettings:
    """How far ahead a failure counts and how the period is split."""

    horizon_h: float = 24.0
    train_share: float = 0.6
    seed: int = 0


@dataclass
class RiskResult:
    """Hourly risks of the evaluation period, the alarms raised and how they compare with failures."""

    hourly: pd.DataFrame
    alarms: pd.DataFrame  # equipment, raised, cleared, failure (or NaT), lead_h
    failures: pd.DataFrame  # equipment, ts
    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)


def monitored_equipment(plant: Plant) -> list[Equipment]:
    """Networked equipment with a reliability model and at least one periodic signal."""
    return [
        e
        for e in plant.equipment
        if e.networked and e.reliability is not None and any(s.sampling_s for s in e.signals)
    ]


def read_failures(store: TelemetryStore, plant: Plant, equipment: list[str]) -> pd.DataFrame:
    """Breakdown starts: unplanned down states that are not minor stops (ground truth, not a feature)."""
    micro = plant.reason_for_role(ReasonRole.micro_stop) or ""
    return store.query(
        "SELECT equipment, \"start\" AS ts FROM states WHERE state = 'unplanned_down' "
        "AND coalesce(reason, '') <> $micro AND list_contains($eq, equipment) ORDER BY ts",
        {"micro": micro, "eq": equipment},
    ).to_pandas()


def hourly_features(store: TelemetryStore, equipment: list[Equipment]) -> pd.DataFrame:
    """Per machine and hour end: running-state signal means over the last 1, 4 and 12 hours."""
    frames = []
    for e in equipment:
        signals = [s.name for s in e.signals if s.sampling_s]
        raw = store.query(
            "SELECT m.signal, time_bucket(INTERVAL 1 hour, m.ts) + INTERVAL 1 hour AS hour, "
            "sum(m.value) AS total, count(*) AS n "
            'FROM measurements m ASOF JOIN states s ON m.equipment = s.equipment AND m.ts >= s."start" '
            "WHERE m.equipment = $e AND s.state = 'running' AND m.ts < s.\"end\" "
            "AND list_contains($signals, m.signal) GROUP BY ALL",
            {"e": e.id, "signals": signals},
        ).to_pandas()
        if raw.empty:
            continue
        hours = pd.date_range(raw["hour"].min(), raw["hour"].max(), freq="h")
        total = raw.pivot_table(index="hour", columns="signal", values="total").reindex(hours).fillna(0.0)
        count = raw.pivot_table(index="hour", columns="signal", values="n").reindex(hours).fillna(0.0)
        parts = {}
        for span in SPANS:
            sums = total.rolling(span, min_periods=1).sum()
            counts = count.rolling(span, min_periods=1).sum()
            parts[span] = (sums / counts.replace(0, np.nan)).add_suffix(f"_{span}h")
        frame = pd.concat(parts.values(), axis=1)
        frame["running_share_1h"] = count.max(axis=1) / max(1.0, float(count.max(axis=1).max()))
        frame.index.name = "hour"
        frame = frame.reset_index()
        frame.insert(0, "equipment", e.id)
        frames.append(frame)
    if not frames:
        raise UserError("no periodic signal was sampled while a monitored machine was running")
    return pd.concat(frames, ignore_index=True)


def label(hourly: pd.DataFrame, failures: pd.DataFrame, horizon_h: float) -> np.ndarray:
    """1 where a breakdown of the same machine starts within ``horizon_h`` after the hour end."""
    out = np.zeros(len(hourly), dtype=int)
    horizon = np.timedelta64(int(horizon_h * 3600), "s")
    for e, rows in hourly.groupby("equipment").groups.items():
        starts = np.sort(failures.loc[failures["equipment"] == e, "ts"].to_numpy(dtype="datetime64[us]"))
        if not len(starts):
            continue
        hours = hourly.loc[rows, "hour"].to_numpy(dtype="datetime64[us]")
        nxt = np.searchsorted(starts, hours, side="right")
        has = nxt < len(starts)
        due = np.where(has, starts[np.minimum(nxt, len(starts) - 1)] - hours, horizon + 1)
        out[np.asarray(rows)] = (has & (due <= horizon)).astype(int)
    return out


def assess_risk(store: TelemetryStore, plant: Plant, settings: RiskSettings) -> RiskResult:
    """Train on the first part of the period, raise alarms on the rest and score them."""
    from smartfactory.scenarios.tabular import best_f1_threshold, out_of_fold

    equipment = monitored_equipment(plant)
    if not equipment:
        raise UserError(f"plant {plant.plant.id!r} has no networked equipment with reliability and signals")
    hourly = hourly_features(store, equipment)
    failures = read_failures(store, plant, [e.id for e in equipment])
    hourly["label"] = label(hourly, failures, settings.horizon_h)
    hourly = hourly[hourly["running_share_1h"] > 0].reset_index(drop=True)
    cut = hourly["hour"].min() + (hourly["hour"].max() - hourly["hour"].min()) * settings.train_share
    train = hourly["hour"] <= cut
    train_failures = int((failures["ts"] <= cut).sum())
    if train_failures < MIN_FAILURES:
        raise UserError(
            f"too few samples to train: {train_failures} breakdown(s) in the training period "
            f"(the first {settings.train_share:.0%} of the data); need at least {MIN_FAILURES}"
        )
    if hourly.loc[train, "label"].nunique() < 2:
        raise UserError(
            f"every training hour lies within {settings.horizon_h:g} h of a breakdown: "
            "choose a shorter horizon_h than the machines' typical time between failures"
        )
    columns = [c for c in hourly.columns if c not in ("equipment", "hour", "label")]
    X = _standardise(hourly, columns, train)
    y = hourly["label"].to_numpy()
    oof = out_of_fold(lambda: _model(settings.seed), X[train], y[train.to_numpy()], 5, settings.seed)[:, 1]
    threshold = best_f1_threshold(y[train.to_numpy()], oof)
    model = _model(settings.seed).fit(X[train], y[train.to_numpy()])
    test = hourly.loc[~train, ["equipment", "hour", "label"]].copy()
    test["risk"] = model.predict_proba(X[~train])[:, 1]
    test_failures = failures[failures["ts"] > cut].reset_index(drop=True)
    alarms = _alarms(test, threshold, test_failures, settings.horizon_h)
    metrics = _score(alarms, test_failures, settings.horizon_h)
    metrics["threshold"] = threshold
    metrics["breakdowns_train"] = float(train_failures)
    return RiskResult(test, alarms, test_failures, threshold, metrics)


def _standardise(hourly: pd.DataFrame, columns: list[str], train: pd.Series) -> pd.DataFrame:
    X = hourly[columns].astype(float).copy()
    for _, rows in hourly.groupby("equipment").groups.items():
        idx = np.asarray(rows)
        base = X.loc[idx[train.to_numpy()[idx]], columns]
        mean, std = base.mean(), base.std().replace(0, 1).fillna(1)
        X.loc[idx, columns] = (X.loc[idx, columns] - mean.fillna(0)) / std
    return X


def _model(seed: int) -> Any:
    return lightgbm_model(seed, n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=20)


def _alarms(test: pd.DataFrame, threshold: float, failures: pd.DataFrame, horizon_h: float) -> pd.DataFrame:
    """Episodes of risk at or above the threshold: raised at the first such hour, cleared at the next
    breakdown or after ``HOLD_H`` hours in a row below it (so a flickering risk is one alarm)."""
    rows = []
    for e, group in test.sort_values("hour").groupby("equipment"):
        starts = np.sort(failures.loc[failures["equipment"] == e, "ts"].to_numpy(dtype="datetime64[us]"))
        raised: np.datetime64 | None = None
        below = 0
        for hour, risk in zip(group["hour"].to_numpy(dtype="datetime64[us]"), group["risk"], strict=True):
            if raised is not None:
                broke = starts[(starts > raised) & (starts <= hour)]
                below = below + 1 if risk < threshold else 0
                if len(broke) or below >= HOLD_H:
                    rows.append((e, raised, broke[0] if len(broke) else hour))
                    raised = None
            if raised is None and risk >= threshold:
                raised, below = hour, 0
        if raised is not None:
            rows.append((e, raised, group["hour"].max()))
    frame = pd.DataFrame(rows, columns=["equipment", "raised", "cleared"])
    horizon = pd.Timedelta(hours=horizon_h)
    failure, lead = [], []
    for e, raised, cleared in zip(frame["equipment"], frame["raised"], frame["cleared"], strict=True):
        times = failures.loc[(failures["equipment"] == e) & (failures["ts"] > raised), "ts"]
        first = times.min() if len(times) else pd.NaT
        # a true alarm: the breakdown came while it was raised, or within the horizon of raising it
        hit = pd.notna(first) and (first <= cleared or first - raised <= horizon)
        failure.append(first if hit else pd.NaT)
        lead.append((first - raised) / pd.Timedelta(hours=1) if hit else np.nan)
    frame["failure"] = pd.to_datetime(pd.Series(failure, dtype="datetime64[us]"))
    frame["lead_h"] = lead
    return frame


def _score(alarms: pd.DataFrame, failures: pd.DataFrame, horizon_h: float) -> dict[str, float]:
    caught = alarms.dropna(subset=["failure"]).groupby(["equipment", "failure"])["lead_h"].max()
    n_alarms, n_failures = len(alarms), len(failures)
    true_alarms = int(alarms["failure"].notna().sum())
    return {
        "alarms": float(n_alarms),
        "breakdowns": float(n_failures),
        "precision": true_alarms / n_alarms if n_alarms else 0.0,
        "recall": len(caught) / n_failures if n_failures else 0.0,
        "lead_time_h_median": float(caught.median()) if len(caught) else 0.0,
        "lead_time_h_min": float(caught.min()) if len(caught) else 0.0,
        "horizon_h": horizon_h,
    }


def alarm_events(alarms: pd.DataFrame) -> pa.Table:
    """The alarm episodes as raised/cleared rows of the store's ``alarms`` table."""
    rows = []
    for e, raised, cleared in zip(alarms["equipment"], alarms["raised"], alarms["cleared"], strict=True):
        rows.append((raised, e, AlarmAction.raised.value, f"{e}: failure risk above threshold (predictive)"))
        rows.append((cleared, e, AlarmAction.cleared.value, ""))
    from smartfactory.model.events import SCHEMAS

    return pa.table(
        [
            pa.array([pd.Timestamp(r[0]).to_datetime64() for r in rows], pa.timestamp("us")),
            pa.array([r[1] for r in rows], pa.string()),
            pa.array([ALARM_CODE] * len(rows), pa.string()),
            pa.array([Severity.major.value] * len(rows), pa.string()),
            pa.array([r[2] for r in rows], pa.string()),
            pa.array([r[3] for r in rows], pa.string()),
        ],
        schema=SCHEMAS[EventType.alarms],
    )
