"""Targets to colour KPIs against (data/targets.toml), with their source and confidence."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from smartfactory.kpi.definitions import catalogue
from smartfactory.model.text import Text


class Rating(StrEnum):
    """How a value compares with its target (the CSS classes of the dashboard's tiles)."""

    good = "good"
    warn = "warn"
    bad = "bad"
    none = "none"  # no value, or no target


@dataclass(frozen=True)
class Target:
    """At or above ``good`` is good, below ``warn`` is bad; ``confidence`` V, S or U."""

    kpi: str
    good: float
    warn: float
    confidence: str
    source: str
    note: Text

    @property
    def verified(self) -> bool:
        """Whether the value was checked against its original source."""
        return self.confidence == "V"

    def rate(self, value: float | None) -> Rating:
        """Good, warn or bad for a value (``none`` for no value)."""
        if value is None:
            return Rating.none
        if value >= self.good:
            return Rating.good
        return Rating.warn if value >= self.warn else Rating.bad


@cache
def targets() -> dict[str, Target]:
    """The targets shipped in smartfactory/kpi/data/targets.toml, by KPI id (read once)."""
    raw = tomllib.loads((resources.files("smartfactory.kpi") / "data" / "targets.toml").read_text("utf-8"))
    known = catalogue().kpis
    out: dict[str, Target] = {}
    for item in raw["target"]:
        kpi = str(item["kpi"])
        if kpi not in known:
            raise ValueError(f"targets.toml: unknown KPI {kpi!r}")
        if item["confidence"] not in ("V", "S", "U"):
            raise ValueError(f"targets.toml: {kpi}: confidence must be V, S or U")
        if not float(item["warn"]) <= float(item["good"]):
            raise ValueError(f"targets.toml: {kpi}: warn must not be above good")
        note = item["note"]
        out[kpi] = Target(
            kpi=kpi,
            good=float(item["good"]),
            warn=float(item["warn"]),
            confidence=str(item["confidence"]),
            source=str(item["source"]),
            note=Text(en=str(note["en"]), zh=str(note["zh"])),
        )
    return out


def rate(kpi: str, value: float | None) -> Rating:
    """The rating of a KPI value against its target (``none`` when it has no target)."""
    target = targets().get(kpi)
    return Rating.none if target is None else target.rate(value)
