"""Gantt data: a schedule as rows (one bar per operation, one per changeover) and as an Arrow table."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from smartfactory.scenarios.scheduling.problem import Schedule

SCHEDULE_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("order_id", pa.string(), nullable=False),
        pa.field("op", pa.int32(), nullable=False),
        pa.field("step", pa.string(), nullable=False),
        pa.field("product", pa.string(), nullable=False),
        pa.field("machine", pa.string(), nullable=False),
        pa.field("setup_start", pa.timestamp("us")),
        pa.field("start", pa.timestamp("us"), nullable=False),
        pa.field("end", pa.timestamp("us"), nullable=False),
        pa.field("fixed", pa.bool_(), nullable=False),
    ]
)


def gantt_rows(schedule: Schedule) -> list[dict[str, Any]]:
    """One bar per changeover and per operation, by machine then time (for a chart)."""
    rows: list[dict[str, Any]] = []
    for op in sorted(schedule.operations, key=lambda o: (o.machine, o.start)):
        if op.setup_start is not None:
            rows.append(
                {
                    "machine": op.machine,
                    "order": op.order,
                    "kind": "setup",
                    "start": op.setup_start,
                    "end": op.start,
                }
            )
        rows.append(
            {
                "machine": op.machine,
                "order": op.order,
                "kind": "run",
                "step": op.step_name,
                "product": op.product,
                "start": op.start,
                "end": op.end,
                "fixed": op.fixed,
            }
        )
    return rows


def schedule_table(schedule: Schedule, run_id: str) -> pa.Table:
    """The schedule as rows of the store's ``schedules`` table."""
    ops = sorted(schedule.operations, key=lambda o: (o.order, o.step))
    return pa.table(
        {
            "run_id": [run_id] * len(ops),
            "order_id": [o.order for o in ops],
            "op": [o.step for o in ops],
            "step": [o.step_name for o in ops],
            "product": [o.product for o in ops],
            "machine": [o.machine for o in ops],
            "setup_start": [o.setup_start for o in ops],
            "start": [o.start for o in ops],
            "end": [o.end for o in ops],
            "fixed": [o.fixed for o in ops],
        },
        schema=SCHEDULE_SCHEMA,
    )
