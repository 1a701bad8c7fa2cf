"""The plant: what it is, its ISA-95 tree, its equipment, and replacing it from a plant file.

Other services read the hierarchy from here (``hierarchy``, ``equipment_list``, ``equipment_info``)
rather than walking the plant model themselves.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from pydantic import BaseModel, Field

from smartfactory.app.errors import field_problem
from smartfactory.app.i18n import gettext as _
from smartfactory.app.workspace import Workspace
from smartfactory.connect.sources import KINDS, source_config, source_settings_problems
from smartfactory.model.errors import Conflict, PlantFileError, Problem
from smartfactory.model.hierarchy import TreeNode, build_tree
from smartfactory.model.plant import Equipment, Level, Name, Plant
from smartfactory.model.plant_file import TomlLocator, dotted, parse_plant
from smartfactory.model.registry import target_module
from smartfactory.model.text import Text

MAX_PLANT_FILE = 2_000_000  # bytes: the largest example is ~20 kB; a cap keeps parsing cheap
UPLOAD_SOURCE = "plant.toml"  # how problems of an uploaded file name it


class PlantSummary(BaseModel):
    """The plant: id, names, industry type and time zone."""

    id: str
    name: Text
    industry: str = Field(description="discrete or process")
    timezone: str = Field(description="IANA time zone of the plant's shifts and days")
    lines: int = Field(description="how many production lines")
    equipment: int = Field(description="how many pieces of equipment")


class HierarchyNode(BaseModel):
    """One element of the ISA-95 hierarchy with its children, in plant-file order."""

    id: str
    level: Level
    name: Text
    kind: str | None = Field(None, description="equipment only: the kind of machine")
    key: bool | None = Field(None, description="equipment only: key equipment of the plant")
    children: list[HierarchyNode] = Field(default_factory=list)

    def walk(self) -> list[HierarchyNode]:
        """This node and every node below it, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def find(self, node_id: str) -> HierarchyNode | None:
        """The node with ``node_id`` at or below this one, or None."""
        return next((n for n in self.walk() if n.id == node_id), None)


class PlantTree(BaseModel):
    """The plant and its hierarchy, from the enterprise down to the equipment."""

    plant: PlantSummary
    root: HierarchyNode

    def nodes(self, level: Level | None = None) -> list[HierarchyNode]:
        """Every node (of ``level``), depth first."""
        return [n for n in self.root.walk() if level is None or n.level == level]


class SignalInfo(BaseModel):
    """A signal a piece of equipment reports."""

    name: str
    unit: str
    dtype: str
    normal: tuple[float, float] = Field(description="the normal operating range [low, high]")
    measuring_range: tuple[float, float] | None = None
    sampling_s: float | None = Field(None, description="sampling period; None when sampled per cycle")


class EquipmentInfo(BaseModel):
    """A piece of equipment with where it sits and what it reports."""

    id: str
    name: Text
    kind: str
    key: bool
    line_id: str
    line_name: Text
    work_cell_id: str
    work_cell_name: Text
    signals: list[SignalInfo]
    energy_signal: str | None = Field(None, description="the energy meter's signal, if metered")


def summary(workspace: Workspace) -> PlantSummary:
    """The plant of the workspace's store."""
    return plant_summary(workspace.plant())


def plant_summary(plant: Plant) -> PlantSummary:
    """What a plant is, from its model."""
    info = plant.plant
    return PlantSummary(
        id=info.id,
        name=info.name,
        industry=info.industry,
        timezone=info.timezone,
        lines=len(plant.lines),
        equipment=len(plant.equipment),
    )


def hierarchy(workspace: Workspace) -> PlantTree:
    """The plant's ISA-95 tree."""
    return plant_tree(workspace.plant())


def plant_tree(plant: Plant) -> PlantTree:
    """The ISA-95 tree of a plant model."""
    by_id = plant.equipment_by_id()

    def convert(node: TreeNode) -> HierarchyNode:
        equipment = by_id.get(node.id) if node.level == Level.equipment else None
        return HierarchyNode(
            id=node.id,
            level=node.level,
            name=node.name,
            kind=equipment.kind.value if equipment is not None else None,
            key=equipment.key if equipment is not None else None,
            children=[convert(child) for child in node.children],
        )

    return PlantTree(plant=plant_summary(plant), root=convert(build_tree(plant)))


