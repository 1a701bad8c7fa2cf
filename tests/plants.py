"""The one builder of the plant files the tests use.

Every test plant is a :class:`PlantFile`: the ISA-95 header (enterprise ``ent``, site ``site``,
area ``area``, line ``L`` on calendar ``cal``), work cells, equipment, a calendar, downtime
reasons, products, routings and orders, written out by :func:`to_toml`. The small helpers
(:func:`cell`, :func:`machine`, :func:`signal`, :func:`calendar`, :func:`reasons`, ...) build the
parts; :class:`PlantSpec` builds a whole single-line plant from cells of parallel machines (the
random plants of the simulation properties, the connector plants).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from smartfactory.model.plant import Plant
from smartfactory.model.plant_file import parse_plant

Doc = dict[str, Any]

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DUE = datetime(2026, 3, 5)


# --- writing TOML ---------------------------------------------------------------------------------


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return (
            "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
        )
    if isinstance(value, Sequence):
        items = [_value(v) for v in value]
        if any(isinstance(v, Mapping) for v in value):  # a list of tables: one a line
            return "[\n" + "".join(f"  {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(document: Mapping[str, Any]) -> str:
    """``document`` as TOML: top-level tables and arrays of tables as sections, all below inline."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in document.items() if not _is_section(v)]
    for key, value in document.items():
        tables = [value] if isinstance(value, Mapping) else value if _is_section(value) else []
        header = f"[{_key(key)}]" if isinstance(value, Mapping) else f"[[{_key(key)}]]"
        for table in tables:
            lines += ["", header, *(f"{_key(k)} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_section(value: Any) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)
    )


# --- the parts ------------------------------------------------------------------------------------


def text(en: str, zh: str) -> dict[str, str]:
    """A name in both languages."""
    return {"en": en, "zh": zh}


def cell(cell_id: str, name: dict[str, str] | None = None, buffer_capacity: int | None = None) -> Doc:
    """A work cell of line L."""
    out: Doc = {"id": cell_id, "parent": "L", "name": name or text(f"Cell {cell_id}", f"工位 {cell_id}")}
    if buffer_capacity is not None:
        out["buffer_capacity"] = buffer_capacity
    return out


def machine(
    equipment_id: str,
    parent: str,
    name: dict[str, str] | None = None,
    kind: str = "cnc_machining_centre",
    **fields: Any,
) -> Doc:
    """A piece of equipment in ``parent``; ``fields`` are its other keys (``signal``, ``energy``...)."""
    out: Doc = {"id": equipment_id, "parent": parent}
    out["name"] = name or text(f"Machine {equipment_id}", f"设备 {equipment_id}")
    out["kind"] = kind
    return out | fields


def signal(name: str, unit: str, normal: tuple[float, float], **fields: Any) -> Doc:
    """An ``[[equipment.signal]]`` entry."""
    return {"name": name, "unit": unit, "normal": list(normal), **fields}


def temp_signal() -> Doc:
    """The ``temp`` signal of the generated machines: sampled every 5 min, warmer when running and worn."""
    return signal(
        "temp",
        "°C",
        (10.0, 60.0),
        sampling_s=300,
        levels={"running": 40.0, "idle": 25.0},
        noise_sd=0.5,
        wear_gain=30.0,
    )


def shift(shift_id: str, start: str, end: str, name: dict[str, str] | None = None) -> Doc:
    """One shift of the calendar."""
    return {
        "id": shift_id,
        "name": name or text(f"Shift {shift_id}", f"班次 {shift_id}"),
        "start": start,
        "end": end,
    }


def calendar(
    shifts: Iterable[Doc],
    breaks: Iterable[tuple[str, int]] | None = None,
    maintenance: Iterable[Doc] | None = None,
    name: dict[str, str] | None = None,
) -> Doc:
    """Calendar ``cal``, every day of the week; ``breaks`` are (start, minutes)."""
    out: Doc = {
        "id": "cal",
        "name": name or text("Calendar", "日历"),
        "days": list(DAYS),
        "shifts": list(shifts),
    }
    if breaks is not None:
        out["breaks"] = [{"start": start, "minutes": minutes} for start, minutes in breaks]
    if maintenance is not None:
        out["maintenance"] = list(maintenance)
    return out


_REASONS: list[Doc] = [
    {"code": "P", "name": text("Planned", "计划停机"), "kind": "planned"},
    {"code": "P.NOSHIFT", "parent": "P", "name": text("No shift", "非排班"), "role": "no_shift"},
    {"code": "P.BREAK", "parent": "P", "name": text("Break", "休息"), "role": "break"},
    {"code": "P.TOOL", "parent": "P", "name": text("Tool change", "换刀"), "role": "tool_change"},
    {
        "code": "P.PM",
        "parent": "P",
        "name": text("Planned maintenance", "计划维护"),
        "role": "planned_maintenance",
    },
    {"code": "U", "name": text("Unplanned", "非计划停机"), "kind": "unplanned"},
    {"code": "U.FAIL", "parent": "U", "name": text("Failure", "故障")},
    {"code": "U.JAM", "parent": "U", "name": text("Jam", "卡料")},
    {"code": "U.MINOR", "parent": "U", "name": text("Minor stop", "短停"), "role": "micro_stop"},
]
REASON_CATALOGUE: dict[str, Doc] = {r["code"]: r for r in _REASONS}
STANDARD_REASONS = ("P.NOSHIFT", "P.BREAK", "P.TOOL", "U.FAIL", "U.MINOR")


def reasons(*codes: str) -> list[Doc]:
    """The reasons ``codes`` of :data:`REASON_CATALOGUE` (default :data:`STANDARD_REASONS`) and
    their parents, in catalogue order."""
    wanted = set(codes or STANDARD_REASONS)
    wanted |= {code.split(".")[0] for code in wanted}
    return [dict(r) for code, r in REASON_CATALOGUE.items() if code in wanted]


def product(product_id: str, name: dict[str, str] | None = None, **fields: Any) -> Doc:
    """A product; ``fields`` such as ``targets``."""
    return {"id": product_id, "name": name or text(f"Product {product_id}", f"产品 {product_id}"), **fields}


def routing(product_id: str, steps: Iterable[Doc]) -> Doc:
    """The route of ``product_id`` through line L: ``{work_cell, cycle_s[, setup_s]}`` steps."""
    return {"product": product_id, "line": "L", "steps": list(steps)}


def order(order_id: str, product_id: str, quantity: int, due: datetime = DUE) -> Doc:
    """A production order."""
    return {"id": order_id, "product": product_id, "quantity": quantity, "due": due}


@dataclass
class PlantFile:
    """A whole plant file on the standard header (enterprise ent > site > area > line L)."""

    plant_id: str = "test-plant"
    name: dict[str, str] = field(default_factory=lambda: text("Test plant", "测试工厂"))
    timezone: str = "Asia/Shanghai"
    work_cells: list[Doc] = field(default_factory=list)
    equipment: list[Doc] = field(default_factory=list)
    calendar: Doc = field(default_factory=lambda: calendar([shift("S0", "08:00", "16:00")]))
    reasons: list[Doc] = field(default_factory=reasons)
    products: list[Doc] = field(default_factory=list)
    routings: list[Doc] = field(default_factory=list)
    orders: list[Doc] = field(default_factory=list)

    def document(self) -> Doc:
        """The plant file as the dictionary TOML reads into (without the empty arrays of tables)."""
        document: Doc = {
            "schema": "smartfactory.plant/1",
            "plant": {
                "id": self.plant_id,
                "name": self.name,
                "industry": "discrete",
                "timezone": self.timezone,
            },
            "enterprise": {"id": "ent", "name": text("Enterprise", "企业")},
            "site": [{"id": "site", "parent": "ent", "name": text("Site", "工厂")}],
            "area": [{"id": "area", "parent": "site", "name": text("Area", "车间")}],
            "line": [{"id": "L", "parent": "area", "name": text("Line", "产线"), "calendar": "cal"}],
            "work_cell": self.work_cells,
            "equipment": self.equipment,
            "calendar": [self.calendar],
            "reason": self.reasons,
            "product": self.products,
            "routing": self.routings,
            "order": self.orders,
        }
        return {key: value for key, value in document.items() if value != []}

    def toml(self) -> str:
        """The plant file text."""
        return to_toml(self.document())

    def plant(self) -> Plant:
        """The parsed plant."""
        return parse_plant(self.toml(), f"{self.plant_id}.toml")


# --- generated single-line plants ------------------------------------------------------------------


@dataclass
class MachineSpec:
    """One machine of a generated plant."""

    cycle_s: float
    setup_s: float = 0.0
    cycle_cv: float = 0.0
    weibull_scale_h: float | None = None
    micro_stops_per_h: float = 0.0
    base_logit: float | None = None
    tool_life_cycles: int | None = None
    extra_signals: list[Doc] = field(default_factory=list)  # after the ``temp`` signal


@dataclass
class PlantSpec:
    """A single-line plant: cells of parallel machines, buffers, a calendar and one order.

    Cell k is ``C{k}`` (from 1), its machines ``M{k}A``, ``M{k}B``...; every machine has the
    ``temp`` signal and an energy meter; reliability and quality only when their numbers are set.
    """

    cells: list[list[MachineSpec]]
    buffers: list[int]
    shifts: list[tuple[str, str]] = field(default_factory=lambda: [("08:00", "16:00")])
    breaks: list[tuple[str, int]] = field(default_factory=list)
    quantity: int = 100
    products: int = 1

    def plant_file(self) -> PlantFile:
        """The plant as a :class:`PlantFile`."""
        last = len(self.cells) - 1
        out = PlantFile(
            work_cells=[
                cell(f"C{k + 1}", text(f"Cell {k + 1}", f"工位 {k + 1}"), self.buffers[k])
                for k in range(len(self.cells))
            ],
            calendar=calendar(
                [
                    shift(f"S{i}", a, b, text(f"Shift {i}", f"班次 {i}"))
                    for i, (a, b) in enumerate(self.shifts)
                ],
                self.breaks,
            ),
        )
        for k, machines in enumerate(self.cells):
            for j, m in enumerate(machines):
                label = f"{k + 1}{chr(65 + j)}"
                out.equipment.append(self._machine(f"M{label}", f"C{k + 1}", label, m, detects=k == last))
        steps = [
            {"work_cell": f"C{k + 1}", "cycle_s": machines[0].cycle_s, "setup_s": machines[0].setup_s}
            for k, machines in enumerate(self.cells)
        ]
        per_product = max(1, self.quantity // self.products)
        for p in range(self.products):
            out.products.append(product(f"P{p}", text(f"Product {p}", f"产品 {p}")))
            out.routings.append(routing(f"P{p}", steps))
            out.orders.append(order(f"O{p}", f"P{p}", per_product))
        return out

    @staticmethod
    def _machine(equipment_id: str, parent: str, label: str, m: MachineSpec, detects: bool) -> Doc:
        fields: Doc = {
            "key": True,
            "cycle_cv": m.cycle_cv,
            "signal": [temp_signal(), *m.extra_signals],
            "energy": {
                "meter": "EM",
                "sampling_s": 900,
                "power_kw": {"running": 10.0, "idle": 2.0, "down": 0.5, "off": 0.1},
            },
        }
        if m.weibull_scale_h is not None or m.micro_stops_per_h:
            fields["reliability"] = {
                "weibull_shape": 1.5,
                "weibull_scale_h": m.weibull_scale_h or 1e6,
                "repair_median_min": 20,
                "repair_sigma": 0.5,
                "micro_stops_per_h": m.micro_stops_per_h,
                "micro_stop_mean_s": 40,
                "modes": [{"reason": "U.FAIL", "weight": 1.0}],
            }
        if m.base_logit is not None:
            quality: Doc = {
                "base_logit": m.base_logit,
                "wear_coef": 1.0,
                "rework_share": 0.4,
                "escape_share": 0.2,
                "detects_escaped": detects,
            }
            if m.tool_life_cycles:
                quality |= {"tool_life_cycles": m.tool_life_cycles, "tool_change_s": 120}
            fields["quality"] = quality
        return machine(equipment_id, parent, text(f"Machine {label}", f"设备 {label}"), **fields)

    def toml(self) -> str:
        """The plant file text."""
        return self.plant_file().toml()


def mqtt_plant() -> Plant:
    """Two cells of one machine each; M1A also has a bool, a ranged and an int signal (the MQTT tests)."""
    extra = [
        signal("door_open", "", (0, 1), dtype="bool", sampling_s=60),
        signal("pressure", "bar", (1.0, 5.0), measuring_range=[0.0, 10.0], sampling_s=60),
        signal("parts", "pcs", (0, 100), dtype="int", sampling_s=60),
    ]
    spec = PlantSpec(
        cells=[[MachineSpec(cycle_s=60, extra_signals=extra)], [MachineSpec(cycle_s=50)]], buffers=[5, 5]
    )
    return parse_plant(spec.toml(), "mqtt-test.toml")
