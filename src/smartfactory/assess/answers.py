"""The self-assessment answers file: a YAML template to fill in, and a loader that checks it.

``template("gradient/2025/national", "zh")`` writes every question of a ladder, grouped as the
frameworks group them, each with its allowed answers in a comment:

- ``criteria``: the ladder's criteria the factory answers (gates yes/no, relative benchmarks
  yes/no, judgements on the ladder's scale), level by level;
- ``metrics``: declared values of the metrics that metric-threshold criteria name (a number in
  the metric's range, or ``unknown`` to leave it to live measurement);
- ``scenarios``: the typical scenarios built, stage by stage, with ``built`` and ``ai_used``;
- ``cmmm``: every CMMM requirement (GB/T 39116), factor by factor and sub-domain by sub-domain,
  scored on the GB/T 39117 scale, and ``applicable: not_applicable`` to tailor a sub-domain out.

Any item may be a mapping with ``answer`` (``built``/``ai_used`` for scenarios), ``note`` and
``attachments``; a bare value is the answer alone. ``load_answers`` reads the file with line
numbers and reports every problem at once in one ``AnswersFileError``; nothing is scored until
the file is right, unless ``allow_missing`` lets missing answers count as 0 (not met, not built).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from smartfactory.assess.framework import Library, shipped
from smartfactory.assess.questionnaire import (
    INDUSTRIES,
    NOT_APPLICABLE,
    UNKNOWN,
    Finding,
    Question,
    Value,
    number_text,
    problem_text,
    questions,
    scenario_pair,
    shown,
    yes_no,
)
from smartfactory.assess.schema import (
    CmmmFramework,
    Criterion,
    GateCriterion,
    GradientFramework,
    JudgementCriterion,
    Metric,
    MetricCatalogue,
    MetricThresholdCriterion,
    PrerequisiteCriterion,
    RelativeBenchmarkCriterion,
    ScenarioCatalogue,
    Subdomain,
)
from smartfactory.assess.shipped import shipped_texts
from smartfactory.model.errors import InvalidInput, Problem, UserError
from smartfactory.model.text import Text, choose, parse_language, resolve_language

ANSWERS_SCHEMA = "smartfactory.answers/1"
DEFAULT_FRAMEWORK = "gradient/2025/national"
DEFAULT_CMMM = "cmmm/2020/national"
# metrics the ladder may name that follow from the declared scenarios rather than being asked
DERIVED_METRICS = {"ai_scenario_share": "scenarios"}

_TOP_KEYS = (
    "schema",
    "framework",
    "layers",
    "cmmm",
    "scenarios",
    "lang",
    "industry",
    "criteria",
    "metrics",
    "scenarios_built",
    "cmmm_requirements",
)
_ITEM_KEYS = ("answer", "note", "attachments")
_SCENARIO_KEYS = ("built", "ai_used", "note", "attachments")
_SUBDOMAIN_KEYS = ("applicable", "note", "requirements")


class AnswersFileError(InvalidInput):
    """An answers file that cannot be scored: every problem in it, listed at once."""

    title: ClassVar[str] = "The answers file has problems"


# --- what a loaded answers file holds ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Given:
    """Where an answer is in the file, with the factory's note and attachment references."""

    field: str
    line: int | None = None  # None: not written in the file
    note: str | None = None
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer(_Given):
    """One answer: its value (None when missing)."""

    value: bool | float | str | None

    @property
    def missing(self) -> bool:
        """No answer was given."""
        return self.value is None


@dataclass(frozen=True)
class ScenarioAnswer(_Given):
    """Whether a typical scenario is built, and whether it uses AI."""

    built: bool | None
    ai_used: bool | None

    @property
    def missing(self) -> bool:
        """``built`` is not answered, or ``ai_used`` is not answered for a built scenario."""
        return self.built is None or (self.built and self.ai_used is None)


@dataclass(frozen=True)
class Answers:
    """A checked answers file for one ladder, its CMMM framework and its scenario catalogue.

    ``criteria`` holds gate (bool), relative-benchmark (bool) and judgement (float) answers;
    ``metrics`` declared metric values (float, or ``"unknown"``); ``cmmm`` requirement scores;
    ``missing`` the fields left blank, which ``allow_missing`` scores as 0.
    """

    source: str
    framework: str
    cmmm_framework: str
    scenario_catalogue: str
    industry: str | None
    industry_line: int | None
    criteria: dict[str, Answer]
    metrics: dict[str, Answer]
    scenarios: dict[str, ScenarioAnswer]
    cmmm: dict[str, Answer]
    not_applicable: frozenset[str]
    subdomain_notes: dict[str, Answer] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    allow_missing: bool = False

    def requirement_scores(self) -> dict[str, float]:
        """The CMMM requirement scores answered (missing ones left out: the scoring counts them 0)."""
        return {
            r: float(a.value)
            for r, a in self.cmmm.items()
            if isinstance(a.value, int | float) and not isinstance(a.value, bool)
        }


# --- the frameworks an answers file is written for ------------------------------------------------


