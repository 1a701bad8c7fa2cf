"""The plant: ISA-95 hierarchy, equipment, calendars, products, routings, orders, reasons.

A plant file is TOML. Every element of the hierarchy is a flat table array entry that
names its ``parent``, so the file reads top to bottom like the plant's asset register and
the loader can point at the exact entry that is wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from smartfactory.model.text import Text

PLANT_SCHEMA = "smartfactory.plant/1"

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    """Every plant-file table rejects fields it does not know."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# a name in English and Chinese: the one bilingual text type, so it serialises like every other
Name = Text


class Level(StrEnum):
    """ISA-95 levels of the equipment hierarchy, top to bottom."""

    enterprise = "enterprise"
    site = "site"
    area = "area"
    line = "line"
    work_cell = "work_cell"
    equipment = "equipment"


LEVEL_PARENT: dict[Level, Level | None] = {
    Level.enterprise: None,
    Level.site: Level.enterprise,
    Level.area: Level.site,
    Level.line: Level.area,
    Level.work_cell: Level.line,
    Level.equipment: Level.work_cell,
}


class EquipmentKind(StrEnum):
    """What a piece of equipment is; used for defaults, icons and scenario eligibility."""

    cnc_machining_centre = "cnc_machining_centre"
    cnc_lathe = "cnc_lathe"
    grinder = "grinder"
    press = "press"
    furnace = "furnace"
    rolling_stand = "rolling_stand"
    descaler = "descaler"
    cooling_unit = "cooling_unit"
    leveller = "leveller"
    shear = "shear"
    robot = "robot"
    conveyor = "conveyor"
    washer = "washer"
    assembly_station = "assembly_station"
    inspection_station = "inspection_station"
    other = "other"


class Node(Strict):
    """An element of the ISA-95 hierarchy above equipment."""

    id: Identifier
    name: Name
    parent: Identifier | None = None


class Line(Node):
    """A production line: work cells in flow order, run to one shift calendar."""

    calendar: Identifier


class WorkCell(Node):
    """A station of identical parallel equipment, with the buffer that follows it."""

    buffer_capacity: int = Field(default=10, ge=1, le=100_000)


class DataType(StrEnum):
    """Data type of a signal's values."""

    float = "float"
    int = "int"
    bool = "bool"


