"""The KPI reference of docs/kpi.md, generated from the definitions so the two never drift.

``python -m smartfactory.kpi.reference docs/kpi.md`` rewrites the generated blocks in place.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from smartfactory.kpi.definitions import Catalogue, Kpi, catalogue
from smartfactory.kpi.labels import labels
from smartfactory.model.text import Text

_BLOCK = re.compile(r"(<!-- generated:(\w+):(en|zh) -->\n)(.*?)(<!-- /generated -->)", re.S)


def _range(k: Kpi) -> str:
    def bound(v: float) -> str:
        return "∞" if v == float("inf") else "−∞" if v == float("-inf") else f"{v:g}"

    return f"{bound(k.low)} … {bound(k.high)}"


def _table(head: str, rows: list[list[str]]) -> str:
    columns = head.split("|")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def kpi_rows(cat: Catalogue, lang: str) -> str:
    """One Markdown table row per KPI: number, id, ISO name, formula or needs, unit, range, events."""
    text = labels()
    rows = []
    for k in sorted(cat.kpis.values(), key=lambda k: k.no):
        if k.formula:
            when = f" ({text['doc']['valid_when'].get(lang)} `{k.valid_when}`)" if k.valid_when else ""
            formula = f"`{k.formula}`{when}"
            reads = ", ".join(sorted({e.source for e in cat.elements_of(k)}))
        else:
            formula = text["doc"]["unsupported"].get(lang) + (k.needs.get(lang) if k.needs else "")
            reads = "—"
        name = Text(en=k.iso, zh=f"{k.iso} / {k.name.zh}").get(lang)
        trend = text["trend"][k.trend].get(lang)
        rows.append([str(k.no), f"`{k.id}`", name, formula, k.unit, _range(k), trend, reads])
    return _table(text["doc"]["kpi_head"].get(lang), rows)


def element_rows(cat: Catalogue, lang: str) -> str:
    """One Markdown table row per element: id, name, unit, source events and how it is derived."""
    rows = [[f"`{e.id}`", e.name.get(lang), e.unit, e.source, e.how.get(lang)] for e in cat.elements.values()]
    return _table(labels()["doc"]["element_head"].get(lang), rows)


def state_rows(cat: Catalogue, lang: str) -> str:
    """The state → element mapping as a Markdown table."""
    rows = [[f"`{s.value}`", r.element, r.with_order] for s, r in cat.state_map.items()]
    return _table(labels()["doc"]["state_head"].get(lang), rows) + f"\n{cat.state_map_source}\n"


_GENERATORS = {"kpis": kpi_rows, "elements": element_rows, "states": state_rows}


def render(text: str, cat: Catalogue | None = None) -> str:
    """``text`` with every generated block replaced by its current content."""
    cat = cat or catalogue()

    def fill(m: re.Match[str]) -> str:
        return m.group(1) + _GENERATORS[m.group(2)](cat, m.group(3)) + m.group(5)

    return _BLOCK.sub(fill, text)


def main(argv: list[str]) -> int:
    """Rewrite the generated blocks of each file named."""
    for name in argv:
        path = Path(name)
        path.write_text(render(path.read_text("utf-8")), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