@dataclass(frozen=True)
class Frameworks:
    """A ladder with the CMMM framework and scenario catalogue it refers to."""

    gradient: GradientFramework
    cmmm: CmmmFramework
    scenarios: ScenarioCatalogue
    metrics: MetricCatalogue
    library: Library

    def asked_metrics(self) -> list[Metric]:
        """Metrics the answers file asks for: those metric criteria name, minus the derived ones."""
        ids: list[str] = []
        for c in self.gradient.criteria:
            if isinstance(c, MetricThresholdCriterion) and c.params.metric not in (*DERIVED_METRICS, *ids):
                ids.append(c.params.metric)
        return [self.metrics.metric(m) for m in ids]

    def answered_criteria(self, level: str) -> list[Criterion]:
        """Criteria of one level the factory answers."""
        return [c for c in self.gradient.at_level(level) if _asked(c)]  # type: ignore[arg-type]

    def name_of(self, kind: Literal["metric", "level", "stage", "dimension"], id_: str, lang: str) -> str:
        """The name in ``lang`` of a metric or countable, level, scenario stage or dimension (else the id)."""
        items: Sequence[Any] = {
            "metric": [*self.metrics.metrics, *self.metrics.countables],
            "level": self.gradient.levels,
            "stage": self.scenarios.stages,
            "dimension": self.scenarios.dimensions,
        }[kind]
        found = next((item for item in items if item.id == id_), None)
        return str(found.name.get(lang)) if found is not None else id_


def _asked(criterion: Criterion) -> bool:
    return isinstance(criterion, GateCriterion | RelativeBenchmarkCriterion | JudgementCriterion)


def resolve(
    framework_ids: str | Sequence[str] = DEFAULT_FRAMEWORK, library: Library | None = None
) -> Frameworks:
    """The ladder named in ``framework_ids`` with its CMMM framework and scenario catalogue.

    ``framework_ids`` holds one gradient id and, optionally, a cmmm and a scenarios id that
    replace the ones the ladder names.
    """
    lib = library or shipped()
    ids = [framework_ids] if isinstance(framework_ids, str) else list(framework_ids)
    by_kind: dict[str, list[str]] = {}
    for framework_id in ids:
        by_kind.setdefault(framework_id.split("/")[0], []).append(framework_id)
    unknown = sorted(set(by_kind) - {"gradient", "cmmm", "scenarios"})
    if unknown or len(by_kind.get("gradient", [])) != 1 or any(len(v) > 1 for v in by_kind.values()):
        gradients = ", ".join(i for i in lib.ids() if i.startswith("gradient/")) or "none"
        raise UserError(
            f"name exactly one gradient framework (and at most one cmmm and one scenarios "
            f"framework); got {', '.join(ids) or 'none'}; gradient frameworks: {gradients}"
        )
    gradient = lib.gradient(by_kind["gradient"][0])
    cmmm_id = by_kind["cmmm"][0] if "cmmm" in by_kind else cmmm_id_of(gradient, lib)
    scenarios_id = by_kind["scenarios"][0] if "scenarios" in by_kind else gradient.scenarios
    return Frameworks(gradient, lib.cmmm(cmmm_id), lib.scenarios(scenarios_id), lib.metrics(), lib)


def cmmm_id_of(gradient: GradientFramework, library: Library) -> str:
    """The CMMM framework a ladder's prerequisites name; the only one shipped when none does."""
    for c in gradient.criteria:
        if isinstance(c, PrerequisiteCriterion) and c.params.cmmm_min is not None and c.params.framework:
            return c.params.framework
    cmmm = [i for i in library.ids() if i.startswith("cmmm/")]
    return DEFAULT_CMMM if DEFAULT_CMMM in cmmm or not cmmm else cmmm[-1]


# --- the template -------------------------------------------------------------------------------

WORDS_SCHEMA = "smartfactory.template_words/1"


@cache
def template_words() -> dict[str, Text]:
    """The template's words in English and Chinese, from ``data/template_words.toml``."""
    return shipped_texts("data/template_words.toml", WORDS_SCHEMA, "word")


def _w(key: str, lang: str) -> str:
    return template_words()[key].get(lang)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _c(text: str) -> str:
    """Text safe in a one-line YAML comment."""
    return " ".join(text.split())


def _tag(confidence: str) -> str:
    return f"[{confidence}]"


@dataclass(frozen=True)
class Entry:
    """A saved answer to write into the template: its value, the note and the attachments."""

    value: bool | float | str | None
    note: str | None = None
    attachments: tuple[str, ...] = ()


