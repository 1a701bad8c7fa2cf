"""The mapping file: which columns of a CSV/Parquet export are time, equipment, state, counts, signals.

A TOML file validated with Pydantic; every problem is reported at once with its line number.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta, timezone, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smartfactory.model.errors import Problem, UserError
from smartfactory.model.events import State
from smartfactory.model.plant_file import TomlLocator, dotted, parse_toml, read_text_file

_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):?(\d{2})$")


class Kind(StrEnum):
    """What the rows of the source are."""

    states = "states"
    counts = "counts"
    measurements = "measurements"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeMap(_Strict):
    """The time column: ISO 8601 text (``iso``), a strptime pattern, or epoch seconds/milliseconds."""

    column: str
    format: str = "iso"
    timezone: str = "UTC"
    end_column: str | None = None

    @model_validator(mode="after")
    def _zone(self) -> Self:
        parse_zone(self.timezone)
        return self

    def zone(self) -> tzinfo:
        """The zone that naive times are in."""
        return parse_zone(self.timezone)


class EquipmentMap(_Strict):
    """The equipment column and, optionally, source names → plant equipment ids."""

    column: str
    map: dict[str, str] = Field(default_factory=dict)


class StateMap(_Strict):
    """The state column, source state codes → our states, and reason codes."""

    column: str
    map: dict[str, State] = Field(default_factory=dict)
    reason_column: str | None = None
    reason_map: dict[str, str] = Field(default_factory=dict)


class CountTarget(StrEnum):
    """Which quantity a cumulative counter counts."""

    good = "good"
    scrap = "scrap"
    rework = "rework"


class CountsMap(_Strict):
    """Good/scrap/rework columns, or one cumulative counter column (resets handled)."""

    good: str | None = None
    scrap: str | None = None
    rework: str | None = None
    counter: str | None = None
    counter_counts: CountTarget = CountTarget.good

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        columns = [self.good, self.scrap, self.rework]
        if self.counter is not None and any(columns):
            raise ValueError(
                "give either a cumulative 'counter' column or good/scrap/rework columns, not both"
            )
        if self.counter is None and not any(columns):
            raise ValueError("give a 'counter' column or at least one of good, scrap, rework")
        return self


class SignalsMap(_Strict):
    """Wide (one column per signal: ``columns``) or long (``signal_column`` + ``value_column``)."""

    columns: dict[str, str] | list[str] | None = None
    signal_column: str | None = None
    value_column: str | None = None
    map: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _layout(self) -> Self:
        long = self.signal_column is not None or self.value_column is not None
        if self.columns is not None and long:
            raise ValueError("give either 'columns' (wide) or 'signal_column' and 'value_column' (long)")
        if self.columns is None and not long:
            raise ValueError("give 'columns' (wide) or 'signal_column' and 'value_column' (long)")
        if long and (self.signal_column is None or self.value_column is None):
            raise ValueError("the long layout needs both 'signal_column' and 'value_column'")
        return self

    def wide(self) -> dict[str, str]:
        """Source column → signal name (empty for the long layout)."""
        if self.columns is None:
            return {}
        if isinstance(self.columns, list):
            return {c: c for c in self.columns}
        return dict(self.columns)


class Mapping(_Strict):
    """A whole mapping file."""

    kind: Kind
    time: TimeMap
    equipment: EquipmentMap
    state: StateMap | None = None
    counts: CountsMap | None = None
    signals: SignalsMap | None = None
    order_column: str | None = None
    product_column: str | None = None

    @model_validator(mode="after")
    def _sections(self) -> Self:
        need = {Kind.states: "state", Kind.counts: "counts", Kind.measurements: "signals"}[self.kind]
        if getattr(self, need) is None:
            raise ValueError(f"kind = {self.kind.value!r} needs a [{need}] section")
        return self

    def columns(self) -> list[str]:
        """Every source column the mapping reads."""
        out = [self.time.column, self.time.end_column, self.equipment.column, self.order_column]
        out.append(self.product_column)
        if self.kind is Kind.states and self.state:
            out += [self.state.column, self.state.reason_column]
        if self.kind is Kind.counts and self.counts:
            out += [self.counts.good, self.counts.scrap, self.counts.rework, self.counts.counter]
        if self.kind is Kind.measurements and self.signals:
            out += [*self.signals.wide(), self.signals.signal_column, self.signals.value_column]
        return list(dict.fromkeys(c for c in out if c))


class LoadedMapping(BaseModel):
    """A validated mapping with where it came from and the hash recorded with quarantined rows."""

    model_config = ConfigDict(frozen=True)

    mapping: Mapping
    source: str
    digest: str


def parse_zone(text: str) -> tzinfo:
    """An IANA zone (``Asia/Shanghai``), ``UTC``, or a fixed offset (``+08:00``)."""
    match = _OFFSET.match(text.strip())
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {text!r}; use an IANA name such as 'Asia/Shanghai' or an offset like '+08:00'"
        ) from None


def load_mapping(path: str | Path) -> LoadedMapping:
    """Read and validate a mapping file; raise UserError listing every problem with its line."""
    path = Path(path)
    return parse_mapping(read_text_file(path, "mapping file"), str(path))


def parse_mapping(text: str, source: str = "<mapping>") -> LoadedMapping:
    """Validate mapping-file text; ``source`` names the file in error messages."""
    raw = parse_toml(text, source, "mapping file")
    try:
        mapping = Mapping.model_validate(raw)
    except ValidationError as exc:
        locator = TomlLocator(text)
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(source, dotted(loc), _explain(err, loc), locator.line_of(loc)))
        raise UserError(f"mapping file {source} is invalid", problems) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return LoadedMapping(mapping=mapping, source=source, digest=digest)


def _explain(err: Any, loc: tuple[int | str, ...]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown field '{loc[-1]}'"
    if kind == "missing":
        return f"required field '{loc[-1]}' is missing"
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind in ("enum", "literal_error"):
        return f"{err['input']!r} is not allowed: {message.removeprefix('Input should be ')}"
    if "input" in err and not isinstance(err["input"], dict | list):
        return f"{message} (got {err['input']!r})"
    return message
