"""The questionnaire: every question of a ladder, each parsing and checking its own answer.

A question is one thing the factory answers: a gate or relative-benchmark criterion (yes/no),
a judgement criterion (the ladder's scale, e.g. 0 / 0.5 / 0.8 / 1), a declared metric (a number
in its range, a percentage for ratios, or ``unknown``), whether a typical scenario is built and
uses AI (yes/no), whether a CMMM sub-domain applies (yes / not_applicable), a CMMM requirement's
score (the GB/T 39117 scale) and the industry type. ``questions(fw)`` lists them with their keys
(the criterion, metric or requirement id, ``<scenario>.built``, ``<scenario>.ai_used``,
``<sub-domain>.applicable``, ``industry``), grouped as the answers file groups them.

``Question.check(raw)`` is the one check of a value: the answers file's checker, the answers
template's comments, the web form and the API all go through it. A refused value is a
``Finding``: a problem code (``answer.not_yes_no``, ``answer.out_of_range`` …) with its
parameters. Its words come from ``data/answer_problems.toml`` in English or Chinese
(``problem_text``), so nothing downstream tells problems apart by their words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from smartfactory.assess.schema import JudgementCriterion, RelativeBenchmarkCriterion
from smartfactory.assess.shipped import shipped_texts
from smartfactory.model.errors import Problem
from smartfactory.model.text import Text, resolve_language

if TYPE_CHECKING:
    from smartfactory.assess.answers import Frameworks

PROBLEMS_SCHEMA = "smartfactory.answer_problems/1"
UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"
INDUSTRIES = ("discrete", "process")
YES_NO_KINDS = ("yes_no", "benchmark", "built", "ai_used")

Kind = Literal[
    "industry", "yes_no", "benchmark", "judgement", "metric", "built", "ai_used", "applicable", "score"
]
Section = Literal["general", "criteria", "metrics", "scenarios", "cmmm"]
Value = bool | float | str | None

_YES = ("yes", "true")
_NO = ("no", "false")


# --- problems, by code ------------------------------------------------------------------------------


@cache
def problem_texts() -> dict[str, Text]:
    """Every problem's words in English and Chinese, by code, from ``data/answer_problems.toml``."""
    return shipped_texts("data/answer_problems.toml", PROBLEMS_SCHEMA, "problem")


def problem_text(code: str, params: Mapping[str, Any], lang: str | None) -> str:
    """The words of problem ``code`` in ``lang``, its parameters filled in (texts in that language)."""
    lang = resolve_language(lang)
    words = {key: _in_language(value, lang) for key, value in params.items()}
    return problem_texts()[code].get(lang).format(**words)


def _in_language(value: Any, lang: str) -> str:
    if isinstance(value, Text):
        return value.get(lang)
    if isinstance(value, list | tuple):
        return ", ".join(_in_language(v, lang) for v in value)
    return str(value)


@dataclass(frozen=True)
class Finding:
    """What is wrong with an answer, without where it is: a code and the parameters of its words."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str | None) -> str:
        """The problem in words, in ``lang``."""
        return problem_text(self.code, self.params, lang)

    def at(self, source: str, location: str, line: int | None, lang: str | None) -> AnswerProblem:
        """This finding at a place of a file, form or request, with its words in ``lang``."""
        return AnswerProblem(source, location, self.text(lang), line, self.code, self.params)


@dataclass(frozen=True)
class AnswerProblem(Problem):
    """A ``Problem`` that also carries its code and parameters, to be said again in another language."""

    code: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def in_language(self, lang: str | None) -> AnswerProblem:
        """The same problem with its words in ``lang``."""
        return replace(self, message=problem_text(self.code, self.params, lang))


def in_language(problems: Iterable[Problem], lang: str | None) -> list[Problem]:
    """Problems with the words of those that carry a code said in ``lang`` (the others as they are)."""
    return [p.in_language(lang) if isinstance(p, AnswerProblem) else p for p in problems]


def shown(raw: Any) -> str:
    """A value as a problem quotes it: strings quoted, numbers as written."""
    if isinstance(raw, bool):
        return repr(bool(raw))
    if isinstance(raw, int | float):
        return repr(int(raw) if isinstance(raw, int) else float(raw))
    if isinstance(raw, str):
        return repr(str(raw))
    if isinstance(raw, Mapping):
        return repr({str(k): v for k, v in raw.items()})
    if isinstance(raw, list | tuple):
        return repr(list(raw))
    return repr(raw)


# --- reading values ---------------------------------------------------------------------------------


def yes_no(value: Any) -> bool | None:
    """True / False for yes/no/true/false (any case), None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def number(value: Any) -> float | None:
    """A finite number given as a number (not a string, not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    found = float(value)
    return found if math.isfinite(found) else None


def number_text(value: float) -> str:
    """A number as an answer is saved: ``1`` for 1.0, ``0.86`` for 0.86 (exact, no rounding)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def scalar(text: str) -> Value:
    """Typed text as the value it would be in an answers file (YAML 1.2 plain scalars).

    ``0.8`` is a number, ``true`` a bool, ``~`` or blank nothing, anything else the text itself,
    so a value checks the same whether it was typed into the form or written into the file.
    """
    word = text.strip()
    if word in ("", "~", "null", "Null", "NULL"):
        return None
    if word in ("true", "True", "TRUE"):
        return True
    if word in ("false", "False", "FALSE"):
        return False
    if _INT.fullmatch(word):
        return int(word)
    if _FLOAT.fullmatch(word):
        return float(word)
    if word.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        return float(word.lower().replace(".", ""))
    return word


