"""``smartfactory plant``: check a plant file and show its hierarchy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from smartfactory.cli.render import console, hierarchy_tree
from smartfactory.connect.sources import load_plant_with_sources
from smartfactory.model.hierarchy import TreeNode, build_tree

app = typer.Typer(help="Plant files: validate them and show their ISA-95 hierarchy.", no_args_is_help=True)


@app.command("check")
def check_command(
    file: Annotated[Path, typer.Argument(help="plant file (TOML)")],
    lang: Annotated[str, typer.Option(help="zh or en")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="print the hierarchy as JSON")] = False,
) -> None:
    """Validate a plant file and print its hierarchy as a tree; every problem is listed at once."""
    plant = load_plant_with_sources(file)
    root = build_tree(plant)
    if as_json:
        print(json.dumps(_as_dict(root), ensure_ascii=False, indent=2))
        return
    out = console()
    out.print(hierarchy_tree(root, lang))
    counts = (
        f"{len(plant.lines)} line(s), {len(plant.work_cells)} work cell(s), "
        f"{len(plant.equipment)} equipment ({sum(e.key for e in plant.equipment)} key, "
        f"{sum(e.networked for e in plant.equipment)} networked), {len(plant.products)} product(s), "
        f"{len(plant.orders)} order(s), {len(plant.sources)} source(s)"
    )
    out.print(f"[green]ok[/green] {file}: {counts}")


def _as_dict(node: TreeNode) -> dict[str, object]:
    return {
        "id": node.id,
        "level": node.level.value,
        "name": {"en": node.name.en, "zh": node.name.zh},
        "detail": node.detail,
        "children": [_as_dict(c) for c in node.children],
    }
