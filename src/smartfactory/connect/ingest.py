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
    """A snapshot of an ingestion: totals since it started, rates over the last interval."""

    elapsed_s: float
    messages: int
    points: int
    stored: int
    duplicates: int
    conflicts: int
    overlaps: int
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


OnStatus = Callable[[IngestStatus], None]

_Totals = tuple[int, ...]


def _totals(writer: IngestWriter) -> _Totals:
    stats = writer.stats
    return (
        stats.messages,
        stats.points,
        stats.stored,
        stats.duplicates,
        stats.conflicts,
        stats.overlaps,
        stats.quarantined,
        stats.spooled_points,
    )


class Ingestion:
    """A set of live sources feeding a writer that may outlive it (and may feed others meanwhile).

    Its numbers are the writer's since the ingestion started: with several ingestions on one
    writer (a server running its own sources and those another process handed to it), each
    counts what the writer did while it ran.
    """

    def __init__(self, sources: list[LiveSource], writer: IngestWriter) -> None:
        self.sources = sources
        self.writer = writer
        self.started = time.monotonic()
        self.stopped: float | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._base: _Totals = _totals(writer)
        self._last = (self.started, 0, 0)

    async def start(self) -> None:
        """Set up every source (all checked before any connects), start the writer, connect."""
        for source in self.sources:
            await source.setup()
        await self.writer.start()
        self.started = time.monotonic()
        self._base = _totals(self.writer)
        self._last = (self.started, 0, 0)
        self._tasks = [asyncio.create_task(s.run(), name=f"source {s.status.name}") for s in self.sources]

    def error(self) -> BaseException | None:
        """The exception a source's task died of (a bug in a source), or None."""
        failed = [t for t in self._tasks if t.done() and not t.cancelled() and t.exception() is not None]
        return failed[0].exception() if failed else None

    @property
    def running(self) -> bool:
        """Started and not yet stopped."""
        return bool(self._tasks) and self.stopped is None

    async def stop(self, *, writer_too: bool = False) -> None:
        """Stop taking data, commit what is in flight and run its acks, then disconnect.

        ``writer_too`` stops the writer as well (its last commit, the store closed if it opened
        it); otherwise the writer commits now and goes on for the others.
        """
        if self.stopped is not None:
            return
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await (self.writer.stop() if writer_too else self.writer.flush())
        finally:
            self.stopped = time.monotonic()
            for source in self.sources:
                try:
                    await source.close()
                except Exception as exc:  # closing one must not keep the others open
                    logger.warning("closing %s: %s", source.status.name, exc)

    def status(self, *, interval: bool = True) -> IngestStatus:
        """Totals since the start; rates since the last status (``interval``) or since the start."""
        now = self.stopped if self.stopped is not None else time.monotonic()
        stats = self.writer.stats
        totals = [now_ - base for now_, base in zip(_totals(self.writer), self._base, strict=True)]
        messages, points, stored, duplicates, conflicts, overlaps, quarantined, spooled = totals
        since = self._last if interval else (self.started, 0, 0)
        span = max(now - since[0], 1e-9)
        status = IngestStatus(
            elapsed_s=now - self.started,
            messages=messages,
            points=points,
            stored=stored,
            duplicates=duplicates,
            conflicts=conflicts,
            overlaps=overlaps,
            quarantined=quarantined,
            spooled_points=spooled,
            spool_pending=stats.spool_pending,
            messages_per_s=(messages - since[1]) / span,
            points_per_s=(points - since[2]) / span,
            lag_s=stats.lag_s,
            store_available=stats.store_available,
            sources=[s.status.as_dict() for s in self.sources],
        )
        if interval:
            self._last = (now, messages, points)
        return status


async def ingest(
    sources: list[LiveSource],
    writer: IngestWriter,
    stop: asyncio.Event,
    *,
    on_status: OnStatus | None = None,
    status_every_s: float = 1.0,
) -> IngestStatus:
    """Set up every source, run them until ``stop`` is set, drain, close; return the last status."""
    run = Ingestion(sources, writer)
    await run.start()
    try:
        while not stop.is_set():
            error = run.error()
            if error is not None:
                raise error  # a bug in a source: stop loudly, after draining below
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=status_every_s)
            status = run.status()
            if on_status is not None:
                on_status(status)
    finally:
        await run.stop(writer_too=True)
    return run.status(interval=False)
