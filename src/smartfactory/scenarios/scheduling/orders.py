"""The plant's order book: the plant file's orders and those the store's twin runs recorded.

A plant file holds the open order book at one moment; over a run the twin also generates the
plant's steady demand (``[demand]``) and records, with the run in the registry, every order it
worked to and when each closed (its last unit left the line), as an MES would. The scheduler
plans the orders of both that are still open, so after a week of the twin it schedules the
week's open orders, not the week-old book.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from smartfactory.model.plant import Order, Plant
from smartfactory.store.registry import Registry


@dataclass(frozen=True)
class RecordedOrder:
    """An order a twin run worked to, and when it closed (naive UTC; None: open at the run's end)."""

    order: Order
    closed: datetime | None = None


def recorded_orders(registry: Registry, plant_id: str) -> list[RecordedOrder]:
    """The orders the plant's finished twin runs recorded (a later run's record of an order
    replaces an earlier one's)."""
    found: dict[str, RecordedOrder] = {}
    for run in reversed(registry.list_runs(plant_id)):  # oldest first
        if run["status"] != "finished" or not run["truth"]:
            continue
        for item in run["truth"].get("orders") or ():
            recorded = _recorded(item)
            if recorded is not None:
                found[recorded.order.id] = recorded
    return list(found.values())


def order_book(
    plant: Plant, recorded: Iterable[RecordedOrder] = (), now: datetime | None = None
) -> list[Order]:
    """The plant file's orders, then the recorded ones the file does not hold; with ``now``
    (naive UTC), without the orders recorded as closed by then."""
    recorded = list(recorded)
    closed = {r.order.id for r in recorded if now is not None and r.closed is not None and r.closed <= now}
    book = [o for o in plant.orders if o.id not in closed]
    known = {o.id for o in plant.orders}
    book.extend(r.order for r in recorded if r.order.id not in known and r.order.id not in closed)
    return book


def _recorded(item: Any) -> RecordedOrder | None:
    # runs recorded by older versions (without orders) or edited by hand: skip what does not fit
    if not isinstance(item, Mapping):
        return None
    try:
        order = Order(
            id=item["id"],
            product=item["product"],
            quantity=item["quantity"],
            due=datetime.fromisoformat(item["due"]),
            release=datetime.fromisoformat(item["release"]) if item.get("release") else None,
        )
        closed = _utc(datetime.fromisoformat(item["closed"])) if item.get("closed") else None
    except (KeyError, TypeError, ValueError, ValidationError):
        return None
    return RecordedOrder(order, closed)


def _utc(moment: datetime) -> datetime:
    """Naive UTC, the store's convention (a naive time is taken as UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
