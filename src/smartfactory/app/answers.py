"""The self-assessment answers: the questionnaire, answers saved as they are typed, answers files.

Every question of a ladder has a key: a criterion, metric or CMMM requirement id,
``<scenario>.built`` and ``<scenario>.ai_used``, ``<sub-domain>.applicable``, and ``industry``.
The registry keeps one row per key (``store.answers``). An answer is checked with the very
checks of an answers file: the value is written into a small answers file and read back with
``assess.answers.parse_answers``; only a value it accepts is saved, in its checked form. The
saved rows are turned back into an answers file (``answers_text``) whenever the plant is
assessed, so the web, the API and ``smartfactory assess --answers`` score the same answers.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Literal

from pydantic import BaseModel, Field

from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, pick
from smartfactory.app.workspace import Workspace
from smartfactory.assess.answers import (
    ANSWERS_SCHEMA,
    DEFAULT_FRAMEWORK,
    INDUSTRIES,
    NOT_APPLICABLE,
    UNKNOWN,
    Answers,
    AnswersFileError,
    Frameworks,
    framework_of,
    parse_answers,
    resolve,
)
from smartfactory.assess.framework import shipped
from smartfactory.assess.schema import (
    JudgementCriterion,
    RelativeBenchmarkCriterion,
    Text,
)
from smartfactory.model.errors import Problem, UserError
from smartfactory.store import Registry
from smartfactory.store import answers as store

SAVED_SOURCE = "saved answers"  # how the assessment names answers rebuilt from the registry
UPLOAD_SOURCE = "answers.yaml"  # how problems of an uploaded answers file name it
MAX_ANSWERS_FILE = 1_000_000  # characters: a filled-in template is about 60 kB
MAX_VALUE = 200  # characters of one typed answer

Kind = Literal[
    "industry", "yes_no", "benchmark", "judgement", "metric", "built", "ai_used", "applicable", "score"
]
Section = Literal["general", "criteria", "metrics", "scenarios", "cmmm"]
_YES_NO_KINDS = ("yes_no", "benchmark", "built", "ai_used")


class AnswerRejected(UserError):
    """A typed answer the answers-file checks refuse: which question, and why, in the user's language."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message, [Problem("answers", key, message)])
        self.key = key
        self.message = message


class UnknownQuestion(UserError):
    """No question of the framework has this key."""

    def __init__(self, key: str, framework: str) -> None:
        super().__init__(
            _("No question {key} in {framework}.").format(key=key, framework=framework),
            [Problem("answers", key, _("No such question."))],
        )
        self.key = key


# --- the questions of a framework ------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One question: its key, what it accepts, and its texts in both languages."""

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
    """Every question of a framework, by key and in groups."""

    fw: Frameworks
    specs: dict[str, Spec]
    groups: tuple[Group, ...]


def frameworks(framework: str | None = None) -> Frameworks:
    """The ladder (default: the national 2025 one) with its CMMM framework and scenario catalogue."""
    return resolve(framework or DEFAULT_FRAMEWORK)


