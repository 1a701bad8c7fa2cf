"""A live store's overview and KPI answers: the last result answers while one refresh recomputes it.

With ``live_lag_s`` > 0 (``serve --ingest``) a write does not make the next request wait for a
recomputation: it gets the result computed before the write (at most ``live_lag_s`` old) and a
single background refresh brings the new data in. Without it, a write is seen at once.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from smartfactory.app.kpis import KpiArgs, kpis_json
from smartfactory.app.overview import overview
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.model.events import SCHEMAS, EventType
from web import build_store


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("live") / "store", days=1)


@pytest.fixture
def folder(stored: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(stored, tmp_path / "store"))


def _open(folder: Path, lag_s: float) -> Workspace:
    return Workspace(WorkspaceSettings(store=folder, live_lag_s=lag_s), mode="write")


def _add_good(workspace: Workspace, good: int) -> None:
    """A count of ``good`` parts on OP10-M1 a second after the last stored event."""
    with workspace.writing() as store:
        _, last = store.time_range()
        assert last is not None
        row = {"ts": last + timedelta(seconds=1), "equipment": "OP10-M1", "order_id": None, "product": None}
        table = pa.Table.from_pylist(
            [row | {"good": good, "scrap": 0, "rework": 0, "part_id": None}], schema=SCHEMAS[EventType.counts]
        )
        assert store.write(EventType.counts, table) == 1


def _good(body: bytes) -> float:
    return sum(r["elements"].get("GQ") or 0.0 for r in json.loads(body)["rows"])


@pytest.fixture
def live(folder: Path) -> Iterator[Workspace]:
    workspace = _open(folder, lag_s=60)
    yield workspace
    workspace.close()


def test_the_last_overview_answers_while_one_refresh_runs(live: Workspace) -> None:
    first = overview(live)
    _add_good(live, 7)
    assert overview(live) is first  # at once, from the result before the write
    live.cache.settle()
    fresh = overview(live)
    assert fresh is not first and fresh.version != first.version


def test_the_kpi_answer_catches_up_after_the_refresh(live: Workspace) -> None:
    # a fixed window (the default one ends at the newest event, so a write makes it another query)
    args: KpiArgs = {"start": "2026-03-02", "end": "2026-03-04", "by": "equipment", "per": "window"}
    before = kpis_json(live, lang="en", **args)
    _add_good(live, 7)
    assert kpis_json(live, lang="en", **args) == before
    live.cache.settle()
    after = kpis_json(live, lang="en", **args)
    assert _good(after) == _good(before) + 7


def test_without_a_lag_a_write_is_seen_at_once(folder: Path) -> None:
    workspace = _open(folder, lag_s=0)
    try:
        first = overview(workspace)
        _add_good(workspace, 3)
        assert overview(workspace).version != first.version
    finally:
        workspace.close()


def test_a_result_older_than_the_lag_is_not_answered(folder: Path) -> None:
    workspace = _open(folder, lag_s=0.2)
    try:
        first = overview(workspace)
        _add_good(workspace, 3)
        time.sleep(0.3)
        assert overview(workspace).version != first.version  # computed now, not the old one
    finally:
        workspace.close()
