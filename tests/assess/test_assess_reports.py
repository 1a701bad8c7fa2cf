"""The Markdown and HTML assessment reports, and the documented JSON report schema.

The reports are rendered from the worked examples of examples/factories/ (the SME has a
declared-versus-live disagreement and a budget plan) and from a copy of the SME's answers with
blank answers (scored 0 with allow_missing) and a note full of markup.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from smartfactory.assess import report_html, report_md
from smartfactory.assess.report_text import Words, load_labels
from smartfactory.assess.result import Assessment, to_json
from smartfactory.assess.run import assess

ROOT = Path(__file__).resolve().parents[2]
SME = ROOT / "examples" / "factories" / "a_sme_machining"
MID = ROOT / "examples" / "factories" / "b_discrete_midsize"
DISCRETE_PLANT = ROOT / "examples" / "plants" / "discrete_machining.toml"
SCHEMA_DOC = ROOT / "docs" / "assess-report.md"
NASTY = "<script>alert('x')</script> | *not bold* [link](http://evil.example) & more"


@pytest.fixture(scope="module")
def sme() -> Assessment:
    return assess(answers=SME / "answers.yaml", plant=SME / "plant.toml", budget_cny=800_000, lang="zh")


@pytest.fixture(scope="module")
def sme_en() -> Assessment:
    return assess(answers=SME / "answers.yaml", plant=SME / "plant.toml", budget_cny=800_000, lang="en")


@pytest.fixture(scope="module")
def mid() -> Assessment:
    return assess(answers=MID / "answers.yaml", plant=DISCRETE_PLANT, lang="en")


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> Assessment:
    """The SME's answers with two answers blanked and a note full of markup, scored with allow_missing."""
    text = (SME / "answers.yaml").read_text(encoding="utf-8")
    text = text.replace("        CM-ORG-L2-1: 0.5  #", "        CM-ORG-L2-1:  #", 1)
    text = re.sub(r"(G25-BAS-INFO:\n      answer:) 0\.8 ", r"\1 ", text, count=1)
    text = text.replace('note: "轻量 MES 扫码报工，看板显示工单进度"', "note: " + json.dumps(NASTY), 1)
    path = tmp_path_factory.mktemp("tricky") / "answers.yaml"
    path.write_text(text, encoding="utf-8")
    return assess(answers=path, plant=SME / "plant.toml", allow_missing=True, lang="en")


# --- the words ------------------------------------------------------------------------------


def test_every_label_has_both_languages() -> None:
    labels = load_labels()
    assert labels
    for key, texts in labels.items():
        assert texts.en.strip() and texts.zh.strip(), key
        # the same placeholders in both languages
        assert set(re.findall(r"\{(\w+)\}", texts.en)) == set(re.findall(r"\{(\w+)\}", texts.zh)), key


def test_labels_cover_every_value_the_engine_writes() -> None:
    from smartfactory.assess import list_frameworks, load_gradient

    types = {
        c.type for f in list_frameworks() if f.startswith("gradient/") for c in load_gradient(f).criteria
    }
    assert {"gate", "metric_threshold", "judgement"} <= types
    w = Words("en")
    keys = [
        *(f"type_{x}" for x in types),
        *(f"used_{x}" for x in ("live", "declared", "derived", "none")),
        *(f"result_{x}" for x in ("pass", "fail", "unknown")),
        *(f"evidence_{x}" for x in ("declared", "live", "derived")),
        *(f"count_{x}" for x in ("scenarios_in_use", "stages_covered", "dimensions_covered")),
        *(f"cost_class_{x}" for x in ("low", "medium", "high")),
        *(f"industry_{x}" for x in ("discrete", "process")),
    ]
    for key in keys:
        assert w(key), key
    assert Words("zh")("unverified_threshold") == "未经核实的阈值"
    assert Words("en")("unverified_threshold") == "unverified threshold"


@pytest.mark.parametrize("tag", ["zh", "zh-CN", "zh_cn", "zh-Hans", "ZH"])
def test_words_read_every_chinese_tag_as_chinese(tag: str) -> None:
    # the one language rule of model.text, not a report-only reading of the tag
    assert Words(tag)("unverified_threshold") == "未经核实的阈值"
    assert Words(tag).html_lang == "zh-CN"
    assert Words("en-GB").html_lang == Words("fr").html_lang == "en"


