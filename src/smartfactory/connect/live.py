"""What every live source (MQTT, OPC UA, Modbus) shares: the batch it fills, its status, its lifecycle.

A live source decodes messages into an :class:`EventBatch` (column lists, cheap to append to),
registers an ``ack`` for each message, and the :class:`~smartfactory.connect.writer.IngestWriter`
commits the batch to the store (or the spool) before it calls the acks. So a message is only
acknowledged to its source once its points are durable, and a source that redelivers after a
crash loses nothing; the store's event keys make a redelivered point a no-op.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

import pyarrow as pa
from pydantic import BaseModel

from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.store.quarantine import Rejected

if TYPE_CHECKING:
    from smartfactory.connect.writer import IngestWriter
    from smartfactory.model.plant import Plant

Ack = Callable[[], None]

_TS = pa.timestamp("us")
_Config = TypeVar("_Config", bound=BaseModel)


class EventBatch:
    """Rows decoded from messages, column by column, plus rejects and the acks they wait on.

    Times are integer microseconds since the Unix epoch, UTC: sources convert once, the batch
    never parses text.
    """

    def __init__(self) -> None:
        self.m_equipment: list[str] = []
        self.m_signal: list[str] = []
        self.m_ts: list[int] = []
        self.m_value: list[float] = []
        self.states: list[tuple[str, int, int, str, str | None, str | None, str | None]] = []
        self.changes: list[tuple[str, int, str, str | None, str | None, str | None]] = []
        self.counts: list[tuple[int, str, str | None, str | None, int, int, int, str | None]] = []
        self.alarms: list[tuple[int, str, str, str, str, str | None]] = []
        self.rejected: list[Rejected] = []
        self.acks: list[Ack] = []
        self.messages = 0
        self.oldest_received: float | None = None

    # --- filling ----------------------------------------------------------------------

    def measurement(self, equipment: str, signal: str, ts_us: int, value: float) -> None:
        """One signal value."""
        self.m_equipment.append(equipment)
        self.m_signal.append(signal)
        self.m_ts.append(ts_us)
        self.m_value.append(value)

    def measurements(self, equipment: str, signal: str, ts_us: list[int], values: list[float]) -> None:
        """Many values of one signal (same length lists)."""
        n = len(ts_us)
        self.m_equipment.extend([equipment] * n)
        self.m_signal.extend([signal] * n)
        self.m_ts.extend(ts_us)
        self.m_value.extend(values)

    def state(
        self,
        equipment: str,
        start_us: int,
        end_us: int,
        state: str,
        reason: str | None = None,
        order_id: str | None = None,
        product: str | None = None,
    ) -> None:
        """One finished state interval ``[start, end)``."""
        self.states.append((equipment, start_us, end_us, state, reason, order_id, product))

    def state_change(
        self,
        equipment: str,
        ts_us: int,
        state: str,
        reason: str | None = None,
        order_id: str | None = None,
        product: str | None = None,
    ) -> None:
        """Equipment entered ``state`` at ``ts``; the writer closes its previous state there."""
        self.changes.append((equipment, ts_us, state, reason, order_id, product))

    def count(
        self,
        ts_us: int,
        equipment: str,
        good: int,
        scrap: int = 0,
        rework: int = 0,
        order_id: str | None = None,
        product: str | None = None,
        part_id: str | None = None,
    ) -> None:
        """Parts finished at ``ts``."""
        self.counts.append((ts_us, equipment, order_id, product, good, scrap, rework, part_id))

    def alarm(
        self,
        ts_us: int,
        equipment: str,
        code: str,
        severity: str,
        action: str,
        message: str | None = None,
    ) -> None:
        """An alarm raised, acknowledged or cleared."""
        self.alarms.append((ts_us, equipment, code, severity, action, message))

    def reject(self, source: str, reason: str, raw: bytes | str) -> None:
        """A payload that cannot be stored: it goes to quarantine with ``reason`` ("kind: detail")."""
        self.rejected.append(Rejected(source, reason, raw))

    def on_commit(self, ack: Ack) -> None:
        """Call ``ack`` once this batch is durable (stored or spooled), in the order registered."""
        self.acks.append(ack)

    def received(self, messages: int = 1) -> None:
        """Count messages taken into the batch (for rates and lag)."""
        if self.oldest_received is None:
            self.oldest_received = time.monotonic()
        self.messages += messages

    # --- reading ----------------------------------------------------------------------

    @property
    def points(self) -> int:
        """Event rows in the batch (not counting rejects)."""
        return len(self.m_ts) + len(self.states) + len(self.changes) + len(self.counts) + len(self.alarms)

    def empty(self) -> bool:
        """Nothing to commit and nobody waiting."""
        return not (self.points or self.rejected or self.acks)

    def tables(self) -> dict[EventType, pa.Table]:
        """The rows as Arrow tables in the store's schemas (only types that have rows)."""
        out: dict[EventType, pa.Table] = {}
        if self.m_ts:
            out[EventType.measurements] = pa.table(
                [
                    pa.array(self.m_ts, pa.int64()).cast(_TS),
                    pa.array(self.m_equipment, pa.string()),
                    pa.array(self.m_signal, pa.string()),
                    pa.array(self.m_value, pa.float64()),
                ],
                schema=SCHEMAS[EventType.measurements],
            )
        if self.states:
            out[EventType.states] = _rows(EventType.states, self.states, (1, 2))
        if self.counts:
            out[EventType.counts] = _rows(EventType.counts, self.counts, (0,))
        if self.alarms:
            out[EventType.alarms] = _rows(EventType.alarms, self.alarms, (0,))
        return out

    def change_table(self) -> pa.Table:
        """State changes as a table (equipment, ts, state, reason, order_id, product)."""
        return _rows_with(CHANGES_SCHEMA, self.changes, (1,))