def _emit(value: bool | float | str) -> str:
    """A value as a YAML scalar: yes / no, a number, or a quoted text nothing typed can break out of."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number_text(value) if math.isfinite(value) else json.dumps(str(value))
    if value in (UNKNOWN, NOT_APPLICABLE, *INDUSTRIES):
        return value
    return json.dumps(value, ensure_ascii=False)


def _answer(key: str, entry: Entry | None) -> str:
    """``key: value`` when ``entry`` has a value, else ``key:`` (the line of a blank answer)."""
    return f"{key}: {_emit(entry.value)}" if entry is not None and entry.value is not None else f"{key}:"


def _extras_lines(add: Any, pad: str, entry: Entry | None, *, always: bool) -> None:
    """The note and attachments lines of an item (blank ones only when ``always``)."""
    if entry is not None and entry.note:
        add(f"{pad}note: {_q(entry.note)}")
    elif always:
        add(f"{pad}note:")
    if entry is not None and entry.attachments:
        add(f"{pad}attachments: {json.dumps(list(entry.attachments), ensure_ascii=False)}")
    elif always:
        add(f"{pad}attachments: []")


def template(
    framework_ids: str | Sequence[str] | Frameworks = DEFAULT_FRAMEWORK,
    lang: str = "en",
    *,
    library: Library | None = None,
    answers: Mapping[str, Entry] | None = None,
) -> str:
    """A YAML answers file to fill in: every question, its allowed answers in a comment.

    ``answers`` (by question key, as ``questionnaire.questions`` keys them) are written in: the
    saved answers of the web form and the API are exported, and assessed, as this file.
    """
    fw = framework_ids if isinstance(framework_ids, Frameworks) else resolve(framework_ids, library)
    lang = resolve_language(lang)
    filled = answers or {}
    g, cm, sc = fw.gradient, fw.cmmm, fw.scenarios
    # what each answer allows is said by its question, as the checker and the web form say it
    question_of = questions(fw)
    out: list[str] = []
    add = out.append
    rule = "# " + "=" * 96
    add(f"# {_w('title', lang)} — {g.id}: {_c(g.title.get(lang))} {_tag(g.confidence)}")
    add(
        f"# {_w('frameworks', lang)}: {g.id} ({_w('edition', lang)} {g.id.split('/')[1]}; layers "
        f"{', '.join(g.layers)}), {cm.id}, {sc.id}"
    )
    add(f"# {_w('fill', lang)}")
    add(f"# {_w('bare', lang)}")
    add(f"# {_w('item', lang)}")
    add("#   G25-BAS-SIZE:")
    add("#     answer: yes")
    add(
        choose(
            lang, '#     note: "Listed above designated size, 2024"', '#     note: "统计局规上企业名录 2024" '
        )
    )
    add('#     attachments: ["docs/size-2024.pdf"]')
    add(f"# {_w('tags', lang)}")
    add("")
    add(f"schema: {ANSWERS_SCHEMA}")
    add(f"framework: {g.id}")
    add(f"layers: [{', '.join(g.layers)}]")
    add(f"cmmm: {cm.id}")
    add(f"scenarios: {sc.id}")
    add(f"lang: {lang}")
    add(f"{_answer('industry', filled.get('industry'))}  # {_w('industry', lang)}")
    add("")
    add(rule)
    add(f"# {_w('criteria', lang)}")
    add(f"# {_w('criteria_more', lang)}")
    add(rule)
    add("criteria:")
    metrics_by_id = {m.id: m for m in fw.metrics.metrics}
    for level in g.levels:
        asked = fw.answered_criteria(level.id)
        add(
            f"  {level.id}:  # {_c(level.name.get(lang))} — {_c(level.focus.get(lang))}"
            + ("" if asked else f" ({_w('no_criteria', lang)})")
        )
        if not asked:
            out[-1] = f"  {level.id}: {{}}  # {_c(level.name.get(lang))} ({_w('no_criteria', lang)})"
            continue
        for c in asked:
            question = c.question.get(lang) if c.question else c.text.get(lang)
            add(f"    # {c.id} {_tag(c.confidence)} {c.type}: {_c(question)}")
            if c.evidence:
                names = ", ".join(metrics_by_id[m].name.get(lang) for m in c.evidence if m in metrics_by_id)
                add(f"    #   evidence: {_c(names)}")
            add(f"    {c.id}:")
            allowed = _allowed_criterion(question_of[c.id], c, fw, lang)
            add(f"      {_answer('answer', filled.get(c.id))}  # {allowed}")
            _extras_lines(add, "      ", filled.get(c.id), always=True)
    add("")
    add(rule)
    add(f"# {_w('metrics', lang)}")
    add(rule)
    asked_metrics = fw.asked_metrics()
    add("metrics:" + ("" if asked_metrics else " {}"))
    for m in asked_metrics:
        users = [
            f"{c.id} {c.params.comparator} {c.params.value:g} {_tag(c.confidence)}"
            for c in g.criteria
            if isinstance(c, MetricThresholdCriterion) and c.params.metric == m.id
        ]
        add(f"  # {_c(m.name.get(lang))}: {_c(m.how.get(lang))}")
        add(f"  #   {_w('used_by', lang)}: {'; '.join(users)}")
        add(f"  {m.id}:")
        add(f"    {_answer('answer', filled.get(m.id))}  # {question_of[m.id].allowed.get(lang)}")
        _extras_lines(add, "    ", filled.get(m.id), always=True)
    add("")
    add(rule)
    add(f"# {_w('scenarios', lang)}")
    add(rule)
    add("scenarios_built:")
    dims = {d.id: d for d in sc.dimensions}
    for stage in sc.stages:
        dim = dims[stage.dimension].name.get(lang)
        add(
            f"  {stage.id}:  # {_c(stage.name.get(lang))} ({_w('dimension', lang)}: {_c(dim)}) "
            f"{_tag(stage.confidence)}"
        )
        for s in sc.scenarios:
            if s.stage != stage.id:
                continue
            ai = choose(lang, "yes" if s.ai_capable else "no", "是" if s.ai_capable else "否")
            add(f"    # {s.no} {_c(s.name.get(lang))} {_tag(s.confidence)}: {_c(s.description.get(lang))}")
            systems = ", ".join(s.typical_systems)
            add(f"    #   {_w('ai_capable', lang)}: {ai}; {_w('systems', lang)}: {systems}")
            built = filled.get(f"{s.id}.built")
            add(f"    {s.id}:")
            add(f"      {_answer('built', built)}  # {question_of[f'{s.id}.built'].allowed.get(lang)}")
            add(f"      {_answer('ai_used', filled.get(f'{s.id}.ai_used'))}  # {_w('ai_used', lang)}")
            _extras_lines(add, "      ", built, always=False)
    add("")
    add(rule)
    add(f"# {_w('cmmm', lang)}")
    add(f"# {_c(cm.title.get(lang))} {_tag(cm.confidence)}")
    weights_note = _c(cm.scoring.weights_note.get(lang))
    add(f"# {_w('weights', lang)} {_tag(cm.scoring.weights_confidence)}: {weights_note}")
    add(rule)
    add("cmmm_requirements:")
    domains = {d.id: d for d in cm.domains}
    levels = {lv.no: lv for lv in cm.levels}
    for factor in cm.factors:
        add(f"  {factor.id}:  # {_c(factor.name.get(lang))} {_tag(factor.confidence)}")
        for sd in cm.subdomains:
            if domains[sd.domain].factor != factor.id:
                continue
            add(
                f"    {sd.id}:  # {_c(sd.name.get(lang))} ({_w('domain', lang)}: "
                f"{_c(domains[sd.domain].name.get(lang))}) {_tag(sd.confidence)}"
            )
            applicable = filled.get(f"{sd.id}.applicable")
            says = _answer("applicable", applicable) if applicable and applicable.value else "applicable: yes"
            add(f"      {says}  # {_w('applicable' if sd.tailorable else 'always', lang)}")
            _extras_lines(add, "      ", applicable, always=False)
            add("      requirements:")
            for r in sd.requirements:
                add(
                    f"        # L{r.level} {_c(levels[r.level].name.get(lang))}: {_c(r.text.get(lang))} "
                    f"{_tag(r.confidence)}"
                )
                score = filled.get(r.id)
                allowed = question_of[r.id].allowed.get(lang)
                if score is not None and (score.note or score.attachments):
                    add(f"        {r.id}:  # {allowed}")
                    add(f"          {_answer('answer', score)}")
                    _extras_lines(add, "          ", score, always=False)
                else:
                    add(f"        {_answer(r.id, score)}  # {allowed}")
    return "\n".join(out) + "\n"


def _allowed_criterion(question: Question, c: Criterion, fw: Frameworks, lang: str) -> str:
    allowed = question.allowed.get(lang)
    if isinstance(c, JudgementCriterion):
        j = fw.gradient.judgement
        return f"{allowed} ({_w('scale', lang)} {j.pass_at:g}) {_tag(j.confidence)}"
    if isinstance(c, RelativeBenchmarkCriterion):
        name = next(
            (b.name.get(lang) for b in fw.metrics.benchmarks if b.id == c.params.benchmark),
            c.params.benchmark,
        )
        return f"{allowed} — {_w('benchmark', lang).format(name=_c(name))}"
    return allowed


# --- loading ------------------------------------------------------------------------------------


def load_answers(
    path: str | Path,
    framework: str | GradientFramework | Frameworks = DEFAULT_FRAMEWORK,
    *,
    allow_missing: bool = False,
    library: Library | None = None,
    lang: str = "en",
) -> Answers:
    """Read and check an answers file for ``framework``; an AnswersFileError lists every problem."""
    path = Path(path)
    return parse_answers(
        read_answers_text(path, lang),
        str(path),
        framework,
        allow_missing=allow_missing,
        library=library,
        lang=lang,
    )


def read_answers_text(path: Path, lang: str = "en") -> str:
    """The text of an answers file; an AnswersFileError when it cannot be read as UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise AnswersFileError(
            problem_text("answers_file.unreadable", {"source": path, "why": why}, lang)
        ) from None
    except UnicodeDecodeError:
        raise AnswersFileError(problem_text("answers_file.not_utf8", {"source": path}, lang)) from None