def equipment_list(workspace: Workspace) -> list[EquipmentInfo]:
    """Every piece of equipment, in plant-file order."""
    plant = workspace.plant()
    lines = {line.id: line for line in plant.lines}
    cells = {cell.id: cell for cell in plant.work_cells}
    out = []
    for equipment in plant.equipment:
        cell = cells[str(equipment.parent)]
        line = lines[str(cell.parent)]
        out.append(_equipment_info(equipment, line.id, line.name, cell.id, cell.name))
    return out


def equipment_info(workspace: Workspace, equipment_id: str) -> EquipmentInfo | None:
    """One piece of equipment, or None if the plant has none with that id."""
    return next((e for e in equipment_list(workspace) if e.id == equipment_id), None)


def _equipment_info(
    equipment: Equipment, line_id: str, line: Name, cell_id: str, cell: Name
) -> EquipmentInfo:
    return EquipmentInfo(
        id=equipment.id,
        name=equipment.name,
        kind=equipment.kind.value,
        key=equipment.key,
        line_id=line_id,
        line_name=line,
        work_cell_id=cell_id,
        work_cell_name=cell,
        signals=[
            SignalInfo(
                name=s.name,
                unit=s.unit,
                dtype=s.dtype.value,
                normal=s.normal,
                measuring_range=s.measuring_range,
                sampling_s=s.sampling_s,
            )
            for s in equipment.signals
        ],
        energy_signal=equipment.energy.signal if equipment.energy is not None else None,
    )


# --- replacing the plant ---------------------------------------------------------------


class OtherPlant(Conflict):
    """The file describes another plant than the one the store holds (the store's data is that plant's)."""

    title: ClassVar[str] = "Another plant"


def check_plant_text(text: str) -> Plant:
    """Validate plant-file text like ``smartfactory ingest`` does (sources included).

    A PlantFileError lists every problem with its line, each named by where it is in the request
    (``body.toml.plant.industry``).
    """
    if not text.strip():
        raise _rejected([Problem(UPLOAD_SOURCE, "", _("the plant file is empty"), None)])
    try:
        plant = parse_plant(text, UPLOAD_SOURCE, checks=(source_settings_problems,))
    except PlantFileError as exc:
        raise _rejected(exc.problems or [Problem(UPLOAD_SOURCE, "", exc.summary, None)]) from None
    # the second pass of connect.sources.load_plant_with_sources: sources against the plant itself
    locator = TomlLocator(text)
    problems: list[Problem] = []
    for i, decl in enumerate(plant.sources):
        module = target_module(KINDS[decl.kind])
        check = getattr(module, "plant_problems", None)
        if check is None:
            continue
        for problem in check(source_config(decl), plant, UPLOAD_SOURCE):
            loc: tuple[int | str, ...] = ("source", i, *_split(problem.location))
            problems.append(Problem(UPLOAD_SOURCE, dotted(loc), problem.message, locator.line_of(loc)))
    if problems:
        raise _rejected(problems)
    return plant


def _rejected(problems: list[Problem]) -> PlantFileError:
    """The uploaded file's problems, each located in the request body's ``toml``."""
    return PlantFileError(
        _("The plant file has {count} problem(s); nothing was saved.").format(count=len(problems)),
        [
            Problem(p.source, f"body.toml.{p.location}" if p.location else "body.toml", p.message, p.line)
            for p in problems
        ],
    )


def replace_plant(workspace: Workspace, text: str, by: str) -> PlantSummary:
    """Check a plant file and, only if it is valid and is the same plant, save it and drop the cache."""
    plant = check_plant_text(text)
    stored = workspace.registry.list_plants()
    if stored and all(record["id"] != plant.plant.id for record in stored):
        raise OtherPlant(
            _("The store holds plant {stored}; a file for plant {given} cannot replace it.").format(
                stored=", ".join(record["id"] for record in stored), given=plant.plant.id
            ),
            [field_problem("body.plant.id", _("use the id of the stored plant"))],
        )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    workspace.registry.save_plant(plant, f"uploaded by {by}", digest)
    workspace.forget_plant()
    return plant_summary(plant)


def _split(location: str) -> list[int | str]:
    """``registers[0].equipment`` → ``["registers", 0, "equipment"]``."""
    out: list[int | str] = []
    for part in location.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        else:
            out.append(part)
    return out
