"""Scenario runs in the registry: the interface AI and optimisation scenarios write to.

A scenario (``quality``, ``maintenance``, ``anomaly``, ``scheduling``, ...) records each run
with the official typical scenario it implements (a catalogue id such as ``S24`` for
在线智能检测 or ``S28`` for 设备故障诊断与预测), whether it used AI, when it ran, how it
ended, its metrics (name → number) and where it left its artefacts (predictions,
schedules). The assessment reads the runs back as evidence that a scenario is in use.

The table belongs to the registry (``ScenarioRunRow`` in ``registry.py``, migration 0003);
these functions take an open ``Registry``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from numbers import Integral, Real
from typing import Any, TypedDict, get_args

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from smartfactory.store.registry import Registry, RunStatus, ScenarioRunRow, require_aware, row_record

STATUSES: tuple[str, ...] = get_args(RunStatus)
_NAME_MAX = 64  # scenario and official_scenario columns are String(64)


class ScenarioRunRecord(TypedDict):
    """A row of ``scenario_runs``; times are aware UTC datetimes."""

    id: str
    plant_id: str
    scenario: str
    official_scenario: str
    uses_ai: bool
    started_at: datetime
    finished_at: datetime | None
    status: str
    metrics: dict[str, float]
    artefacts: dict[str, Any]
    notes: str | None


def record_scenario_run(
    registry: Registry,
    plant_id: str,
    scenario: str,
    official_scenario: str,
    *,
    uses_ai: bool,
    started_at: datetime | None = None,
    status: RunStatus = "running",
    finished_at: datetime | None = None,
    metrics: Mapping[str, float] | None = None,
    artefacts: Mapping[str, Any] | None = None,
    notes: str | None = None,
) -> str:
    """Record a scenario run and return its new id (a UUID).

    A run is normally recorded as ``running`` and closed with ``finish_scenario_run``; a run
    that is already over (an import of past runs) may be recorded ``finished`` or ``failed``
    at once, with ``finished_at`` (default: now).
    """
    _check_name("scenario", scenario)
    _check_name("official_scenario", official_scenario)
    if not isinstance(uses_ai, bool):
        raise ValueError(f"uses_ai must be True or False, not {uses_ai!r}")
    _check_status(status)
    require_aware("started_at", started_at)
    require_aware("finished_at", finished_at)
    started = started_at or datetime.now(UTC)
    if status == "running":
        if finished_at is not None:
            raise ValueError(
                "a running scenario run has no finished_at; leave it out or give the final status"
            )
        finished = None
    else:
        finished = finished_at or datetime.now(UTC)
        _check_order(started, finished)
    values = _checked_metrics(metrics or {})
    stored_artefacts = _checked_json("artefacts", artefacts or {})
    return registry.add_plant_run(
        ScenarioRunRow(
            plant_id=plant_id,
            scenario=scenario,
            official_scenario=official_scenario,
            uses_ai=uses_ai,
            started_at=started,
            finished_at=finished,
            status=status,
            metrics=values,
            artefacts=stored_artefacts,
            notes=notes,
        )
    )


def finish_scenario_run(
    registry: Registry,
    run_id: str,
    *,
    metrics: Mapping[str, float] | None = None,
    status: RunStatus = "finished",
    finished_at: datetime | None = None,
    artefacts: Mapping[str, Any] | None = None,
    notes: str | None = None,
) -> None:
    """Mark a running scenario run finished or failed.

    ``metrics`` and ``artefacts`` are merged into what the run already holds (a name given
    again takes the new value); ``notes``, when given, replaces the run's notes.
    """
    _check_status(status)
    if status == "running":
        raise ValueError("finish_scenario_run needs status 'finished' or 'failed'")
    require_aware("finished_at", finished_at)
    values = _checked_metrics(metrics or {})
    stored_artefacts = _checked_json("artefacts", artefacts or {})
    with Session(registry.engine) as session, session.begin():
        row = session.get(ScenarioRunRow, run_id, with_for_update=True)
        if row is None:
            raise KeyError(f"no scenario run {run_id!r} in the registry {registry.url}")
        if row.status != "running":
            raise ValueError(f"scenario run {run_id!r} is already {row.status}")
        finished = finished_at or datetime.now(UTC)
        _check_order(row.started_at, finished)
        row.finished_at = finished
        row.status = status
        # new dicts, so the ORM sees the JSON columns change
        row.metrics = {**row.metrics, **values}
        row.artefacts = {**row.artefacts, **stored_artefacts}
        if notes is not None:
            row.notes = notes


def get_scenario_run(registry: Registry, run_id: str) -> ScenarioRunRecord | None:
    """One scenario run, or None if there is no run with that id."""
    with Session(registry.engine) as session:
        row = session.get(ScenarioRunRow, run_id)
        return row_record(row, ScenarioRunRecord) if row is not None else None


def list_scenario_runs(
    registry: Registry,
    plant_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ScenarioRunRecord]:
    """Scenario runs, newest first.

    ``plant_id`` keeps one plant's runs; ``since`` keeps runs that started or finished at or
    after it; ``until`` keeps runs that started before it.
    """
    require_aware("since", since)
    require_aware("until", until)
    query = select(ScenarioRunRow).order_by(ScenarioRunRow.started_at.desc(), ScenarioRunRow.id)
    if plant_id is not None:
        query = query.where(ScenarioRunRow.plant_id == plant_id)
    if since is not None:
        query = query.where(or_(ScenarioRunRow.started_at >= since, ScenarioRunRow.finished_at >= since))
    if until is not None:
        query = query.where(ScenarioRunRow.started_at < until)
    with Session(registry.engine) as session:
        return [row_record(row, ScenarioRunRecord) for row in session.scalars(query)]


# --- checks -----------------------------------------------------------------------------


def _check_name(field: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > _NAME_MAX:
        raise ValueError(f"{field} {value!r} must be a non-empty name of at most {_NAME_MAX} characters")


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"scenario run status {status!r} is not one of {', '.join(STATUSES)}")


def _check_order(started: datetime, finished: datetime) -> None:
    if finished < started:
        raise ValueError(f"finished_at {finished.isoformat()} is before started_at {started.isoformat()}")


def _checked_metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"metric name {name!r} must be a non-empty string")
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"metric {name!r} is {value!r}; metrics are finite numbers")
        # plain Python numbers: JSON cannot encode NumPy's
        out[name] = int(value) if isinstance(value, Integral) else float(value)
    return out


def _checked_json(field: str, value: Mapping[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} must be plain JSON (strings, numbers, lists, objects): {exc}") from None
    return dict(value)