def framework_of(text: str) -> str | None:
    """The ``framework:`` an answers text says it was written for, if it parses and says so."""
    try:
        data = _yaml().load(text)
    except Exception:  # any YAML problem is reported when the file is loaded for real
        return None
    if isinstance(data, Mapping):
        value = data.get("framework")
        return value if isinstance(value, str) else None
    return None


def parse_answers(
    text: str,
    source: str,
    framework: str | GradientFramework | Frameworks = DEFAULT_FRAMEWORK,
    *,
    allow_missing: bool = False,
    library: Library | None = None,
    lang: str = "en",
) -> Answers:
    """Check answers text (``source`` names it in messages) against a ladder and its frameworks.

    ``lang`` ("en" or "zh") is the language of the problems reported; ids, keys and values
    quoted from the file stay as written. Each problem is an ``AnswerProblem`` with its code.
    """
    if isinstance(framework, Frameworks):
        fw = framework
    else:
        fw = resolve(framework if isinstance(framework, str) else framework.id, library)
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise _not_yaml(source, what, line, lang) from None
    except YAMLError as exc:
        raise _not_yaml(source, " ".join(str(exc).split()), None, lang) from None
    checker = _Checker(source, fw, allow_missing, lang)
    answers = checker.check(data)
    if checker.problems:
        summary = problem_text(
            "answers_file.cannot_score", {"source": source, "framework": fw.gradient.id}, lang
        )
        raise AnswersFileError(summary, list(checker.problems))
    return answers


def _not_yaml(source: str, what: str, line: int | None, lang: str) -> AnswersFileError:
    problem = Finding("answers_file.yaml_syntax", {"what": what}).at(source, "", line, lang)
    return AnswersFileError(problem_text("answers_file.not_yaml", {"source": source}, lang), [problem])


def _yaml() -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="rt", pure=True)