# --- questions ----------------------------------------------------------------------------------------

_YES_NO = Text(en="yes | no", zh="yes（是）| no（否）")
_RATIO = Text(en="a ratio; 86% is 0.86", zh="比率，86% 即 0.86")


@dataclass(frozen=True)
class Question:
    """One question: its key, what it accepts, its texts in both languages, and its check."""

    key: str
    kind: Kind
    section: Section
    group: str
    text: Text | None
    confidence: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    detail: Text | None = None
    level: int | None = None
    criterion_type: str | None = None
    evidence: tuple[Text, ...] = ()
    used_by: tuple[str, ...] = ()
    framework: str = ""  # the framework that asks it and defines what it allows
    scale: tuple[float, ...] = ()  # judgement and score: the allowed numbers
    scale_names: tuple[Text, ...] = ()  # score: the name of each allowed number
    tailorable: bool = True  # applicable: whether not_applicable is allowed
    others: tuple[str, ...] = field(default=(), compare=False)  # applicable: the tailorable sub-domains

    @property
    def allowed(self) -> Text:
        """What the question accepts, in words, in both languages."""
        if self.kind in YES_NO_KINDS:
            return _YES_NO
        if self.kind == "judgement":
            scale = " | ".join(f"{v:g}" for v in self.scale)
            return Text(en=scale, zh=scale)
        if self.kind == "score":
            return Text(
                en=", ".join(
                    f"{v:g} ({n.en.lower()})" for v, n in zip(self.scale, self.scale_names, strict=True)
                ),
                zh=" | ".join(f"{v:g} {n.zh}" for v, n in zip(self.scale, self.scale_names, strict=True)),
            )
        if self.kind == "metric":
            lo, hi = self.low or 0.0, self.high or 0.0
            unit = _RATIO if self.unit == "ratio" else Text(en=self.unit or "-", zh=self.unit or "-")
            return Text(
                en=f"a number from {lo:g} to {hi:g} ({unit.en}), or {UNKNOWN}",
                zh=f"{lo:g} 至 {hi:g} 的数值（{unit.zh}），或 {UNKNOWN}",
            )
        if self.kind == "industry":
            return Text(en="discrete | process", zh="discrete（离散型）| process（流程型）")
        if self.tailorable:
            return Text(en=f"yes | {NOT_APPLICABLE}", zh=f"yes（适用）| {NOT_APPLICABLE}（不适用）")
        return Text(en="yes", zh="yes")

    def missing(self) -> Finding:
        """The finding of a blank answer (a problem unless missing answers are allowed)."""
        return Finding(
            "answer.missing", {"key": self.key, "allowed": self.allowed, "framework": self.framework}
        )

    def refuse(self, code: str, raw: Any, **more: Any) -> Finding:
        """A finding about ``raw``, with the parameters every value problem has."""
        params = {"key": self.key, "value": shown(raw), "allowed": self.allowed, "framework": self.framework}
        return Finding(code, params | more)

    def check(self, raw: Any) -> tuple[Value, Finding | None]:
        """The answer ``raw`` (as read from YAML or typed) as its checked value, or why it is refused.

        None stays None (not answered): whether that is allowed is the caller's to say.
        """
        if raw is None:
            return None, None
        if self.kind in YES_NO_KINDS:
            answer = yes_no(raw)
            return (answer, None) if answer is not None else (None, self.refuse("answer.not_yes_no", raw))
        if self.kind in ("judgement", "score"):
            found = number(raw)
            match = next((v for v in self.scale if found is not None and abs(found - v) < 1e-9), None)
            return (match, None) if match is not None else (None, self.refuse("answer.not_on_scale", raw))
        if self.kind == "metric":
            return self._metric(raw)
        if self.kind == "industry":
            if isinstance(raw, str) and raw in INDUSTRIES:
                return str(raw), None
            return None, self.refuse("answer.not_a_choice", raw)
        # applicable
        if raw == NOT_APPLICABLE:
            if self.tailorable:
                return NOT_APPLICABLE, None
            finding = self.refuse(
                "answer.always_applies",
                raw,
                subdomain=self.key.rsplit(".", 1)[0],
                tailorable=", ".join(self.others),
            )
            return None, finding
        if yes_no(raw) is True:
            return "yes", None
        return None, self.refuse("answer.not_a_choice", raw)

    def _metric(self, raw: Any) -> tuple[Value, Finding | None]:
        if isinstance(raw, str) and raw.strip().lower() == UNKNOWN:
            return UNKNOWN, None
        found = number(raw)
        if found is None and isinstance(raw, str) and raw.strip().endswith("%") and self.unit == "ratio":
            try:
                found = float(raw.strip()[:-1]) / 100
            except ValueError:
                found = None
            if found is not None and not math.isfinite(found):
                found = None
        if found is None:
            return None, self.refuse("answer.not_a_number", raw)
        lo, hi = self.low or 0.0, self.high or 0.0
        if not lo <= found <= hi:
            return None, self.refuse("answer.out_of_range", raw, low=f"{lo:g}", high=f"{hi:g}")
        return found, None


