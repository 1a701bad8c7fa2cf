"""The self-assessment: saved answers per framework and the history of submitted assessments.

Revision 0005, revises 0004, created 2026-11-27.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from smartfactory.store.migrations.frozen import JSON, TIMESTAMP, create_indexed_table, drop_indexed_table

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"


def upgrade() -> None:
    """Create assessment_answers and assessments."""
    op.create_table(
        "assessment_answers",
        sa.Column("framework", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attachments", JSON, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("framework", "key", name=op.f("pk_assessment_answers")),
    )
    create_indexed_table(
        "assessments",
        "framework",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("framework", sa.String(64), nullable=False),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("cmmm_grade", sa.Integer(), nullable=True),
        sa.Column("cmmm_total", sa.Float(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.Column("submitted_at", TIMESTAMP, nullable=False),
        sa.Column("result", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )


def downgrade() -> None:
    """Drop the self-assessment tables."""
    drop_indexed_table("assessments", "framework")
    op.drop_table("assessment_answers")