def _line(node: Any, key: Any = None) -> int | None:
    """1-based line of ``key`` in a ruamel mapping (or of the mapping itself)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        return int(lc.key(key)[0]) + 1
    except (KeyError, TypeError, AttributeError):
        return int(lc.line) + 1 if getattr(lc, "line", None) is not None else None


def _value_line(node: Any, key: Any) -> int | None:
    lc = getattr(node, "lc", None)
    try:
        return int(lc.value(key)[0]) + 1 if lc is not None else None
    except (KeyError, TypeError, AttributeError):
        return _line(node, key)


_T = TypeVar("_T")
# the CMMM requirements' answers, the sub-domains marked not applicable, and the sub-domains' notes
_CmmmAnswers = tuple[dict[str, Answer], set[str], dict[str, Answer]]
_NONE = Text(en="none", zh="无")
_NOUNS = {
    "level": Text(en="level", zh="级别"),
    "stage": Text(en="stage", zh="环节"),
    "factor": Text(en="factor", zh="能力要素"),
}


class _Checker:
    """Walks the parsed YAML against the frameworks; each answer is checked by its question."""

    def __init__(self, source: str, fw: Frameworks, allow_missing: bool, lang: str = "en") -> None:
        self.source = source
        self.fw = fw
        self.questions = questions(fw)
        self.allow_missing = allow_missing
        self.lang = lang
        self.problems: list[Problem] = []
        self.missing: list[str] = []

    def add(self, finding: Finding, where: str, line: int | None) -> None:
        """A problem at ``where`` (a dotted field of the file) and ``line``."""
        self.problems.append(finding.at(self.source, where, line, self.lang))

    def problem(self, code: str, where: str, line: int | None, **params: Any) -> None:
        """A problem of the file itself (not of a question's value)."""
        self.add(Finding(code, params), where, line)

    def value(self, question: Question, raw: Any, where: str, line: int | None) -> Value:
        """The checked value of ``raw`` (None and a problem when the question refuses it)."""
        value, finding = question.check(raw)
        if finding is not None:
            self.add(finding, where, line)
        return value

    def unknown_field(self, where: str, key: Any, allowed: Sequence[str], line: int | None) -> None:
        """A key the file may not hold here."""
        self.problem("answers_file.unknown_field", where, line, key=str(key), allowed=", ".join(allowed))

    def unknown_entry(
        self,
        code: str,
        where: str,
        line: int | None,
        key: Any,
        framework: str,
        known: str | Text,
        **group: str,
    ) -> None:
        """An entry its group does not hold: ``group`` names the group, ``known`` lists what it holds."""
        self.problem(code, where, line, key=str(key), framework=framework, **group, known=known)

    def lack(self, where: str, question: Question, line: int | None) -> None:
        """A missing answer: a problem, or noted as scored 0 with ``allow_missing``."""
        self.missing.append(where)
        if not self.allow_missing:
            self.add(question.missing(), where, line)

    def check(self, data: Any) -> Answers:
        g = self.fw.gradient
        if not isinstance(data, Mapping):
            self.problem("answers_file.not_a_mapping", "", _line(data) if data is not None else 1)
            data = {}
        for key in data:
            if key not in _TOP_KEYS:
                self.unknown_field(str(key), key, _TOP_KEYS, _line(data, key))
        self._header(data)
        industry, industry_line = self._industry(data)
        criteria: dict[str, Answer] = self._in_section(data, "criteria", self._criteria, {})
        metrics = self._metrics(data)
        scenarios: dict[str, ScenarioAnswer] = self._in_section(data, "scenarios_built", self._scenarios, {})
        no_cmmm: _CmmmAnswers = ({}, set(), {})
        cmmm, not_applicable, notes = self._in_section(data, "cmmm_requirements", self._cmmm, no_cmmm)
        return Answers(
            source=self.source,
            framework=g.id,
            cmmm_framework=self.fw.cmmm.id,
            scenario_catalogue=self.fw.scenarios.id,
            industry=industry,
            industry_line=industry_line,
            criteria=criteria,
            metrics=metrics,
            scenarios=scenarios,
            cmmm=cmmm,
            not_applicable=frozenset(not_applicable),
            subdomain_notes=notes,
            missing=tuple(self.missing),
            allow_missing=self.allow_missing,
        )

    # header -------------------------------------------------------------------------------

    def _header(self, data: Mapping[str, Any]) -> None:
        g = self.fw.gradient
        schema = data.get("schema")
        if schema is None:
            self.problem("answers_file.schema_missing", "schema", _line(data), schema=ANSWERS_SCHEMA)
        elif schema != ANSWERS_SCHEMA:
            self.problem(
                "answers_file.not_the_schema",
                "schema",
                _line(data, "schema"),
                value=shown(schema),
                schema=ANSWERS_SCHEMA,
            )
        written_for = data.get("framework")
        if written_for is None:
            self.problem("answers_file.framework_missing", "framework", _line(data), framework=g.id)
        elif written_for != g.id:
            self.problem(
                "answers_file.other_framework",
                "framework",
                _line(data, "framework"),
                value=shown(written_for),
                framework=g.id,
            )
        for key, expected in (("cmmm", self.fw.cmmm.id), ("scenarios", self.fw.scenarios.id)):
            value = data.get(key)
            if value is not None and value != expected:
                self.problem(
                    "answers_file.other_catalogue",
                    key,
                    _line(data, key),
                    value=shown(value),
                    expected=expected,
                    framework=g.id,
                )
        layers = data.get("layers")
        if layers is not None and written_for == g.id and list(layers or []) != list(g.layers):
            self.problem(
                "answers_file.other_layers",
                "layers",
                _line(data, "layers"),
                value=list(layers or []),
                layers=list(g.layers),
                framework=g.id,
            )
        lang = data.get("lang")
        if lang is not None and parse_language(str(lang)) is None:
            finding = Finding(
                "answer.not_a_choice", {"key": "lang", "value": shown(lang), "allowed": "zh | en"}
            )
            self.add(finding, "lang", _line(data, "lang"))

    def _industry(self, data: Mapping[str, Any]) -> tuple[str | None, int | None]:
        line = _line(data, "industry") if "industry" in data else None
        value = self.value(self.questions["industry"], data.get("industry"), "industry", line)
        return (str(value) if value is not None else None), line

    # generic pieces -----------------------------------------------------------------------

    def _section(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
        """A top-level mapping; None (and a problem) when it is missing or not a mapping."""
        if key not in data:
            self.problem("answers_file.section_missing", key, _line(data), section=key)
            return None
        value = data[key]
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem("answers_file.section_not_mapping", key, _line(data, key), section=key)
            return None
        return value

    def _in_section(
        self, data: Mapping[str, Any], key: str, read: Callable[[Mapping[str, Any]], _T], empty: _T
    ) -> _T:
        """``read`` of the top-level mapping ``key``; ``empty`` when it is missing or not a mapping."""
        section = self._section(data, key)
        return empty if section is None else read(section)

    def _groups(
        self, section: Mapping[str, Any], allowed: Sequence[str], prefix: str, noun: str
    ) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        """The known groups of a section (levels, stages, factors); an unknown one is a problem."""
        for key in section:
            where = f"{prefix}.{key}"
            if key not in allowed:
                self.problem(
                    "answers_file.unknown_group",
                    where,
                    _line(section, key),
                    noun=_NOUNS[noun],
                    key=str(key),
                    allowed=", ".join(allowed),
                )
                continue
            group = self._group(section, key, where)
            if group is not None:
                yield str(key), group, where

    def _entries(
        self, section: Mapping[str, Any], allowed: Sequence[str], prefix: str, noun: str
    ) -> Iterator[tuple[str, Mapping[str, Any], Any, str, int | None]]:
        """(group key, group, entry key, where, line) of every entry in the known groups of a section."""
        for group_key, group, where_group in self._groups(section, allowed, prefix, noun):
            for key in group:
                yield group_key, group, key, f"{where_group}.{key}", _line(group, key)

    def _group(self, parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
        value = parent[key]
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem("answers_file.group_not_mapping", where, _line(parent, key))
            return None
        return value

    def _extras(
        self, item: Mapping[str, Any], keys: Sequence[str], where: str
    ) -> tuple[str | None, tuple[str, ...]]:
        """Check an item mapping's keys; return its note and attachments."""
        for key in item:
            if key not in keys:
                self.unknown_field(f"{where}.{key}", key, keys, _line(item, key))
        note = item.get("note")
        if note is not None and not isinstance(note, str | int | float):
            self.problem("answer.note_not_text", f"{where}.note", _line(item, "note"))
            note = None
        attachments = item.get("attachments")
        files: tuple[str, ...] = ()
        if attachments is None:
            files = ()
        elif isinstance(attachments, str):
            files = (attachments,)
        elif isinstance(attachments, list) and all(isinstance(a, str) and a.strip() for a in attachments):
            files = tuple(attachments)
        else:
            self.problem("answer.bad_attachments", f"{where}.attachments", _line(item, "attachments"))
        return (str(note) if note is not None and str(note).strip() else None), files

    def _item(
        self, group: Mapping[str, Any], key: str, where: str
    ) -> tuple[Any, int | None, str | None, tuple[str, ...]]:
        """(raw answer, its line, note, attachments) of a bare value or an answer mapping."""
        raw = group[key]
        if isinstance(raw, Mapping):
            note, files = self._extras(raw, _ITEM_KEYS, where)
            line = _value_line(raw, "answer") if "answer" in raw else _line(group, key)
            return raw.get("answer"), line, note, files
        if isinstance(raw, list):
            self.problem("answer.not_one_value", where, _line(group, key), key=key)
            return None, _line(group, key), None, ()
        return raw, _line(group, key), None, ()

    # criteria -----------------------------------------------------------------------------

    def _criteria(self, section: Mapping[str, Any]) -> dict[str, Answer]:
        g = self.fw.gradient
        out: dict[str, Answer] = {}
        levels = [level.id for level in g.levels]
        by_id = {c.id: c for c in g.criteria}
        seen: set[str] = set()
        for level_key, group, cid, where, line in self._entries(section, levels, "criteria", "level"):
            criterion = by_id.get(str(cid))
            if criterion is None:
                asked = ", ".join(c.id for c in self.fw.answered_criteria(level_key))
                self.unknown_entry(
                    "answer.unknown_criterion", where, line, cid, g.id, asked or _NONE, level=level_key
                )
                continue
            if not _asked(criterion):
                self.problem(
                    "answer.criterion_not_asked",
                    where,
                    line,
                    key=str(cid),
                    type=criterion.type,
                    judged=_judged_from(criterion),
                )
                continue
            if criterion.level != level_key:
                self.problem("answer.wrong_level", where, line, key=str(cid), level=criterion.level)
                continue
            seen.add(criterion.id)
            out[criterion.id] = self._answer(self.questions[criterion.id], group, str(cid), where)
        for level in levels:
            for c in self.fw.answered_criteria(level):
                if c.id not in seen:
                    where = f"criteria.{level}.{c.id}"
                    self.lack(where, self.questions[c.id], _group_line(section, level))
                    out[c.id] = Answer(None, field=where, line=_group_line(section, level))
        return out

    def _answer(
        self, question: Question, group: Mapping[str, Any], key: str, where: str, required: bool = True
    ) -> Answer:
        """The answer at ``group[key]``, a bare value or an answer mapping; a blank one lacks if required."""
        raw, line, note, files = self._item(group, key, where)
        field_ = f"{where}.answer" if isinstance(group[key], Mapping) else where
        if raw is None:
            if required:
                self.lack(where, question, line)
            return Answer(None, field=field_, line=line, note=note, attachments=files)
        value = self.value(question, raw, field_, line)
        return Answer(value, field=field_, line=line, note=note, attachments=files)

    # metrics ------------------------------------------------------------------------------

    def _metrics(self, data: Mapping[str, Any]) -> dict[str, Answer]:
        asked = {m.id: m for m in self.fw.asked_metrics()}
        out: dict[str, Answer] = {}
        if not asked and "metrics" not in data:
            return out
        section = self._section(data, "metrics")
        if section is None:
            return out
        for key in section:
            where = f"metrics.{key}"
            metric = asked.get(str(key))
            if metric is None:
                if key in DERIVED_METRICS:
                    self.problem("answer.derived_metric", where, _line(section, key), key=str(key))
                else:
                    known = ", ".join(asked) or _NONE
                    self.problem(
                        "answer.unknown_metric", where, _line(section, key), key=str(key), known=known
                    )
                continue
            out[metric.id] = self._answer(self.questions[metric.id], section, str(key), where)
        for metric_id in asked:
            if metric_id not in out:
                where = f"metrics.{metric_id}"
                self.lack(where, self.questions[metric_id], _line(section))
                out[metric_id] = Answer(None, field=where, line=_line(section))
        return out

    # scenarios ----------------------------------------------------------------------------

    def _scenarios(self, section: Mapping[str, Any]) -> dict[str, ScenarioAnswer]:
        sc = self.fw.scenarios
        out: dict[str, ScenarioAnswer] = {}
        stages = [s.id for s in sc.stages]
        by_id = {s.id: s for s in sc.scenarios}
        by_no = {f"S{s.no}": s for s in sc.scenarios}
        for stage_key, group, sid, where, line in self._entries(section, stages, "scenarios_built", "stage"):
            scenario = by_id.get(str(sid)) or by_no.get(str(sid))
            if scenario is None:
                known = ", ".join(s.id for s in sc.scenarios if s.stage == stage_key)
                self.unknown_entry("answer.unknown_scenario", where, line, sid, sc.id, known, stage=stage_key)
                continue
            if scenario.stage != stage_key:
                self.problem("answer.wrong_stage", where, line, key=scenario.id, stage=scenario.stage)
                continue
            if scenario.id in out:
                self.problem("answer.answered_twice", where, line, key=scenario.id)
                continue
            out[scenario.id] = self._scenario_answer(scenario.id, group, sid, where)
        for s in sc.scenarios:
            if s.id not in out:
                where = f"scenarios_built.{s.stage}.{s.id}"
                self.lack(f"{where}.built", self.questions[f"{s.id}.built"], _group_line(section, s.stage))
                out[s.id] = ScenarioAnswer(None, None, field=where, line=_group_line(section, s.stage))
        return out

    def _scenario_answer(
        self, scenario: str, group: Mapping[str, Any], key: Any, where: str
    ) -> ScenarioAnswer:
        raw = group[key]
        line = _line(group, key)
        built_question = self.questions[f"{scenario}.built"]
        ai_question = self.questions[f"{scenario}.ai_used"]
        if not isinstance(raw, Mapping):
            if raw is None:
                self.lack(f"{where}.built", built_question, line)
                return ScenarioAnswer(None, None, field=where, line=line)
            bare = yes_no(raw)
            if bare is None:
                self.problem("answer.scenario_value", where, line, key=scenario, value=shown(raw))
            return ScenarioAnswer(bare, False if bare is not None else None, field=where, line=line)
        note, files = self._extras(raw, _SCENARIO_KEYS, where)
        built_raw, ai_raw = raw.get("built"), raw.get("ai_used")
        built_line = _value_line(raw, "built") if "built" in raw else line
        ai_line = _value_line(raw, "ai_used") if "ai_used" in raw else line
        built = self.value(built_question, built_raw, f"{where}.built", built_line)
        ai = self.value(ai_question, ai_raw, f"{where}.ai_used", ai_line)
        if built_raw is None:
            self.lack(f"{where}.built", built_question, built_line)
        if built is True and ai_raw is None:
            self.lack(f"{where}.ai_used", ai_question, ai_line)
        pair = scenario_pair(scenario, _bool(built), _bool(ai))
        if pair is not None:
            self.add(pair, f"{where}.ai_used", ai_line)
        if built is False:
            ai = False
        return ScenarioAnswer(
            _bool(built), _bool(ai), field=where, line=built_line, note=note, attachments=files
        )

    # CMMM ---------------------------------------------------------------------------------

    def _cmmm(self, section: Mapping[str, Any]) -> _CmmmAnswers:
        cm = self.fw.cmmm
        out: dict[str, Answer] = {}
        not_applicable: set[str] = set()
        notes: dict[str, Answer] = {}
        factors = [f.id for f in cm.factors]
        factor_of = {d.id: d.factor for d in cm.domains}
        subdomains = {s.id: s for s in cm.subdomains}
        seen_sub: set[str] = set()
        entries = self._entries(section, factors, "cmmm_requirements", "factor")
        for factor_key, group, sub_key, where_sub, line in entries:
            sub = subdomains.get(str(sub_key))
            if sub is None:
                known = ", ".join(s.id for s in cm.subdomains if factor_of[s.domain] == factor_key)
                self.unknown_entry(
                    "answer.unknown_subdomain", where_sub, line, sub_key, cm.id, known, factor=factor_key
                )
                continue
            if factor_of[sub.domain] != factor_key:
                factor = factor_of[sub.domain]
                self.problem("answer.wrong_factor", where_sub, line, key=sub.id, factor=factor)
                continue
            seen_sub.add(sub.id)
            self._subdomain(sub, group, str(sub_key), where_sub, out, not_applicable, notes)
        for s in cm.subdomains:
            if s.id in seen_sub:
                continue
            factor = factor_of[s.domain]
            for r in s.requirements:
                where = f"cmmm_requirements.{factor}.{s.id}.requirements.{r.id}"
                self.lack(where, self.questions[r.id], _group_line(section, factor))
                out[r.id] = Answer(None, field=where, line=_group_line(section, factor))
        return out, not_applicable, notes

    def _subdomain(
        self,
        sub: Subdomain,
        group: Mapping[str, Any],
        key: str,
        where: str,
        out: dict[str, Answer],
        not_applicable: set[str],
        notes: dict[str, Answer],
    ) -> None:
        raw = group[key]
        line = _line(group, key)
        if raw == NOT_APPLICABLE:
            raw = {"applicable": NOT_APPLICABLE}
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.problem("answers_file.subdomain_not_mapping", where, line, key=sub.id)
            return
        note, files = self._extras(raw, _SUBDOMAIN_KEYS, where)
        if note or files:
            notes[sub.id] = Answer(None, field=where, line=line, note=note, attachments=files)
        applicable_question = self.questions[f"{sub.id}.applicable"]
        applicable = raw.get("applicable", "yes")
        app_line = _value_line(raw, "applicable") if "applicable" in raw else line
        if applicable is None:
            # written but blank: the template always fills it in, so a blank one was cleared by hand
            self.add(applicable_question.refuse("answer.not_a_choice", None), f"{where}.applicable", app_line)
        elif self.value(applicable_question, applicable, f"{where}.applicable", app_line) == NOT_APPLICABLE:
            not_applicable.add(sub.id)
        tailored = sub.id in not_applicable
        requirements = raw.get("requirements")
        req_line = _line(raw, "requirements") if "requirements" in raw else line
        if requirements is None:
            requirements = {}
        if not isinstance(requirements, Mapping):
            self.problem("answers_file.requirements_not_mapping", f"{where}.requirements", req_line)
            requirements = {}
        known = {r.id for r in sub.requirements}
        for rid in requirements:
            rwhere = f"{where}.requirements.{rid}"
            if rid not in known:
                listed = ", ".join(r.id for r in sub.requirements)
                self.problem(
                    "answer.unknown_requirement",
                    rwhere,
                    _line(requirements, rid),
                    key=str(rid),
                    subdomain=sub.id,
                    known=listed,
                )
                continue
            # a tailored (not applicable) sub-domain's requirements may stay blank
            out[str(rid)] = self._answer(
                self.questions[str(rid)], requirements, str(rid), rwhere, not tailored
            )
        for r in sub.requirements:
            if r.id not in out:
                rwhere = f"{where}.requirements.{r.id}"
                if not tailored:
                    self.lack(rwhere, self.questions[r.id], req_line)
                out[r.id] = Answer(None, field=rwhere, line=req_line)


def _group_line(section: Mapping[str, Any], key: str) -> int | None:
    # where a missing answer is reported: its group when that is a mapping, else the section
    group = section.get(key)
    return _line(group if isinstance(group, Mapping) else section)


def _bool(value: Value) -> bool | None:
    return value if isinstance(value, bool) else None


def _judged_from(criterion: Criterion) -> Text:
    if isinstance(criterion, MetricThresholdCriterion):
        if criterion.params.metric in DERIVED_METRICS:
            return Text(en="the scenarios built (scenarios_built)", zh="已建成的场景（scenarios_built）")
        metric = criterion.params.metric
        return Text(en=f"metrics.{metric} and live plant data", zh=f" metrics.{metric} 及工厂实时数据")
    if isinstance(criterion, PrerequisiteCriterion):
        return Text(en="the levels and the CMMM grade reached", zh="已达到的级别和成熟度等级")
    return Text(
        en="the scenarios built (scenarios_built) and scenario runs",
        zh="已建成的场景（scenarios_built）和场景运行记录",
    )


def iter_answers(answers: Answers) -> Iterator[tuple[str, Answer | ScenarioAnswer]]:
    """Every answer with its field, in file order of the sections."""
    for a in answers.criteria.values():
        yield a.field, a
    for a in answers.metrics.values():
        yield a.field, a
    for s in answers.scenarios.values():
        yield s.field, s
    for a in answers.cmmm.values():
        yield a.field, a


__all__ = [
    "ANSWERS_SCHEMA",
    "DEFAULT_FRAMEWORK",
    "INDUSTRIES",
    "NOT_APPLICABLE",
    "UNKNOWN",
    "Answer",
    "Answers",
    "AnswersFileError",
    "Entry",
    "Frameworks",
    "ScenarioAnswer",
    "framework_of",
    "iter_answers",
    "load_answers",
    "parse_answers",
    "resolve",
    "template",
]