def number_text(value: float) -> str:
    """A number as an answer is saved: ``1`` for 1.0, ``0.86`` for 0.86 (exact, no rounding)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@cache
def questions(framework: str = DEFAULT_FRAMEWORK) -> Questions:
    """The questions of a ladder, grouped as the answers file groups them."""
    fw = frameworks(framework)
    g, cm, sc = fw.gradient, fw.cmmm, fw.scenarios
    specs: dict[str, Spec] = {}
    groups: list[Group] = []

    def add(group: Group, items: Iterable[Spec]) -> None:
        keys = []
        for spec in items:
            specs[spec.key] = spec
            keys.append(spec.key)
        if keys:
            groups.append(replace(group, keys=tuple(keys)))

    general = Text(en="General", zh="基本信息")
    add(
        Group("general", "general", general, None, ()),
        [Spec("industry", "industry", "general", "general", None, "V", INDUSTRIES)],
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
                Spec(
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
            Spec(
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
                    Spec(
                        f"{s.id}.{part}",
                        "built" if part == "built" else "ai_used",
                        "scenarios",
                        f"scenarios.{stage.id}",
                        s.name,
                        s.confidence,
                        ("yes", "no"),
                        detail=s.description if part == "built" else None,
                    )
                )
        add(Group(f"scenarios.{stage.id}", "scenarios", stage.name, dims[stage.dimension].name, ()), items)
    domains = {d.id: d for d in cm.domains}
    scores = tuple(number_text(v.value) for v in cm.scoring.values)
    for factor in cm.factors:
        for sub in cm.subdomains:
            if domains[sub.domain].factor != factor.id:
                continue
            applicable = Spec(
                f"{sub.id}.applicable",
                "applicable",
                "cmmm",
                f"cmmm.{sub.id}",
                sub.name,
                sub.confidence,
                ("yes", NOT_APPLICABLE) if sub.tailorable else ("yes",),
            )
            items = []
            if sub.tailorable:
                items.append(applicable)
            else:
                # kept (its note and attachments), not asked: it always applies
                specs[applicable.key] = applicable
            items += [
                Spec(
                    r.id,
                    "score",
                    "cmmm",
                    f"cmmm.{sub.id}",
                    r.text,
                    r.confidence,
                    scores,
                    level=r.level,
                )
                for r in sub.requirements
            ]
            detail = Text(
                en=f"{factor.name.en} · {domains[sub.domain].name.en}",
                zh=f"{factor.name.zh} · {domains[sub.domain].name.zh}",
            )
            add(Group(f"cmmm.{sub.id}", "cmmm", sub.name, detail, ()), items)
    return Questions(fw, specs, tuple(groups))


# --- answers as an answers file ----------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One answer ready to be written into an answers file: a YAML scalar, note and attachments."""

    value: bool | float | str | None
    note: str | None = None
    attachments: tuple[str, ...] = ()


