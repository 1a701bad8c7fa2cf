"""The assessment as Markdown (``smartfactory assess --format md``), in Chinese or English.

``render(assessment, lang)`` writes the blocks of :func:`smartfactory.assess.report_text.report`:
the first line says whether missing answers were scored as 0, then the level reached, the CMMM
grade and scores, every criterion with its evidence and flags, the scenarios, the live metrics,
the blocking gaps and the roadmap. Charts are HTML only; their data are the tables here.
"""

from __future__ import annotations

import re

from smartfactory.assess.report_text import (
    Block,
    Figure,
    Heading,
    Inline,
    Items,
    Para,
    Table,
    report,
)
from smartfactory.assess.result import Assessment

_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]<|"})


def escape(text: str) -> str:
    """Text safe in Markdown prose and table cells: one line, markup characters escaped."""
    return re.sub(r"\s+", " ", text).translate(_SPECIAL)


def _wrap(text: str, mark: str) -> str:
    """``mark`` around the text, with the spaces at either end kept outside (CommonMark emphasis)."""
    body = escape(text)
    core = body.strip()
    if not core:
        return body
    lead = body[: len(body) - len(body.lstrip())]
    trail = body[len(body.rstrip()) :]
    return f"{lead}{mark}{core}{mark}{trail}"


def _code(text: str) -> str:
    text = " ".join(text.split())
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def inline(parts: Inline) -> str:
    """An inline as Markdown."""
    out = []
    for span in parts:
        if not span.text:
            continue
        if span.style == "code":
            out.append(_code(span.text))
        elif span.style == "link" and span.href:
            out.append(
                f"<{span.href}>" if span.href == span.text else f"[{escape(span.text)}](<{span.href}>)"
            )
        elif span.style in ("strong", "pass", "fail", "bad"):
            out.append(_wrap(span.text, "**"))
        elif span.style in ("warn", "unknown", "em"):
            out.append(_wrap(span.text, "*"))
        else:
            out.append(escape(span.text))
    return "".join(out)


def _table(table: Table) -> list[str]:
    numeric = table.numeric or tuple(False for _ in table.headers)
    lines = [f"*{escape(table.caption)}*", ""]
    lines.append("| " + " | ".join(escape(h) for h in table.headers) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(inline(cell) or " " for cell in row) + " |")
    return lines


def _items(items: Items) -> list[str]:
    lines = []
    for item in items.items:
        lines.append(f"- {inline(item.parts)}")
        lines += [f"  - {inline(child)}" for child in item.children]
    return lines


def _block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + escape(block.text)]
    if isinstance(block, Para):
        text = inline(block.parts)
        if block.role in ("answers", "answers-missing", "warn", "notice"):
            return [f"> {text}"]
        return [text]
    if isinstance(block, Items):
        return _items(block)
    if isinstance(block, Table):
        return _table(block)
    assert isinstance(block, Figure)
    return []


def render(assessment: Assessment, lang: str = "en") -> str:
    """The assessment as a Markdown document; its first line says whether missing answers count 0."""
    doc = report(assessment, lang)
    out: list[str] = []
    for block in doc.blocks:
        lines = _block(block)
        if lines:
            out += [*lines, ""]
    return "\n".join(out).rstrip("\n") + "\n"


__all__ = ["escape", "inline", "render"]