CHANGES_SCHEMA = pa.schema(
    [
        pa.field("equipment", pa.string(), nullable=False),
        pa.field("ts", _TS, nullable=False),
        pa.field("state", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("order_id", pa.string()),
        pa.field("product", pa.string()),
    ]
)


def _rows(
    event_type: EventType, rows: Sequence[tuple[object, ...]], time_columns: tuple[int, ...]
) -> pa.Table:
    return _rows_with(SCHEMAS[event_type], rows, time_columns)


def _rows_with(
    schema: pa.Schema, rows: Sequence[tuple[object, ...]], time_columns: tuple[int, ...]
) -> pa.Table:
    columns: list[Sequence[object]] = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for i, f in enumerate(schema):
        if i in time_columns:
            arrays.append(pa.array(columns[i], pa.int64()).cast(_TS))
        else:
            arrays.append(pa.array(columns[i], f.type))
    return pa.table(arrays, schema=schema)


@dataclass
class SourceStatus:
    """What a live source reports for the status line and `ingest --json`."""

    name: str
    kind: str
    connected: bool = False
    messages: int = 0
    points: int = 0
    rejected: int = 0
    reconnects: int = 0
    last_error: str | None = None
    last_message_at: float | None = None
    gaps: list[tuple[float, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "name": self.name,
            "kind": self.kind,
            "connected": self.connected,
            "messages": self.messages,
            "points": self.points,
            "rejected": self.rejected,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }


def source_config(config: BaseModel, schema: type[_Config]) -> _Config:
    """``config`` as the source kind's own schema (validated again when given as another model)."""
    return config if isinstance(config, schema) else schema.model_validate(config.model_dump())


class LiveSource(Protocol):
    """The lifecycle every live source follows (a Home Assistant integration, in spirit).

    ``setup`` checks the config against the plant before anything connects; ``run`` moves data
    until cancelled and reconnects by itself (with :class:`Backoff`); ``close`` releases the
    connection. A bad payload never ends ``run``: it is rejected into the batch.
    """

    kind: ClassVar[str]
    config_schema: ClassVar[type[BaseModel]]
    status: SourceStatus

    def __init__(self, name: str, config: BaseModel, plant: Plant, writer: IngestWriter) -> None: ...

    async def setup(self) -> None:
        """Check the config against the plant; raise UserError before anything is written."""
        ...

    async def run(self) -> None:
        """Move data into the writer until cancelled, reconnecting after failures."""
        ...

    async def close(self) -> None:
        """Release the connection (after the writer's last commit)."""
        ...


class SourceBase:
    """What every live source keeps from its constructor's arguments, and its status line.

    The config is kept as the kind's own ``config_schema`` (validated again when it arrives as
    another model); a subclass narrows ``config`` (and ``status``) to its own types.
    """

    kind: ClassVar[str]
    config_schema: ClassVar[type[BaseModel]]
    status_type: ClassVar[type[SourceStatus]] = SourceStatus

    def __init__(self, name: str, config: BaseModel, plant: Plant, writer: IngestWriter) -> None:
        self.name = name
        self.config = source_config(config, self.config_schema)
        self.plant = plant
        self.writer = writer
        self.status = self.status_type(name, self.kind)


class Backoff:
    """Exponential reconnect delays with jitter: 0.5 s, 1 s, 2 s … up to ``cap``; reset on success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self.first = first
        self.cap = cap
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt."""
        delay = min(self.cap, self.first * (2**self.attempt))
        self.attempt += 1
        return float(delay * (0.8 + 0.4 * random.random()))

    async def wait(self) -> None:
        """Sleep for the next delay."""
        await asyncio.sleep(self.next_delay())

    def reset(self) -> None:
        """Connected again: start from the first delay next time."""
        self.attempt = 0
