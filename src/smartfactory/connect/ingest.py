"""Run a plant's live sources into the store until stopped, then drain: the ingester.

Every source is set up (config checked against the plant) before any connects. On stop the
sources stop taking data first, the writer commits what is in flight and runs its acks, and only
then do the sources disconnect — so a clean stop leaves nothing unacknowledged behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smartfactory.connect.live import LiveSource
from smartfactory.connect.writer import IngestWriter

logger = logging.getLogger(__name__)


@dataclass
class IngestStatus:
    """A snapshot for the status line: totals and rates over the last interval."""

    elapsed_s: float
    messages: int
    points: int
    stored: int
    quarantined: int
    spooled_points: int
    spool_pending: int
    messages_per_s: float
    points_per_s: float
    lag_s: float
    store_available: bool
    sources: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return dict(vars(self))

    def line(self) -> str:
        """One status line."""
        connected = sum(1 for s in self.sources if s.get("connected"))
        store = "store ok" if self.store_available else "store busy: spooling"
        return (
            f"{self.messages_per_s:,.0f} msg/s · {self.points_per_s:,.0f} points/s · "
            f"{self.stored:,} stored · {self.quarantined:,} quarantined · "
            f"{self.spooled_points:,} spooled ({self.spool_pending} waiting) · lag {self.lag_s:.2f} s · "
            f"{connected}/{len(self.sources)} sources connected · {store}"
        )


OnStatus = Callable[[IngestStatus], None]


async def ingest(
    sources: list[LiveSource],
    writer: IngestWriter,
    stop: asyncio.Event,
    *,
    on_status: OnStatus | None = None,
    status_every_s: float = 1.0,
) -> IngestStatus:
    """Set up every source, run them until ``stop`` is set, drain, close; return the last status."""
    for source in sources:
        await source.setup()
    started = time.monotonic()
    await writer.start()
    tasks = [asyncio.create_task(s.run(), name=f"source {s.status.name}") for s in sources]
    last = (started, 0, 0)
    status = _status(sources, writer, started, last)
    try:
        while not stop.is_set():
            failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
            error = failed[0].exception() if failed else None
            if error is not None:
                raise error  # a bug in a source: stop loudly, after draining below
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=status_every_s)
            status = _status(sources, writer, started, last)
            last = (time.monotonic(), writer.stats.messages, writer.stats.points)
            if on_status is not None:
                on_status(status)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await writer.stop()
        finally:
            for source in sources:
                try:
                    await source.close()
                except Exception as exc:  # closing one must not keep the others open
                    logger.warning("closing %s: %s", source.status.name, exc)
    return _status(sources, writer, started, (started, 0, 0))


def _status(
    sources: list[LiveSource], writer: IngestWriter, started: float, last: tuple[float, int, int]
) -> IngestStatus:
    now = time.monotonic()
    stats = writer.stats
    span = max(now - last[0], 1e-9)
    return IngestStatus(
        elapsed_s=now - started,
        messages=stats.messages,
        points=stats.points,
        stored=stats.stored,
        quarantined=stats.quarantined,
        spooled_points=stats.spooled_points,
        spool_pending=stats.spool_pending,
        messages_per_s=(stats.messages - last[1]) / span,
        points_per_s=(stats.points - last[2]) / span,
        lag_s=stats.lag_s,
        store_available=stats.store_available,
        sources=[s.status.as_dict() for s in sources],
    )
