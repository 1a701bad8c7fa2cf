"""ECharts options built in Python, rendered by ``static/app.js`` from a JSON block.

Every function takes plain lists and dicts and returns a complete option (a dict that
``json_data`` can write into ``<script type="application/json" id=…>``). Options hold no
JavaScript functions: the Content-Security-Policy forbids inline scripts, so the one thing
that needs code — the Gantt's ``renderItem`` — is named (``"renderItem": "gantt"``) and
``app.js`` supplies the function for that name.

Times on a time axis are the plant-local wall clock written as if it were UTC (epoch
milliseconds, ``plant_time``) and the option sets ``useUTC``: the chart then shows plant time
wherever the browser is, and the numbers are shorter than ISO text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

# the machine states' colours (colour-blind safe where it matters: running green vs stops)
STATE_COLORS: dict[str, str] = {
    "running": "#16a34a",
    "idle": "#94a3b8",
    "starved": "#f59e0b",
    "blocked": "#a855f7",
    "setup": "#0ea5e9",
    "planned_stop": "#64748b",
    "unplanned_down": "#dc2626",
    "no_data": "#e5e7eb",
}
PALETTE = ["#1d4ed8", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#be185d", "#4b5563"]
GOOD, WARN, BAD, TARGET = "#16a34a", "#f59e0b", "#dc2626", "#111827"

Moment = datetime | date | str | float | int


_EPOCH = datetime(1970, 1, 1)


def plant_time(moment: Moment) -> int:
    """A time for a time axis: the plant-local wall clock as epoch ms read as UTC (see the module).

    Datetimes are taken at their own wall clock (give them in plant time, aware or naive);
    dates are midnights; ISO text is parsed; numbers are taken as already converted.
    """
    if isinstance(moment, int | float):
        return int(moment)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, datetime.min.time())
    return (moment.replace(tzinfo=None) - _EPOCH) // timedelta(milliseconds=1)


def _grid(**extra: Any) -> dict[str, Any]:
    return {"left": 8, "right": 16, "top": 40, "bottom": 24, "containLabel": True, **extra}


def gantt_option(
    rows: Sequence[str],
    bars: Sequence[Mapping[str, Any]],
    *,
    kinds: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    zoom: bool = True,
) -> dict[str, Any]:
    """A Gantt chart (a state timeline, a schedule): one row per resource, bars over time.

    ``rows``: the row labels, top to bottom. ``bars``: dicts with ``row`` (a label of ``rows``),
    ``start`` and ``end`` (plant-local datetimes, ISO text, or ``plant_time`` numbers),
    ``kind`` (the legend entry and colour: a state, an order …) and optionally ``label`` (the
    tooltip text; without one the tooltip names the kind). ``kinds`` maps a kind to its legend
    name (default: the kind itself); ``colors`` a kind to its colour (default: ``STATE_COLORS``,
    then ``PALETTE``). One custom series per kind, so the legend toggles kinds; ``app.js`` draws
    each bar as a rectangle filling most of its row's band (``"renderItem": "gantt"``).
    """
    index = {label: i for i, label in enumerate(rows)}
    names = dict(kinds or {})
    data: dict[str, list[Any]] = {}
    for bar in bars:
        kind = str(bar.get("kind", ""))
        value = [index[bar["row"]], plant_time(bar["start"]), plant_time(bar["end"])]
        label = bar.get("label")
        # most bars carry no label: a bare [row, start, end] keeps a day of states small
        data.setdefault(kind, []).append({"name": str(label), "value": value} if label else value)
    palette = {**STATE_COLORS, **(colors or {})}
    series = []
    for i, (kind, items) in enumerate(data.items()):
        series.append(
            {
                "type": "custom",
                "name": names.get(kind, kind),
                "renderItem": "gantt",
                "encode": {"x": [1, 2], "y": 0},
                "itemStyle": {"color": palette.get(kind, PALETTE[i % len(PALETTE)])},
                "tooltip": {"formatter": "{a} {b}"},
                "data": items,
            }
        )
    x_axis: dict[str, Any] = {"type": "time"}
    if start is not None:
        x_axis["min"] = plant_time(start)
    if end is not None:
        x_axis["max"] = plant_time(end)
    option: dict[str, Any] = {
        "useUTC": True,
        "animation": False,
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": _grid(bottom=48 if zoom else 24),
        "xAxis": x_axis,
        "yAxis": {
            "type": "category",
            "data": list(rows),
            "inverse": True,
            "axisTick": {"show": False},
            "splitLine": {"show": True},
        },
        "series": series,
    }
    if zoom:
        option["dataZoom"] = [
            {"type": "slider", "xAxisIndex": 0, "filterMode": "weakFilter", "height": 18, "bottom": 8},
            {"type": "inside", "xAxisIndex": 0, "filterMode": "weakFilter"},
        ]
    return option


def pareto_option(
    causes: Sequence[str],
    values: Sequence[float],
    cumulative: Sequence[float],
    *,
    value_name: str = "h",
    cumulative_name: str = "%",
    unit: str = "h",
    digits: int = 1,
) -> dict[str, Any]:
    """A Pareto chart: bars of ``values`` by cause, biggest first, and the cumulative share line.

    ``cumulative`` are ratios (0…1); they are drawn as percentages on a right-hand 0–100 % axis.
    ``value_name`` and ``cumulative_name`` are the legend names (already translated).
    """
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": _grid(),
        "xAxis": {"type": "category", "data": list(causes), "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": [
            {"type": "value", "name": unit, "axisLabel": {"formatter": "{value}"}},
            {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        ],
        "series": [
            {
                "type": "bar",
                "name": value_name,
                "data": [round(v, digits) for v in values],
                "itemStyle": {"color": BAD},
            },
            {
                "type": "line",
                "name": cumulative_name,
                "yAxisIndex": 1,
                "data": [round(c * 100, 1) for c in cumulative],
                "itemStyle": {"color": TARGET},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": WARN},
                    "data": [{"yAxis": 80}],
                },
            },
        ],
    }


def waterfall_option(
    labels: Sequence[str],
    values: Sequence[float],
    kinds: Sequence[str],
    *,
    unit: str = "h",
    digits: int = 2,
    name: str = "",
) -> dict[str, Any]:
    """A waterfall: ``kinds[i]`` is ``"total"`` (a bar from 0 to ``values[i]``) or ``"delta"``.

    A delta moves the running level by ``values[i]`` (a loss is negative) and floats at the
    level it moves between; a total bar sets the level (e.g. planned busy time first, fully
    productive time last). Drawn as a stacked bar over an invisible base.
    """
    base: list[float] = []
    shown: list[dict[str, Any]] = []
    level = 0.0
    for value, kind in zip(values, kinds, strict=True):
        if kind == "total":
            level = value
            base.append(0.0)
            shown.append({"value": round(value, digits), "itemStyle": {"color": PALETTE[0]}})
            continue
        low = min(level, level + value)
        base.append(round(max(low, 0.0), digits))
        color = BAD if value < 0 else GOOD
        shown.append({"value": round(abs(value), digits), "itemStyle": {"color": color}})
        level += value
    return {
        "animation": False,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} " + unit},
        "grid": _grid(top=24),
        "xAxis": {"type": "category", "data": list(labels), "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "name": unit},
        "series": [
            {
                "type": "bar",
                "stack": "waterfall",
                "silent": True,
                "itemStyle": {"color": "transparent", "borderColor": "transparent"},
                "emphasis": {"disabled": True},
                "tooltip": {"show": False},
                "data": base,
            },
            {
                "type": "bar",
                "stack": "waterfall",
                "name": name,
                "label": {"show": True, "position": "top"},
                "data": shown,
            },
        ],
    }


def trend_option(
    x: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    percent: bool = True,
    targets: Mapping[str, float] | None = None,
    digits: int = 1,
) -> dict[str, Any]:
    """Line charts over periods: ``x`` the period labels, ``series`` name → values (None = gap).

    With ``percent`` the values are ratios drawn as percentages (0–100 axis). ``targets`` maps
    a label to a value (same unit as the series) drawn as a dashed horizontal line.
    """
    scale = 100.0 if percent else 1.0

    def point(v: float | None) -> float | None:
        return None if v is None else round(v * scale, digits)

    lines: list[dict[str, Any]] = []
    for i, (label, values) in enumerate(series.items()):
        lines.append(
            {
                "type": "line",
                "name": label,
                "data": [point(v) for v in values],
                "connectNulls": False,
                "showSymbol": len(x) <= 40,
                "itemStyle": {"color": PALETTE[i % len(PALETTE)]},
            }
        )
    if targets and lines:
        lines[0]["markLine"] = {
            "silent": True,
            "symbol": "none",
            "lineStyle": {"type": "dashed", "color": TARGET},
            "label": {"formatter": "{b}", "position": "insideEndTop"},
            "data": [{"name": name, "yAxis": point(value)} for name, value in targets.items()],
        }
    y_axis: dict[str, Any] = {"type": "value"}
    if percent:
        y_axis.update({"min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}})
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": _grid(),
        "xAxis": {"type": "category", "data": list(x), "boundaryGap": False},
        "yAxis": y_axis,
        "series": lines,
    }


def radar_option(
    indicators: Sequence[Mapping[str, Any]],
    series: Mapping[str, Sequence[float | None]],
    *,
    colors: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A radar chart: ``indicators`` are dicts with ``name`` and ``max``; ``series`` name → values.

    Values follow the order of ``indicators``; a None is drawn as 0 (a radar has no gaps).
    """
    palette = list(colors or PALETTE)
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0, "type": "scroll"},
        "radar": {
            "indicator": [{"name": str(i["name"]), "max": i["max"]} for i in indicators],
            "radius": "65%",
            "center": ["50%", "56%"],
        },
        "series": [
            {
                "type": "radar",
                "data": [
                    {
                        "name": name,
                        "value": [0 if v is None else v for v in values],
                        "itemStyle": {"color": palette[i % len(palette)]},
                        "areaStyle": {"opacity": 0.15},
                    }
                    for i, (name, values) in enumerate(series.items())
                ],
            }
        ],
    }
