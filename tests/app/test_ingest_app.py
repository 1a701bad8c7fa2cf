"""The live-ingestion use cases (``app/ingest.py``) on a real workspace and the shared broker:
sources run on the workspace's own connection, their status, stopping them, and what is refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from live_store import LivePlant, measurement, now
from plants import MachineSpec, PlantSpec
from smartfactory.app.ingest import ingest_run, ingest_status, start_ingest, stop_all_ingest, stop_ingest
from smartfactory.app.plant import OtherPlant
from smartfactory.app.workspace import Workspace, WorkspaceSettings
from smartfactory.model.errors import NotFound, UserError
from smartfactory.model.events import EventType


async def _until(condition: object, what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_sources_run_on_the_workspace_connection_until_stopped(mqtt_url: str, tmp_path: Path) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    workspace = Workspace(WorkspaceSettings(store=tmp_path / "store"))

    async def main() -> tuple[dict[str, object], dict[str, object]]:
        assert not ingest_status(workspace).running
        run = await start_ingest(workspace, live.text, "plant.toml", None, "a test")
        try:
            await _until(lambda: ingest_run(workspace, run.id).sources[0].connected, "connected")
            publisher = live.publisher()
            try:
                publisher.write(EventType.measurements, measurement("M1A", now(), 21.5))
            finally:
                publisher.close()
            await _until(lambda: ingest_run(workspace, run.id).stored >= 1, "stored")
            report = ingest_status(workspace)
            assert report.running and [r.id for r in report.runs] == [run.id]
            # the same connection's readers see the commit: no second connection of the file
            with workspace.telemetry() as store:
                assert store.count(EventType.measurements) == 1
            final = await stop_ingest(workspace, run.id)
            assert not final.running and final.stored == 1 and final.spooled_points == 0
            with pytest.raises(NotFound):
                ingest_run(workspace, run.id)
            return report.model_dump(), final.model_dump()
        finally:
            await stop_all_ingest(workspace)

    try:
        report, final = asyncio.run(main())
        assert workspace.plant().plant.id == live.plant().plant.id  # kept in the registry
        assert not ingest_status(workspace).runs
    finally:
        workspace.close()
    assert report["runs"] and final["origin"] == "a test"


def test_another_plant_a_plant_without_sources_and_unknown_ids_are_refused(
    mqtt_url: str, tmp_path: Path
) -> None:
    live = LivePlant(tmp_path, mqtt_url)
    workspace = Workspace(WorkspaceSettings(store=tmp_path / "store"))
    other = PlantSpec(cells=[[MachineSpec(cycle_s=30)]], buffers=[2])
    other_text = live.text.replace(f'id = "{live.plant().plant.id}"', 'id = "OTHER"', 1)

    async def main() -> None:
        try:
            with pytest.raises(UserError, match="declares no"):
                await start_ingest(workspace, other.toml(), "bare.toml", None, "a test")
            with pytest.raises(UserError, match="no source nope"):
                await start_ingest(workspace, live.text, "plant.toml", ["nope"], "a test")
            run = await start_ingest(workspace, live.text, "plant.toml", None, "a test")
            await stop_ingest(workspace, run.id)
            with pytest.raises(OtherPlant):
                await start_ingest(workspace, other_text, "other.toml", None, "a test")
            with pytest.raises(NotFound):
                await stop_ingest(workspace, "zz-none")
        finally:
            await stop_all_ingest(workspace)

    try:
        assert 'id = "OTHER"' in other_text
        asyncio.run(main())
    finally:
        workspace.close()