class Signal(Strict):
    """A measured signal: unit, type, normal range, sampling, and how the twin shapes it."""

    name: Identifier
    unit: str
    dtype: DataType = DataType.float
    normal: tuple[float, float]
    measuring_range: tuple[float, float] | None = None
    sampling_s: float | None = Field(default=None, gt=0)
    per_cycle: bool = False
    levels: dict[str, float] = Field(default_factory=dict)
    noise_sd: float = Field(default=0.0, ge=0)
    wear_gain: float = 0.0
    wear_power: float = Field(default=3.0, gt=0)

    @field_validator("normal")
    @classmethod
    def _range_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError(f"normal range min {value[0]} is above max {value[1]}; write [min, max]")
        return value

    @field_validator("measuring_range")
    @classmethod
    def _measuring_ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] >= value[1]:
            raise ValueError(f"measuring range min {value[0]} must be below max {value[1]}")
        return value

    @field_validator("levels")
    @classmethod
    def _known_states(cls, value: dict[str, float]) -> dict[str, float]:
        allowed = {"running", "idle", "starved", "blocked", "setup", "planned_stop", "unplanned_down"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ValueError(f"unknown state(s) {unknown}; allowed: {sorted(allowed)}")
        return value

    @model_validator(mode="after")
    def _sampled_somehow(self) -> Signal:
        if self.per_cycle == (self.sampling_s is not None):
            raise ValueError("give exactly one of sampling_s (periodic) or per_cycle = true")
        return self


class PowerDraw(Strict):
    """Electric power in kW by state, read by the equipment's energy meter."""

    running: float = Field(ge=0)
    idle: float = Field(ge=0)
    setup: float | None = Field(default=None, ge=0)
    down: float = Field(default=0.0, ge=0)
    off: float = Field(default=0.0, ge=0)


class EnergyMeter(Strict):
    """An energy meter: a cumulative kWh counter read every ``sampling_s`` seconds."""

    meter: Identifier
    signal: Identifier = "energy_kwh"
    sampling_s: float = Field(default=900.0, gt=0)
    power_kw: PowerDraw


class FailureMode(Strict):
    """A failure mode: its unplanned reason code and its share of failures."""

    reason: Identifier
    weight: float = Field(gt=0)


class Reliability(Strict):
    """Failures (Weibull in operating hours), repairs (lognormal) and micro-stops."""

    weibull_shape: float = Field(gt=0)
    weibull_scale_h: float = Field(gt=0)
    repair_median_min: float = Field(gt=0)
    repair_sigma: float = Field(default=0.5, ge=0)
    modes: list[FailureMode] = Field(min_length=1)
    pm_restoration: float = Field(default=0.5, ge=0, le=1)
    micro_stops_per_h: float = Field(default=0.0, ge=0)
    micro_stop_mean_s: float = Field(default=60.0, gt=0)
    ack_mean_s: float = Field(default=180.0, gt=0)


class ProcessParameter(Strict):
    """A per-cycle process parameter: how it is set and where the process likes it."""

    signal: Identifier
    setpoint: float
    sd: float = Field(ge=0)
    optimum: float
    scale: float = Field(gt=0)
    coef: float = Field(ge=0)
    effect: float = 0.0


class Characteristic(Strict):
    """A measured product characteristic (e.g. plate thickness) and its tolerance."""

    signal: Identifier
    target_key: Identifier
    tolerance: float = Field(gt=0)
    noise_sd: float = Field(ge=0)
    wear_effect: float = 0.0
    out_of_tolerance: Literal["scrap", "rework"] = "scrap"


class Quality(Strict):
    """How defects arise: a logistic model of process parameters and tool wear."""

    base_logit: float
    wear_coef: float = Field(default=0.0, ge=0)
    tool_life_cycles: int | None = Field(default=None, gt=0)
    tool_change_s: float = Field(default=0.0, ge=0)
    rework_share: float = Field(default=0.3, ge=0, le=1)
    escape_share: float = Field(default=0.0, ge=0, le=1)
    detects_escaped: bool = False
    parameters: list[ProcessParameter] = Field(default_factory=list)
    characteristic: Characteristic | None = None


class Equipment(Node):
    """A machine: what it is, whether it is key / networked / automated, and its behaviour."""

    kind: EquipmentKind
    key: bool = False
    networked: bool = True
    automated: bool = True
    cycle_cv: float = Field(default=0.03, ge=0, le=1)
    # rated equipment production capacity (ISO 22400 REPC), units per hour; feeds the load ratio
    rated_capacity_per_h: float | None = Field(default=None, gt=0)
    signals: list[Signal] = Field(default_factory=list, alias="signal")
    energy: EnergyMeter | None = None
    reliability: Reliability | None = None
    quality: Quality | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Shift(Strict):
    """A shift: clock times on working days; an end at or before the start crosses midnight."""

    id: Identifier
    name: Name
    start: ClockTime
    end: ClockTime


class Break(Strict):
    """A daily break on working days (planned down time)."""

    start: ClockTime
    minutes: int = Field(gt=0, le=24 * 60)


class MaintenanceWindow(Strict):
    """A planned maintenance window: weekly on a weekday, or once on a date."""

    start: ClockTime
    hours: float = Field(gt=0, le=72)
    weekday: Weekday | None = None
    date: dt.date | None = None
    equipment: list[Identifier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _when(self) -> MaintenanceWindow:
        if (self.weekday is None) == (self.date is None):
            raise ValueError("give exactly one of weekday (weekly) or date (once)")
        return self


class Calendar(Strict):
    """A shift calendar: working weekdays, shifts, breaks, holidays, maintenance windows."""

    id: Identifier
    name: Name
    days: list[Weekday] = Field(min_length=1)
    shifts: list[Shift] = Field(min_length=1)
    breaks: list[Break] = Field(default_factory=list)
    holidays: list[dt.date] = Field(default_factory=list)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)


class ReasonKind(StrEnum):
    """Top of the downtime reason tree."""

    planned = "planned"
    unplanned = "unplanned"


class ReasonRole(StrEnum):
    """Reasons the digital twin and the KPI time model need to find by meaning."""

    no_shift = "no_shift"
    break_ = "break"
    holiday = "holiday"
    planned_maintenance = "planned_maintenance"
    micro_stop = "micro_stop"
    tool_change = "tool_change"


class Reason(Strict):
    """A downtime reason code in a tree; roots say planned or unplanned, children inherit."""

    code: Identifier
    name: Name
    parent: Identifier | None = None
    kind: ReasonKind | None = None
    role: ReasonRole | None = None


class Product(Strict):
    """A product, with target values of its measured characteristics."""

    id: Identifier
    name: Name
    targets: dict[str, float] = Field(default_factory=dict)


class RoutingStep(Strict):
    """One operation: the work cell, the planned cycle time per unit and the setup time."""

    work_cell: Identifier
    cycle_s: float = Field(gt=0)
    setup_s: float = Field(default=0.0, ge=0)


class Routing(Strict):
    """How a product is made on a line: one step per work cell, in flow order."""

    product: Identifier
    line: Identifier
    steps: list[RoutingStep] = Field(min_length=1)


class Order(Strict):
    """A production order."""

    id: Identifier
    product: Identifier
    quantity: int = Field(gt=0)
    due: dt.datetime
    release: dt.datetime | None = None


class Demand(Strict):
    """A steady stream of orders the twin generates (for runs longer than the order book)."""

    products: list[Identifier] = Field(min_length=1)
    mix: list[float] | None = None
    quantity: tuple[int, int]
    per_day: float = Field(gt=0)
    due_days: float = Field(default=3.0, gt=0)

    @field_validator("quantity")
    @classmethod
    def _qty(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] <= 0 or value[0] > value[1]:
            raise ValueError("quantity is [min, max] with 0 < min <= max")
        return value

    @model_validator(mode="after")
    def _mix(self) -> Demand:
        if self.mix is not None and (
            len(self.mix) != len(self.products) or any(m < 0 for m in self.mix) or sum(self.mix) <= 0
        ):
            raise ValueError("mix gives one non-negative weight per product, not all zero")
        return self


class SourceDecl(BaseModel):
    """A data source the ingester connects to: ``id``, ``kind`` and the kind's own settings.

    The kind's settings are checked by its connector's config schema (``smartfactory.connect``),
    which the model layer cannot import; here only the common fields are.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: Identifier
    kind: Identifier

    def settings(self) -> dict[str, object]:
        """The kind's own fields (everything but id and kind)."""
        return dict(self.model_extra or {})


class PlantInfo(Strict):
    """What the plant is: id, names, industry type and time zone."""

    id: Identifier
    name: Name
    industry: Literal["discrete", "process"]
    timezone: str = "Asia/Shanghai"


class Plant(Strict):
    """A whole plant file, validated."""

    schema_: Literal["smartfactory.plant/1"] = Field(alias="schema")
    plant: PlantInfo
    enterprise: Node
    sites: list[Node] = Field(alias="site", min_length=1)
    areas: list[Node] = Field(alias="area", min_length=1)
    lines: list[Line] = Field(alias="line", min_length=1)
    work_cells: list[WorkCell] = Field(alias="work_cell", min_length=1)
    equipment: list[Equipment] = Field(min_length=1)
    calendars: list[Calendar] = Field(alias="calendar", min_length=1)
    reasons: list[Reason] = Field(alias="reason", min_length=1)
    products: list[Product] = Field(alias="product", min_length=1)
    routings: list[Routing] = Field(alias="routing", min_length=1)
    orders: list[Order] = Field(default_factory=list, alias="order")
    demand: Demand | None = None
    sources: list[SourceDecl] = Field(default_factory=list, alias="source")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # --- lookups used everywhere; cheap enough to rebuild on demand -------------------

    def equipment_by_id(self) -> dict[str, Equipment]:
        """Equipment keyed by id."""
        return {e.id: e for e in self.equipment}

    def cells_of(self, line_id: str) -> list[WorkCell]:
        """The work cells of a line, in flow order (their order in the file)."""
        return [c for c in self.work_cells if c.parent == line_id]

    def equipment_of(self, cell_id: str) -> list[Equipment]:
        """The equipment of a work cell."""
        return [e for e in self.equipment if e.parent == cell_id]

    def line_of_equipment(self) -> dict[str, str]:
        """Equipment id → line id."""
        cell_line = {c.id: c.parent for c in self.work_cells}
        return {e.id: str(cell_line[str(e.parent)]) for e in self.equipment}

    def reason_by_code(self) -> dict[str, Reason]:
        """Reason codes keyed by code."""
        return {r.code: r for r in self.reasons}

    def reason_kind(self, code: str) -> ReasonKind:
        """Planned or unplanned, inherited from the root of the reason's tree."""
        by_code = self.reason_by_code()
        reason = by_code[code]
        while reason.kind is None and reason.parent is not None:
            reason = by_code[reason.parent]
        return reason.kind or ReasonKind.unplanned

    def reason_for_role(self, role: ReasonRole) -> str | None:
        """The reason code the plant gives a role, if any."""
        for r in self.reasons:
            if r.role == role:
                return r.code
        return None

    def calendar_by_id(self) -> dict[str, Calendar]:
        """Calendars keyed by id."""
        return {c.id: c for c in self.calendars}

    def product_by_id(self) -> dict[str, Product]:
        """Products keyed by id."""
        return {p.id: p for p in self.products}

    def routing_for(self, product: str) -> Routing:
        """The routing of a product."""
        for r in self.routings:
            if r.product == product:
                return r
        raise KeyError(product)


def parse_clock(value: str) -> dt.time:
    """Parse ``HH:MM``."""
    hours, minutes = (int(x) for x in value.split(":"))
    return dt.time(hours, minutes)


def clock_minutes(value: str) -> int:
    """Minutes after midnight of ``HH:MM``."""
    hours, minutes = (int(x) for x in value.split(":"))
    return hours * 60 + minutes


IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
