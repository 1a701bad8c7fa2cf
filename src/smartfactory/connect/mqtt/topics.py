"""Topic templates: a unified-namespace layout like ``{enterprise}/{site}/.../{equipment}/{signal}``.

A template is split into levels; a level is either literal text or exactly one placeholder. The
placeholders above equipment are checked against the plant's hierarchy, so a message published
under the wrong line is rejected instead of being stored against the right machine by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from smartfactory.model.errors import UserError
from smartfactory.model.plant import DataType, Plant

PLACEHOLDERS = ("enterprise", "site", "area", "line", "work_cell", "equipment", "signal")
RESERVED_SIGNALS = ("state", "count", "alarm")
_CACHE_LIMIT = 100_000

Kind = Literal["measurement", "state", "count", "alarm"]


@dataclass(frozen=True)
class TopicTemplate:
    """A parsed template: per level, the literal text or the placeholder name."""

    text: str
    levels: tuple[tuple[str, bool], ...]  # (text or placeholder name, is placeholder)

    @classmethod
    def parse(cls, text: str, where: str = "topic") -> TopicTemplate:
        """Parse and check a template; a UserError names what is wrong and what is allowed."""
        levels: list[tuple[str, bool]] = []
        seen: set[str] = set()
        for level in text.split("/"):
            if level.startswith("{") and level.endswith("}"):
                name = level[1:-1]
                if name not in PLACEHOLDERS:
                    raise UserError(
                        f"{where} {text!r}: unknown placeholder {{{name}}}; allowed: "
                        + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    )
                if name in seen:
                    raise UserError(f"{where} {text!r}: placeholder {{{name}}} appears twice")
                seen.add(name)
                levels.append((name, True))
            elif "{" in level or "}" in level:
                raise UserError(
                    f"{where} {text!r}: level {level!r} mixes text and a placeholder; a placeholder "
                    "must be a whole level, e.g. plant/{line}/{equipment}/{signal}"
                )
            elif not level or "+" in level or "#" in level:
                raise UserError(
                    f"{where} {text!r}: level {level!r} is empty or holds a wildcard; write placeholders "
                    "instead of + and #"
                )
            else:
                levels.append((level, False))
        missing = [p for p in ("equipment", "signal") if p not in seen]
        if missing:
            raise UserError(
                f"{where} {text!r}: needs the placeholder(s) {', '.join('{' + m + '}' for m in missing)}"
            )
        return cls(text, tuple(levels))

    def subscription(self) -> str:
        """The topic filter that matches the template: ``+`` for each placeholder."""
        return "/".join("+" if is_placeholder else text for text, is_placeholder in self.levels)

    def match(self, topic: str) -> dict[str, str] | None:
        """The placeholder values of ``topic``, or None when it does not fit the template."""
        parts = topic.split("/")
        if len(parts) != len(self.levels):
            return None
        values: dict[str, str] = {}
        for part, (text, is_placeholder) in zip(parts, self.levels, strict=True):
            if is_placeholder:
                if not part:
                    return None
                values[text] = part
            elif part != text:
                return None
        return values

    def format(self, **values: str) -> str:
        """The topic for the given placeholder values."""
        return "/".join(values[text] if is_placeholder else text for text, is_placeholder in self.levels)


@dataclass(frozen=True)
class Target:
    """What a topic addresses: an equipment and a signal (a measurement or a reserved one)."""

    equipment: str
    signal: str
    kind: Kind
    dtype: DataType = DataType.float
    low: float = float("-inf")
    high: float = float("inf")


def hierarchy_of(plant: Plant) -> dict[str, dict[str, str]]:
    """Equipment id -> {level: id} for every level above it (work_cell, line, area, site, enterprise)."""
    parent = {n.id: str(n.parent) for n in (*plant.sites, *plant.areas, *plant.lines, *plant.work_cells)}
    out: dict[str, dict[str, str]] = {}
    for e in plant.equipment:
        cell = str(e.parent)
        line = parent[cell]
        area = parent[line]
        site = parent[area]
        out[e.id] = {
            "work_cell": cell,
            "line": line,
            "area": area,
            "site": site,
            "enterprise": parent[site],
        }
    return out


def targets_of(plant: Plant) -> dict[str, dict[str, Target]]:
    """Equipment id -> signal name -> Target, reserved signals included."""
    out: dict[str, dict[str, Target]] = {}
    for e in plant.equipment:
        signals = {r: Target(e.id, r, r) for r in RESERVED_SIGNALS}  # type: ignore[arg-type]
        for s in e.signals:
            low, high = s.measuring_range or (float("-inf"), float("inf"))
            signals[s.name] = Target(e.id, s.name, "measurement", s.dtype, low, high)
        if e.energy is not None:
            signals.setdefault(e.energy.signal, Target(e.id, e.energy.signal, "measurement"))
        out[e.id] = signals
    return out


class TopicResolver:
    """Topic -> Target (or the reason it is rejected), cached: the hot path is one dict lookup."""

    def __init__(self, template: TopicTemplate, plant: Plant) -> None:
        self.template = template
        self.targets = targets_of(plant)
        self.hierarchy = hierarchy_of(plant)
        self._cache: dict[str, Target | str] = {}

    def resolve(self, topic: str) -> Target | str:
        """The target of ``topic``, or a reject reason ("kind: detail")."""
        found = self._cache.get(topic)
        if found is None:
            found = self._resolve(topic)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # a flood of distinct bad topics must not grow memory without bound
            self._cache[topic] = found
        return found

    def _resolve(self, topic: str) -> Target | str:
        values = self.template.match(topic)
        if values is None:
            return f"bad topic: {topic!r} does not match the template {self.template.text!r}"
        equipment = values["equipment"]
        signals = self.targets.get(equipment)
        if signals is None:
            return f"unknown equipment: {equipment!r} is not in the plant"
        above = self.hierarchy[equipment]
        for level, expected in above.items():
            given = values.get(level)
            if given is not None and given != expected:
                return (
                    f"bad topic: {level} {given!r} in the topic is not the {level} of equipment "
                    f"{equipment!r} ({expected!r})"
                )
        target = signals.get(values["signal"])
        if target is None:
            known = ", ".join(sorted(signals))
            return f"unknown signal: {values['signal']!r} is not a signal of {equipment!r}; signals: {known}"
        return target
