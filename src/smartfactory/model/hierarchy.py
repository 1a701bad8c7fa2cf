"""The ISA-95 tree of a plant, for printing and for walking up and down it."""

from __future__ import annotations

from dataclasses import dataclass, field

from smartfactory.model.plant import Level, Name, Plant


@dataclass
class TreeNode:
    """One element of the hierarchy with its children, in file order."""

    id: str
    level: Level
    name: Name
    detail: str = ""
    children: list[TreeNode] = field(default_factory=list)

    def walk(self) -> list[TreeNode]:
        """This node and all below it, depth first."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


def build_tree(plant: Plant) -> TreeNode:
    """The plant's hierarchy as a tree rooted at the enterprise."""
    root = TreeNode(plant.enterprise.id, Level.enterprise, plant.enterprise.name)
    by_id = {root.id: root}
    layers: list[tuple[Level, list]] = [  # type: ignore[type-arg]
        (Level.site, plant.sites),
        (Level.area, plant.areas),
        (Level.line, plant.lines),
        (Level.work_cell, plant.work_cells),
        (Level.equipment, plant.equipment),
    ]
    for level, items in layers:
        for item in items:
            node = TreeNode(item.id, level, item.name, _detail(item))
            by_id[item.id] = node
            by_id[str(item.parent)].children.append(node)
    return root


def _detail(item: object) -> str:
    from smartfactory.model.plant import Equipment, Line, WorkCell

    if isinstance(item, Equipment):
        flags = [item.kind.value]
        flags += ["key"] if item.key else []
        flags += ["networked"] if item.networked else ["not networked"]
        flags += ["automated"] if item.automated else ["manual"]
        flags += [f"{len(item.signals)} signals"] if item.signals else []
        return ", ".join(flags)
    if isinstance(item, WorkCell):
        return f"buffer {item.buffer_capacity}"
    if isinstance(item, Line):
        return f"calendar {item.calendar}"
    return ""