# --- Markdown -------------------------------------------------------------------------------


def test_markdown_first_line_says_no_answer_was_scored_0(sme: Assessment, sme_en: Assessment) -> None:
    assert report_md.render(sme, "zh").splitlines()[0] == "> 所有问题均已作答：没有未答项按 0 计分。"
    first = report_md.render(sme_en, "en").splitlines()[0]
    assert first == "> Every question was answered: no missing answer was scored as 0."


def test_markdown_first_line_says_missing_answers_were_scored_0(tricky: Assessment) -> None:
    assert tricky.allow_missing and len(tricky.missing) == 2
    first = report_md.render(tricky, "en").splitlines()[0]
    assert first.startswith("> **⚠ 2 missing answer(s) were scored as 0 (--allow-missing)")
    assert "CM-ORG-L2-1" in first
    assert "按 0 计分（--allow-missing）" in report_md.render(tricky, "zh").splitlines()[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markdown_has_every_part_in_order(sme: Assessment, sme_en: Assessment, lang: str) -> None:
    a = sme if lang == "zh" else sme_en
    md = report_md.render(a, lang)
    w = Words(lang)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        f"## {w(key)}"
        for key in (
            "h_result",
            "h_cmmm",
            "h_criteria",
            "h_scenarios",
            "h_live",
            "h_gaps",
            "h_roadmap",
            "h_unverified",
            "h_disagreements",
        )
    ]
    assert f"**{a.level_name} (basic)**" in md
    assert f"{a.next_level_name} (advanced)" in md
    assert "S = 1.37" in md
    # every criterion, the CMMM tables, the ranked actions and the budget plan
    for c in a.criteria:
        assert f"#### {c.id} — " in md
    assert w("factors_caption") in md and w("subdomains_caption") in md
    assert w("h_ranked") in md and w("budget_line", budget="800,000") in md
    # heading levels never skip one
    levels = [len(m.group(1)) for m in re.finditer(r"^(#+) ", md, re.M)]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in pairwise(levels))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markdown_flags_every_unverified_result(sme: Assessment, sme_en: Assessment, lang: str) -> None:
    a = sme if lang == "zh" else sme_en
    md = report_md.render(a, lang)
    label = Words(lang)("unverified_threshold")
    blocks = {b.split(" — ", 1)[0]: b for b in md.split("\n#### ")[1:]}
    assert len(blocks) == len(a.criteria)
    for c in a.criteria:
        result_line = blocks[c.id].splitlines()[2]
        assert (label in result_line) == c.unverified, (c.id, result_line)
    assert a.unverified and len(a.unverified) < len(a.criteria)
    # the level line and the gaps say it too
    assert f"*⚠ {label}*" in next(line for line in md.splitlines() if "(basic)**" in line)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_markdown_shows_the_disagreement_and_both_values(
    sme: Assessment, sme_en: Assessment, lang: str
) -> None:
    a = sme if lang == "zh" else sme_en
    md = report_md.render(a, lang)
    w = Words(lang)
    block = md.split("\n#### G25-BAS-CNC — ", 1)[1].split("\n#### ", 1)[0]
    assert f"**≠ {w('disagreement')}**" in block
    assert "80.0%" in block and "66.7%" in block and "(4/6)" in block  # declared and live, with counts
    assert w("tolerance_line", tolerance="0.05", confidence="[U]", source="")[:8] in block
    section = md.split(f"## {w('h_disagreements')}", 1)[1]
    for cid in a.disagreements:
        assert f"**≠ {cid}**" in section


