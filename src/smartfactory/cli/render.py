"""Terminal rendering of trees and summaries (rich), kept apart from the commands."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from smartfactory.model.hierarchy import TreeNode
from smartfactory.model.plant import Plant
from smartfactory.store.summary import MachineSummary

_SHOWN_STATES = ("running", "setup", "idle", "starved", "blocked", "planned_stop", "unplanned_down")


def hierarchy_tree(root: TreeNode, lang: str = "en") -> Tree:
    """The ISA-95 hierarchy as a rich tree."""

    def label(node: TreeNode) -> str:
        detail = f" [dim]({node.detail})[/dim]" if node.detail else ""
        return f"[bold]{node.level.value}[/bold] {node.id} — {node.name.get(lang)}{detail}"

    tree = Tree(label(root))

    def add(branch: Tree, node: TreeNode) -> None:
        for child in node.children:
            add(branch.add(label(child)), child)

    add(tree, root)
    return tree


def summary_table(plant: Plant, rows: list[MachineSummary], lang: str = "en") -> list[Table]:
    """One table per line: hours per state, good / scrap / rework, energy and alarms."""
    tables = []
    names = {e.id: e.name.get(lang) for e in plant.equipment}
    for line in plant.lines:
        table = Table(title=f"{line.id} — {line.name.get(lang)}", title_justify="left")
        table.add_column("equipment")
        for state in _SHOWN_STATES:
            table.add_column(f"{state} h", justify="right")
        for col in ("good", "scrap", "rework", "kWh", "alarms", "failures"):
            table.add_column(col, justify="right")
        totals = MachineSummary("total", line.id, True, {s: 0.0 for s in _SHOWN_STATES})
        for r in rows:
            if r.line != line.id:
                continue
            if not r.networked:
                table.add_row(f"{r.equipment} [dim]{names[r.equipment]}[/dim]", "[dim]no live data[/dim]")
                continue
            table.add_row(
                f"{r.equipment} [dim]{names[r.equipment]}[/dim]",
                *(f"{r.hours.get(s, 0.0):.1f}" for s in _SHOWN_STATES),
                str(r.good),
                str(r.scrap),
                str(r.rework),
                f"{r.energy_kwh:,.0f}" if r.energy_kwh is not None else "—",
                str(r.alarms),
                str(r.failures),
            )
            for s in _SHOWN_STATES:
                totals.hours[s] += r.hours.get(s, 0.0)
            totals.good += r.good
            totals.scrap += r.scrap
            totals.rework += r.rework
            totals.energy_kwh = (totals.energy_kwh or 0.0) + (r.energy_kwh or 0.0)
            totals.alarms += r.alarms
            totals.failures += r.failures
        table.add_section()
        table.add_row(
            "[bold]line total[/bold]",
            *(f"{totals.hours[s]:.1f}" for s in _SHOWN_STATES),
            str(totals.good),
            str(totals.scrap),
            str(totals.rework),
            f"{totals.energy_kwh or 0.0:,.0f}",
            str(totals.alarms),
            str(totals.failures),
        )
        tables.append(table)
    return tables


def console() -> Console:
    """The console commands print to; wide enough for the summary when output is piped."""
    return Console(width=None if sys.stdout.isatty() else 200)
