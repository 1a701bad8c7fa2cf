"""Comparing KPI results from two engines or two stores: the same rows, the same numbers to 1e-9."""

from __future__ import annotations

import math

from smartfactory.kpi import KpiResult
from smartfactory.kpi.elements import COUNT_COLUMNS, TIME_COLUMNS

KEYS = ["node", "level", "period_start", "period_end", "shift"]


def assert_same_kpis(duck: KpiResult, other: KpiResult) -> None:
    """The same keys in the same order; times and counts exact, every other value to 1e-9."""
    a, b = duck.rows(), other.rows()
    assert [tuple(r[k] for k in KEYS) for r in a] == [tuple(r[k] for k in KEYS) for r in b]
    assert duck.table.column_names == other.table.column_names
    exact = [c for c in TIME_COLUMNS + COUNT_COLUMNS if c in duck.table.column_names]
    close = [c for c in duck.table.column_names if c not in exact and c not in KEYS]
    for x, y in zip(a, b, strict=True):
        where = (x["node"], x["period_start"], x["shift"])
        # integer microseconds and counts: the very same numbers on both engines
        assert {c: x[c] for c in exact} == {c: y[c] for c in exact}, where
        for c in close:
            if x[c] is None or y[c] is None:
                assert x[c] is y[c], (where, c)
            else:
                assert math.isclose(x[c], y[c], rel_tol=1e-9, abs_tol=1e-12), (where, c, x[c], y[c])