def test_markdown_shows_evidence_declared_and_live(sme_en: Assessment) -> None:
    md = report_md.render(sme_en, "en")
    size = md.split("\n#### G25-BAS-SIZE — ", 1)[1].split("\n#### ", 1)[0]
    assert "note: “2024 年营业收入 3,100 万元" in size
    assert "attachments: 证照/规上企业证明-2024.pdf" in size
    assert "answers.yaml:" in size
    cnc = md.split("\n#### G25-BAS-CNC — ", 1)[1].split("\n#### ", 1)[0]
    assert "computed: a key step is a work cell holding key equipment" in cnc
    net = md.split("\n#### G25-BAS-NET — ", 1)[1].split("\n#### ", 1)[0]
    assert "not measured (no store)" in net


def test_markdown_escapes_what_the_factory_wrote(tricky: Assessment) -> None:
    md = report_md.render(tricky, "en")
    assert not re.search(r"(?<!\\)<script", md)  # CommonMark shows \< as a literal <
    assert "\\<script>alert" in md
    assert "\\| \\*not bold\\* \\[link\\](http://evil.example)" in md


def test_markdown_without_a_budget_says_how_to_get_one(mid: Assessment) -> None:
    md = report_md.render(mid, "en")
    assert Words("en")("no_budget") in md
    assert "**Advanced (advanced)**" in md


# --- HTML -----------------------------------------------------------------------------------

_VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source", "path", "line", "rect",
         "circle", "polygon", "polyline", "ellipse"}  # fmt: skip