def scenario_pair(scenario: str, built: bool | None, ai_used: bool | None) -> Finding | None:
    """Why a scenario's ``built`` and ``ai_used`` answers do not go together, if they do not."""
    if built is False and ai_used is True:
        return Finding("answer.ai_used_needs_built", {"key": scenario})
    return None


@dataclass(frozen=True)
class Group:
    """Questions shown together: a ladder level, the metrics, a scenario stage, a CMMM sub-domain."""

    id: str
    section: Section
    title: Text
    detail: Text | None
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Questions:
    """Every question of a ladder and its CMMM framework and scenario catalogue, by key and in groups."""

    fw: Frameworks
    by_key: dict[str, Question]
    groups: tuple[Group, ...]

    def __getitem__(self, key: str) -> Question:
        return self.by_key[key]

    def get(self, key: str) -> Question | None:
        """The question of ``key``, or None."""
        return self.by_key.get(key)

    def unknown(self, key: str) -> Finding:
        """The finding of a key no question has."""
        return Finding("answer.unknown_question", {"key": key, "framework": self.fw.gradient.id})


def questions(fw: Frameworks) -> Questions:
    """The questions of a ladder, grouped as the answers file groups them."""
    g, cm, sc = fw.gradient, fw.cmmm, fw.scenarios
    by_key: dict[str, Question] = {}
    groups: list[Group] = []

    def add(group: Group, items: Iterable[Question], *, kept: Sequence[Question] = ()) -> None:
        keys = []
        for q in items:
            by_key[q.key] = q
            keys.append(q.key)
        for q in kept:
            by_key[q.key] = q
        if keys:
            groups.append(replace(group, keys=tuple(keys)))

    add(
        Group("general", "general", Text(en="General", zh="基本信息"), None, ()),
        [Question("industry", "industry", "general", "general", None, "V", INDUSTRIES, framework=g.id)],
    )
    judgement = tuple(number_text(v) for v in g.judgement.scale)
    metric_names = {m.id: m.name for m in fw.metrics.metrics}
    for level in g.levels:
        items = []
        for c in fw.answered_criteria(level.id):
            if isinstance(c, JudgementCriterion):
                kind: Kind = "judgement"
                choices = judgement
                confidence = c.confidence if c.confidence != "V" else g.judgement.confidence
            else:
                kind = "benchmark" if isinstance(c, RelativeBenchmarkCriterion) else "yes_no"
                choices = ("yes", "no")
                confidence = c.confidence
            items.append(
                Question(
                    c.id,
                    kind,
                    "criteria",
                    f"criteria.{level.id}",
                    c.question or c.text,
                    confidence,
                    choices,
                    detail=c.text if c.question else None,
                    criterion_type=c.type,
                    evidence=tuple(metric_names[m] for m in c.evidence if m in metric_names),
                    framework=g.id,
                    scale=tuple(g.judgement.scale) if kind == "judgement" else (),
                )
            )
        add(Group(f"criteria.{level.id}", "criteria", level.name, level.focus, ()), items)
    users: dict[str, list[str]] = {}
    for c in g.criteria:
        metric = getattr(getattr(c, "params", None), "metric", None)
        if isinstance(metric, str):
            users.setdefault(metric, []).append(c.id)
    add(
        Group("metrics", "metrics", Text(en="Declared metrics", zh="申报的指标值"), None, ()),
        [
            Question(
                m.id,
                "metric",
                "metrics",
                "metrics",
                m.name,
                "V",
                (),
                m.range[0],
                m.range[1],
                m.unit,
                detail=m.how,
                used_by=tuple(users.get(m.id, ())),
                framework=g.id,
            )
            for m in fw.asked_metrics()
        ],
    )
    dims = {d.id: d for d in sc.dimensions}
    for stage in sc.stages:
        items = []
        for s in sc.scenarios:
            if s.stage != stage.id:
                continue
            for part in ("built", "ai_used"):
                items.append(
                    Question(
                        f"{s.id}.{part}",
                        "built" if part == "built" else "ai_used",
                        "scenarios",
                        f"scenarios.{stage.id}",
                        s.name,
                        s.confidence,
                        ("yes", "no"),
                        detail=s.description if part == "built" else None,
                        framework=sc.id,
                    )
                )
        add(Group(f"scenarios.{stage.id}", "scenarios", stage.name, dims[stage.dimension].name, ()), items)
    domains = {d.id: d for d in cm.domains}
    values = cm.scoring.values
    scores = tuple(number_text(v.value) for v in values)
    tailorable = tuple(s.id for s in cm.subdomains if s.tailorable)
    for factor in cm.factors:
        for sub in cm.subdomains:
            if domains[sub.domain].factor != factor.id:
                continue
            applicable = Question(
                f"{sub.id}.applicable",
                "applicable",
                "cmmm",
                f"cmmm.{sub.id}",
                sub.name,
                sub.confidence,
                ("yes", NOT_APPLICABLE) if sub.tailorable else ("yes",),
                framework=cm.id,
                tailorable=sub.tailorable,
                others=tailorable,
            )
            requirements = [
                Question(
                    r.id,
                    "score",
                    "cmmm",
                    f"cmmm.{sub.id}",
                    r.text,
                    r.confidence,
                    scores,
                    level=r.level,
                    framework=cm.id,
                    scale=tuple(v.value for v in values),
                    scale_names=tuple(v.name for v in values),
                )
                for r in sub.requirements
            ]
            detail = Text(
                en=f"{factor.name.en} · {domains[sub.domain].name.en}",
                zh=f"{factor.name.zh} · {domains[sub.domain].name.zh}",
            )
            # a sub-domain that always applies is not asked, but its question is kept: the file
            # may still say ``applicable: yes`` and carry a note and attachments there
            asked = [applicable, *requirements] if sub.tailorable else requirements
            kept = () if sub.tailorable else (applicable,)
            add(Group(f"cmmm.{sub.id}", "cmmm", sub.name, detail, ()), asked, kept=kept)
    return Questions(fw, by_key, tuple(groups))


__all__ = [
    "INDUSTRIES",
    "NOT_APPLICABLE",
    "UNKNOWN",
    "AnswerProblem",
    "Finding",
    "Group",
    "Question",
    "Questions",
    "in_language",
    "number_text",
    "problem_text",
    "problem_texts",
    "questions",
    "scalar",
    "scenario_pair",
    "shown",
    "yes_no",
]
