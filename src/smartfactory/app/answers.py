"""The self-assessment answers: the questionnaire, answers saved as they are typed, answers files.

Every question of a ladder has a key: a criterion, metric or CMMM requirement id,
``<scenario>.built`` and ``<scenario>.ai_used``, ``<sub-domain>.applicable``, and ``industry``.
The registry keeps one row per key (``store.answers``). A typed answer is checked by its
question (``assess.questionnaire``), the very check the answers file's checker runs, so a bad
value gives the same problem code from the web form, the API and ``smartfactory assess``; only
a value it accepts is saved, in its checked form. The saved rows are turned back into an answers
file (``answers_text``) whenever the plant is assessed, so the web, the API and
``smartfactory assess --answers`` score the same answers.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from smartfactory.app.i18n import gettext as _
from smartfactory.app.i18n import language, pick
from smartfactory.app.workspace import Workspace
from smartfactory.assess.answers import (
    DEFAULT_FRAMEWORK,
    NOT_APPLICABLE,
    Answers,
    AnswersFileError,
    Entry,
    Frameworks,
    framework_of,
    parse_answers,
    resolve,
    template,
)
from smartfactory.assess.framework import shipped
from smartfactory.assess.questionnaire import (
    Finding,
    Kind,
    Questions,
    Section,
    number_text,
    problem_text,
    scalar,
    scenario_pair,
)
from smartfactory.assess.questionnaire import Question as Spec
from smartfactory.assess.questionnaire import questions as questions_of
from smartfactory.model.errors import InvalidInput, NotFound, Problem, UserError
from smartfactory.model.text import Text
from smartfactory.store import Registry
from smartfactory.store import answers as store

SAVED_SOURCE = "saved answers"  # how the assessment names answers rebuilt from the registry
UPLOAD_SOURCE = "answers.yaml"  # how problems of an uploaded answers file name it
MAX_ANSWERS_FILE = 1_000_000  # characters: a filled-in template is about 60 kB
MAX_VALUE = 200  # characters of one typed answer


class AnswerRejected(InvalidInput):
    """A typed answer its question refuses: the key, the problem's code, its words in the user's language."""

    title: ClassVar[str] = "Invalid answer"

    def __init__(self, key: str, problem: Problem | str) -> None:
        if isinstance(problem, str):
            problem = Problem("answers", key, problem)
        super().__init__(problem.message, [problem])
        self.key = key
        self.message = problem.message
        self.code: str | None = getattr(problem, "code", None)


class UnknownQuestion(NotFound):
    """No question of the framework has this key."""

    def __init__(self, key: str, framework: str) -> None:
        # a 404 says it all: its problem names the key, in words only (no value problem code)
        message = problem_text("answer.unknown_question", {"key": key, "framework": framework}, language())
        super().__init__(message, [Problem("answers", key, message)])
        self.key = key


def _reject(key: str, finding: Finding) -> AnswerRejected:
    return AnswerRejected(key, finding.at("answers", key, None, language()))


# --- the questions of a framework ------------------------------------------------------------


def frameworks(framework: str | None = None) -> Frameworks:
    """The ladder (default: the national 2025 one) with its CMMM framework and scenario catalogue."""
    return resolve(framework or DEFAULT_FRAMEWORK)


@cache
def questions(framework: str = DEFAULT_FRAMEWORK) -> Questions:
    """The questions of a ladder (``assess.questionnaire``), grouped as the answers file groups them."""
    return questions_of(frameworks(framework))


# --- answers as an answers file ----------------------------------------------------------------


def answers_text(fw: Frameworks, entries: Mapping[str, Entry]) -> str:
    """The answers file ``smartfactory assess template`` writes, with ``entries`` (by question key) in it."""
    return template(fw, language(), answers=entries)


def _stored_scalar(spec: Spec, text: str | None) -> bool | float | str | None:
    """A saved value as its question reads it (yes a bool, 0.8 a number); as saved if it refuses it."""
    if text is None:
        return None
    value, finding = spec.check(scalar(text))
    # a row saved before a framework changed can be refused now: the file's checks then report it
    return text if finding is not None or value is None else value


def entries_of(q: Questions, saved: Mapping[str, store.StoredAnswer]) -> dict[str, Entry]:
    """The saved rows as answers-file entries (rows of keys the framework no longer asks are left out)."""
    return {
        key: Entry(_stored_scalar(q.by_key[key], row.value), row.note, row.attachments)
        for key, row in saved.items()
        if key in q.by_key
    }


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
    if isinstance(raw, str):
        return raw.strip() or None
    # a number as it is saved (nan and inf as such, for the check to refuse them by name)
    return saved_text(raw)


def check_answer(
    q: Questions, saved_rows: Mapping[str, store.StoredAnswer], key: str, raw: str | float | bool | None
) -> str | None:
    """The value to save for ``key`` (None: clear it), checked by its question.

    The typed text is read as the answers file would read it (``0.8`` a number, ``86%`` a
    percentage) and checked by the question, then with the answer it depends on (``built`` and
    ``ai_used`` of one scenario); a value refused raises AnswerRejected with the problem's code
    and its words in the user's language.
    """
    spec = q.get(key)
    if spec is None:
        raise UnknownQuestion(key, q.fw.gradient.id)
    text = _typed(raw)
    if text is None:
        return None
    if len(text) > MAX_VALUE:
        raise _reject(key, spec.refuse("answer.too_long", text[:20] + "…", count=MAX_VALUE))
    value, finding = spec.check(scalar(text))
    if finding is not None:
        raise _reject(key, finding)
    if value is None:
        return None
    if spec.kind in ("built", "ai_used"):
        sid = key.rsplit(".", 1)[0]
        other = f"{sid}.ai_used" if spec.kind == "built" else f"{sid}.built"
        row = saved_rows.get(other)
        saved_other = q[other].check(scalar(row.value))[0] if row is not None and row.value else None
        built, ai = (value, saved_other) if spec.kind == "built" else (saved_other, value)
        pair = scenario_pair(sid, _bool(built), _bool(ai))
        if pair is not None:
            raise _reject(key, pair)
    return saved_text(value)


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


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
        raise _reject(key, Finding("answer.bad_attachments", {"key": key}))
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


def _file_problem(code: str, source: str) -> AnswersFileError:
    finding = Finding(code, {"source": source, "count": MAX_ANSWERS_FILE})
    problem = finding.at(source, "file", None, language())
    return AnswersFileError(problem.message, [problem])


def decode_upload(raw: bytes, source: str = UPLOAD_SOURCE) -> str:
    """An uploaded answers file as text; an AnswersFileError when it is too large or not UTF-8."""
    if len(raw) > 4 * MAX_ANSWERS_FILE:
        raise _file_problem("answers_file.too_large", source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _file_problem("answers_file.not_utf8", source) from None


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
        raise _file_problem("answers_file.too_large", source)
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
    allowed: str = Field(description="what it accepts, in words, in the user's language")
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
        allowed=spec.allowed.get(language()),
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
        items = [question_of(q.by_key[k], rows.get(k), q.fw) for k in group.keys]
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
    spec = q.by_key.get(key)
    if spec is None:
        raise UnknownQuestion(key, q.fw.gradient.id)
    rows = store.saved_answers(_registry(workspace), q.fw.gradient.id)
    return question_of(spec, rows.get(key), q.fw)


def problems_by_line(exc: UserError) -> list[tuple[str, str, str | None]]:
    """The problems of a refused answers file as (where, message, code), the line first in the message."""
    found = []
    for p in exc.problems:
        where = p.location or p.source
        message = (
            _("line {line}: {message}").format(line=p.line, message=p.message)
            if p.line is not None
            else p.message
        )
        found.append((where, message, getattr(p, "code", None)))
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
    "decode_upload",
    "export_text",
    "import_answers",
    "questionnaire",
    "questions",
    "save_answer",
    "saved",
]
