"""The assessment as one self-contained, printable HTML page (``smartfactory assess --format html``).

``render(assessment, lang)`` writes the same blocks as the Markdown report
(:func:`smartfactory.assess.report_text.report`) plus two inline SVG figures: the ladder with the
four levels and where the factory stands, and a radar chart of the CMMM domain scores (factor
scores when fewer than three domains are scored) for each maturity level up to the first that
fails. The page has its CSS inline and loads nothing: no scripts, fonts, images or style sheets
from the network. Every text is escaped; links appear only where a source is cited. It is
written to be accessible: a ``lang`` attribute, a ``<title>``, headings in order, table
captions and header cells, text contrast of at least 4.5:1, and SVGs with ``<title>``,
``<desc>`` and an ``aria-label``, their data also given as tables.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from smartfactory.assess.report_text import (
    Block,
    Figure,
    Heading,
    Inline,
    Items,
    Names,
    Para,
    Report,
    Table,
    Words,
    report,
)
from smartfactory.assess.result import Assessment

# series colours of the radar (all at least 4.5:1 on white) and dash patterns, so the levels stay
# apart in black-and-white print too
_SERIES = (
    ("#0b4f9c", ""),
    ("#b03a00", "7 3"),
    ("#5b2a86", "4 2 1 2"),
    ("#116149", "8 3 2 3"),
    ("#a4161a", "1 2"),
)

_PASS_DASH = "2 4"

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #1b1f24; background: #fff;
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB",
  "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
h1 { font-size: 1.6rem; margin: 0.6rem 0 0.8rem; }
h2 { font-size: 1.3rem; margin: 2rem 0 0.6rem; padding-bottom: 0.2rem; border-bottom: 2px solid #1b1f24; }
h3 { font-size: 1.1rem; margin: 1.4rem 0 0.5rem; }
h4 { font-size: 1rem; margin: 1.1rem 0 0.3rem; }
p, ul { margin: 0.4rem 0; }
ul ul { margin: 0.1rem 0; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.88em;
  background: #f1f3f5; padding: 0 0.2em; border-radius: 3px; overflow-wrap: anywhere; }
a { color: #0b4f9c; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-style: italic; padding: 0.2rem 0; color: #3d4450; }
th, td { border: 1px solid #b8bec7; padding: 0.25rem 0.45rem; vertical-align: top; text-align: left; }
thead th { background: #e9ecef; }
tbody th { font-weight: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.answers { padding: 0.5rem 0.8rem; border-left: 5px solid #116149; background: #eef7f1; }
.answers-missing { padding: 0.5rem 0.8rem; border-left: 5px solid #a4161a; background: #fdecec;
  font-weight: bold; }
.notice, .warn-block { padding: 0.4rem 0.8rem; border-left: 5px solid #a14a00; background: #fff4d6; }
.meta, .note { color: #3d4450; }
.pass { color: #12622e; }
.fail { color: #a4161a; }
.unknown { color: #5c4400; }
.bad { color: #9b1c31; }
.warn { color: #5c3b00; background: #fff4d6; padding: 0 0.25em; border-radius: 3px; white-space: nowrap; }
figure { margin: 0.6rem 0 1rem; }
figure svg { max-width: 100%; height: auto; }
nav ul { columns: 2; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  h2, h3, h4 { break-after: avoid; }
  tr, figure, li { break-inside: avoid; }
  a { color: #1b1f24; text-decoration: none; }
  .answers, .answers-missing, .notice, .warn-block, .warn, thead th, code {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@page { margin: 14mm; }
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def inline(parts: Inline) -> str:
    """An inline as HTML, every text escaped."""
    out = []
    for span in parts:
        text = _e(span.text)
        if span.style == "strong":
            out.append(f"<strong>{text}</strong>")
        elif span.style == "code":
            out.append(f"<code>{text}</code>")
        elif span.style == "em":
            out.append(f"<em>{text}</em>")
        elif span.style in ("pass", "fail", "bad"):
            out.append(f'<strong class="{span.style}">{text}</strong>')
        elif span.style == "unknown":
            out.append(f'<em class="unknown">{text}</em>')
        elif span.style == "warn":
            out.append(f'<span class="warn">{text}</span>')
        elif span.style == "link" and span.href and span.href.startswith(("http://", "https://")):
            out.append(f'<a href="{_e(span.href)}">{text}</a>')
        else:
            out.append(text)
    return "".join(out)


def _table(table: Table) -> str:
    numeric = table.numeric or tuple(False for _ in table.headers)

    def cls(i: int) -> str:
        return ' class="num"' if i < len(numeric) and numeric[i] else ""

    head = "".join(f'<th scope="col"{cls(i)}>{_e(h)}</th>' for i, h in enumerate(table.headers))
    rows = []
    for row in table.rows:
        cells = [
            f'<th scope="row"{cls(0)}>{inline(row[0])}</th>' if row else "",
            *(f"<td{cls(i)}>{inline(cell)}</td>" for i, cell in enumerate(row) if i > 0),
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table>\n<caption>{_e(table.caption)}</caption>\n<thead><tr>{head}</tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"
    )


def _items(items: Items) -> str:
    out = ["<ul>"]
    for item in items.items:
        children = ""
        if item.children:
            children = "<ul>" + "".join(f"<li>{inline(c)}</li>" for c in item.children) + "</ul>"
        out.append(f"<li>{inline(item.parts)}{children}</li>")
    out.append("</ul>")
    return "\n".join(out)


_PARA_CLASS = {
    "answers": "answers",
    "answers-missing": "answers-missing",
    "notice": "notice",
    "warn": "warn-block",
    "meta": "meta",
    "note": "note",
}


def _block(block: Block, doc: Report) -> str:
    if isinstance(block, Heading):
        return f'<h{block.level} id="{_e(block.anchor)}">{_e(block.text)}</h{block.level}>'
    if isinstance(block, Para):
        cls = _PARA_CLASS.get(block.role, "")
        role = ' role="status"' if block.role.startswith("answers") else ""
        attr = f' class="{cls}"' if cls else ""
        return f"<p{attr}{role}>{inline(block.parts)}</p>"
    if isinstance(block, Items):
        return _items(block)
    if isinstance(block, Table):
        return _table(block)
    assert isinstance(block, Figure)
    if block.kind == "ladder":
        return f"<figure>{ladder_svg(doc.assessment, doc.words)}</figure>"
    return f"<figure>{radar_svg(doc.assessment, doc.names, doc.words)}</figure>"


# --- the ladder ---------------------------------------------------------------------------------


def ladder_svg(a: Assessment, w: Words) -> str:
    """The levels as a staircase, bottom up: reached steps filled, the next dashed, a marker on top."""
    levels = a.levels
    n = max(1, len(levels))
    step_w, gap, rise, base_h = 150, 12, 34, 56
    width = 24 + n * (step_w + gap)
    ground = 60 + base_h + rise * (n - 1)
    height = ground + 36
    names = ", ".join(f"{lv.name} ({lv.id})" for lv in levels)
    reached = f"{a.level_name} ({a.level})" if a.level else w("ladder_ground")
    nxt = f"{a.next_level_name} ({a.next_level})" if a.next_level else "—"
    title = w("ladder_svg_title")
    desc = w("ladder_svg_desc", levels=names, reached=reached, next=nxt)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_e(title)}" '
        f'aria-labelledby="ladder-title ladder-desc">',
        f'<title id="ladder-title">{_e(title)}</title>',
        f'<desc id="ladder-desc">{_e(desc)}</desc>',
        f'<line x1="8" y1="{ground}" x2="{width - 8}" y2="{ground}" stroke="#1b1f24" stroke-width="2"/>',
    ]
    for i, lv in enumerate(levels):
        x = 16 + i * (step_w + gap)
        h = base_h + rise * i
        y = ground - h
        if lv.passed:
            fill, stroke, dash, ink, sub = "#1f6f3f", "#12492a", "", "#ffffff", "#ffffff"
            state = "✓ " + w("reached")
        elif lv.id == a.next_level:
            fill, stroke, dash, ink, sub = (
                "#ffffff",
                "#0b4f9c",
                ' stroke-dasharray="7 4"',
                "#1b1f24",
                "#0b4f9c",
            )
            state = w("ladder_next")
        else:
            fill, stroke, dash, ink, sub = "#eef0f3", "#8a919c", "", "#1b1f24", "#3d4450"
            state = w("not_reached")
        cx = x + step_w / 2
        out.append(
            f'<rect x="{x}" y="{y}" width="{step_w}" height="{h}" rx="4" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="2"{dash}/>'
        )
        out.append(
            f'<text x="{cx}" y="{y + 24}" text-anchor="middle" font-size="16" font-weight="bold" '
            f'fill="{ink}">{_e(lv.name)}</text>'
        )
        out.append(
            f'<text x="{cx}" y="{y + 42}" text-anchor="middle" font-size="12" fill="{sub}">{_e(state)}</text>'
        )
        if lv.id == a.level:
            out.append(_marker(cx, y, w("ladder_here"), "#12622e"))
        elif lv.id == a.next_level:
            out.append(_marker(cx, y, w("ladder_next") + " ↑", "#0b4f9c"))
    if a.level is None:
        out.append(
            f'<text x="16" y="{ground + 24}" font-size="13" fill="#a4161a">▲ {_e(w("ladder_ground"))}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _marker(cx: float, top: float, label: str, colour: str) -> str:
    y = top - 10
    return (
        f'<path d="M {cx - 7} {y - 12} L {cx + 7} {y - 12} L {cx} {y} Z" fill="{colour}"/>'
        f'<text x="{cx}" y="{y - 18}" text-anchor="middle" font-size="13" font-weight="bold" '
        f'fill="{colour}">{_e(label)}</text>'
    )


# --- the radar ----------------------------------------------------------------------------------


def radar_svg(a: Assessment, names: Names, w: Words) -> str:
    """Domain (or factor) scores of each CMMM level up to the first that fails, on one radar."""
    kind, axes, shown = radar_axes(a, names)
    kind_word = w("radar_kind_" + kind)
    title = w("radar_title", kind=kind_word)
    series_desc = " ".join(
        f"{_level_label(lv.level, names)}: "
        + ", ".join(f"{a.cmmm.names.get(x, x)} {getattr(lv, kind).get(x, 0.0):.2f}" for x in axes)
        + "."
        for lv in shown
    )
    desc = w("radar_desc", kind=kind_word, series=series_desc)
    width, cx, cy, radius = 760, 380, 250, 170
    legend_y = cy + radius + 70
    height = legend_y + 22 * math.ceil((len(shown) + 1) / 2) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{_e(title)}" aria-labelledby="radar-title radar-desc">',
        f'<title id="radar-title">{_e(title)}</title>',
        f'<desc id="radar-desc">{_e(desc)}</desc>',
    ]
    n = len(axes)
    if n == 0:
        out.append("</svg>")
        return "\n".join(out)

    def point(i: int, r: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * i / n
        return cx + r * math.cos(angle), cy + r * math.sin(angle)

    def ring(r: float) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (point(i, r) for i in range(n)))

    for k in (0.2, 0.4, 0.6, 1.0):
        out.append(f'<polygon points="{ring(radius * k)}" fill="none" stroke="#c9ced6" stroke-width="1"/>')
    out.append(
        f'<polygon points="{ring(radius * 0.8)}" fill="none" stroke="#1b1f24" stroke-width="1.2" '
        f'stroke-dasharray="{_PASS_DASH}"/>'
    )
    for i, x in enumerate(axes):
        ex, ey = point(i, radius)
        out.append(
            f'<line x1="{cx}" y1="{cy}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="#c9ced6" stroke-width="1"/>'
        )
        lx, ly = point(i, radius + 14)
        cos = math.cos(-math.pi / 2 + 2 * math.pi * i / n)
        anchor = "start" if cos > 0.25 else ("end" if cos < -0.25 else "middle")
        sin = math.sin(-math.pi / 2 + 2 * math.pi * i / n)
        dy = 12 if sin > 0.5 else (0 if sin < -0.5 else 4)
        out.append(
            f'<text x="{lx:.1f}" y="{ly + dy:.1f}" text-anchor="{anchor}" font-size="12" fill="#1b1f24">'
            f"{_e(a.cmmm.names.get(x, x))}</text>"
        )
    for j, lv in enumerate(shown):
        colour, dash = _SERIES[j % len(_SERIES)]
        scores = getattr(lv, kind)
        pts = [point(i, radius * max(0.0, min(1.0, scores.get(x, 0.0)))) for i, x in enumerate(axes)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<polygon points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" fill="{colour}" '
            f'fill-opacity="0.10" stroke="{colour}" stroke-width="2"{dash_attr}/>'
        )
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in pts]
        lx = 40 + (j % 2) * 360
        ly = legend_y + 22 * (j // 2)
        out.append(
            f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 28}" y2="{ly - 4}" stroke="{colour}" '
            f'stroke-width="3"{dash_attr}/>'
        )
        state = w("passed") if lv.passed else w("not_passed")
        out.append(
            f'<text x="{lx + 36}" y="{ly}" font-size="13" fill="#1b1f24">'
            f"{_e(f'{_level_label(lv.level, names)} — {lv.score:.2f} ({state})')}</text>"
        )
    j = len(shown)
    lx, ly = 40 + (j % 2) * 360, legend_y + 22 * (j // 2)
    out.append(
        f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 28}" y2="{ly - 4}" stroke="#1b1f24" '
        f'stroke-width="1.5" stroke-dasharray="{_PASS_DASH}"/>'
    )
    out.append(f'<text x="{lx + 36}" y="{ly}" font-size="13" fill="#1b1f24">{_e(w("radar_pass"))}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _level_label(no: int, names: Names) -> str:
    name = names.cmmm_levels.get(no)
    return f"L{no} {name}" if name else f"L{no}"


def radar_axes(a: Assessment, names: Names) -> tuple[str, list[str], list[Any]]:
    """What a radar of the CMMM scores shows: domains (factors when under 3 domains), their
    order, and the levels up to the first that fails (the report's SVG and the page's chart)."""
    s = a.cmmm.score
    kind = "domains"
    axes = _axes(a, names, kind)
    if len(axes) < 3:
        kind = "factors"
        axes = _axes(a, names, kind)
    shown = [lv for lv in s.levels if lv.level <= s.passed_levels + 1] or list(s.levels[:1])
    return kind, axes, shown


def _axes(a: Assessment, names: Names, kind: str) -> list[str]:
    found: list[str] = []
    for lv in a.cmmm.score.levels:
        for x in getattr(lv, kind):
            if x not in found:
                found.append(x)
    order = {x: i for i, x in enumerate(names.order.get(kind, []))}
    return sorted(found, key=lambda x: order.get(x, len(order)))


# --- the page -----------------------------------------------------------------------------------


def render(assessment: Assessment, lang: str = "en") -> str:
    """The assessment as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched)."""
    doc = report(assessment, lang)
    w = doc.words
    contents = [(b.anchor, b.text) for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    nav = (
        f'<nav aria-label="{_e(w("contents"))}"><ul>'
        + "".join(f'<li><a href="#{_e(anchor)}">{_e(text)}</a></li>' for anchor, text in contents)
        + f'</ul><p class="note">{_e(w("print_hint"))}</p></nav>'
    )
    body: list[str] = []
    open_section = False
    for block in doc.blocks:
        if isinstance(block, Heading) and block.level == 2:
            if open_section:
                body.append("</section>")
            body.append(f'<section aria-labelledby="{_e(block.anchor)}">')
            open_section = True
        body.append(_block(block, doc))
        if isinstance(block, Heading) and block.level == 1:
            body.append(nav)
    if open_section:
        body.append("</section>")
    page = "\n".join(body)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{w.html_lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(doc.title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{page}\n</main>\n</body>\n</html>\n"
    )
