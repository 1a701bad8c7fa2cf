"""What the Markdown and HTML reports say, built once and written out by ``report_md`` and ``report_html``.

Every word of the reports comes from ``data/report_labels.toml`` (English and Chinese); names of
levels, criteria, sub-domains, metrics and scenarios come from the assessment and the framework
files. ``report(assessment, lang)`` turns an :class:`~smartfactory.assess.result.Assessment` into a
flat list of blocks — headings, paragraphs, lists, tables and two figures — so that both formats
carry the same content in the same order:

1. the answers line (were missing answers scored as 0?) and the assessment's notices;
2. the level reached on the ladder, the next level and the ladder rung by rung;
3. the CMMM grade, total S and the scores per level, factor, domain and sub-domain;
4. every criterion with its result, evidence (declared and live), disagreements and the
   "unverified threshold" flag;
5. the scenarios in use and every live metric with how it was computed;
6. the blocking gaps to the next level and the roadmap (ranked actions, budget plan);
7. the criteria that rest on [S]/[U] thresholds, and the disagreements.

Texts the engine wrote (how a criterion was judged, shortfalls, disagreement messages, action
names) are in the language the assessment was made in; render in that language.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from smartfactory.assess.result import Assessment, CriterionResult, EvidenceItem
from smartfactory.assess.shipped import shipped_texts
from smartfactory.model.text import Text, language_tag, resolve_language

LABELS_SCHEMA = "smartfactory.report_labels/1"

# --- the words ----------------------------------------------------------------------------------


@cache
def load_labels() -> dict[str, Text]:
    """Every report word in English and Chinese, from ``data/report_labels.toml``."""
    return shipped_texts("data/report_labels.toml", LABELS_SCHEMA, "label")


class Words:
    """The report words in one language: ``w("level_reached", name=...)``."""

    def __init__(self, lang: str | None) -> None:
        self.lang = resolve_language(lang)
        self._labels = load_labels()

    def __call__(self, key: str, **values: Any) -> str:
        text = self._labels[key].get(self.lang)
        return text.format(**values) if values else text

    @property
    def html_lang(self) -> str:
        """The value of the HTML ``lang`` attribute."""
        return language_tag(self.lang)


# --- the blocks ---------------------------------------------------------------------------------

Style = Literal["", "strong", "code", "em", "pass", "fail", "unknown", "warn", "bad", "link"]


@dataclass(frozen=True)
class Span:
    """A run of text with one style; ``link`` spans carry an ``href`` (a source cited in text)."""

    text: str
    style: Style = ""
    href: str | None = None


Inline = tuple[Span, ...]
Row = tuple[Inline, ...]


def t(text: str, style: Style = "") -> Inline:
    """One span as an inline."""
    return (Span(text, style),)


def join(parts: Iterable[Inline], sep: str = " · ") -> Inline:
    """Inlines joined by ``sep``."""
    out: list[Span] = []
    for i, part in enumerate(p for p in parts if p):
        if i:
            out.append(Span(sep))
        out.extend(part)
    return tuple(out)


@dataclass(frozen=True)
class Heading:
    """A heading, levels 1-4, in order."""

    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Para:
    """A paragraph; ``role`` marks the answers line, notices and warnings."""

    parts: Inline
    role: Literal["", "answers", "answers-missing", "notice", "warn", "meta", "note"] = ""


@dataclass(frozen=True)
class Item:
    """A list item with optional sub-items."""

    parts: Inline
    children: tuple[Inline, ...] = ()


@dataclass(frozen=True)
class Items:
    """A bulleted list."""

    items: tuple[Item, ...]


@dataclass(frozen=True)
class Table:
    """A table with a caption, column headers (row headers in the first column) and aligned numbers."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Inline, ...], ...]
    numeric: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A chart only the HTML report draws (the Markdown report has the same data as tables)."""

    kind: Literal["ladder", "radar"]


Block = Heading | Para | Items | Table | Figure


@dataclass(frozen=True)
class Report:
    """The report: its title, language and blocks, with the assessment they were built from."""

    title: str
    words: Words
    blocks: tuple[Block, ...]
    assessment: Assessment
    names: Names


# --- names from the framework files -------------------------------------------------------------


@dataclass
class Names:
    """Names and the CMMM tree from the framework files; ids stand in where a file is not shipped."""

    lang: str
    cmmm_levels: dict[int, str] = field(default_factory=dict)
    domain_of: dict[str, str] = field(default_factory=dict)
    factor_of: dict[str, str] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    scenarios: dict[str, str] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, a: Assessment, lang: str) -> Names:
        """The names of ``a``'s frameworks (from the shipped library when it has them)."""
        from smartfactory.assess.framework import shipped

        names = cls(lang)
        library = shipped()
        try:
            ids = set(library.ids())
        except Exception:  # a broken install still renders, with ids for names
            return names
        if a.cmmm.framework in ids:
            cm = library.cmmm(a.cmmm.framework)
            names.cmmm_levels = {lv.no: lv.name.get(lang) for lv in cm.levels}
            names.domain_of = {s.id: s.domain for s in cm.subdomains}
            names.factor_of = {d.id: d.factor for d in cm.domains}
            names.order = {
                "factors": [f.id for f in cm.factors],
                "domains": [d.id for d in cm.domains],
                "subdomains": [s.id for s in cm.subdomains],
            }
        if a.scenario_catalogue in ids:
            sc = library.scenarios(a.scenario_catalogue)
            names.scenarios = {s.id: s.name.get(lang) for s in sc.scenarios}
            names.stages = {s.id: s.name.get(lang) for s in sc.stages}
            names.dimensions = {d.id: d.name.get(lang) for d in sc.dimensions}
        try:
            names.metrics = {m.id: m.name.get(lang) for m in library.metrics().metrics}
        except Exception:  # metric names are a nicety: ids will do
            names.metrics = {}
        return names


