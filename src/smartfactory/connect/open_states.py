"""State changes → state intervals: the state each equipment is in now, kept in the store.

Sources like PLCs report "entered state X at t"; the store keeps intervals ``[start, end)``. The
open (not yet ended) state of each equipment lives in the store's table ``open_states`` (DuckDB
or PostgreSQL, ``EventStore.load_open_states`` / ``save_open_states``), written in the same
transaction as the intervals it closes, so a restart (or a crash) continues where the last commit
left off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from smartfactory.model.events import SCHEMAS, EventType
from smartfactory.store.integrity import OPEN_STATES_SCHEMA
from smartfactory.store.postgres import EventStore
from smartfactory.store.quarantine import Rejected

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class OpenState:
    """The state an equipment entered at ``start`` and is still in."""

    start_us: int
    state: str
    reason: str | None
    order_id: str | None
    product: str | None

    def same_as(self, other: OpenState) -> bool:
        """Same state, reason, order and product (a repeated report, not a change)."""
        return (self.state, self.reason, self.order_id, self.product) == (
            other.state,
            other.reason,
            other.order_id,
            other.product,
        )


@dataclass
class Applied:
    """What a batch of changes does: intervals to store, late changes to reject, new open states."""

    intervals: pa.Table
    rejected: list[Rejected]
    changed: dict[str, OpenState]


class OpenStates:
    """The open state per equipment, loaded from and saved to the store."""

    def __init__(self) -> None:
        self.current: dict[str, OpenState] = {}

    def load(self, store: EventStore) -> None:
        """Read every open state the store keeps (creating its table when writing)."""
        rows = store.load_open_states()
        starts = rows.column("start").cast(pa.int64()).to_pylist()
        self.current = {
            str(r["equipment"]): OpenState(int(us), str(r["state"]), r["reason"], r["order_id"], r["product"])
            for r, us in zip(rows.to_pylist(), starts, strict=True)
        }

    def apply(self, changes: pa.Table, source: str = "state change") -> Applied:
        """Close open states at each change, in time order per equipment; nothing is mutated here."""
        current = dict(self.current)
        changed: dict[str, OpenState] = {}
        intervals: list[dict[str, object]] = []
        rejected: list[Rejected] = []
        rows = changes.to_pylist()
        ts_us = changes.column("ts").cast(pa.int64()).to_pylist() if changes.num_rows else []
        order = sorted(range(len(rows)), key=lambda i: (rows[i]["equipment"], ts_us[i]))
        for i in order:
            row = rows[i]
            equipment = str(row["equipment"])
            new = OpenState(ts_us[i], str(row["state"]), row["reason"], row["order_id"], row["product"])
            old = current.get(equipment)
            if old is not None:
                if new.start_us < old.start_us:
                    rejected.append(
                        Rejected(
                            f"{source}:{equipment}",
                            f"late state change: {_iso(new.start_us)} is before the open state "
                            f"{old.state!r} that began {_iso(old.start_us)}",
                            json.dumps(
                                {"equipment": equipment, "ts": _iso(new.start_us), "state": new.state},
                                ensure_ascii=False,
                            ),
                        )
                    )
                    continue
                if old.same_as(new):
                    continue  # a repeated report (or a redelivery) of the state already open
                if new.start_us > old.start_us:
                    intervals.append(
                        {
                            "equipment": equipment,
                            "start": _moment(old.start_us),
                            "end": _moment(new.start_us),
                            "state": old.state,
                            "reason": old.reason,
                            "order_id": old.order_id,
                            "product": old.product,
                        }
                    )
                # equal start and a different state: the later report wins, nothing to close
            current[equipment] = new
            changed[equipment] = new
        table = pa.Table.from_pylist(intervals, schema=SCHEMAS[EventType.states])
        return Applied(table, rejected, changed)

    def save(self, store: EventStore, changed: dict[str, OpenState]) -> None:
        """Write changed open states (inside the caller's transaction)."""
        if not changed:
            return
        table = pa.Table.from_pylist(
            [
                {
                    "equipment": e,
                    "start": _moment(s.start_us),
                    "state": s.state,
                    "reason": s.reason,
                    "order_id": s.order_id,
                    "product": s.product,
                }
                for e, s in changed.items()
            ],
            schema=OPEN_STATES_SCHEMA,
        )
        store.save_open_states(table)

    def commit(self, changed: dict[str, OpenState]) -> None:
        """Adopt the changes once their transaction committed."""
        self.current.update(changed)


def _moment(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _iso(us: int) -> str:
    return _moment(us).replace(tzinfo=UTC).isoformat()
