"""The self-assessment in the registry: answers as they are typed, and submitted assessments.

Answers are kept per framework, one row per question key (a criterion, metric or CMMM
requirement id, ``<scenario>.built`` / ``<scenario>.ai_used``, ``<sub-domain>.applicable``,
``industry``) with the value as text, the factory's note and attachment references, who saved
it and when. The rows hold checked values only: ``app.answers`` checks each with its question
(``assess.questionnaire``, the answers file's own check) before it is saved. The history keeps
every submitted assessment with its JSON report. The tables belong to the registry
(``AssessmentAnswerRow`` and ``AssessmentRow`` in ``registry.py``, migration 0005); these
functions take an open ``Registry``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from smartfactory.store.registry import AssessmentAnswerRow, AssessmentRow, Registry


@dataclass(frozen=True)
class AnswerInput:
    """An answer to save: its key, value text (None: not answered), note and attachments."""

    key: str
    value: str | None
    note: str | None = None
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredAnswer:
    """A saved answer with who saved it and when."""

    key: str
    value: str | None
    note: str | None
    attachments: tuple[str, ...]
    updated_by: str | None
    updated_at: datetime


@dataclass(frozen=True)
class AssessmentSummary:
    """A submitted assessment without its report."""

    id: int
    framework: str
    level: str | None
    cmmm_grade: int | None
    cmmm_total: float
    lang: str
    submitted_by: str | None
    submitted_at: datetime


@dataclass(frozen=True)
class AssessmentRecord(AssessmentSummary):
    """A submitted assessment with its JSON report (schema ``smartfactory.assessment/1``)."""

    result: dict[str, Any] = field(default_factory=dict)


_SUMMARY_FIELDS = tuple(f.name for f in fields(AssessmentSummary))


def saved_answers(registry: Registry, framework: str) -> dict[str, StoredAnswer]:
    """Every saved answer of ``framework``, by key."""
    with Session(registry.engine) as session:
        rows = session.scalars(
            select(AssessmentAnswerRow)
            .where(AssessmentAnswerRow.framework == framework)
            .order_by(AssessmentAnswerRow.key)
        )
        return {row.key: _stored(row) for row in rows}


def save_answer(
    registry: Registry,
    framework: str,
    key: str,
    value: str | None,
    username: str | None,
    *,
    note: str | None = None,
    attachments: Sequence[str] | None = None,
    at: datetime | None = None,
) -> StoredAnswer | None:
    """Save one answer; None when it is now empty (and its row gone).

    ``note`` and ``attachments`` left None keep what is saved; ``""`` and ``[]`` clear them.
    A row with no value, note or attachments is removed: the question is simply not answered.
    """
    now = at or datetime.now(UTC)
    with Session(registry.engine) as session, session.begin():
        row = session.get(AssessmentAnswerRow, (framework, key), with_for_update=True)
        new_note = (row.note if row is not None else None) if note is None else (note or None)
        new_files = (
            (tuple(row.attachments or ()) if row is not None else ())
            if attachments is None
            else tuple(attachments)
        )
        if value is None and not new_note and not new_files:
            if row is not None:
                session.delete(row)
            return None
        if row is None:
            row = AssessmentAnswerRow(framework=framework, key=key)
            session.add(row)
        row.value = value
        row.note = new_note
        row.attachments = list(new_files)
        row.updated_by = username
        row.updated_at = now
        session.flush()
        return _stored(row)


def replace_answers(
    registry: Registry,
    framework: str,
    answers: Sequence[AnswerInput],
    username: str | None,
    *,
    at: datetime | None = None,
) -> int:
    """Replace every saved answer of ``framework`` with ``answers``, in one transaction; how many."""
    now = at or datetime.now(UTC)
    rows = [
        {
            "framework": framework,
            "key": a.key,
            "value": a.value,
            "note": a.note or None,
            "attachments": list(a.attachments),
            "updated_by": username,
            "updated_at": now,
        }
        for a in answers
        if a.value is not None or a.note or a.attachments
    ]
    keys = [a.key for a in answers if a.value is not None or a.note or a.attachments]
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"answers given twice: {', '.join(twice)}")
    with Session(registry.engine) as session, session.begin():
        session.execute(delete(AssessmentAnswerRow).where(AssessmentAnswerRow.framework == framework))
        for values in rows:
            session.add(AssessmentAnswerRow(**values))
    return len(rows)


def record_assessment(
    registry: Registry,
    framework: str,
    *,
    level: str | None,
    cmmm_grade: int | None,
    cmmm_total: float,
    lang: str,
    username: str | None,
    result: Mapping[str, Any],
    at: datetime | None = None,
) -> AssessmentRecord:
    """Add a submitted assessment to the history and return it with its new id."""
    row = AssessmentRow(
        framework=framework,
        level=level,
        cmmm_grade=cmmm_grade,
        cmmm_total=float(cmmm_total),
        lang=lang,
        submitted_by=username,
        submitted_at=at or datetime.now(UTC),
        result=dict(result),
    )
    with Session(registry.engine) as session, session.begin():
        session.add(row)
        session.flush()
        return _record(row)


def list_assessments(
    registry: Registry, framework: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[AssessmentSummary], int]:
    """Submitted assessments, newest first (``limit`` from ``offset``), and how many there are."""
    query = select(AssessmentRow)
    count = select(func.count()).select_from(AssessmentRow)
    if framework is not None:
        query = query.where(AssessmentRow.framework == framework)
        count = count.where(AssessmentRow.framework == framework)
    query = query.order_by(AssessmentRow.submitted_at.desc(), AssessmentRow.id.desc())
    with Session(registry.engine) as session:
        # only the summary columns: the reports can be large
        columns = [getattr(AssessmentRow, name) for name in _SUMMARY_FIELDS]
        rows = session.execute(query.with_only_columns(*columns).limit(limit).offset(offset)).all()
        total = int(session.execute(count).scalar_one())
    return [AssessmentSummary(**_summary_values(row)) for row in rows], total


def get_assessment(registry: Registry, assessment_id: int) -> AssessmentRecord | None:
    """One submitted assessment with its report, or None."""
    with Session(registry.engine) as session:
        row = session.get(AssessmentRow, assessment_id)
        return _record(row) if row is not None else None


def _stored(row: AssessmentAnswerRow) -> StoredAnswer:
    return StoredAnswer(
        key=row.key,
        value=row.value,
        note=row.note,
        attachments=tuple(row.attachments or ()),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


def _record(row: AssessmentRow) -> AssessmentRecord:
    return AssessmentRecord(**_summary_values(row), result=row.result)


def _summary_values(row: Any) -> dict[str, Any]:
    # the summary's fields are named as the row's columns, so one list serves the query and both records
    return {name: getattr(row, name) for name in _SUMMARY_FIELDS}