def _emit(value: bool | float | str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number_text(value) if math.isfinite(value) else json.dumps(str(value))
    # a JSON string is a YAML double-quoted scalar: nothing typed can change the file's structure
    return json.dumps(value, ensure_ascii=False)


def _extras(out: list[str], pad: str, entry: Entry) -> None:
    if entry.note:
        out.append(f"{pad}note: {json.dumps(entry.note, ensure_ascii=False)}")
    if entry.attachments:
        out.append(f"{pad}attachments: {json.dumps(list(entry.attachments), ensure_ascii=False)}")


def _item(out: list[str], pad: str, key: str, entry: Entry) -> None:
    out.append(f"{pad}{key}:")
    if entry.value is not None:
        out.append(f"{pad}  answer: {_emit(entry.value)}")
    _extras(out, pad + "  ", entry)
    if entry.value is None and not entry.note and not entry.attachments:
        out[-1] += " {}"


def answers_text(fw: Frameworks, entries: Mapping[str, Entry]) -> str:
    """An answers file (schema ``smartfactory.answers/1``) holding ``entries``, keyed as the questions."""
    g, cm, sc = fw.gradient, fw.cmmm, fw.scenarios
    out = [
        f"schema: {ANSWERS_SCHEMA}",
        f"framework: {g.id}",
        f"layers: [{', '.join(g.layers)}]",
        f"cmmm: {cm.id}",
        f"scenarios: {sc.id}",
    ]
    industry = entries.get("industry")
    if industry is not None and industry.value is not None:
        out.append(f"industry: {_emit(industry.value)}")
    out.append("criteria:")
    start = len(out)
    for level in g.levels:
        asked = [c.id for c in fw.answered_criteria(level.id) if c.id in entries]
        if asked:
            out.append(f"  {level.id}:")
            for cid in asked:
                _item(out, "    ", cid, entries[cid])
    if len(out) == start:
        out[-1] += " {}"
    out.append("metrics:")
    start = len(out)
    for m in fw.asked_metrics():
        if m.id in entries:
            _item(out, "  ", m.id, entries[m.id])
    if len(out) == start:
        out[-1] += " {}"
    out.append("scenarios_built:")
    start = len(out)
    for stage in sc.stages:
        lines: list[str] = []
        for s in sc.scenarios:
            built, ai = entries.get(f"{s.id}.built"), entries.get(f"{s.id}.ai_used")
            if s.stage != stage.id or (built is None and ai is None):
                continue
            lines.append(f"    {s.id}:")
            if built is not None and built.value is not None:
                lines.append(f"      built: {_emit(built.value)}")
            if ai is not None and ai.value is not None:
                lines.append(f"      ai_used: {_emit(ai.value)}")
            if built is not None:
                _extras(lines, "      ", built)
            if not lines[-1].startswith("      "):
                lines[-1] += " {}"
        if lines:
            out.append(f"  {stage.id}:")
            out += lines
    if len(out) == start:
        out[-1] += " {}"
    out.append("cmmm_requirements:")
    start = len(out)
    domains = {d.id: d for d in cm.domains}
    for factor in cm.factors:
        lines = []
        for sub in cm.subdomains:
            if domains[sub.domain].factor != factor.id:
                continue
            applicable = entries.get(f"{sub.id}.applicable")
            scored = [r.id for r in sub.requirements if r.id in entries]
            if applicable is None and not scored:
                continue
            lines.append(f"    {sub.id}:")
            if applicable is not None:
                if applicable.value is not None:
                    lines.append(f"      applicable: {_emit(applicable.value)}")
                _extras(lines, "      ", applicable)
            if scored:
                lines.append("      requirements:")
                for rid in scored:
                    _item(lines, "        ", rid, entries[rid])
            if not lines[-1].startswith("      "):
                lines[-1] += " {}"
        if lines:
            out.append(f"  {factor.id}:")
            out += lines
    if len(out) == start:
        out[-1] += " {}"
    return "\n".join(out) + "\n"


def _stored_scalar(spec: Spec, text: str | None) -> bool | float | str | None:
    """A saved value as the YAML scalar an answers file holds (numbers as numbers)."""
    if text is None:
        return None
    if spec.kind in ("judgement", "score") or (spec.kind == "metric" and text != UNKNOWN):
        try:
            return float(text)
        except ValueError:
            return text  # the checks report it
    return text


def entries_of(q: Questions, saved: Mapping[str, store.StoredAnswer]) -> dict[str, Entry]:
    """The saved rows as answers-file entries (rows of keys the framework no longer asks are left out)."""
    return {
        key: Entry(_stored_scalar(q.specs[key], row.value), row.note, row.attachments)
        for key, row in saved.items()
        if key in q.specs
    }


def _value_of(spec: Spec, answers: Answers) -> bool | float | str | None:
    """The checked value of one question in loaded answers (None: not answered)."""
    key = spec.key
    if spec.kind == "industry":
        return answers.industry
    if spec.section == "criteria":
        return answers.criteria[key].value if key in answers.criteria else None
    if spec.section == "metrics":
        return answers.metrics[key].value if key in answers.metrics else None
    if spec.kind in ("built", "ai_used"):
        sid = key.rsplit(".", 1)[0]
        found = answers.scenarios.get(sid)
        if found is None:
            return None
        return found.built if spec.kind == "built" else found.ai_used
    if spec.kind == "applicable":
        return NOT_APPLICABLE if key.rsplit(".", 1)[0] in answers.not_applicable else "yes"
    return answers.cmmm[key].value if key in answers.cmmm else None


def saved_text(value: bool | float | str | None) -> str | None:
    """A checked value as it is saved: yes / no, a number, unknown, not_applicable, an industry type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number_text(value)
    return str(value)


def rows_from_answers(q: Questions, answers: Answers) -> list[store.AnswerInput]:
    """Loaded answers as registry rows, one per answered question (blank ones with a note kept too)."""
    rows: list[store.AnswerInput] = []

    def add(key: str, value: bool | float | str | None, note: str | None, files: tuple[str, ...]) -> None:
        if value is not None or note or files:
            rows.append(store.AnswerInput(key, saved_text(value), note, files))

    if answers.industry is not None:
        add("industry", answers.industry, None, ())
    for key, a in (*answers.criteria.items(), *answers.metrics.items()):
        add(key, a.value, a.note, a.attachments)
    for sid, s in answers.scenarios.items():
        add(f"{sid}.built", s.built, s.note, s.attachments)
        # a scenario not built uses no AI: the checks set it, the file need not say so
        if s.built is not False and s.ai_used is not None:
            add(f"{sid}.ai_used", s.ai_used, None, ())
    for sub in q.fw.cmmm.subdomains:
        note = answers.subdomain_notes.get(sub.id)
        answered = any(answers.cmmm.get(r.id) is not None for r in sub.requirements)
        if answered or sub.id in answers.not_applicable or note is not None:
            value = NOT_APPLICABLE if sub.id in answers.not_applicable else "yes"
            add(f"{sub.id}.applicable", value, note.note if note else None, note.attachments if note else ())
        for r in sub.requirements:
            score = answers.cmmm.get(r.id)
            if score is not None:
                add(r.id, score.value, score.note, score.attachments)
    return rows


# --- the saved answers, checked ---------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """The plant's saved answers of one framework: the rows, as an answers file, and checked."""

    questions: Questions
    rows: dict[str, store.StoredAnswer]
    text: str
    digest: str
    answers: Answers

    @property
    def framework(self) -> str:
        """The ladder id."""
        return self.questions.fw.gradient.id


_parsed: OrderedDict[tuple[str, str], Answers] = OrderedDict()
_parsed_lock = threading.Lock()


def _registry(target: Workspace | Registry) -> Registry:
    return target.registry if isinstance(target, Workspace) else target


def check_text(text: str, source: str, fw: Frameworks) -> Answers:
    """Answers text checked as ``smartfactory assess`` checks it; missing answers are allowed (scored 0).

    Its problems are in the request's language.
    """
    answers = parse_answers(text, source, fw, allow_missing=True, lang=language())
    # complete answers assess exactly as a complete file does without --allow-missing
    return answers if answers.missing else replace(answers, allow_missing=False)


def saved(target: Workspace | Registry, framework: str | None = None) -> Saved:
    """The saved answers of ``framework`` rebuilt into an answers file and checked."""
    q = questions(framework or DEFAULT_FRAMEWORK)
    rows = store.saved_answers(_registry(target), q.fw.gradient.id)
    text = answers_text(q.fw, entries_of(q, rows))
    digest = hashlib.sha256(text.encode()).hexdigest()
    key = (q.fw.gradient.id, digest)
    with _parsed_lock:
        found = _parsed.get(key)
    if found is None:
        found = check_text(text, SAVED_SOURCE, q.fw)
        with _parsed_lock:
            _parsed[key] = found
            while len(_parsed) > 16:
                _parsed.popitem(last=False)
    return Saved(q, rows, text, digest, found)


# --- saving one answer ------------------------------------------------------------------------


def _typed(raw: str | float | bool | None) -> str | None:
    """A value from a form or JSON as the text one would type into the answers file."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, int | float):
        return number_text(raw) if math.isfinite(raw) else str(raw)
    return raw.strip() or None


def _scalar(spec: Spec, text: str) -> bool | float | str | None:
    """The YAML scalar ``text`` is in an answers file; an AnswerRejected for anything else."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if len(text) > MAX_VALUE:
        raise AnswerRejected(spec.key, _("Enter at most {count} characters.").format(count=MAX_VALUE))
    if "\n" in text or "\r" in text:
        raise AnswerRejected(spec.key, allowed_message(spec))
    try:
        value = YAML(typ="rt", pure=True).load(text)
    except (YAMLError, ValueError):
        raise AnswerRejected(spec.key, allowed_message(spec)) from None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise AnswerRejected(spec.key, allowed_message(spec))


def allowed_message(spec: Spec) -> str:
    """What a question accepts, in the user's language."""
    if spec.kind == "industry":
        return _("Choose discrete or process.")
    if spec.kind in _YES_NO_KINDS:
        return _("Answer yes or no.")
    if spec.kind == "applicable":
        return _("Answer yes or not applicable.")
    if spec.kind == "metric":
        low = number_text(spec.low or 0.0)
        high = number_text(spec.high or 0.0)
        if spec.unit == "ratio":
            return _("Enter a number from {low} to {high} (a ratio; 86% is 0.86), or unknown.").format(
                low=low, high=high
            )
        return _("Enter a number from {low} to {high} ({unit}), or unknown.").format(
            low=low, high=high, unit=spec.unit
        )
    return _("Choose one of {allowed}.").format(allowed=" / ".join(spec.choices))


def _rejection(spec: Spec, problems: list[Problem]) -> str:
    where = " ".join(p.location for p in problems)
    if spec.kind == "built" and ".ai_used" in where:
        return _("AI use is answered yes: answer it no first; a scenario not built uses no AI.")
    if spec.kind == "ai_used" and any("needs built" in p.message for p in problems):
        return _("A scenario not built uses no AI: answer built yes first, or answer no.")
    return allowed_message(spec)


def check_answer(
    q: Questions, saved_rows: Mapping[str, store.StoredAnswer], key: str, raw: str | float | bool | None
) -> str | None:
    """The value to save for ``key`` (None: clear it), checked by the answers-file checks.

    The answer goes into a small answers file with the other answer it depends on (``built``
    and ``ai_used`` of one scenario) and is read back by ``parse_answers``; a value it refuses
    raises AnswerRejected with what the question accepts, in the user's language.
    """
    spec = q.specs.get(key)
    if spec is None:
        raise UnknownQuestion(key, q.fw.gradient.id)
    text = _typed(raw)
    if text is None:
        return None
    value = _scalar(spec, text)
    if value is None:
        return None
    entries: dict[str, Entry] = {key: Entry(value)}
    if spec.kind in ("built", "ai_used"):
        sid = key.rsplit(".", 1)[0]
        other = f"{sid}.ai_used" if spec.kind == "built" else f"{sid}.built"
        row = saved_rows.get(other)
        if row is not None and row.value is not None:
            entries[other] = Entry(_stored_scalar(q.specs[other], row.value))
    try:
        # read in English: _rejection tells the problems apart by their words, then says them in the user's
        answers = parse_answers(answers_text(q.fw, entries), "answer", q.fw, allow_missing=True, lang="en")
    except AnswersFileError as exc:
        raise AnswerRejected(key, _rejection(spec, exc.problems)) from None
    if spec.kind == "ai_used":
        # a scenario not built reads as no AI whatever was typed; keep what was typed (checked above)
        return "yes" if value is True or str(value).strip().lower() in ("yes", "true") else "no"
    return saved_text(_value_of(spec, answers))


class AnswerIn(BaseModel):
    """One answer as typed: the value as in the answers file (yes, no, 0.8, 86%, unknown …)."""

    value: str | float | bool | None = Field(
        description="the answer; blank or null clears it. Allowed values: see the questionnaire"
    )
    note: str | None = Field(
        None, max_length=4000, description="the factory's note; omit to keep, '' to clear"
    )
    attachments: list[str] | None = Field(
        None, max_length=50, description="attachment references; omit to keep, [] to clear"
    )


class AnswerOut(BaseModel):
    """A saved answer (value None: not answered)."""

    key: str
    value: str | None
    note: str | None = None
    attachments: list[str] = Field(default_factory=list)
    updated_by: str | None = None
    updated_at: datetime | None = None


def save_answer(
    workspace: Workspace | Registry,
    key: str,
    value: str | float | bool | None,
    username: str | None,
    *,
    note: str | None = None,
    attachments: list[str] | None = None,
    framework: str | None = None,
) -> AnswerOut:
    """Check and save one answer; a rejected value raises AnswerRejected and saves nothing."""
    registry = _registry(workspace)
    q = questions(framework or DEFAULT_FRAMEWORK)
    rows = store.saved_answers(registry, q.fw.gradient.id)
    checked = check_answer(q, rows, key, value)
    if attachments is not None and any(not a.strip() or len(a) > 1000 for a in attachments):
        raise AnswerRejected(key, _("Attachments are file names or links, one per entry."))
    stored = store.save_answer(
        registry, q.fw.gradient.id, key, checked, username, note=note, attachments=attachments
    )
    if stored is None:
        return AnswerOut(key=key, value=None)
    return _answer_out(stored)


def _answer_out(row: store.StoredAnswer) -> AnswerOut:
    return AnswerOut(
        key=row.key,
        value=row.value,
        note=row.note,
        attachments=list(row.attachments),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


# --- answers files ----------------------------------------------------------------------------


class ImportResult(BaseModel):
    """What an answers file replaced."""

    framework: str
    saved: int = Field(description="answers saved")
    missing: list[str] = Field(description="questions left blank in the file (scored 0 until answered)")


def import_answers(
    workspace: Workspace | Registry,
    yaml_text: str,
    username: str | None,
    *,
    source: str = UPLOAD_SOURCE,
    framework: str | None = None,
) -> ImportResult:
    """Replace the saved answers with an answers file's (the demo seeds the plant's answers so).

    The file is checked as ``smartfactory assess --answers`` checks it (blank answers allowed);
    a file with problems raises an AnswersFileError listing each with its line, and nothing is saved.
    """
    if len(yaml_text) > MAX_ANSWERS_FILE:
        raise AnswersFileError(
            _("The answers file is too large: at most {count} characters.").format(count=MAX_ANSWERS_FILE)
        )
    if framework is None:
        written_for = framework_of(yaml_text)
        framework = written_for if written_for in shipped().ids() else DEFAULT_FRAMEWORK
    q = questions(framework)
    answers = check_text(yaml_text, source, q.fw)
    rows = rows_from_answers(q, answers)
    count = store.replace_answers(_registry(workspace), q.fw.gradient.id, rows, username)
    return ImportResult(framework=q.fw.gradient.id, saved=count, missing=list(answers.missing))


def export_text(workspace: Workspace | Registry, framework: str | None = None) -> str:
    """The saved answers as an answers file (what ``smartfactory assess --answers`` reads)."""
    return saved(workspace, framework).text


# --- the questionnaire ------------------------------------------------------------------------


class Choice(BaseModel):
    """An allowed answer and its label in the user's language."""

    value: str
    label: str


class Question(BaseModel):
    """One question with what it accepts and its saved answer."""

    key: str = Field(description="the key to save it under: PUT /api/v1/assessments/answers/{key}")
    kind: Kind
    text: str = Field(description="the question in the user's language")
    text_en: str
    text_zh: str
    detail: str | None = Field(None, description="the criterion, metric or scenario it is about")
    confidence: Literal["V", "S", "U"] = Field(description="V verified, S secondary source, U unverified")
    unverified: bool = Field(description="the threshold or text rests on a secondary or unverified source")
    choices: list[Choice] = Field(default_factory=list, description="the allowed answers (empty: a number)")
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    allows_unknown: bool = False
    level: int | None = Field(None, description="CMMM requirements: the maturity level")
    criterion_type: str | None = None
    used_by: list[str] = Field(default_factory=list, description="metrics: the criteria that use it")
    evidence: list[str] = Field(
        default_factory=list, description="criteria: the metrics that are evidence for the answer"
    )
    value: str | None = Field(None, description="the saved answer; null when not answered")
    note: str | None = None
    attachments: list[str] = Field(default_factory=list)
    updated_by: str | None = None
    updated_at: datetime | None = None


class QuestionGroup(BaseModel):
    """Questions shown together: a ladder level, the metrics, a scenario stage, a CMMM sub-domain."""

    id: str
    section: Section
    title: str
    detail: str | None = None
    answered: int
    questions: list[Question]


class Questionnaire(BaseModel):
    """The self-assessment questionnaire of a ladder, with the saved answers."""

    framework: str
    title: str
    lang: str
    answered: int
    total: int
    groups: list[QuestionGroup]


def choice_label(spec: Spec, value: str, fw: Frameworks) -> str:
    """An allowed answer in the user's language."""
    words = {
        "yes": _("yes"),
        "no": _("no"),
        NOT_APPLICABLE: _("not applicable"),
        "discrete": _("discrete manufacturing"),
        "process": _("process manufacturing"),
    }
    if spec.kind == "score":
        for v in fw.cmmm.scoring.values:
            if number_text(v.value) == value:
                return f"{value} — {pick(v.name.en, v.name.zh)}"
    return words.get(value, value)


def _text(spec: Spec) -> Text:
    if spec.kind == "industry":
        return Text(en="Industry type (for the CMMM weights)", zh="行业类型（用于成熟度权重）")
    assert spec.text is not None
    if spec.kind == "ai_used":
        return Text(en=f"{spec.text.en}: uses AI?", zh=f"{spec.text.zh}：是否应用人工智能？")
    if spec.kind == "built":
        return Text(en=f"{spec.text.en}: built?", zh=f"{spec.text.zh}：是否已建成？")
    if spec.kind == "applicable":
        return Text(en=f"{spec.text.en}: applies?", zh=f"{spec.text.zh}：是否适用？")
    return spec.text


def question_of(spec: Spec, row: store.StoredAnswer | None, fw: Frameworks) -> Question:
    """A question with its saved answer, in the user's language."""
    text = _text(spec)
    return Question(
        key=spec.key,
        kind=spec.kind,
        text=pick(text.en, text.zh),
        text_en=text.en,
        text_zh=text.zh,
        detail=pick(spec.detail.en, spec.detail.zh) if spec.detail else None,
        confidence=spec.confidence,
        unverified=spec.confidence in ("S", "U"),
        choices=[Choice(value=c, label=choice_label(spec, c, fw)) for c in spec.choices],
        min=spec.low,
        max=spec.high,
        unit=spec.unit,
        allows_unknown=spec.kind == "metric",
        level=spec.level,
        criterion_type=spec.criterion_type,
        used_by=list(spec.used_by),
        evidence=[pick(m.en, m.zh) for m in spec.evidence],
        value=row.value if row else None,
        note=row.note if row else None,
        attachments=list(row.attachments) if row else [],
        updated_by=row.updated_by if row else None,
        updated_at=row.updated_at if row else None,
    )


def questionnaire(workspace: Workspace | Registry, framework: str | None = None) -> Questionnaire:
    """Every question of the ladder, grouped by level, stage and sub-domain, with the saved answers."""
    q = questions(framework or DEFAULT_FRAMEWORK)
    rows = store.saved_answers(_registry(workspace), q.fw.gradient.id)
    groups = []
    for group in q.groups:
        items = [question_of(q.specs[k], rows.get(k), q.fw) for k in group.keys]
        groups.append(
            QuestionGroup(
                id=group.id,
                section=group.section,
                title=pick(group.title.en, group.title.zh),
                detail=pick(group.detail.en, group.detail.zh) if group.detail else None,
                answered=sum(1 for i in items if i.value is not None),
                questions=items,
            )
        )
    return Questionnaire(
        framework=q.fw.gradient.id,
        title=q.fw.gradient.title.get(language()),
        lang=language(),
        answered=sum(g.answered for g in groups),
        total=sum(len(g.questions) for g in groups),
        groups=groups,
    )


def answer_of(workspace: Workspace | Registry, key: str, framework: str | None = None) -> Question:
    """One question with its saved answer (UnknownQuestion when the ladder has no such key)."""
    q = questions(framework or DEFAULT_FRAMEWORK)
    spec = q.specs.get(key)
    if spec is None:
        raise UnknownQuestion(key, q.fw.gradient.id)
    rows = store.saved_answers(_registry(workspace), q.fw.gradient.id)
    return question_of(spec, rows.get(key), q.fw)


def problems_by_line(exc: UserError) -> list[tuple[str, str]]:
    """The problems of a refused answers file as (where, message), the line first."""
    found = []
    for p in exc.problems:
        where = p.location or p.source
        message = (
            _("line {line}: {message}").format(line=p.line, message=p.message)
            if p.line is not None
            else p.message
        )
        found.append((where, message))
    return found


__all__ = [
    "AnswerIn",
    "AnswerOut",
    "AnswerRejected",
    "ImportResult",
    "Questionnaire",
    "UnknownQuestion",
    "answer_of",
    "answers_text",
    "check_answer",
    "export_text",
    "import_answers",
    "questionnaire",
    "questions",
    "save_answer",
    "saved",
]
