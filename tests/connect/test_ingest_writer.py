"""The ingest writer: commit then ack, state changes → intervals, spool while the store is locked."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from smartfactory.connect.spool import Spool
from smartfactory.connect.writer import SPOOL_FOLDER, IngestWriter
from smartfactory.model.events import EventType
from smartfactory.store.quarantine import Quarantine
from smartfactory.store.telemetry import TelemetryStore

T0 = 1_772_409_600_000_000  # 2026-03-02T00:00:00Z in µs
S = 1_000_000


def at(seconds: float) -> datetime:
    return datetime(2026, 3, 2) + (datetime.fromtimestamp(seconds) - datetime.fromtimestamp(0))


def stored(folder: Path, event_type: EventType) -> list[dict[str, Any]]:
    with TelemetryStore.open(folder, "read") as store:
        rows: list[dict[str, Any]] = store.table(event_type).to_pylist()
        return rows


def test_a_batch_is_committed_before_its_acks(tmp_path: Path) -> None:
    acked: list[tuple[int, int]] = []

    async def main() -> None:
        async with IngestWriter(tmp_path, max_delay_s=0.05) as writer:
            for i in range(3):
                batch = writer.batch
                batch.measurement("M1", "temp", T0 + i * S, 20.0 + i)
                batch.count(T0 + i * S, "M1", good=1)
                batch.alarm(T0 + i * S, "M1", "A1", "warning", "raised", "hot")
                batch.received()

                # the ack looks at the store: the rows must already be there
                def ack(n: int = i) -> None:
                    acked.append((n, writer.stats.commits))

                batch.on_commit(ack)
                await writer.room()
            await writer.flush()
            assert [a[0] for a in acked] == [0, 1, 2]
            assert writer.stats.stored == 9
            assert writer.stats.messages == 3

    asyncio.run(main())
    assert [r["value"] for r in stored(tmp_path, EventType.measurements)] == [20.0, 21.0, 22.0]
    assert len(stored(tmp_path, EventType.counts)) == 3
    assert len(stored(tmp_path, EventType.alarms)) == 3


def test_a_redelivered_batch_is_not_stored_twice(tmp_path: Path) -> None:
    async def main() -> int:
        async with IngestWriter(tmp_path) as writer:
            for _ in range(2):
                for i in range(100):
                    writer.batch.measurement("M1", "temp", T0 + i * S, float(i))
                await writer.flush()
            return writer.stats.stored

    assert asyncio.run(main()) == 100
    assert len(stored(tmp_path, EventType.measurements)) == 100


def test_state_changes_become_intervals_across_batches_and_restarts(tmp_path: Path) -> None:
    async def first() -> None:
        async with IngestWriter(tmp_path) as writer:
            writer.batch.state_change("M1", T0, "running")
            writer.batch.state_change("M1", T0 + 60 * S, "unplanned_down", reason="BRK")
            await writer.flush()
            writer.batch.state_change("M1", T0 + 60 * S, "unplanned_down", reason="BRK")  # repeated
            writer.batch.state_change("M1", T0 + 30 * S, "idle")  # late: before the open state
            await writer.flush()

    async def second() -> None:
        # a new process: the open state comes back from the store
        async with IngestWriter(tmp_path) as writer:
            writer.batch.state_change("M1", T0 + 90 * S, "running")
            await writer.flush()

    asyncio.run(first())
    asyncio.run(second())
    rows = stored(tmp_path, EventType.states)
    assert [(r["state"], r["reason"], (r["end"] - r["start"]).total_seconds()) for r in rows] == [
        ("running", None, 60.0),
        ("unplanned_down", "BRK", 30.0),
    ]
    with TelemetryStore.open(tmp_path, "read") as store:
        late = Quarantine(store.connection, create=False).list()
        open_rows = store.query("SELECT equipment, state FROM open_states").to_pylist()
    assert len(late) == 1 and late[0].reason.startswith("late state change:")
    assert open_rows == [{"equipment": "M1", "state": "running"}]


def test_rejects_go_to_quarantine_in_the_same_commit(tmp_path: Path) -> None:
    async def main() -> None:
        async with IngestWriter(tmp_path) as writer:
            writer.batch.reject("line/M1/temp", "bad json: Expecting value", b"{nope")
            writer.batch.measurement("M1", "temp", T0, 1.0)
            await writer.flush()
            assert writer.stats.quarantined == 1

    asyncio.run(main())
    with TelemetryStore.open(tmp_path, "read") as store:
        entries = Quarantine(store.connection, create=False).list()
    assert [(e.source, e.raw) for e in entries] == [("line/M1/temp", b"{nope")]


def test_backpressure_waits_for_the_commit(tmp_path: Path) -> None:
    async def main() -> int:
        async with IngestWriter(tmp_path, max_rows=100, max_backlog_rows=200) as writer:
            most = 0
            for i in range(2_000):
                writer.batch.measurement("M1", "temp", T0 + i, float(i))
                most = max(most, writer.batch.points)
                await writer.room()
            return most

    assert asyncio.run(main()) <= 200
    assert len(stored(tmp_path, EventType.measurements)) == 2_000


HOLD = textwrap.dedent(
    """
    import sys, time
    from smartfactory.store.telemetry import TelemetryStore
    store = TelemetryStore.open(sys.argv[1], "write")
    print("locked", flush=True)
    sys.stdin.readline()
    store.close()
    """
)


def _hold_store(folder: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_locked_store_spools_and_replays_in_order(tmp_path: Path) -> None:
    TelemetryStore.open(tmp_path, "write").close()
    holder = _hold_store(tmp_path)

    async def main() -> dict[str, object]:
        async with IngestWriter(tmp_path, retry_s=0.1, max_delay_s=0.05) as writer:
            for i in range(5):
                writer.batch.measurement("M1", "temp", T0 + i * S, float(i))
                writer.batch.state_change("M1", T0 + i * 10 * S, "running" if i % 2 == 0 else "idle")
                await writer.flush()
            spooled = writer.stats.spooled_segments
            assert writer.stats.spool_pending == spooled >= 5
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=10)
            deadline = time.monotonic() + 10
            while writer.stats.spool_pending and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await writer.flush()  # waits for the commit that replayed the spool to be counted
            return writer.stats.as_dict()

    try:
        stats = asyncio.run(main())
    finally:
        holder.kill()
    assert stats["spool_pending"] == 0 and stats["replayed_segments"] == stats["spooled_segments"]
    assert len(stored(tmp_path, EventType.measurements)) == 5
    # the changes were applied in the order they came: four closed intervals, alternating
    states = stored(tmp_path, EventType.states)
    assert [r["state"] for r in states] == ["running", "idle", "running", "idle"]
    assert not Spool(tmp_path / SPOOL_FOLDER).segments()


def test_the_spool_outlives_the_process(tmp_path: Path) -> None:
    TelemetryStore.open(tmp_path, "write").close()
    holder = _hold_store(tmp_path)

    async def locked() -> None:
        async with IngestWriter(tmp_path) as writer:
            writer.batch.measurement("M1", "temp", T0, 1.0)
            await writer.flush()
            assert writer.stats.spool_pending == 1

    try:
        asyncio.run(locked())
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)

    async def later() -> int:
        async with IngestWriter(tmp_path) as writer:
            assert writer.stats.spool_pending == 1
            await writer.flush()
            return writer.stats.replayed_segments

    assert asyncio.run(later()) == 1
    assert len(stored(tmp_path, EventType.measurements)) == 1


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    from smartfactory.model.errors import UserError

    with pytest.raises(UserError, match="max_rows > 0"):
        IngestWriter(tmp_path, max_rows=0)
