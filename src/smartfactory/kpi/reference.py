"""The KPI reference of docs/kpi.md, generated from the definitions so the two never drift.

``python -m smartfactory.kpi.reference docs/kpi.md`` rewrites the generated blocks in place.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from smartfactory.kpi.definitions import Catalogue, Kpi, catalogue

_BLOCK = re.compile(r"(<!-- generated:(\w+):(en|zh) -->\n)(.*?)(<!-- /generated -->)", re.S)


def _range(k: Kpi) -> str:
    def bound(v: float) -> str:
        return "∞" if v == float("inf") else "−∞" if v == float("-inf") else f"{v:g}"

    return f"{bound(k.low)} … {bound(k.high)}"


def kpi_rows(cat: Catalogue, lang: str) -> str:
    """One Markdown table row per KPI: number, id, ISO name, formula or needs, unit, range, events."""
    zh = lang == "zh"
    head = (
        "| 序号 | 键 | ISO 名称 / 中文名 | 公式 | 单位 | 范围 | 趋势 | 读取的事件 |\n|---|---|---|---|---|---|---|---|\n"
        if zh
        else "| no. | key | ISO name | formula | unit | range | trend | reads |\n|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for k in sorted(cat.kpis.values(), key=lambda k: k.no):
        if k.formula:
            formula = f"`{k.formula}`" + (f" (valid when `{k.valid_when}`)" if k.valid_when else "")
            sources = sorted({e.source for e in cat.elements_of(k)})
            reads = ", ".join(sources)
        else:
            formula = ("不支持——需要：" if zh else "not supported — needs: ") + (k.needs.get(lang) if k.needs else "")
            reads = "—"
        name = f"{k.iso} / {k.name.zh}" if zh else k.iso
        trend = ({"higher": "越高越好", "lower": "越低越好"} if zh else {"higher": "higher", "lower": "lower"})[k.trend]
        lines.append(f"| {k.no} | `{k.id}` | {name} | {formula} | {k.unit} | {_range(k)} | {trend} | {reads} |")
    return head + "\n".join(lines) + "\n"


def element_rows(cat: Catalogue, lang: str) -> str:
    """One Markdown table row per element: id, name, unit, source events and how it is derived."""
    zh = lang == "zh"
    head = (
        "| 要素 | 名称 | 单位 | 来源 | 计算方法 |\n|---|---|---|---|---|\n"
        if zh
        else "| element | name | unit | from | how |\n|---|---|---|---|---|\n"
    )
    rows = [
        f"| `{e.id}` | {e.name.get(lang)} | {e.unit} | {e.source} | {e.how.get(lang)} |" for e in cat.elements.values()
    ]
    return head + "\n".join(rows) + "\n"


def state_rows(cat: Catalogue, lang: str) -> str:
    """The state → element mapping as a Markdown table."""
    zh = lang == "zh"
    head = (
        "| 状态 | 计划占用时间内计入 | 登记订单时计入 |\n|---|---|---|\n"
        if zh
        else "| state | inside PBT adds to | with an order registered |\n|---|---|---|\n"
    )
    rows = [f"| `{s.value}` | {r.element} | {r.with_order} |" for s, r in cat.state_map.items()]
    return head + "\n".join(rows) + f"\n\n{cat.state_map_source}\n"


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