class _Page(HTMLParser):
    """Everything the tests look at in a page, collected in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.title = ""
        self.svg_titles: list[str] = []
        self.body_first: tuple[str, dict[str, str | None]] | None = None
        self.text: list[str] = []
        self.first_text_in: dict[str, str] = {}
        self.tables = 0
        self.captions = 0
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        self.tags.append((tag, d))
        if self.stack and self.stack[-1] == "main" and self.body_first is None:
            self.body_first = (tag, d)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.stack:
            return
        where = self.stack[-1]
        if where == "title" and "svg" in self.stack:
            self.svg_titles.append(data)
        elif where == "title":
            self.title += data
        elif where == "style":
            self.styles.append(data)
        self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_parses_and_is_accessible(sme: Assessment, sme_en: Assessment, lang: str) -> None:
    a = sme if lang == "zh" else sme_en
    page = report_html.render(a, lang)
    assert page.startswith("<!DOCTYPE html>\n")
    p = parse(page)
    assert p.errors == [] and p.stack == []
    html = next(attrs for tag, attrs in p.tags if tag == "html")
    assert html["lang"] == ("zh-CN" if lang == "zh" else "en")
    assert p.title == Words(lang)("title", framework=a.framework_title)
    assert p.headings[0] == 1 and p.headings.count(1) == 1
    assert all(b - x <= 1 for x, b in pairwise(p.headings)), p.headings
    assert p.tables > 5 and p.captions == p.tables
    column_heads = [d for tag, d in p.tags if tag == "th" and d.get("scope") == "col"]
    assert len(column_heads) >= 3 * p.tables
    # the answers line comes first, as a status
    assert p.body_first == ("p", {"class": "answers", "role": "status"})


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_has_the_ladder_and_the_radar_with_titles(
    sme: Assessment, sme_en: Assessment, lang: str
) -> None:
    a = sme if lang == "zh" else sme_en
    page = report_html.render(a, lang)
    p = parse(page)
    svgs = [d for tag, d in p.tags if tag == "svg"]
    assert len(svgs) == 2
    assert all(d.get("role") == "img" and d.get("aria-label") for d in svgs)
    w = Words(lang)
    assert p.svg_titles == [w("ladder_svg_title"), w("radar_title", kind=w("radar_kind_domains"))]
    ladder, radar = re.findall(r"<svg.*?</svg>", page, re.S)
    # the ladder: four steps, the reached one marked, the next one dashed
    assert ladder.count("<rect ") == 4
    assert f">{w('ladder_here')}</text>" in ladder and 'stroke-dasharray="7 4"' in ladder
    desc = re.search(r'<desc id="ladder-desc">(.*?)</desc>', ladder)
    assert desc and f"{a.level_name} ({a.level})" in desc.group(1) and f"{a.next_level_name}" in desc.group(1)
    # the radar: one polygon per level up to the first that fails (L1 passed, L2 failed), 12 domains
    series = [m for m in re.findall(r'<polygon points="[^"]+" fill="(#[0-9a-f]{6})"', radar) if m]
    assert len(series) == 2
    assert radar.count('<line x1="380"') == 12


def test_html_loads_nothing_from_outside(sme: Assessment, tricky: Assessment) -> None:
    for page in (report_html.render(sme, "zh"), report_html.render(tricky, "en")):
        p = parse(page)
        for tag, attrs in p.tags:
            assert tag not in ("script", "link", "img", "iframe", "object", "embed"), tag
            for name, value in attrs.items():
                assert not name.startswith("on"), (tag, name)
                assert name not in ("src", "srcset", "xlink:href", "data", "background"), (tag, name)
                if name == "href" and value and not value.startswith("#"):
                    # a source cited in the text is a link the reader may follow, not a resource
                    assert tag == "a" and value.startswith(("http://", "https://")), (tag, value)
        css = "".join(p.styles)
        assert "url(" not in css and "@import" not in css
        assert not re.search(r'(src|href)="http', page.replace('<a href="http', "<a "))


def test_html_escapes_what_the_factory_wrote(tricky: Assessment) -> None:
    page = report_html.render(tricky, "en")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "http://evil.example" in page and 'href="http://evil.example' not in page


def test_html_first_line_says_missing_answers_were_scored_0(tricky: Assessment) -> None:
    p = parse(report_html.render(tricky, "zh"))
    assert p.body_first == ("p", {"class": "answers-missing", "role": "status"})
    assert "⚠ 2 项未作答，已按 0 计分（--allow-missing）" in "".join(p.text)


def test_html_and_markdown_say_the_same(sme_en: Assessment) -> None:
    md = report_md.render(sme_en, "en")
    text = " ".join("".join(parse(report_html.render(sme_en, "en")).text).split())
    for c in sme_en.criteria:
        assert c.id in md and c.id in text
    for phrase in ("unverified threshold", "disagreement", "Within a budget of 800,000 CNY", "S = 1.37"):
        assert phrase in md and phrase in text


def test_the_cli_writes_both_formats(tmp_path: Path) -> None:
    def run(fmt: str, lang: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "smartfactory.cli.main", "assess", "--answers", str(SME / "answers.yaml"),
             "--plant", str(SME / "plant.toml"), "--format", fmt, "--lang", lang],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert run("md", "zh").startswith("> 所有问题均已作答")
    page = run("html", "en")
    assert page.startswith("<!DOCTYPE html>") and parse(page).errors == []


# --- the documented JSON schema ---------------------------------------------------------------

# mappings keyed by data (metric, stage, sub-domain, action ids ...) and free-form provenance: their
# keys are not schema keys; the doc describes them as a whole
_FREE_FORM = {
    "live",
    "names",
    "by_stage",
    "by_dimension",
    "actions",
    "factors",
    "domains",
    "subdomains",
    "gains",
    "provenance",
    "live_provenance",
    "threshold",
    "value",
    "declared",
    "runs",
}


def _paths(value: Any, prefix: str, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            if key not in _FREE_FORM:
                _paths(child, path, out)
    elif isinstance(value, list):
        for child in value:
            _paths(child, prefix + "[]", out)


def test_every_top_level_key_of_the_json_report_is_documented(sme: Assessment, mid: Assessment) -> None:
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    keys = set(to_json(sme)) | set(to_json(mid))
    assert len(keys) >= 18
    missing = sorted(k for k in keys if not re.search(rf"^#+ `{re.escape(k)}`", doc, re.M))
    assert missing == [], f"top-level keys of to_json without a section in docs/assess-report.md: {missing}"


def test_every_nested_key_of_the_json_report_is_documented(
    sme: Assessment, tricky: Assessment, mid: Assessment
) -> None:
    doc = SCHEMA_DOC.read_text(encoding="utf-8")
    paths: set[str] = set()
    for a in (sme, tricky, mid):
        _paths(to_json(a), "", paths)
    nested = sorted(p for p in paths if "." in p)
    missing = [p for p in nested if f"`{p}`" not in doc]
    assert missing == [], f"keys of to_json not documented in docs/assess-report.md: {missing}"