# --- formatting ---------------------------------------------------------------------------------


def number(value: float, digits: int = 3) -> str:
    """A number in ``digits`` significant digits, without a trailing exponent for everyday values."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not math.isfinite(value):
        return "—"
    if value == int(value) and abs(value) < 1e12:
        return str(int(value))
    return f"{value:.{digits}g}"


def score(value: float | None) -> str:
    """A score on the 0-1 scale (two decimals)."""
    return "—" if value is None else f"{value:.2f}"


def cny(value: float) -> str:
    """An amount of yuan with thousands separators."""
    return f"{value:,.0f}"


def value_text(value: Any, unit: str | None, w: Words) -> str:
    """A value as the report shows it: ratios as percentages, yes/no, lists and mappings spelt out."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return w("yes") if value else w("no")
    if isinstance(value, int | float):
        if unit == "ratio":
            return f"{float(value) * 100:.1f}%"
        text = number(value)
        return f"{text} {unit}" if unit and unit not in ("count", "ratio") else text
    if isinstance(value, Mapping):
        if not value:
            return "—"
        return "; ".join(f"{k}: {value_text(v, None, w)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v, None, w) for v in value) if value else "—"
    return str(value)


def one_line(text: str) -> str:
    """Text on one line (answers notes and SQL may span several)."""
    return " ".join(str(text).split())


def tag(confidence: str) -> str:
    """A confidence tag as written in the research notes: [V], [S], [U]."""
    return f"[{confidence}]"


# --- building -----------------------------------------------------------------------------------


def report(a: Assessment, lang: str = "en") -> Report:
    """The whole report of an assessment, as blocks both formats write out."""
    w = Words(lang)
    names = Names.of(a, w.lang)
    b = _Builder(a, w, names)
    return Report(b.title(), w, tuple(b.build()), a, names)


class _Builder:
    def __init__(self, a: Assessment, w: Words, names: Names) -> None:
        self.a = a
        self.w = w
        self.names = names
        self.blocks: list[Block] = []
        self.unverified = w("unverified_threshold")
        self.colon = w("colon")

    def title(self) -> str:
        return self.w("title", framework=self.a.framework_title)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def build(self) -> list[Block]:
        self.answers_line()
        self.add(Heading(1, self.title(), "top"))
        self.meta()
        self.notices()
        self.result()
        self.cmmm()
        self.criteria()
        self.scenarios()
        self.live()
        self.gaps()
        self.roadmap()
        self.unverified_section()
        self.disagreements()
        self.add(Para(t(self.w("footer", schema="smartfactory.assessment/1")), "meta"))
        return self.blocks

    # the first lines -----------------------------------------------------------------------

    def answers_line(self) -> None:
        """The report's first line: whether missing answers were scored as 0."""
        a, w = self.a, self.w
        if a.missing:
            shown = ", ".join(a.missing[:8]) + (" …" if len(a.missing) > 8 else "")
            key = "answers_missing_scored_0" if a.allow_missing else "answers_missing"
            self.add(Para(t(w(key, n=len(a.missing), ids=shown), "strong"), "answers-missing"))
        else:
            self.add(Para(t(w("answers_complete")), "answers"))

    def meta(self) -> None:
        a, w = self.a, self.w
        items = [
            Item(
                join(
                    [t(w("framework") + self.colon), t(a.framework, "code"), t(f" — {a.framework_title}")], ""
                )
            ),
            Item(
                join(
                    [
                        t(w("frameworks_used") + self.colon),
                        t(a.cmmm_framework, "code"),
                        t(", "),
                        t(a.scenario_catalogue, "code"),
                    ],
                    "",
                )
            ),
            Item(t(w("plant") + self.colon + (a.plant_id or w("no_plant")))),
            Item(t(w("industry_line", industry=w(f"industry_{a.industry}"), source=a.industry_from))),
            Item(join([t(w("answers_file") + self.colon), t(a.answers_file, "code")], "")),
            Item(t(w("generated_at") + self.colon + a.generated_at.isoformat(timespec="seconds"))),
        ]
        self.add(Items(tuple(items)))

    def notices(self) -> None:
        # the answers line already says what --allow-missing did
        shown = [n for n in self.a.notices if "--allow-missing" not in n]
        if shown:
            self.add(Para(t(self.w("notices"), "strong"), "notice"))
            self.add(Items(tuple(Item(t(n)) for n in shown)))

    # the level --------------------------------------------------------------------------------

    def result(self) -> None:
        a, w = self.a, self.w
        self.add(Heading(2, w("h_result"), "result"))
        if a.level:
            reached = join(
                [t(w("level_reached") + self.colon), t(f"{a.level_name} ({a.level})", "strong")], ""
            )
        else:
            first = a.levels[0].name if a.levels else "—"
            reached = join(
                [t(w("level_reached") + self.colon), t(w("level_none", first=first), "strong")], ""
            )
        if a.level_unverified:
            reached = join([reached, t(f"⚠ {self.unverified}", "warn")], "  ")
        self.add(Para(reached))
        if a.next_level:
            self.add(Para(t(w("next_level") + self.colon + f"{a.next_level_name} ({a.next_level})")))
        else:
            self.add(Para(t(w("top_level"))))
        if a.level_unverified:
            ids = ", ".join(a.level_unverified)
            self.add(Para(t(w("level_unverified", n=len(a.level_unverified), ids=ids)), "warn"))
        cm = a.cmmm.score
        warning = join([t("  "), t(f"⚠ {self.unverified}", "warn")], "") if a.cmmm.unverified else ()
        self.add(self.grade_para(cm.grade, t(f" (S = {cm.total:.2f})"), warning))
        self.add(Heading(3, w("h_ladder"), "ladder"), Figure("ladder"))
        rows: list[Row] = []
        for lv in a.levels:
            state = t(w("reached"), "pass") if lv.passed else t(w("not_reached"), "fail")
            rows.append(
                (
                    t(f"{lv.name} ({lv.id})"),
                    state,
                    t(str(len(lv.criteria))),
                    t(", ".join(lv.failed) or "—"),
                    t(", ".join(lv.unknown) or "—"),
                    t(str(len(lv.unverified))),
                    t(lv.why),
                )
            )
        self.add(
            Table(
                w("ladder_caption"),
                (
                    w("col_level"),
                    w("col_result"),
                    w("col_criteria"),
                    w("col_failed"),
                    w("col_unknown"),
                    w("col_unverified"),
                    w("col_why"),
                ),
                tuple(rows),
                (False, False, True, False, False, True, False),
            )
        )

    # CMMM -------------------------------------------------------------------------------------

    def unverified_because(self, why: str) -> Inline:
        """The unverified flag and why: "⚠ <unverified>: <why>"."""
        return join([t(f"⚠ {self.unverified}", "warn"), t(self.colon), t(why)], "")

    def grade_para(self, grade: int | None, *after: Inline) -> Para:
        """The CMMM grade line: "CMMM grade: <grade>" (or not rated), then ``after``."""
        w = self.w
        shown = w("cmmm_grade_value", grade=grade) if grade is not None else w("not_rated")
        return Para(join([t(w("cmmm_grade") + self.colon), t(shown, "strong"), *after], ""))

    def level_name(self, no: int) -> str:
        name = self.names.cmmm_levels.get(no)
        return f"L{no} {name}" if name else f"L{no}"

    def cmmm(self) -> None:
        a, w = self.a, self.w
        c = a.cmmm
        s = c.score
        self.add(Heading(2, w("h_cmmm"), "cmmm"))
        self.add(Para(t(f"{c.title} — {c.framework}"), "meta"))
        industry = w("industry_line", industry=w(f"industry_{c.industry}"), source=a.industry_from)
        self.add(
            self.grade_para(
                s.grade,
                t(" · " + w("total_s", total=f"{s.total:.2f}")),
                t(" · " + w("passed_levels", n=s.passed_levels)),
                t(" · " + industry),
            )
        )
        if c.unverified:
            why = w("cmmm_unverified", scoring=tag(c.scoring_confidence), weights=tag(c.weights_confidence))
            self.add(Para(self.unverified_because(why), "warn"))
        self.add(Para(t(w("cmmm_method")), "note"))
        if s.not_applicable:
            listed = ", ".join(f"{c.names.get(x, x)} ({x})" for x in s.not_applicable)
            self.add(Para(t(w("tailored_out", subdomains=listed))))
        if s.unscored:
            self.add(Para(t(w("unscored", n=len(s.unscored), ids=", ".join(s.unscored[:12]))), "warn"))
        rows: list[Row] = [
            (
                t(self.level_name(lv.level)),
                t(score(lv.score)),
                t(w("passed"), "pass") if lv.passed else t(w("not_passed"), "fail"),
                t(score(lv.counted)),
            )
            for lv in s.levels
        ]
        rows.append((t(w("total"), "strong"), t(""), t(""), t(f"{s.total:.2f}", "strong")))
        self.add(
            Table(
                w("cmmm_levels_caption"),
                (w("col_cmmm_level"), w("col_score"), w("col_passed"), w("col_counted")),
                tuple(rows),
                (False, True, False, True),
            )
        )
        self.add(Heading(3, w("h_cmmm_scores"), "cmmm-scores"), Figure("radar"))
        for kind, caption in (
            ("factors", w("factors_caption")),
            ("domains", w("domains_caption")),
            ("subdomains", w("subdomains_caption")),
        ):
            self.cmmm_table(kind, caption)

    def cmmm_table(self, kind: str, caption: str) -> None:
        w = self.w
        s = self.a.cmmm.score
        names = self.a.cmmm.names
        ids: list[str] = []
        for lv in s.levels:
            for x in getattr(lv, kind):
                if x not in ids:
                    ids.append(x)
        order = {x: i for i, x in enumerate(self.names.order.get(kind, []))}
        ids.sort(key=lambda x: order.get(x, len(order)))
        headers = [w("col_" + kind[:-1])]
        parent_of = {"domains": self.names.factor_of, "subdomains": self.names.domain_of}.get(kind, {})
        if parent_of:
            headers.append(w("col_parent_" + kind[:-1]))
        headers += [self.level_name(lv.level) for lv in s.levels]
        rows: list[Row] = []
        for x in ids:
            row: list[Inline] = [t(f"{names.get(x, x)} ({x})")]
            if parent_of:
                parent = parent_of.get(x)
                row.append(t(names.get(parent, parent) if parent else "—"))
            for lv in s.levels:
                got = getattr(lv, kind).get(x)
                row.append(t(score(got)))
            rows.append(tuple(row))
        numeric = [False] * (2 if parent_of else 1) + [True] * len(s.levels)
        self.add(Table(caption, tuple(headers), tuple(rows), tuple(numeric)))

    # criteria ---------------------------------------------------------------------------------

    def criteria(self) -> None:
        a, w = self.a, self.w
        self.add(Heading(2, w("h_criteria"), "criteria"))
        self.add(Para(t(w("criteria_intro")), "note"))
        for lv in a.levels:
            state = w("reached") if lv.passed else w("not_reached")
            self.add(Heading(3, f"{lv.name} ({lv.id}) — {state}", f"level-{lv.id}"))
            for cid in lv.criteria:
                self.criterion(a.criterion(cid))

    def result_word(self, c: CriterionResult) -> Inline:
        return t(self.w(f"result_{c.result}"), c.result)

    def criterion(self, c: CriterionResult) -> None:
        w = self.w
        self.add(Heading(4, f"{c.id} — {c.text}", f"c-{c.id}"))
        flags: list[Inline] = [self.result_word(c)]
        if c.unverified:
            flags.append(t(f"⚠ {self.unverified}", "warn"))
        if c.disagreement is not None:
            flags.append(t(f"≠ {w('disagreement')}", "bad"))
        if c.missing:
            flags.append(t(w("missing_scored_0"), "warn"))
        items = [
            Item(join([t(w("col_result") + self.colon), join(flags, "  ")], "")),
            Item(
                t(
                    w("type_line", type=w(f"type_{c.type}"), confidence=tag(c.confidence))
                    + " · "
                    + w("used_line", used=w(f"used_{c.used}"))
                )
            ),
            Item(t(w("value_line", value=self.criterion_value(c), threshold=self.threshold(c)))),
            Item(t(w("how_line", how=c.how))),
        ]
        if c.result != "pass" and c.distance:
            items.append(Item(t(w("distance_line", distance=number(c.distance)))))
        items.append(Item(self.source(c)))
        evidence = tuple(self.evidence(e) for e in c.evidence)
        if evidence:
            items.append(Item(t(w("evidence") + self.colon.rstrip()), evidence))
        if c.unverified:
            items.append(Item(self.unverified_because("; ".join(c.unverified_reasons) or "—")))
        if c.disagreement is not None:
            d = c.disagreement
            items.append(
                Item(
                    join([t(f"≠ {w('disagreement')}", "bad"), t(self.colon), t(d.message)], ""),
                    (
                        t(
                            w(
                                "disagreement_values",
                                declared=value_text(d.declared, None, w),
                                live=value_text(d.live, None, w),
                            )
                        ),
                        t(
                            w(
                                "tolerance_line",
                                tolerance="—" if d.tolerance is None else number(d.tolerance),
                                confidence=tag(d.tolerance_confidence),
                                source=d.tolerance_source,
                            )
                        ),
                    ),
                )
            )
        self.add(Items(tuple(items)))

    def criterion_value(self, c: CriterionResult) -> str:
        unit = c.threshold.get("unit") if isinstance(c.threshold, Mapping) else None
        if c.type == "prerequisite_level" and "cmmm_min" in c.threshold:
            grade = c.value
            return self.w("cmmm_grade_value", grade=grade) if grade is not None else self.w("not_rated")
        return value_text(c.value, unit, self.w)

    def threshold(self, c: CriterionResult) -> str:
        w = self.w
        th = dict(c.threshold)
        if "metric" in th and "comparator" in th:
            return f"{th['comparator']} {value_text(th.get('value'), th.get('unit'), w)}"
        if "count" in th:
            scope = th.get("stage") or th.get("dimension")
            scope_name = ""
            if scope:
                scope_name = self.names.stages.get(scope) or self.names.dimensions.get(scope) or scope
            return w("threshold_count", count=w(f"count_{th['count']}"), min=th.get("min"), scope=scope_name)
        if "cmmm_min" in th:
            return w("threshold_cmmm", grade=th["cmmm_min"], total=number(th.get("total_needed", 0)))
        if "level" in th:
            return w("threshold_level", level=th["level"])
        if "pass_at" in th:
            return w("threshold_judgement", pass_at=number(th["pass_at"]))
        if "answer" in th:
            return w("threshold_yes")
        return value_text(th, None, w)

    def source(self, c: CriterionResult) -> Inline:
        w = self.w
        parts = [t(w("source") + f" {tag(c.confidence)}{self.colon}"), t(c.source_clause)]
        if c.source_url:
            parts += [t(" — "), (Span(c.source_url, "link", c.source_url),)]
        return join(parts, "")

    def evidence(self, e: EvidenceItem) -> Inline:
        w = self.w
        kind = join([t(w(f"evidence_{e.kind}"), "strong"), t(self.colon)], "")
        what = self.names.metrics.get(e.what) if e.kind == "live" else None
        label = t(f"{what} — ") if what else ()
        if e.kind == "live" and e.value is None:
            return join([kind, label, t(w("not_measured", why=e.why or "—"))], "")
        parts: list[Inline] = [kind, label, t(self.evidence_value(e))]
        if e.kind == "live":
            prov = dict(e.provenance)
            num, den = prov.get("numerator"), prov.get("denominator")
            if num is not None and den is not None:
                parts.append(t(f" ({number(num)}/{number(den)})"))
            parts.append(t(" — " + w("computed", how=live_how(prov, w))))
        if e.note:
            parts.append(t(" — " + w("note", note=one_line(e.note))))
        if e.attachments:
            parts.append(t(" — " + w("attachments", files=", ".join(e.attachments))))
        if e.kind == "declared" and e.source:
            parts += [t(" — "), t(e.source, "code")]
        elif e.kind == "derived" and e.source:
            parts.append(t(f" — {e.source}"))
        if e.why:
            parts.append(t(f" ({e.why})"))
        return join(parts, "")

    def evidence_value(self, e: EvidenceItem) -> str:
        w = self.w
        value = e.value
        if e.what == "scenarios_built" and isinstance(value, Mapping):
            built = [self.names.scenarios.get(x, x) for x in value.get("built", [])]
            ai = [self.names.scenarios.get(x, x) for x in value.get("ai_used", [])]
            return w(
                "declared_scenarios", n=len(built), built=", ".join(built) or "—", ai=", ".join(ai) or "—"
            )
        if e.what == "cmmm" and isinstance(value, Mapping):
            grade = value.get("grade")
            shown = w("cmmm_grade_value", grade=grade) if grade is not None else w("not_rated")
            return f"{shown}, S = {float(value.get('total', 0.0)):.2f}"
        return value_text(value, e.unit, w)

    # scenarios --------------------------------------------------------------------------------

    def scenarios(self) -> None:
        a, w = self.a, self.w
        s = a.scenarios
        self.add(Heading(2, w("h_scenarios"), "scenarios"))
        share = "—" if s.ai_share is None else f"{s.ai_share * 100:.1f}%"
        self.add(
            Para(
                t(
                    w(
                        "scenarios_summary",
                        n=len(s.in_use),
                        ai=len(s.ai),
                        share=share,
                        stages=s.stages_covered,
                        n_stages=len(s.by_stage),
                        dims=s.dimensions_covered,
                        n_dims=len(s.by_dimension),
                    )
                )
            )
        )
        self.add(Para(t(w("registry_read") if s.registry_read else w("registry_not_read")), "note"))
        rows: list[Row] = [
            (t(f"{self.names.stages.get(k, k)} ({k})"), t(str(n))) for k, n in s.by_stage.items()
        ]
        self.add(Table(w("by_stage_caption"), (w("col_stage"), w("col_in_use")), tuple(rows), (False, True)))
        rows = [(t(f"{self.names.dimensions.get(k, k)} ({k})"), t(str(n))) for k, n in s.by_dimension.items()]
        self.add(
            Table(
                w("by_dimension_caption"), (w("col_dimension"), w("col_in_use")), tuple(rows), (False, True)
            )
        )
        shown = [x for x in s.scenarios if x.in_use or x.disagreement]
        if shown:
            rows = []
            for x in shown:
                flags: list[Inline] = []
                if x.disagreement:
                    flags.append(t(f"≠ {x.disagreement}", "bad"))
                rows.append(
                    (
                        t(str(x.no)),
                        t(f"{self.names.scenarios.get(x.id, x.name)} ({x.id})"),
                        t(self.names.stages.get(x.stage, x.stage)),
                        t(value_text(x.declared_built, None, w)),
                        t(value_text(x.declared_ai, None, w)),
                        t(value_text(x.live_in_use, None, w)),
                        t(value_text(x.live_ai, None, w)),
                        t(w("yes") if x.ai_used else w("no")),
                        join([t(one_line(x.note)) if x.note else (), *flags], " "),
                    )
                )
            self.add(
                Table(
                    w("scenarios_caption"),
                    (
                        w("col_no"),
                        w("col_scenario"),
                        w("col_stage"),
                        w("col_declared_built"),
                        w("col_declared_ai"),
                        w("col_live_in_use"),
                        w("col_live_ai"),
                        w("col_ai_counted"),
                        w("col_note"),
                    ),
                    tuple(rows),
                    (True, False, False, False, False, False, False, False, False),
                )
            )
        else:
            self.add(Para(t(w("no_scenarios"))))
        if s.unknown_official:
            self.add(Para(t(w("unknown_official", ids=", ".join(s.unknown_official))), "warn"))

    # live evidence ----------------------------------------------------------------------------

    def live(self) -> None:
        a, w = self.a, self.w
        self.add(Heading(2, w("h_live"), "live"))
        if not a.live:
            self.add(Para(t(w("no_live"))))
            return
        self.add(Para(t(w("live_intro")), "note"))
        rows: list[Row] = []
        for metric, ev in a.live.items():
            period = "—"
            if ev.period:
                start, end = (p.isoformat(timespec="minutes") for p in ev.period)
                period = f"{start} – {end}"
            counted = "—"
            if ev.numerator is not None and ev.denominator is not None:
                counted = f"{number(ev.numerator)}/{number(ev.denominator)}"
            how = (
                t(w("not_measured", why=ev.why or "—"), "unknown")
                if ev.value is None
                else t(live_how(ev.provenance, w, full=True))
            )
            rows.append(
                (
                    t(self.metric_name(metric)),
                    t(value_text(ev.value, ev.unit, w)),
                    t(counted),
                    t(period),
                    how,
                )
            )
        self.add(
            Table(
                w("live_caption"),
                (w("col_metric"), w("col_value"), w("col_counted_of"), w("col_period"), w("col_how")),
                tuple(rows),
                (False, True, True, False, False),
            )
        )

    # gaps and roadmap -------------------------------------------------------------------------

    def gaps(self) -> None:
        a, w = self.a, self.w
        self.add(Heading(2, w("h_gaps"), "gaps"))
        if a.next_level is None:
            self.add(Para(t(w("top_level"))))
            return
        if not a.gaps:
            self.add(Para(t(w("no_gaps", level=a.next_level_name or a.next_level))))
            return
        self.add(Para(t(w("gaps_intro", n=len(a.gaps), level=f"{a.next_level_name} ({a.next_level})"))))
        rows: list[Row] = []
        for g in a.gaps:
            name = join([t(g.criterion, "strong"), t(f" — {g.text}")], "")
            if g.unverified:
                name = join([name, t(f"⚠ {self.unverified}", "warn")], " ")
            rows.append(
                (
                    name,
                    t(g.level),
                    t(self.w(f"result_{g.result}"), g.result),
                    t(g.shortfall),
                    t("; ".join(g.missing_evidence) or "—"),
                )
            )
        self.add(
            Table(
                w("gaps_caption", level=a.next_level_name or a.next_level),
                (w("col_criterion"), w("col_level"), w("col_result"), w("col_shortfall"), w("col_missing")),
                tuple(rows),
            )
        )

    def metric_name(self, metric: str) -> str:
        """A metric's name and id, or the id alone where the catalogue has no name for it."""
        name = self.names.metrics.get(metric)
        return f"{name} ({metric})" if name and name != metric else metric

    def action_names(self, ids: Sequence[str]) -> str:
        acts = self.a.roadmap.actions
        return " → ".join(acts[x].name if x in acts else x for x in ids)

    def roadmap(self) -> None:
        a, w = self.a, self.w
        r = a.roadmap
        self.add(Heading(2, w("h_roadmap"), "roadmap"))
        if r.next_level is None:
            self.add(Para(t(w("top_level"))))
            return
        self.add(Para(t(w("roadmap_intro", level=a.next_level_name or r.next_level, unit=r.gain_unit))))
        if r.targets:
            rows: list[Row] = [
                (
                    t(x.what),
                    t(number(x.current)),
                    t(number(x.cap)),
                    t(number(x.weight)),
                    t(", ".join(x.criteria) or "—"),
                )
                for x in r.targets
            ]
            self.add(
                Table(
                    w("targets_caption"),
                    (w("col_target"), w("col_now"), w("col_needed"), w("col_weight"), w("col_criteria_ids")),
                    tuple(rows),
                    (False, True, True, True, False),
                )
            )
        self.add(Heading(3, w("h_ranked"), "ranked"))
        if r.ranked:
            rows = [
                (
                    t(str(i)),
                    t(self.action_names(o.actions)),
                    t(cny(o.cost_cny)),
                    t(f"{o.gain:.2f}"),
                    t(f"{o.gain_per_million_cny:.2f}"),
                    t(number(o.effort_months)),
                )
                for i, o in enumerate(r.ranked, 1)
            ]
            self.add(
                Table(
                    w("ranked_caption"),
                    (
                        w("col_rank"),
                        w("col_actions"),
                        w("col_cost"),
                        w("col_gain"),
                        w("col_gain_per_m"),
                        w("col_months"),
                    ),
                    tuple(rows),
                    (True, False, True, True, True, True),
                )
            )
        else:
            self.add(Para(t(w("no_actions"))))
        self.add(Heading(3, w("h_budget"), "budget"))
        b = r.budget
        if b is None:
            self.add(Para(t(w("no_budget"))))
        else:
            self.add(
                Para(
                    join(
                        [
                            t(w("budget_line", budget=cny(b.budget_cny)), "strong"),
                            t(
                                w(
                                    "budget_result",
                                    actions=self.action_names(b.actions) or "—",
                                    cost=cny(b.cost_cny),
                                    gain=f"{b.gain:.2f}",
                                    months=number(b.effort_months),
                                )
                            ),
                        ],
                        " ",
                    )
                )
            )
            if not b.optimal:
                self.add(Para(t(w("budget_not_optimal")), "warn"))
            if b.criteria_met:
                self.add(Para(t(w("budget_criteria_met", ids=", ".join(b.criteria_met)))))
            if b.actions:
                rows = []
                for x in b.actions:
                    act = r.actions.get(x)
                    if act is None:
                        continue
                    rows.append(
                        (
                            t(f"{act.name} ({act.id})"),
                            t(cny(act.cost_cny)),
                            t(f"{cny(act.cost_range_cny[0])} – {cny(act.cost_range_cny[1])}"),
                            t(f"{w('cost_class_' + act.cost_class)} {tag(act.cost_confidence)}"),
                            t(number(act.effort_months)),
                            t(self.action_names(act.prerequisites) or "—"),
                        )
                    )
                self.add(
                    Table(
                        w("budget_caption"),
                        (
                            w("col_action"),
                            w("col_cost"),
                            w("col_cost_range"),
                            w("col_cost_class"),
                            w("col_months"),
                            w("col_prerequisites"),
                        ),
                        tuple(rows),
                        (False, True, True, False, True, False),
                    )
                )
        if r.uncovered:
            self.add(Para(t(w("uncovered", ids=", ".join(r.uncovered))), "warn"))
        if r.done:
            done = ", ".join(r.actions[x].name if x in r.actions else x for x in r.done)
            self.add(Para(t(w("done", actions=done))))
        self.add(Para(t(r.cost_note), "note"))

    # unverified and disagreements ---------------------------------------------------------------

    def unverified_section(self) -> None:
        a, w = self.a, self.w
        self.add(Heading(2, w("h_unverified"), "unverified"))
        self.add(Para(t(w("unverified_intro")), "note"))
        flagged = [c for c in a.criteria if c.unverified]
        if not flagged:
            self.add(Para(t(w("none"))))
            return
        self.add(
            Items(
                tuple(
                    Item(
                        join(
                            [
                                t(c.id, "strong"),
                                t(f" {tag(c.confidence)} — "),
                                t(w("result_" + c.result), c.result),
                                t(" "),
                                t(f"⚠ {self.unverified}", "warn"),
                                t(" — " + ("; ".join(c.unverified_reasons) or "—")),
                            ],
                            "",
                        )
                    )
                    for c in flagged
                )
            )
        )

    def disagreements(self) -> None:
        a, w = self.a, self.w
        self.add(Heading(2, w("h_disagreements"), "disagreements"))
        found = [c for c in a.criteria if c.disagreement is not None]
        if not found:
            self.add(Para(t(w("no_disagreements"))))
            return
        self.add(Para(t(w("disagreements_intro")), "note"))
        items = []
        for c in found:
            d = c.disagreement
            assert d is not None
            items.append(
                Item(
                    join(
                        [t(f"≠ {c.id}", "bad"), t(f" ({self.metric_name(d.what)}){self.colon}{d.message}")],
                        "",
                    ),
                    (
                        t(
                            w(
                                "tolerance_line",
                                tolerance="—" if d.tolerance is None else number(d.tolerance),
                                confidence=tag(d.tolerance_confidence),
                                source=d.tolerance_source,
                            )
                        ),
                    ),
                )
            )
        self.add(Items(tuple(items)))


def live_how(provenance: Mapping[str, Any], w: Words, *, full: bool = False) -> str:
    """How a live value was computed, from its provenance: the rule, source, call or query, and window."""
    parts: list[str] = []
    for key in ("rule", "source"):
        if provenance.get(key):
            parts.append(one_line(str(provenance[key])))
    for key in ("kpi_call", "call"):
        if provenance.get(key):
            parts.append(w("call", call=one_line(str(provenance[key]))))
    query = provenance.get("query")
    if full and isinstance(query, Mapping) and query.get("sql"):
        rows = query.get("result_rows")
        parts.append(w("query", sql=one_line(str(query["sql"])), rows="—" if rows is None else rows))
    window = provenance.get("window")
    if isinstance(window, Mapping) and window.get("start"):
        parts.append(
            w("window", start=window["start"], end=window.get("end", "—"), days=window.get("days", "—"))
        )
    if full and provenance.get("store"):
        parts.append(w("store", store=provenance["store"]))
    if provenance.get("live_metric"):
        parts.append(w("json_path", path=provenance["live_metric"]))
    return "; ".join(parts) if parts else "—"
