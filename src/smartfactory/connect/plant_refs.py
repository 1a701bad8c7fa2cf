"""Checks that a source's settings name equipment and signals the plant has (shared by connectors)."""

from __future__ import annotations

from collections.abc import Iterable, Set

from smartfactory.model.errors import Problem
from smartfactory.model.plant import Equipment, Plant


def signal_names(equipment: Equipment) -> list[str]:
    """The signals a source may feed on this equipment (its energy meter's counter included)."""
    names = [s.name for s in equipment.signals]
    if equipment.energy is not None:
        names.append(equipment.energy.signal)
    return names


def reference_problems(
    references: Iterable[tuple[str, str, str]], plant: Plant, source: str, reserved: Set[str]
) -> list[Problem]:
    """``(where, equipment, signal)`` entries whose equipment or signal the plant lacks."""
    problems: list[Problem] = []
    equipment = plant.equipment_by_id()
    for where, equipment_id, signal in references:
        found = equipment.get(equipment_id)
        if found is None:
            known = ", ".join(sorted(equipment)[:10])
            problems.append(
                Problem(
                    source, f"{where}.equipment", f"unknown equipment {equipment_id!r}; the plant has {known}"
                )
            )
            continue
        if signal in reserved:
            continue
        names = signal_names(found)
        if signal not in names:
            allowed = ", ".join([*names, *sorted(reserved)])
            problems.append(
                Problem(
                    source,
                    f"{where}.signal",
                    f"equipment {equipment_id!r} has no signal {signal!r}; allowed: {allowed}",
                )
            )
    return problems
