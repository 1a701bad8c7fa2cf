"""The self-assessment: saved answers per framework and the history of submitted assessments.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# frozen copies of the types of this revision: a migration must not follow later model edits
_TIMESTAMP = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create assessment_answers and assessments."""
    op.create_table(
        "assessment_answers",
        sa.Column("framework", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attachments", _JSON, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("framework", "key", name=op.f("pk_assessment_answers")),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("framework", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("cmmm_grade", sa.Integer(), nullable=True),
        sa.Column("cmmm_total", sa.Float(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.Column("submitted_at", _TIMESTAMP, nullable=False),
        sa.Column("result", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index(op.f("ix_assessments_framework"), "assessments", ["framework"], unique=False)


def downgrade() -> None:
    """Drop the self-assessment tables."""
    op.drop_index(op.f("ix_assessments_framework"), table_name="assessments")
    op.drop_table("assessments")
    op.drop_table("assessment_answers")
